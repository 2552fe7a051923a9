"""Questions that lead a learner to the next step without taking it for them.

Every question is built from authored material (misconceptions, test feedback, objectives) or
from the learner's own code, never from the reference solution.
"""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any

from sidecar.agents.policy import structure
from sidecar.agents.policy.turn import Turn


def learner_code(turn: Turn) -> str:
    """The code the learner is working on: the editor's, else their last submission's."""
    return turn.code or (turn.activity.last_code if turn.activity else None) or ""


def matching_misconception(turn: Turn) -> dict[str, str] | None:
    code = learner_code(turn)
    if not code or turn.exercise is None:
        return None
    for mc in turn.exercise.misconceptions:
        pattern = mc.get("pattern")
        try:
            found = re.search(pattern, code) if pattern else None
        except re.error:
            continue
        if found:
            # The line where the pattern's match ends on something visible: where the mistake is.
            end = found.end() - 1 if found.end() > found.start() else found.start()
            while end > found.start() and code[end].isspace():
                end -= 1
            return dict(mc, line=str(code.count("\n", 0, end) + 1))
    return None


def _misconception_question(turn: Turn, mc: dict[str, str]) -> str:
    code_lines = learner_code(turn).splitlines()
    number = int(mc.get("line", "0") or 0)
    if 0 < number <= len(code_lines) and code_lines[number - 1].strip():
        quoted = code_lines[number - 1].strip().replace("`", "'")[: structure.MAX_QUOTE]
        return f"Look at line {number}, `{quoted}`. {mc['question']}"
    return mc["question"]


def findings(turn: Turn) -> list[structure.Finding]:
    """What is structurally wrong with the learner's code against the reference (never quoted),
    when there is something to explain: a failing submission, or code not yet checked."""
    exercise = turn.exercise
    code = learner_code(turn)
    if exercise is None or not exercise.solution or not code.strip():
        return []
    activity = turn.activity
    checked = activity is not None and activity.last_code is not None and activity.last_code.strip() == code.strip()
    if checked and not failing_test(turn):
        return []  # it passed: a different approach is not a mistake
    if not checked and code.strip() == exercise.starter.strip():
        return []  # nothing tried yet: planning questions fit better than the starter's gaps
    return structure.find_mistakes(code, exercise.solution)


def failing_test(turn: Turn) -> dict[str, str] | None:
    if turn.activity is None or not turn.activity.last_results:
        return None
    return next((r for r in turn.activity.last_results if not r["passed"]), None)


# One plain-language sentence per common error; {line} is the learner's line ("line 3") or "that line".
ERROR_EXPLANATIONS = {
    "SyntaxError": "A SyntaxError means Python couldn't read the code at all: look for a missing bracket, quote or "
                   "colon on {line} or just before it.",
    "IndentationError": "An IndentationError means the spaces at the start of {line} don't match the block it "
                        "belongs to: the lines inside an `if`, `for` or `def` need the same indent.",
    "NameError": "A NameError means Python met a name it doesn't know yet: check the spelling and that it's "
                 "defined before {line}.",
    "TypeError": "A TypeError means a value of the wrong kind was used on {line}, like adding text to a number or "
                 "calling something with the wrong number of arguments.",
    "ZeroDivisionError": "A ZeroDivisionError means {line} divided by zero: which value was 0 at that moment?",
    "IndexError": "An IndexError means {line} asked for a position that the list or string doesn't have: "
                  "positions start at 0 and stop one before its length.",
    "KeyError": "A KeyError means {line} looked up a key that the dictionary doesn't contain.",
    "ValueError": "A ValueError means {line} got a value of the right kind but the wrong content, like `int(\"abc\")`.",
    "AttributeError": "An AttributeError means {line} asked a value for something it doesn't have: check the "
                      "spelling and what kind of value it is.",
}
MAX_FAILURE_CHARS = 400
_ERROR_LINE = re.compile(r"^(\w+(?:Error|Exception|Exit|Interrupt))\b:?\s*(.*)$")
_FILE_LINE = re.compile(r'^\s*File "main\.py", line (\d+)')


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _normalise(line: str) -> str:
    return re.sub(r"\s+", "", line)


def _quotes_solution(message: str, turn: Turn) -> bool:
    """Whether a visible test's message quotes a line of the reference solution the learner hasn't written."""
    if turn.exercise is None or not turn.exercise.solution:
        return False
    code = _normalise(turn.code or (turn.activity.last_code if turn.activity else None) or "")
    said = _normalise(message)
    return any(len(n) >= 6 and not n.startswith("#") and n in said and n not in code
               for n in map(_normalise, turn.exercise.solution.splitlines()))


def _stop(message: str) -> str:
    """A full stop after a quoted message that doesn't end a sentence itself."""
    return "" if message.rstrip().endswith((".", "!", "?", "…")) else "."


def describe_error(message: str) -> str | None:
    """The useful part of "Your program raised an error: <traceback>": the error, the learner's line
    and its code, and one plain sentence about that kind of error. None when it is not an error."""
    lines = [line for line in message.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Your program raised an error"):
        return None
    error = next((m for line in reversed(lines) if (m := _ERROR_LINE.match(line.strip()))), None)
    number, code = None, None
    for index, line in enumerate(lines):
        found = _FILE_LINE.match(line)
        if found:  # the innermost frame of the learner's program is the last one
            number = found.group(1)
            following = lines[index + 1] if index + 1 < len(lines) else ""
            code = following.strip() if following.startswith("    ") and not _FILE_LINE.match(following) else None
    kind = error.group(1) if error else "An error"
    what = error.group(2).strip() if error else ""
    where = f"line {number}" if number else "that line"
    parts = [f"Your program raised **{kind}**" + (f" on line {number}" if number else "")
             + (f": {_clip(what, 160)}" if what else "") + "."]
    if code:
        parts.append(f"The line is `{_clip(code, 120).replace('`', chr(39))}`.")
    if error and kind in ERROR_EXPLANATIONS:
        parts.append(ERROR_EXPLANATIONS[kind].format(line=where))
    return _clip(" ".join(parts), MAX_FAILURE_CHARS)


def _divergence(result: dict[str, Any]) -> str | None:
    """For a visible result that carries expected and actual values: the first one that differs."""
    if result.get("hidden") or "expected" not in result or "actual" not in result:
        return None
    expected, actual = result["expected"], result["actual"]
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            if want != got:
                return f"The first difference is item {index}: expected `{want!r}`, got `{got!r}`."
        if len(expected) != len(actual):
            return f"Expected {len(expected)} items, got {len(actual)}."
        return None
    if isinstance(expected, str) and isinstance(actual, str):
        for number, (want, got) in enumerate(zip(expected.splitlines(), actual.splitlines(), strict=False), 1):
            if want != got:
                return f"The first difference is output line {number}: expected `{want}`, got `{got}`."
    return f"Expected `{expected!r}`, got `{actual!r}`." if expected != actual else None


_EXPECTED_GOT = re.compile(r"(?:expected|should (?:return|print))\s+(?P<expected>.*?),\s*got\s+(?P<got>.+)$", re.S)
_REPR = re.compile(r"""^('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_QUOTED_VALUE = re.compile(r"'([^'\n]+)'")


def divergence_from_message(message: str) -> str | None:
    """For a visible test whose message says "expected X, got 'output'" about several lines of
    output: the first expected line the output doesn't have, and the output line closest to it."""
    found = _EXPECTED_GOT.search(message)
    if found is None:
        return None
    literal = _REPR.match(found["got"].strip())
    if literal is None:
        return None
    try:
        got = ast.literal_eval(literal.group(1))
    except (ValueError, SyntaxError):
        return None
    expected = _QUOTED_VALUE.findall(found["expected"])
    lines = [line for line in str(got).splitlines() if line.strip()]
    if not expected or not lines or (len(lines) < 2 and len(expected) < 2):
        return None  # one value against one value: the message already says it plainly
    for want in expected:
        if want in lines:
            continue
        # Input prompts share the line with the output ("Bill amount: ... Tip: 1200.00"): start at the label.
        label = want.split(": ", 1)[0] + ": " if ": " in want else None
        labelled = [line[line.rfind(label):] for line in lines if label and label in line]
        near = labelled[:1] or difflib.get_close_matches(want, lines, n=1, cutoff=0.3)
        shown = f"your program printed `{near[0]}` instead" if near else "your program never printed it"
        return f"The first line that differs is `{want}`: {shown}."
    return None


def describe_failure(turn: Turn, result: dict[str, Any]) -> str:
    """What a failed test says, for the learner, at most MAX_FAILURE_CHARS: the error explained, a
    hidden test's authored feedback only, or a visible test's message (and the first divergence)."""
    message = str(result.get("message", "") or "").strip()
    if result.get("hidden"):
        # The harness already replaced a hidden test's details with its authored feedback.
        return f"It says: *{_clip(message, MAX_FAILURE_CHARS)}*{_stop(message)}" if message else ""
    error = describe_error(message)
    if error:
        return error
    if message and _quotes_solution(message, turn):
        return "Its message would give part of the answer away, so compare your output with the task's example."
    parts = [f"It says: *{_clip(message, 300)}*{_stop(message)}" if message else "",
             _divergence(result) or divergence_from_message(message) or ""]
    return _clip(" ".join(p for p in parts if p), MAX_FAILURE_CHARS)


def failure_question(turn: Turn, failing: dict[str, Any], finding: structure.Finding | None = None) -> str:
    """The failed test, what it says (errors explained, hidden tests by their feedback only) and,
    when the structural comparison found it, the mistake behind it in the tutor's words."""
    message = str(failing.get("message", "") or "")
    error = None if failing.get("hidden") else describe_error(message)
    if finding is not None:
        if finding.concept in structure.SYNTAX_CONCEPTS:
            # Nothing ran: no test to talk about, just the line Python couldn't read.
            return f"Python couldn't run your last submission. {finding.say()}"
        if not error:  # a runtime error is explained below: the error itself is the mistake to name
            detail = describe_failure(turn, failing)
            detail = f" {detail}" if detail else ""
            return f"Your last submission did not pass the test **{failing['name']}**.{detail} {finding.say()}"
        if finding.concept in structure.ERROR_CAUSES:
            # A mistake that explains the error (a loop that keeps asking for input, text used as a
            # number, a function that gives back None): the error's headline, then its cause.
            return (f"Your last submission did not pass the test **{failing['name']}**. "
                    f"{error.split('. ', 1)[0]}. {finding.say()}")
    detail = describe_failure(turn, failing)
    detail = f" {detail}" if detail else ""
    if error:
        ask = "What does that line do, and what did you mean it to do?"
    else:
        ask = "What does your program print for that case, and what should it print instead?"
    return f"Your last submission did not pass the test **{failing['name']}**.{detail} {ask}"


def objective(turn: Turn) -> str | None:
    """One of the lesson's objectives, a different one as the conversation goes on."""
    if turn.lesson and turn.lesson.objectives:
        objectives = turn.lesson.objectives
        return objectives[max(turn.interactions - 1, 0) % len(objectives)]
    return None


_PLAN = ("Before writing code: in your own words, what should the program do, step by step, for the "
         "example in the task? Write the steps as comments first.")
_TRACE = ("Pick the example from the task and trace your program by hand: what is the value of each variable "
          "after each line? Where does it first differ from what you expect?")
_GENERIC = "What have you tried so far, and what happened when you ran it?"
# Further questions for a learner who asks the same thing again (see orchestrator.vary_repeat).
FOLLOW_UPS = (
    "Which line of your code are you least sure about, and what do you expect it to do?",
    "Which part feels unclear: what goes in, the steps in between, or what should come out?",
    "If you changed the example's input a little, what would you expect your program to do?",
    "What is the smallest piece of this you could try on its own first?",
)


def questions(turn: Turn) -> list[str]:
    """The questions that fit where the learner is, most specific first (probing_question is the first):
    an authored misconception at the learner's line, the failing test with the structural mistake
    behind it, the other mistakes found, then planning, tracing and the lesson's objectives."""
    out: list[str] = []
    mc = matching_misconception(turn)
    found = findings(turn)
    failing = failing_test(turn)
    if mc and found and str(found[0].line) == mc.get("line"):
        # The same spot: the finding says what is wrong there, the author's question guides.
        out.append(f"{found[0].text} {mc['question']}")
    elif mc:
        out.append(_misconception_question(turn, mc))
    if failing:
        out.append(failure_question(turn, failing, found[0] if found else None))
        if found:
            out.append(failure_question(turn, failing))
    elif found:
        out.append(f"Before you press **Check**: {found[0].say()}")
    out.extend(f"Something else to look at: {f.say()}" for f in found[1:])
    if turn.exercise is not None:
        fresh = not (turn.code or "").strip() or (turn.code or "").strip() == turn.exercise.starter.strip()
        out.extend([_PLAN, _TRACE] if fresh else [_TRACE, _PLAN])
    goal = objective(turn)
    if goal:
        out.append(f"This lesson is about: *{goal}* How would you put that into your own words, with a small example?")
    if turn.lesson and turn.lesson.objectives:
        out.extend(f"This lesson is about: *{g}* How would you put that into your own words, with a small example?"
                   for g in turn.lesson.objectives if g != goal)
    out.append(_GENERIC)
    out.extend(FOLLOW_UPS)
    return list(dict.fromkeys(out))


def probing_question(turn: Turn) -> str:
    """The most specific question available for where the learner is."""
    return questions(turn)[0]


def checkin_question(turn: Turn) -> str:
    """§7.3 check-in: verify understanding every few interactions."""
    goal = objective(turn)
    if goal:
        return f"**Quick check-in:** before we go on, explain in one or two sentences how you would: *{goal}*"
    return "**Quick check-in:** in one sentence, what is the main idea you've used so far?"
