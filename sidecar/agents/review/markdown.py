"""Quoting learner-controlled text (code, test output) inside the review's Markdown.

The tutor panel renders replies as Markdown, and a review quotes the learner's code. Put in single
backticks, code that itself holds a backtick ends the code span early, and whatever follows is
read as Markdown: a learner (or whoever wrote the code under review) could make the reply show a
clickable `[x](javascript:...)` link. CommonMark's rule closes that door: a code span opened by a
run of N backticks ends only at a run of exactly N, so a fence longer than any run inside cannot
be closed from inside. Line breaks become spaces (as inside a CommonMark code span anyway), so a
quote cannot end the list item or paragraph it sits in either.
"""

from __future__ import annotations

import re

_TICKS = re.compile(r"`+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def code(text: str) -> str:
    """`text` as an inline code span that nothing in it can end early."""
    text = _LINE_BREAK.sub(" ", text)
    if not text.strip():
        return "` `"  # a span of spaces only would be read as spaces by some renderers
    fence = "`" * (max((len(run) for run in _TICKS.findall(text)), default=0) + 1)
    # One space inside each end is dropped by renderers when both are there: needed when the text
    # starts or ends with a backtick (it would join the fence), and to keep text that starts and
    # ends with a space as it is.
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
