"""Hints and sources that fit where the learner is (issue #12): a hint rung the learner's code
already satisfies (its authored `done_when`) is skipped, `drona validate` checks those patterns,
and the tutor's sources put the current lesson, then earlier ones, before later ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.agents.api.service import where_the_learner_is
from sidecar.agents.policy import tutor
from sidecar.agents.policy.content import get_content
from sidecar.agents.policy.turn import Turn
from sidecar.catalog import readers
from sidecar.compiler.build import BuildReport
from tests.test_hint_rungs import BOTTOM, EXERCISE, HEAD, _problems


@dataclass
class Rung:
    rung: int
    text: str
    bottom_out: bool
    remaining: int


class Ladder:
    """The hint service's contract (grading.hints.reveal_next): the next rung, recorded as seen."""

    def __init__(self, hints: list[dict[str, Any]]) -> None:
        self.hints, self.revealed = hints, 0

    def reveal_hint(self, exercise_id: str) -> Rung:
        self.revealed += 1
        hint = self.hints[self.revealed - 1]
        return Rung(self.revealed, hint["text"], bool(hint.get("bottom_out")), len(self.hints) - self.revealed)


def _turn(exercise: Any, code: str, services: Any) -> Turn:
    return Turn(user_id="u", message="hint please", intent="hint", mode="socratic", learner_kind=None,
                display_name="Ada", lesson=None, exercise=exercise, code=code, activity=None, passages=[],
                mastery={}, interactions=1, services=services)


def test_a_rung_the_code_already_satisfies_is_skipped(demo_build: BuildReport) -> None:
    exercises = {e.slug: e for e in readers.exercises(Path(demo_build.catalog_db)).values()}
    hello = exercises["say-hello"]
    assert hello.hints[0].get("done_when")  # "Which built-in function shows text on the screen?"
    ladder = Ladder(hello.hints)
    reply = tutor.reply_hint(_turn(hello, 'print(Hello)\n', ladder))
    assert reply.hint is not None and reply.hint["rung"] == 2
    assert "I skipped hint 1: your code already does that." in reply.text
    assert hello.hints[0]["text"] not in reply.text and hello.hints[1]["text"] in reply.text
    # Code that doesn't call print yet gets the first rung.
    fresh = tutor.reply_hint(_turn(hello, "# Write your code below\n", Ladder(hello.hints)))
    assert fresh.hint is not None and fresh.hint["rung"] == 1 and "skipped" not in fresh.text
    # The bottom-out rung is never skipped, whatever the code.
    total = exercises["sum-to-n"]
    ladder = Ladder(total.hints)
    ladder.revealed = len(total.hints) - 1
    last = tutor.reply_hint(_turn(total, "total = 0\n", ladder))
    assert last.hint is not None and last.hint["bottom_out"]


SECOND = "  - text: Which numbers should the loop visit?\n"


def _with_done_when(root: Path, rung: str) -> list[tuple[str, int, str]]:
    text = HEAD + rung + SECOND + BOTTOM
    (root / EXERCISE).write_text(text, encoding="utf-8")
    problems = _problems(root)
    assert all(p[2].startswith("hints[0].done_when") for p in problems), problems
    return problems


def test_validate_checks_done_when_patterns(content_tree: Path) -> None:
    good = "  - text: What should the total start at?\n    done_when: '(?m)^total\\s*=\\s*0'\n"
    assert _with_done_when(content_tree, good) == []
    broken = "  - text: What should the total start at?\n    done_when: 'total = ('\n"
    problems = _with_done_when(content_tree, broken)
    assert len(problems) == 1 and problems[0][0] == EXERCISE and "invalid regular expression" in problems[0][2]
    assert problems[0][1] == HEAD.count("\n") + 2  # the done_when line itself
    starter = "  - text: Read n first.\n    done_when: 'input\\('\n"
    assert "matches the starter code" in _with_done_when(content_tree, starter)[0][2]
    unrelated = "  - text: Use a while loop?\n    done_when: 'while '\n"
    assert "does not match the solution" in _with_done_when(content_tree, unrelated)[0][2]


@dataclass(frozen=True)
class Passage:
    lesson_id: str
    lesson_title: str = ""
    heading: str = ""
    url: str = ""
    text: str = ""
    score: float = 0.0
    chunk_id: str = ""


def test_sources_come_from_the_current_lesson_then_earlier_ones(demo_build: BuildReport) -> None:
    content = get_content(Path(demo_build.catalog_db))
    lessons = list(content.lessons.values())
    course = [lesson for lesson in lessons if lesson.course_id == lessons[0].course_id]
    assert len(course) >= 5
    here = course[3]
    earlier, later = course[1], course[-1]
    found = [Passage(later.id), Passage(earlier.id), Passage(here.id), Passage(later.id), Passage(course[0].id)]
    ordered = [p.lesson_id for p in where_the_learner_is(found, here, content)]
    assert ordered == [here.id, earlier.id, course[0].id, later.id, later.id]
    assert where_the_learner_is(found, None, content) == found  # no lesson: retrieval's order
