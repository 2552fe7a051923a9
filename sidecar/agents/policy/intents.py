"""What the learner wants from a turn, read from their words with plain rules.

Order matters: asking for the answer outranks asking for help ("help me, just give me the
code"), and an attempt to change the tutor's rules outranks everything.
"""

from __future__ import annotations

import re

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("answer_request", re.compile(
        r"\b(give|tell|show|write|send|paste|type|print|reveal|post)\b.{0,25}\b(answer|solution|code|program|"
        r"result|line)s?\b|\bjust the (first|last|next) line\b|\bwhat (do|should) i (type|write|put)\b|"
        r"\bdo (it|this|the exercise) for me\b|\b(full|complete|whole|working|correct) (code|solution|answer|"
        r"program)\b|\bsolve (it|this)\b|\bwhat(?:'s| is) the (answer|solution|output)\b|\bfill in\b.{0,20}\bfor me\b",
        re.I)),
    ("check_answer", re.compile(
        r"\b(is|was) (this|that|my (code|answer|solution))( \w+)? (right|correct|ok|okay|good)\b|"
        r"\bcheck (my|this) (answer|code|solution)\b|\bam i (right|correct|close)\b|\bdid i get it\b", re.I)),
    ("hint", re.compile(r"\b(hint|clue|nudge|tip)s?\b|\bi'?m stuck\b|\bstuck\b|\bnext step\b|\bwhere do i start\b|"
                        r"\bhow do i (start|begin)\b|\bhelp me\b", re.I)),
    ("example", re.compile(r"\b(an?|another|some) examples?\b|\bexample\b|\bshow me how\b|\bsimilar problem\b", re.I)),
    ("review", re.compile(r"\breview\b|\bfeedback on my\b|\b(improve|clean up|refactor)\b|\bstyle\b|"
                          r"\b(more )?efficient\b|\bbetter way\b|\bcode quality\b|\bbest practice", re.I)),
    ("quiz", re.compile(r"\bquiz me\b|\btest me\b|\bpractice (question|problem)s?\b|\bask me (a|another) "
                        r"question\b|\bgive me (a|another) (question|exercise|challenge)\b", re.I)),
    ("project", re.compile(r"\bmilestones?\b|\bproject\b|\brubric\b|\b(plan|design|architecture|structure) "
                           r"(of|for) my\b|\bbreak (it|this) (down|into)\b", re.I)),
    ("mentor", re.compile(r"\bhow am i doing\b|\bmy progress\b|\bcareer\b|\bjob\b|\bgoals?\b|\breflect|"
                          r"\bthis week\b|\bwhat should i learn\b|\bmotivat", re.I)),
    ("struggle", re.compile(r"\bi give up\b|\bfrustrat|\btoo hard\b|\bi can'?t do (this|it)\b|\bhopeless\b|"
                            r"\bi'?m (so |really )?(lost|confused|tired)\b|\bnothing works\b|\bhate this\b", re.I)),
    ("explain", re.compile(r"\bexplain\b|\bwhy\b|\bwhat (does|is|are|do)\b|\bhow (does|do|is)\b|"
                           r"\bdon'?t (understand|get)\b|\bconfus|\bmeaning of\b|\bwhat'?s wrong\b|\berror\b|"
                           r"\bdoesn'?t work\b|\bfail", re.I)),
    ("greeting", re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (morning|evening))\b[\s!.]*$", re.I)),
]

_CODE_LINE = re.compile(r"^\s*(for|while|if|elif|else|def|print|return|import)\b.*|^\s*\w+\s*[+\-*/]?=\s*\S", re.M)


def looks_like_code(text: str) -> bool:
    return "```" in text or len(_CODE_LINE.findall(text)) >= 2


def classify(message: str, *, injection: str | None = None) -> str:
    if injection:
        return "injection"
    for intent, pattern in _RULES:
        if pattern.search(message):
            return intent
    if looks_like_code(message):
        return "check_answer"
    return "question"


_CONFUSED = re.compile(r"\b(confus|don'?t (understand|get)|lost|makes no sense|no idea|what\?)", re.I)


def confusion_words(message: str) -> bool:
    return bool(_CONFUSED.search(message))
