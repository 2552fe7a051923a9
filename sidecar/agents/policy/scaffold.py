"""Scaffolded mode: the shape of a solution with the details left for the learner.

Each line of the reference solution that the starter does not already give becomes its
statement's keyword with `...` for everything that carries the answer (conditions, values,
arguments). More lines are shown as the learner progresses (attempts, hints), never all of
them, and the leak guard still checks the result like any other reply.
"""

from __future__ import annotations

import re

_SHAPES = [
    (re.compile(r"^(\s*)for\s+(\w+)\s+in\s+.+:\s*$"), r"\1for \2 in ...:"),
    (re.compile(r"^(\s*)while\s+.+:\s*$"), r"\1while ...:"),
    (re.compile(r"^(\s*)(if|elif)\s+.+:\s*$"), r"\1\2 ...:"),
    (re.compile(r"^(\s*)else\s*:\s*$"), r"\1else:"),
    (re.compile(r"^(\s*)def\s+(\w+)\s*\(.*\)\s*:\s*$"), r"\1def \2(...):"),
    (re.compile(r"^(\s*)return\b.*$"), r"\1return ..."),
    (re.compile(r"^(\s*)print\(.*\)\s*$"), r"\1print(...)"),
    (re.compile(r"^(\s*)([A-Za-z_]\w*)\s*([+\-*/%]?=)\s*.+$"), r"\1\2 \3 ..."),
]


def _shape(line: str) -> str:
    for pattern, replacement in _SHAPES:
        if pattern.match(line):
            return pattern.sub(replacement, line)
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}..."


def skeleton(solution: str, starter: str, *, reveal: int) -> str:
    """The solution's outline: starter lines as they are, `reveal` further lines as shapes."""
    given = {line.strip() for line in starter.splitlines() if line.strip() and not line.strip().startswith("#")}
    out: list[str] = []
    shown = 0
    for line in solution.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        if line.strip() in given:
            out.append(line.rstrip())
        elif shown < reveal:
            out.append(_shape(line.rstrip()))
            shown += 1
        else:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# ... (your code)")
            break
    return "\n".join(out)


def lines_to_reveal(*, attempts: int, hints_seen: int, total: int) -> int:
    """Start with the first two shapes; one more per attempt or hint, never every line."""
    return max(1, min(2 + attempts + hints_seen, total - 1))
