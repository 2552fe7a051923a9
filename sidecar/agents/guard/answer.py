"""Final-answer leaks: does a tutor reply state the exercise's final answer?

A bare "the answer appears in the reply" rule over-fires (MRBench: precision 0.50): tutors
restate the givens of the problem ("remember he still had 2,000 steps left") and quote the
learner's own numbers back. So:

1. An answer nobody has said yet (it is not in `context`: the task, the conversation so far)
   leaks wherever it appears in the reply, even in a question: "does it print 28?" proposes it.
2. An answer already in the context leaks only where the reply *asserts it as the result*:
   after a result word in the same clause ("= 2000", "is 2000", "gives", "comes to", "need 8
   more"), or before a correction or total marker ("2,000 steps, not 4,000", "90 in total",
   "14 is our answer"). These don't assert it:
   - a question to the learner ("how many are left after 75 are eaten?"), unless it is a
     negative, rhetorical one ("wouldn't that be 75 seeds?");
   - the right-hand side of an equation being set up ("3x/2 = 150");
   - an operand ("the total is 1200 + 300");
   - a denial ("that doesn't mean each group is 30%").

Numbers compare by value, so 1,000 / 1000 / 1000.0 / $1000 / 1000% all match 1000. Other answers
(strings) match case-insensitively on word boundaries. Accuracy: bench/bench_mrbench.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from sidecar.courseware.leak_verdict import NO_LEAK, LeakVerdict

# A number as people write it: optional sign and currency, thousands separators, decimals, a
# trailing percent. The look-arounds keep "3" out of "3x" or "x3" and "5" out of "1.5".
_NUMBER = re.compile(
    r"(?<![\w.])(?:(?<![\d)])-)?[$€£]?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s?%)?(?![\w])"
)

# Words that present the number that follows as the outcome of the reasoning. "of", "had" and the
# noun "total" are deliberately absent: "he had 2,000 steps left", "the total cost of 20 candles"
# restate givens.
_RESULT_BEFORE = re.compile(
    r"(?:[=≈]|\b(?:is|are|was|were|be|been|(?:it|that|what|which|there|here)'s|equals?|equal\s+to|"
    r"equalling|equaling|makes?|making|gives?|giving|gave|gets?|got|getting|leaves?|leaving|"
    r"results?(?:\s+in)?|resulting\s+in|(?:comes?|adds?\s+up|amounts?|works?\s+out|simplif(?:y|ies))\s+to|"
    r"totals|totalling|totaling|answer|means?|needs?|needed)\b)"
    r"(?:\s+[^\s\d=?]+){0,4}\s*[$€£]?\s*$",  # at most four words between the cue and the number
    re.IGNORECASE,
)
# A correction or a total right after the number: "2,000 steps, not 4,000", "90 in total",
# "14 is our required answer".
_RESULT_AFTER = re.compile(
    r"^\s*%?(?:\s*[^\s\d.?!,;]+){0,3}?\s*(?:,\s*)?(?:\bnot\s+[$€£]?\d|\bin\s+total\b|\baltogether\b|"
    r"\bis\s+(?:the|our|your|my)\s+(?:\w+\s+)?answer\b)",
    re.IGNORECASE,
)
# "3x/2 = 150", "0.1x = $50": the number is the right-hand side of an equation in an unknown,
# i.e. the problem being set up, not its solution.
_EQUATION_SETUP = re.compile(r"\d[a-z]\b[^=\n]{0,12}=\s*[$€£]?\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$|[\"')\]])|\n")
_CLAUSE_BREAK = re.compile(r",\s|;|:\s|\s[-–—]\s|\(|\)")
# "12 + 6": a number followed by an operator and another number is an operand, not a result.
_OPERAND = re.compile(r"^\s*%?\s*[-+*/×÷x]\s*[$€£]?\s*\d")
# A denial in the same clause before the number: "doesn't mean each group is 30%".
_NEGATION = re.compile(r"\b(?:not|never|no)\b|n't\b", re.IGNORECASE)
# Negative questions are rhetorical and assert their content: "wouldn't that be 75 seeds?"
_RHETORICAL = re.compile(r"\b(?:wouldn't|isn't|aren't|doesn't|don't|shouldn't|won't|can't)\b", re.IGNORECASE)


def parse_number(text: str) -> Decimal | None:
    """The value of a written number ("$1,000.00", "30%", "-2"), or None if it isn't one."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    return _value(match)


def _value(match: re.Match[str]) -> Decimal | None:
    try:
        value = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    if match.group(0).lstrip().startswith("-"):
        value = -value
    return value.normalize()


def numbers_in(text: str) -> set[Decimal]:
    return {v for m in _NUMBER.finditer(text) if (v := _value(m)) is not None}


def _occurrences(reply: str, answer: str) -> list[tuple[int, int]]:
    """Spans of `answer` in `reply`: by value for numbers, by word-bounded text otherwise."""
    value = parse_number(answer)
    if value is not None:
        return [m.span(1) for m in _NUMBER.finditer(reply) if _value(m) == value]
    needle = " ".join(answer.split())
    if not needle:
        return []
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, needle.split(" "))) + r"(?!\w)", re.IGNORECASE)
    return [m.span() for m in pattern.finditer(reply)]


def _sentence(reply: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in _SENTENCE_END.finditer(reply, 0, start)), default=0)
    right_match = _SENTENCE_END.search(reply, end)
    return left, right_match.end() if right_match else len(reply)


def _asserted(reply: str, start: int, end: int) -> bool:
    """Is this occurrence stated as the result, rather than restated, quoted or asked about?"""
    s_start, s_end = _sentence(reply, start, end)
    sentence = reply[s_start:s_end]
    rhetorical = False
    if sentence.rstrip().rstrip("\"')]").endswith("?"):
        rhetorical = bool(_RHETORICAL.search(sentence))
        if not rhetorical:
            return False
    after = reply[end:s_end][:60]
    if _RESULT_AFTER.match(after):
        return True
    before = reply[s_start:start]
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(before)]
    clause = before[breaks[-1]:] if breaks else before
    if len(breaks) > 1 and not clause.strip(" $€£"):  # apposition: "you got the total profit, $300"
        clause = before[breaks[-2]:]
    clause = clause[-60:]
    if _EQUATION_SETUP.search(clause) or _OPERAND.match(after):
        return False
    if _NEGATION.search(clause) and not rhetorical:
        return False
    return bool(_RESULT_BEFORE.search(clause))


def check_answer_leak(reply: str, final_answers: Sequence[str], *, context: str = "") -> LeakVerdict:
    """Does `reply` give away one of `final_answers`? `context` is what the learner has already
    seen (the question, the conversation so far); answers found there need an assertion."""
    context_numbers = numbers_in(context)
    context_folded = " ".join(context.split()).casefold()
    for index, answer in enumerate(a for a in final_answers if a.strip()):
        spans = _occurrences(reply, answer)
        if not spans:
            continue
        value = parse_number(answer)
        known = value in context_numbers if value is not None else " ".join(answer.split()).casefold() in context_folded
        if not known:
            return LeakVerdict(True, "answer", 0.9, f"final answer #{index + 1} stated, not said before")
        if any(_asserted(reply, start, end) for start, end in spans):
            return LeakVerdict(True, "answer", 0.7, f"final answer #{index + 1} asserted as the result")
    return NO_LEAK
