"""What the learner wants from a turn, read from what they say rather than from keywords alone.

Before any rule runs, the parts of the message that are *quoted* are set aside: code and output in
backticks or fences, pasted program lines, and what the learner reports their program printed
("I get Tip: 1200.00", "it says NameError: ..."). A word inside a quotation is data, not a request:
"Tip" in "I get Tip: 1200.00" is their output, not a wish for a tip. A message that reports output
or an error is a request to understand it (`explain`); asking for an explanation again, or a
simpler one, is `explain_again`.

Order matters: asking for the answer outranks asking for help ("help me, just give me the
code"), and an attempt to change the tutor's rules outranks everything.
"""

from __future__ import annotations

import re

# "I get X", "it prints X", "the output is X", "it says X" where X looks like output (digits, a colon,
# quotes), or an error's name: the learner reports what happened.
_VERB = (r"(?:get|got|gets|am getting|keep getting|print(?:s|ed)?|show(?:s|ed)?|output(?:s|ted)?|says?|said|"
         r"gives?|gave|returns?|returned|comes? out(?: as)?|is|was)")
_REPORT = re.compile(
    r"\b(?:i|it|mine|my (?:code|program|output|answer)|the (?:output|result|program|code|test))\s+" + _VERB +
    r"\b\s*:?\s*[^?!\n]*?(?:\d|[:=`\"'])|\btraceback\b|\b[A-Z]\w*(?:Error|Exception)\b", re.I)
# What follows a report verb up to the end of the sentence is the reported output.
_REPORTED = re.compile(r"(\b" + _VERB + r"\b\s*:?\s*)([^?!\n]*?(?:\d|[:=`\"'])[^?!\n,]*)", re.I)
_QUOTED = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|\"[^\"\n]*\"|'[^'\n]{2,}'(?!\w)", re.S)
_AGAIN = re.compile(
    r"\b(?:explain|say|put) (?:it|that|this)?\s*(?:again|differently|another way|more simply|simpler)\b|"
    r"\b(?:simpler|more simply|in simpler (?:words|terms)|another way|other words|eli5|like i'?m (?:five|5))\b|"
    r"\bstill (?:don'?t|do not|doesn'?t|confused|lost|stuck|not sure)\b|\bdon'?t (?:get|understand) (?:it|that|this)\b|"
    r"\bwhat do you mean\b|\bi didn'?t (?:get|understand|follow)\b|\bmakes no sense\b|\bagain\?", re.I)

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


def own_words(message: str) -> str:
    """The message without what it quotes: code, output, pasted program lines, reported results."""
    text = _QUOTED.sub(" ", message)
    text = "\n".join(line for line in text.splitlines() if not _CODE_LINE.match(line))
    if _REPORT.search(text):
        text = _REPORTED.sub(lambda m: m.group(1), text)
    return text


def classify(message: str, *, injection: str | None = None) -> str:
    if injection:
        return "injection"
    words = own_words(message)
    first = _RULES[0]
    if first[1].search(words):
        return first[0]  # asking for the answer, even while reporting output
    if _AGAIN.search(words):
        return "explain_again"
    reports = bool(_REPORT.search(message))
    for intent, pattern in _RULES[1:]:
        if pattern.search(words) and not (reports and intent in ("check_answer", "explain", "greeting")):
            return intent
    if reports:
        return "explain"  # "I get Tip: 1200.00", "it says NameError": help me understand what happened
    if looks_like_code(message):
        return "check_answer"
    return "question"


_CONFUSED = re.compile(r"\b(confus|don'?t (understand|get)|lost|makes no sense|no idea|what\?|still don'?t)", re.I)


def confusion_words(message: str) -> bool:
    return bool(_CONFUSED.search(message))
