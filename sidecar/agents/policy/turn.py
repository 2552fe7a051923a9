"""What the orchestrator hands an agent for one turn, and what the agent hands back.

Agents are stateless functions of a Turn; the orchestrator owns the state between turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sidecar.catalog.readers import ExerciseRecord, LessonRecord


@dataclass
class Turn:
    user_id: str
    message: str
    intent: str
    mode: str
    learner_kind: str | None
    display_name: str
    lesson: LessonRecord | None
    exercise: ExerciseRecord | None
    code: str | None  # the learner's current code (from the editor), untrusted
    activity: Any | None  # grading.exercises.ExerciseActivity for the exercise, signed-in learners
    passages: list[Any]  # retrieval.Passage, best first
    mastery: dict[str, float]  # skill -> p(known)
    interactions: int  # learner turns in this lesson so far, this one included
    history: list[dict[str, str]] = field(default_factory=list)  # earlier turns: {role, content}
    earlier_replies: list[str] = field(default_factory=list)  # every earlier assistant reply of the conversation
    pending_item: dict[str, Any] | None = None
    services: Any = None  # the orchestrator's handle on other domains (hint ladder, sandbox, progress)
    events: dict[str, Any] = field(default_factory=dict)  # new_pass, quick_pass, checkin, long_pause


@dataclass
class Reply:
    text: str  # Markdown
    agent: str
    mode: str
    citations: list[dict[str, str]] = field(default_factory=list)
    hint: dict[str, Any] | None = None  # {rung, total, bottom_out} when a hint rung was revealed
    item: dict[str, Any] | None = None  # a generated question (answers never included)
    reveals_solution: bool = False  # the bottom-out rung, earned: the leak guard stands down
    pending_item: dict[str, Any] | None | bool = False  # False: leave the pending item as it is
    meta: dict[str, Any] = field(default_factory=dict)


def cite(passages: list[Any], limit: int = 2) -> list[dict[str, str]]:
    """Citations for a reply: lesson links, each lesson once."""
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for passage in passages:
        if passage.lesson_id in seen:
            continue
        seen.add(passage.lesson_id)
        title = passage.lesson_title if passage.heading in ("", passage.lesson_title) else \
            f"{passage.lesson_title} › {passage.heading}"
        out.append({"lesson_id": passage.lesson_id, "title": title, "url": "/" + passage.url.lstrip("/")})
        if len(out) >= limit:
            break
    return out


def read_more(citations: list[dict[str, str]]) -> str:
    if not citations:
        return ""
    links = ", ".join(f"[{c['title']}]({c['url']})" for c in citations)
    return f"Read more: {links}"
