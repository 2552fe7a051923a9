"""Learner state the orchestrator keeps between turns: per-lesson counters and skill estimates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sidecar.agents.policy.content import get_content
from sidecar.agents.tables import AiLessonState, MasterySource, SkillMastery
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.grading import exercises as grading
from sidecar.learner_model import online as learner_model
from sidecar.learner_model.model import Params
from sidecar.learner_model.online import Tracker


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


def _rows(session: Session, user_id: str, *, lock: bool) -> list[SkillMastery]:
    query = select(SkillMastery).where(SkillMastery.user_id == user_id).order_by(SkillMastery.skill)
    return list(session.scalars(query.with_for_update() if lock else query).all())


def _tracker(rows: list[SkillMastery], params: Params) -> Tracker:
    return Tracker.recover(params, {row.skill: (row.p_known, row.observations) for row in rows})


def _apply(session: Session, user_id: str, skills: list[str], correct: bool, source_key: str,
           params: Params) -> None:
    """Fold one graded result into the learner model's state and rewrite the learner's estimates.

    The overall success rate is a feature of every skill's estimate, so every row of the learner is
    rewritten (each with the same parameters and overall rate, which keeps them invertible: see
    sidecar/learner_model/online.py); only the practised skills' observations and updated_at move.
    """
    if not skills or not insert_ignore(session, MasterySource, {"user_id": user_id, "source_key": source_key,
                                                                "created_at": utcnow()},
                                       ["user_id", "source_key"]):
        return  # already counted: a retried request or a concurrent turn folded it in
    now = utcnow()
    fresh = Tracker(params).estimate
    for skill in skills:
        insert_ignore(session, SkillMastery, {"user_id": user_id, "skill": skill, "p_known": fresh(skill),
                                              "observations": 0, "updated_at": now}, ["user_id", "skill"])
    rows = _rows(session, user_id, lock=True)
    tracker = _tracker(rows, params)
    for skill in skills:
        tracker.observe(skill, correct)
    estimates = tracker.estimates()
    for row in rows:
        row.p_known = estimates[row.skill]
        if row.skill in skills:
            row.observations = tracker.state[row.skill][0]
            row.updated_at = now


def record_result(*, engine: Engine, user_id: str, skills: list[str], correct: bool, source_key: str,
                  multiple_choice: bool = False, model_params: Path | None = None) -> None:
    """Count one graded answer. `multiple_choice` is kept for callers: the fitted model has no guess
    parameter, so a lucky guess shows in its coefficients rather than in a per-kind constant."""
    with write_session(engine) as session:
        _apply(session, user_id, list(dict.fromkeys(skills)), correct, source_key, learner_model.params(model_params))


def tracker(*, engine: Engine, user_id: str, model_params: Path | None = None) -> Tracker:
    """The learner's state under the learner model, read back from the stored estimates."""
    with read_session(engine) as session:
        return _tracker(_rows(session, user_id, lock=False), learner_model.params(model_params))


def refresh_mastery(*, engine: Engine, catalog_db: Path, user_id: str,
                    model_params: Path | None = None) -> dict[str, float]:
    """Fold graded submissions not yet counted into the estimates; return every estimate."""
    with read_session(engine) as session:
        seen = set(session.scalars(select(MasterySource.source_key).where(MasterySource.user_id == user_id)).all())
    fresh = grading.graded_since(engine=engine, user_id=user_id, source_keys_seen=seen)
    if fresh:
        lessons = get_content(catalog_db).lessons
        params = learner_model.params(model_params)
        with write_session(engine) as session:
            for result in fresh:
                lesson = lessons.get(result["lesson_id"] or "")
                if lesson is not None:
                    _apply(session, user_id, list(dict.fromkeys(lesson.skills)), bool(result["passed"]),
                           result["source_key"], params)
    with read_session(engine) as session:
        return {row.skill: row.p_known for row in session.scalars(
            select(SkillMastery).where(SkillMastery.user_id == user_id)).all()}
