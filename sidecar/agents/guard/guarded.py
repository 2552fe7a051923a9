"""The answer-leak guard applied to replies, including streamed model output.

A streamed reply is released to the learner in pieces the guard has already checked: whole lines
outside code fences, and whole fenced blocks. Each check covers everything released so far plus
the new piece, so what the learner sees never contains a detected leak; on a leak the stream stops
and the orchestrator replaces the reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.agents import guard
from sidecar.catalog.readers import ExerciseRecord


@dataclass
class LeakPolicy:
    """What may not be said in this turn: nothing is protected once the bottom-out is earned."""

    exercise: ExerciseRecord | None
    protected: bool
    context: str  # the task and the learner's own words and code: numbers there are not leaks

    def check(self, text: str) -> guard.LeakVerdict | None:
        if not self.protected or self.exercise is None:
            return None
        verdict = guard.check_reply(text, solution=self.exercise.solution, starter=self.exercise.starter,
                                    final_answers=self.exercise.final_answers, context=self.context,
                                    public=public_material(self.exercise), count_inline=True)
        return verdict if verdict.leaked else None


def public_material(exercise: ExerciseRecord) -> tuple[str, ...]:
    """What any learner may already have read: the worked example on the lesson page (a different
    problem with the same pattern) and the hint rungs before the bottom-out one (the first on the
    page, the others from the server on request, with no gate). Validation guarantees those rungs
    do not reveal the solution themselves (courseware/validate.py)."""
    hints = tuple(h["text"] for h in exercise.hints if not h.get("bottom_out"))
    return ((exercise.example,) if exercise.example else ()) + hints


class StreamGuard:
    def __init__(self, policy: LeakPolicy) -> None:
        self.policy = policy
        self.released = ""
        self.pending = ""
        self.verdict: guard.LeakVerdict | None = None

    def _in_fence(self, text: str) -> bool:
        return text.count("```") % 2 == 1

    def feed(self, delta: str) -> str:
        """Add model text; return what may be shown now ("" while holding or after a leak)."""
        if self.verdict is not None:
            return ""
        self.pending += delta
        cut = self.pending.rfind("\n") + 1
        if cut == 0:
            return ""
        candidate = self.pending[:cut]
        if self._in_fence(self.released + candidate):
            return ""  # hold an open code block until it closes: code is judged as a whole
        return self._release(candidate)

    def finish(self) -> str:
        """The rest at the end of the stream."""
        if self.verdict is not None or not self.pending:
            return ""
        return self._release(self.pending)

    def _release(self, piece: str) -> str:
        verdict = self.policy.check(self.released + piece)
        if verdict is not None:
            self.verdict = verdict
            return ""
        self.released += piece
        self.pending = self.pending[len(piece):]
        return piece
