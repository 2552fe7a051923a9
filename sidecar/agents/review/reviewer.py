"""Code Reviewer (issue 5): correctness, efficiency and style notes on a submission, without the fix.

Deterministic, so it works with no model configured (an LLM can later rephrase its output):

- correctness from the trusted grading result (failing tests, timeouts), never by running code here;
- structure from `ast.parse` (review/astchecks.py), which reads the code without executing it;
- style from ruff in a separate process (review/lint.py); without ruff the review still works.

Every note says what is wrong and why and ends in a question; none contains the corrected code.
As a last guard, any note that quotes a line of the reference solution which the learner has not
written is replaced by a neutral one. The debugging steps teach a method (reproduce, predict,
observe, compare, change one thing) adapted to what went wrong.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sidecar.agents.review.astchecks import run_checks
from sidecar.agents.review.findings import Finding, sort_key
from sidecar.agents.review.lint import SAME_AS_AST, lint
from sidecar.agents.review.markdown import code as quote_code
from sidecar.courseware.harness import PROGRAM_FILENAME

__all__ = ["Finding", "Review", "review_code"]

MAX_CODE_CHARS = 50_000  # as for submissions
MAX_FINDINGS = 12  # more than this overwhelms a beginner; the most urgent come first
MAX_TEST_MESSAGE = 400
# Which lesson skill a note exercises: notes about the skill being taught come first.
RULE_SKILLS = {
    "ast:accumulator-reset": "python.accumulators", "ast:string-concat-in-loop": "python.accumulators",
    "ast:range-len": "python.for", "ast:loop-variable-modified": "python.for",
    "ast:modify-while-iterating": "python.for",
    "ast:returns-on-first-pass": "python.return", "ast:print-instead-of-return": "python.return",
    "ast:while-true-no-exit": "python.while", "ast:mutable-default": "python.parameters",
    "ast:input-not-converted": "python.input", "ast:compare-singleton": "python.comparisons",
    "ast:shadow-builtin": "python.variables", "ast:unused-variable": "python.variables",
    "ruff:F821": "python.variables", "ruff:F823": "python.scope", "ruff:PLR1714": "python.comparisons",
}
_TRACE_LINE = re.compile(rf'File "{re.escape(PROGRAM_FILENAME)}", line (\d+)')
_QUOTED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_EXCEPTION = re.compile(r"^(\w+(?:Error|Exception)):", re.MULTILINE)


@dataclass(frozen=True)
class Review:
    findings: list[Finding]
    summary: str
    debugging_steps: list[str]
    passed: bool | None  # the grading verdict, None when the code was not graded


def review_code(code: str, *, grading: Any | None = None, solution: str | None = None,
                lesson_skills: Sequence[str] = ()) -> Review:
    """Review `code`; `grading` is a GradeResult (or its public form), `solution` is only used to withhold it."""
    code = code[:MAX_CODE_CHARS]
    passed = None if grading is None else bool(_field(grading, "passed"))
    failures = _failures(grading)
    notes: list[str] = []
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:  # ValueError: a NUL byte
        findings = [_syntax_finding(err, code)]
        steps = _syntax_steps(findings[0].line)
    else:
        findings = _test_findings(grading, failures)
        findings += _merge(_structure(tree, failures, notes), _lint_or_note(code, notes))
        steps = _steps(grading, failures, findings)
    findings = sorted(_withhold(findings, code, solution), key=lambda f: _rank(f, lesson_skills))[:MAX_FINDINGS]
    return Review(findings=findings, summary=_summary(findings, grading, failures, lesson_skills, notes),
                  debugging_steps=steps, passed=passed)


# ---- grading results ------------------------------------------------------------------------------


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """GradeResult, the API's pydantic models and plain dicts all work."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _failures(grading: Any | None) -> list[dict[str, Any]]:
    if grading is None:
        return []
    failed = []
    for result in _field(grading, "results", None) or []:
        if _field(result, "passed"):
            continue
        message = str(_field(result, "message", "") or "")
        if message.startswith("Not run:"):
            continue  # an earlier test stopped the program: that one explains it
        failed.append({"name": str(_field(result, "name", "test")), "message": message,
                       "hidden": bool(_field(result, "hidden", False))})
    return failed


def _test_findings(grading: Any | None, failures: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    status = str(_field(grading, "status", "ok") or "ok") if grading is not None else "ok"
    if status in ("timeout", "memory", "crashed"):
        question = {"timeout": "Which loop could keep going? What should change on every pass so that its condition "
                               "eventually becomes false, and does it?",
                    "memory": "Which list or text keeps growing? What should stop it from growing?",
                    "crashed": "Does a function call itself without a case where it stops?"}[status]
        findings.append(Finding(None, "correctness", "error", str(_field(grading, "message", "") or status),
                                question, f"test:status-{status}"))
    for failure in failures:
        message = failure["message"]
        lines = _TRACE_LINE.findall(message)
        line = int(lines[-1]) if lines else None
        shown = message if len(message) <= MAX_TEST_MESSAGE else message[:MAX_TEST_MESSAGE] + " …"
        exception = _EXCEPTION.search(message)
        if exception:
            where = f"line {line}" if line else "the line in the traceback"
            question = (f"Your program stopped with a {exception.group(1)}. Which value on {where} is different from "
                        "what you expected when that happens? What could you print just before it to find out?")
        elif failure["hidden"]:
            question = ("This test checks a case the visible tests don't show. Which inputs haven't you tried yet: "
                        "zero, a negative number, empty text, the smallest or largest allowed value?")
        else:
            question = ("What does your program produce for this test's input, and how does that differ from what "
                        "the test expects? Which line first makes a value you did not predict?")
        # The message may hold the program's own output: quoted as code, it cannot become Markdown.
        failed = f'The test "{failure["name"]}" failed' + (f": {quote_code(shown)}" if shown.strip() else ".")
        findings.append(Finding(line, "correctness", "error", failed, question, f"test:{failure['name']}"))
    return findings


# ---- syntax errors --------------------------------------------------------------------------------

_SYNTAX_HELP = (  # (pattern in Python's message, explanation); checked in order
    ("was never closed", "a bracket or quote that opens here is never closed"),
    ("unterminated string", "a text (string) starts here but its closing quote is missing"),
    ("unterminated triple-quoted", "a triple-quoted text starts here but never ends"),
    ("expected ':'", "Python expected a colon `:` at the end of this line: lines starting with if, elif, else, for, "
                     "while, def and class end with one"),
    ("expected an indented block", "the line before ends with `:`, so Python expected an indented block after it"),
    ("unexpected indent", "this line is indented more than the lines around it, but nothing above opens a block"),
    ("unindent does not match", "this line's indentation doesn't line up with any block above it"),
    ("does not match opening parenthesis", "the closing bracket here doesn't match the kind of bracket that was "
                                           "opened"),
    ("unmatched", "there is a closing bracket here with no opening bracket before it"),
    ("cannot assign to", "the left side of `=` must be a name (or an item) that can hold a value"),
    ("outside function", "`return` only works inside a function (def)"),
    ("outside loop", "`break` and `continue` only work inside a loop"),
    ("invalid character", "this line contains a character Python doesn't accept in code (often a curly quote or "
                          "dash copied from a document)"),
    ("Perhaps you forgot a comma", "Python found two values side by side; in a list or a call they are separated "
                                   "by commas"),
    ("Maybe you meant '==' or ':=' instead of '='", "a single `=` gives a variable a value; it can't appear where a "
                                                    "condition is expected"),
)


def _syntax_finding(err: Exception, code: str) -> Finding:
    if isinstance(err, RecursionError | MemoryError):
        return Finding(None, "error", "error", "Python can't read this program: it is nested too deeply (an "
                       "expression with thousands of parts, or brackets inside brackets inside brackets...).",
                       "Could you split the long expression into several steps with variables?", "syntax")
    if not isinstance(err, SyntaxError):
        return Finding(None, "error", "error", "The code contains a character Python can't read (a NUL byte).",
                       "Did something get pasted in by accident?", "syntax")
    line = err.lineno
    raw = err.msg or "invalid syntax"
    explanation = next((text for pattern, text in _SYNTAX_HELP if pattern in raw), None)
    source = (code.splitlines()[line - 1].strip() if line and 0 < line <= len(code.splitlines()) else "")
    where = f"line {line}" if line else "your code"
    message = f"Python could not read {where}"
    # The line is the learner's code (and Python's message may quote it): quoted so that neither
    # can end the code span and be read as Markdown (review/markdown.py).
    message += f" ({quote_code(source)})" if source and len(source) <= 80 else ""
    message += f": {explanation}." if explanation else f". Python says: {quote_code(raw)}."
    question = (f"Look at {where} and the line just above it: is every bracket and quote closed, and does every "
                "if/for/while/def line end the way Python expects?")
    return Finding(line, "error", "error", message, question, "syntax")


def _syntax_steps(line: int | None) -> list[str]:
    where = f"line {line}" if line else "the line Python points at"
    return [f"Read {where} and the line just above it: Python often notices a mistake one line after it happens.",
            "Check the pairs: every ( [ { and every quote that opens must close, in the right order.",
            "Check the blocks: a line starting with if, elif, else, for, while or def ends with a colon, and the "
            "lines that belong to it are indented the same amount.",
            "Change one thing and run again: does the error go away, or move to another line?"]


# ---- linter, merging, safety ------------------------------------------------------------------------


def _structure(tree: ast.Module, failures: list[dict[str, Any]], notes: list[str]) -> list[Finding]:
    try:
        return run_checks(tree, none_in_failures=any("None" in f["message"] for f in failures))
    except RecursionError:  # ast.unparse/dump on a pathologically deep expression
        notes.append("The program is nested too deeply for the structure checks.")
        return []


def _lint_or_note(code: str, notes: list[str]) -> list[Finding]:
    found = lint(code)
    if found is None:
        notes.append("The style checker (ruff) was not available, so this review has no linter notes.")
        return []
    return found


def _merge(structural: list[Finding], linted: list[Finding]) -> list[Finding]:
    """Keep the ast checks' wording where ruff reports the same thing (same line, or same quoted name)."""
    ours = {(f.rule, f.line) for f in structural} | {(f.rule, name) for f in structural
                                                      for name in _QUOTED.findall(f.message)[:1]}
    merged = list(structural)
    for finding in linted:
        same = SAME_AS_AST.get(finding.rule.removeprefix("ruff:"))
        name = next(iter(_QUOTED.findall(finding.message)), None)
        if same is None or not ({(same, finding.line), (same, name)} & ours):
            merged.append(finding)
    return merged


def _normalise(text: str) -> str:
    return " ".join(text.replace("`", " ").split())


def _withhold(findings: list[Finding], code: str, solution: str | None) -> list[Finding]:
    """Never hand over the fix: neutralise any note that quotes a solution line the learner hasn't written."""
    if not solution:
        return findings
    mine = {_normalise(line) for line in code.splitlines()}
    secret = {n for line in solution.splitlines() if len(n := _normalise(line)) >= 6 and not n.startswith("#")
              and n not in mine}
    safe = []
    for finding in findings:
        if any(s in _normalise(finding.message) for s in secret):
            finding = replace(finding, message=("A test failed here. Its message would give away part of the answer, "
                                                "so run that test yourself and look at what your program prints.")
                              if finding.rule.startswith("test:") else "Something on this line needs another look.")
        if any(s in _normalise(finding.question) for s in secret):
            finding = replace(finding, question="What did you expect this line to do, and what does it actually do?")
        safe.append(finding)
    return safe


def _rank(finding: Finding, skills: Sequence[str]) -> tuple[int, int, int, int]:
    severity, category, line = sort_key(finding)
    return (severity, 0 if RULE_SKILLS.get(finding.rule) in skills else 1, category, line)


# ---- summary and debugging method -------------------------------------------------------------------


def _summary(findings: list[Finding], grading: Any | None, failures: list[dict[str, Any]],
             skills: Sequence[str], notes: list[str]) -> str:
    parts = []
    if findings and findings[0].rule == "syntax":
        parts.append("Python can't read the program yet, so nothing else can be checked until that is fixed.")
    elif grading is not None:
        results = _field(grading, "results", None) or []
        if _field(grading, "passed"):
            parts.append(f"All {len(results)} tests pass.")
        else:
            parts.append(f"{len(failures) or 'Some'} of {len(results)} tests fail.")
    counts = {c: sum(f.category == c and not f.rule.startswith("test:") for f in findings)
              for c in ("correctness", "efficiency", "style")}
    described = [f"{n} {c} note{'s' if n != 1 else ''}" for c, n in counts.items() if n]
    if described:
        parts.append("The review found " + ", ".join(described) + ".")
    elif not findings:
        parts.append("The review found nothing to point out.")
    focus = sorted({RULE_SKILLS[f.rule] for f in findings if RULE_SKILLS.get(f.rule) in skills})
    if focus:
        parts.append("Start with the notes about " + ", ".join(focus) + ": that is what this lesson practises.")
    return " ".join(parts + notes)


def _steps(grading: Any | None, failures: list[dict[str, Any]], findings: list[Finding]) -> list[str]:
    status = str(_field(grading, "status", "ok") or "ok") if grading is not None else "ok"
    if status == "timeout":
        return ["Reproduce with the smallest input you can think of, so a runaway loop is easy to watch.",
                "Predict: for each loop, which value must change on every pass to make its condition false?",
                "Observe: print the loop variable and the values in the condition as the first line inside the loop.",
                "Compare: do the printed values move toward ending the loop? The loop whose values don't is the one.",
                "Change one thing, run again, and remove the extra prints when it finishes."]
    if failures:
        first = failures[0]
        traced = next((f.line for f in findings if f.rule == f"test:{first['name']}" and f.line), None)
        if first["hidden"]:
            reproduce = ("Reproduce: hidden tests don't show their input, so use the feedback to choose an input "
                         "of your own (zero, a negative number, empty text...) that makes your program go wrong.")
        else:
            reproduce = (f'Reproduce: run your program the way the test "{first["name"]}" does (same input, same '
                         "call) and see the wrong result yourself.")
        spot = f"just before line {traced}" if traced else "inside the loop or just before the return or print"
        return [reproduce,
                "Predict: before running, write down what each important variable should be after each step (for a "
                "loop, a small table with one row per pass).",
                f"Observe: add a print(...) that shows those variables {spot}.",
                "Compare: find the first place where what is printed differs from your prediction; the mistake is on "
                "that line or just before it.",
                "Change one thing, run the test again, and remove the extra prints once it passes."]
    if grading is not None and _field(grading, "passed"):
        if findings:
            return ["The tests pass, so keep them passing: run them before and after each change.",
                    "Take one note at a time, change one thing, and run the tests again.",
                    "If a test fails after a change, undo that change and think about why before trying again."]
        return ["Try inputs the tests may not cover: 0, 1, a negative number, empty text, a very large value.",
                "Predict the output for each one before you run it.",
                "When a result surprises you, add a print(...) to see where the program went a different way than "
                "you expected."]
    return ["Pick a small input and predict, line by line, what your program should print.",
            "Run it and compare with your prediction.",
            "Where they differ, add a print(...) of the variables involved just before that point.",
            "Change one thing at a time and run again after each change."]
