"""The verdict type shared by the answer-leak checks (code and final answers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeakVerdict:
    """Whether a tutor reply gives away the solution.

    `detail` goes to the event log, so it names the rule and the numbers behind it, never the
    solution text or the answer itself.
    """

    leaked: bool
    kind: str | None  # "code" | "translation" | "answer" | None
    score: float  # similarity or confidence, 0..1
    detail: str


NO_LEAK = LeakVerdict(False, None, 0.0, "no leak")
