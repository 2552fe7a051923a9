"""Learner state the orchestrator keeps between turns: per-lesson counters and skill estimates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sidecar.agents.memory import mastery
from sidecar.agents.policy.content import get_content
from sidecar.agents.tables import AiLessonState, MasterySource, SkillMastery
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.grading import exercises as grading


def touch_lesson(*, engine: Engine, user_id: str, lesson_id: str, confused: bool,
                 now: datetime | None = None) -> tuple[AiLessonState, float | None]:
    """Count this turn; returns the state and the seconds since the learner's previous action."""
    now = now or utcnow()
    with write_session(engine) as session:
        insert_ignore(session, AiLessonState, {"user_id": user_id, "lesson_id": lesson_id, "interactions": 0,
                                               "confusion": 0, "last_checkin": 0, "seen_submissions": 0,
                                               "last_action_at": now}, ["user_id", "lesson_id"])
        state = session.scalars(select(AiLessonState).where(AiLessonState.user_id == user_id,
                                                            AiLessonState.lesson_id == lesson_id)
                                .with_for_update()).one()
        idle = (now - state.last_action_at).total_seconds() if state.interactions else None
        state.interactions += 1
        state.confusion = state.confusion + 1 if confused else max(0, state.confusion - 1)
        state.last_action_at = now
        session.flush()
        session.expunge(state)
        return state, idle


def after_reply(*, engine: Engine, user_id: str, lesson_id: str, seen_submissions: int | None, checkin: bool,
                pending_item: dict[str, Any] | None | bool) -> None:
    with write_session(engine) as session:
        state = session.scalars(select(AiLessonState).where(AiLessonState.user_id == user_id,
                                                            AiLessonState.lesson_id == lesson_id)
                                .with_for_update()).first()
        if state is None:
            return
        if seen_submissions is not None:
            state.seen_submissions = max(state.seen_submissions, seen_submissions)
        if checkin:
            state.last_checkin = state.interactions
        if pending_item is not False:
            state.pending_item = pending_item  # type: ignore[assignment]


def _apply(session: Session, user_id: str, skills: list[str], correct: bool, source_key: str,
           params: mastery.BktParams = mastery.DEFAULT) -> None:
    if not skills or not insert_ignore(session, MasterySource, {"user_id": user_id, "source_key": source_key,
                                                                "created_at": utcnow()},
                                       ["user_id", "source_key"]):
        return  # already counted: a retried request or a concurrent turn folded it in
    for skill in skills:
        insert_ignore(session, SkillMastery, {"user_id": user_id, "skill": skill, "p_known": params.p_init,
                                              "observations": 0, "updated_at": utcnow()}, ["user_id", "skill"])
        row = session.scalars(select(SkillMastery).where(SkillMastery.user_id == user_id, SkillMastery.skill == skill)
                              .with_for_update()).one()
        row.p_known = mastery.update(row.p_known, correct, params)
        row.observations += 1
        row.updated_at = utcnow()


def record_result(*, engine: Engine, user_id: str, skills: list[str], correct: bool, source_key: str,
                  multiple_choice: bool = False) -> None:
    with write_session(engine) as session:
        _apply(session, user_id, skills, correct, source_key,
               mastery.MULTIPLE_CHOICE if multiple_choice else mastery.DEFAULT)


def refresh_mastery(*, engine: Engine, catalog_db: Path, user_id: str) -> dict[str, float]:
    """Fold graded submissions not yet counted into the estimates; return every estimate."""
    with read_session(engine) as session:
        seen = set(session.scalars(select(MasterySource.source_key).where(MasterySource.user_id == user_id)).all())
    fresh = grading.graded_since(engine=engine, user_id=user_id, source_keys_seen=seen)
    if fresh:
        lessons = get_content(catalog_db).lessons
        with write_session(engine) as session:
            for result in fresh:
                lesson = lessons.get(result["lesson_id"] or "")
                if lesson is not None:
                    _apply(session, user_id, lesson.skills, bool(result["passed"]), result["source_key"])
    with read_session(engine) as session:
        return {row.skill: row.p_known for row in session.scalars(
            select(SkillMastery).where(SkillMastery.user_id == user_id)).all()}
