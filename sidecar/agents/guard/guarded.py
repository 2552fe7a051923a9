"""The answer-leak guard applied to replies, including streamed model output.

A streamed reply is released to the learner in pieces the guard has already checked: whole lines
outside code fences, and whole fenced blocks. Each check covers everything released so far plus
the new piece, so what the learner sees never contains a detected leak; on a leak the stream stops
and the orchestrator replaces the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from sidecar.agents import guard
from sidecar.catalog.readers import ExerciseRecord, final_answers
from sidecar.courseware.leaks import bracket_depth


@dataclass
class LeakPolicy:
    """What may not be said in this turn: nothing is protected once the bottom-out is earned.

    The guard protects only what is private: the solution lines the learner can't see anywhere,
    and the hidden tests' expected values. Everything the learner can already read is public
    (public_material): quoting it back is teaching, not leaking.
    """

    exercise: ExerciseRecord | None
    protected: bool
    context: str  # what the learner has seen this turn: the task, their words and code, the passages
    learner_code: tuple[str, ...] = ()  # the learner's own code (editor, last submission): theirs to quote

    @cached_property
    def _known(self) -> tuple[frozenset[str], tuple[str, ...], str, list[str]]:
        """What the learner can see this turn, worked out once (a streamed reply is checked piece by
        piece): their own lines, the public code, everything seen, and the answers still secret.

        The learner's own lines are theirs to quote, exactly as they wrote them: those are taken out
        of the reply, and only the solution lines they wrote verbatim count as known. A line they
        got wrong (a misspelt name) doesn't make the right one public, though the guard's
        normalising (names renamed) would see the two as the same line."""
        assert self.exercise is not None
        own = own_lines(self.learner_code)
        solution = {_squash(line) for line in self.exercise.solution.splitlines()}
        public = public_material(self.exercise) + tuple(line for line in own if line in solution)
        seen = "\n".join((self.context, *public, *self.learner_code, *public_text(self.exercise)))
        return own, public, seen, secret_answers(self.exercise, seen)

    def check(self, text: str) -> guard.LeakVerdict | None:
        if not self.protected or self.exercise is None:
            return None
        own, public, seen, secret = self._known
        verdict = guard.check_reply(without_own_lines(text, own), solution=self.exercise.solution,
                                    starter=self.exercise.starter, final_answers=secret, context=seen,
                                    public=public, count_inline=True)
        return verdict if verdict.leaked else None


def _squash(line: str) -> str:
    return " ".join(line.split())


def own_lines(codes: tuple[str, ...]) -> frozenset[str]:
    """The learner's code lines, whitespace-normalised (blank lines and comments aside)."""
    return frozenset(_squash(line) for code in codes for line in code.splitlines()
                     if line.strip() and not line.strip().startswith("#"))


_SPAN = re.compile(r"`([^`\n]+)`")


def without_own_lines(text: str, own: frozenset[str]) -> str:
    """The reply minus the learner's own lines, quoted in blocks or inline. Only lines that stand
    alone go: a row of a statement laid out over several rows (`CASES = [`, an item, `]`) stays, or
    the rows the learner lacks would be left as fragments that no longer read as code."""
    if not own:
        return text
    kept: list[str] = []
    depth = 0
    for line in text.splitlines():
        change = bracket_depth(line)
        if not (depth == 0 and change == 0 and line.strip() and _squash(line) in own):
            kept.append(line)
        depth = max(0, depth + change)
    return _SPAN.sub(lambda m: "``" if _squash(m.group(1)) in own else m.group(0), "\n".join(kept))


def public_material(exercise: ExerciseRecord) -> tuple[str, ...]:
    """Code any learner may already have read: the prompt (a task often names the call to make, e.g.
    `await asyncio.sleep(2)`), the worked example on the lesson page (a different problem with the
    same pattern), the visible tests (on the page, and their messages after a run) and the hint rungs
    before the bottom-out one (the first on the page, the others from the server on request, with no
    gate). Validation guarantees that none of these quotes the whole solution and that those rungs do
    not reveal it (courseware/validate.py)."""
    hints = tuple(h["text"] for h in exercise.hints if not h.get("bottom_out"))
    tests = tuple(str(t.get("code", "")) for t in exercise.visible_tests)
    return (exercise.prompt,) + ((exercise.example,) if exercise.example else ()) + hints + tests


def public_text(exercise: ExerciseRecord) -> tuple[str, ...]:
    """Prose any learner may already have read: the prompt, the visible tests' names and inputs,
    and the hidden tests' authored feedback (shown when they fail)."""
    visible = tuple(f"{t.get('name', '')}\n{t.get('stdin', '')}" for t in exercise.visible_tests)
    feedback = tuple(str(t.get("feedback", "")) for t in exercise.hidden_tests)
    return (exercise.prompt, *visible, *feedback)


def secret_answers(exercise: ExerciseRecord, seen: str) -> list[str]:
    """The hidden tests' expected values that the learner cannot read anywhere: what a reply must not
    state before the bottom-out. Small whole numbers ("0", "10", "-2") are too common in any
    explanation to tell anything, so they don't count."""
    folded = " ".join(seen.split()).casefold()
    return [a for a in final_answers(exercise.hidden_tests)
            if not _SMALL_INTEGER.fullmatch(a.strip()) and " ".join(a.split()).casefold() not in folded]


_SMALL_INTEGER = re.compile(r"-?\d{1,2}")


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
