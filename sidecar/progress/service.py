"""Lesson progress: idempotent events, completion roll-ups and "continue where you left off".

Every event carries a client-generated id; the (user, event id) pair is unique, so a replayed or
duplicated event changes nothing. Completion is a conditional update, and XP has its own unique
source key, so concurrent duplicates of the same completion award once on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from sidecar.catalog.service import CatalogIndex, LessonInfo, get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.gamification import service as gamification
from sidecar.gamification import xp
from sidecar.gamification.models import AchievementPublic

from .models import (
    CourseProgressPublic,
    EventResultPublic,
    LessonStatePublic,
    ModuleProgressPublic,
    ProgressPublic,
)
from .tables import LessonProgress, ProgressEvent

# A client clock may be off; events claiming the future or the distant past are clamped.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=7)


def _clamp(occurred_at: datetime | None, now: datetime) -> datetime:
    if occurred_at is None or occurred_at.tzinfo is None:
        return now
    if occurred_at > now + MAX_CLOCK_SKEW or occurred_at < now - MAX_EVENT_AGE:
        return now
    return occurred_at


def _lesson(index: CatalogIndex, lesson_id: str) -> LessonInfo:
    lesson = index.lessons.get(lesson_id)
    if lesson is None:
        raise NotFound(f"No lesson with id {lesson_id} in the catalog.")
    return lesson


def _mark(session: Session, *, user_id: str, lesson: LessonInfo, kind: str, at: datetime) -> bool:
    """Apply a started/completed transition; True when the lesson became completed just now."""
    values = {"user_id": user_id, "lesson_id": lesson.id, "module_id": lesson.module_id,
              "course_id": lesson.course_id, "state": kind, "started_at": at,
              "completed_at": at if kind == "completed" else None, "updated_at": at}
    if insert_ignore(session, LessonProgress, values, ["user_id", "lesson_id"]):
        return kind == "completed"
    if kind != "completed":
        return False
    changed = session.execute(update(LessonProgress).where(
        LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson.id,
        LessonProgress.state != "completed").values(state="completed", completed_at=at, updated_at=at)
        .returning(LessonProgress.lesson_id)).first()
    return changed is not None


def _completed_ids(session: Session, user_id: str, lesson_ids: tuple[str, ...]) -> set[str]:
    if not lesson_ids:
        return set()
    return set(session.scalars(select(LessonProgress.lesson_id).where(
        LessonProgress.user_id == user_id, LessonProgress.state == "completed",
        LessonProgress.lesson_id.in_(lesson_ids))))


def _on_lesson_completed(session: Session, *, user_id: str, lesson: LessonInfo, index: CatalogIndex,
                         at: datetime, award: xp.XpAward | None = None) -> tuple[int, int]:
    """Award lesson (or the given graded award), then module XP; returns (xp awarded, courses completed)."""
    if award is None:
        award = xp.lesson_xp(base=lesson.xp, first_attempt=True,
                             streak_active=gamification.streak_is_active(session=session, user_id=user_id, instant=at))
    awarded = gamification.award_xp(session=session, user_id=user_id, source_key=f"lesson:{lesson.id}", award=award)
    module = index.modules[lesson.module_id]
    if _completed_ids(session, user_id, module.lesson_ids) == set(module.lesson_ids):
        first_start = session.scalar(select(func.min(LessonProgress.started_at)).where(
            LessonProgress.user_id == user_id, LessonProgress.module_id == module.id)) or at
        minutes = (at - first_start).total_seconds() / 60
        awarded += gamification.award_xp(session=session, user_id=user_id, source_key=f"module:{module.id}",
                                         award=xp.module_xp(minutes_spent=minutes, par_minutes=module.par_minutes))
    # One grouped count instead of a query per course: a catalog may hold many courses.
    done_per_course = dict(session.execute(
        select(LessonProgress.course_id, func.count()).where(
            LessonProgress.user_id == user_id, LessonProgress.state == "completed")
        .group_by(LessonProgress.course_id)).all())
    courses_done = sum(
        1 for course in index.courses.values()
        if (size := sum(len(index.modules[m].lesson_ids) for m in course.module_ids))
        and done_per_course.get(course.id, 0) >= size)
    return awarded, courses_done


def record_event(*, engine: Engine, catalog_db: Path, user_id: str, event_id: str, lesson_id: str, kind: str,
                 occurred_at: datetime | None, gamification_enabled: bool) -> EventResultPublic:
    if kind not in ("started", "completed"):
        raise InvalidInput("kind must be started or completed.")
    index = get_index(catalog_db=catalog_db)
    lesson = _lesson(index, lesson_id)
    if kind == "completed" and not lesson.completes_on_reading:
        raise Conflict("This lesson completes when its exercise or quiz passes on the server, not on reading.")
    now = utcnow()
    at = _clamp(occurred_at, now)
    with write_session(engine) as session:
        fresh = insert_ignore(session, ProgressEvent, {
            "user_id": user_id, "event_id": event_id, "lesson_id": lesson_id, "kind": kind,
            "occurred_at": at, "received_at": now}, ["user_id", "event_id"])
        awarded, new_achievements = 0, []
        if fresh:
            completed_now = _mark(session, user_id=user_id, lesson=lesson, kind=kind, at=at)
            if gamification_enabled:
                gamification.record_activity(session=session, user_id=user_id, instant=at)
                if completed_now:
                    awarded, courses_done = _on_lesson_completed(session, user_id=user_id, lesson=lesson,
                                                                 index=index, at=at)
                    new_achievements = gamification.evaluate_achievements(
                        session=session, user_id=user_id, courses_completed=courses_done)
    # Reads after the commit: the write transaction (one writer at a time on SQLite) stays short.
    with read_session(engine) as session:
        state = session.get(LessonProgress, (user_id, lesson_id))
        total = gamification.total_xp(session, user_id)
    return EventResultPublic(event_id=event_id, duplicate=not fresh, lesson_id=lesson_id,
                             state=state.state if state else "not_started", xp_awarded=awarded, total_xp=total,
                             new_achievements=new_achievements)


def complete_graded_lesson(*, session: Session, catalog_db: Path, user_id: str, lesson_id: str, at: datetime,
                           award: xp.XpAward, gamification_enabled: bool) -> tuple[bool, int, list[AchievementPublic]]:
    """Complete a lesson from a server-graded result (grading calls this inside its transaction).

    Returns (completed just now, XP awarded, new achievements); a lesson completes once.
    """
    index = get_index(catalog_db=catalog_db)
    lesson = _lesson(index, lesson_id)
    completed_now = _mark(session, user_id=user_id, lesson=lesson, kind="completed", at=at)
    if not gamification_enabled:
        return completed_now, 0, []
    gamification.record_activity(session=session, user_id=user_id, instant=at)
    if not completed_now:
        return False, 0, []
    awarded, courses_done = _on_lesson_completed(session, user_id=user_id, lesson=lesson, index=index, at=at,
                                                 award=award)
    fresh = gamification.evaluate_achievements(session=session, user_id=user_id, courses_completed=courses_done)
    return True, awarded, fresh


def lesson_state(*, engine: Engine, user_id: str, lesson_id: str) -> str:
    with read_session(engine) as session:
        row = session.get(LessonProgress, (user_id, lesson_id))
        return row.state if row else "not_started"


def get_progress(*, engine: Engine, catalog_db: Path, user_id: str) -> ProgressPublic:
    index = get_index(catalog_db=catalog_db)
    with read_session(engine) as session:
        rows = session.scalars(select(LessonProgress).where(LessonProgress.user_id == user_id)).all()
    states = {r.lesson_id: r for r in rows if r.lesson_id in index.lessons}
    lessons = [LessonStatePublic(lesson_id=r.lesson_id, state=r.state, started_at=r.started_at,
                                 completed_at=r.completed_at) for r in states.values()]
    done = {lid for lid, r in states.items() if r.state == "completed"}
    courses: list[CourseProgressPublic] = []
    for course in index.courses.values():
        modules = []
        for mid in course.module_ids:
            module = index.modules[mid]
            count = len(set(module.lesson_ids) & done)
            modules.append(ModuleProgressPublic(module_id=mid, title=module.title, completed_lessons=count,
                                                total_lessons=len(module.lesson_ids),
                                                completed=count == len(module.lesson_ids)))
        total = sum(m.total_lessons for m in modules)
        completed = sum(m.completed_lessons for m in modules)
        if total and any(lid in states for mid in course.module_ids for lid in index.modules[mid].lesson_ids):
            courses.append(CourseProgressPublic(course_id=course.id, title=course.title, track_id=course.track_id,
                                                completed_lessons=completed, total_lessons=total,
                                                percent=round(100 * completed / total, 1),
                                                completed=completed == total, modules=modules))
    return ProgressPublic(lessons=lessons, courses=courses, continue_lesson=_continue(index, states))


def _continue(index: CatalogIndex, states: dict[str, LessonProgress]) -> LessonStatePublic | None:
    """The most recently touched unfinished lesson, else the next lesson after the latest completed one."""
    if not states:
        return None
    unfinished = [r for r in states.values() if r.state != "completed"]
    if unfinished:
        latest = max(unfinished, key=lambda r: r.updated_at)
        return LessonStatePublic(lesson_id=latest.lesson_id, state=latest.state, started_at=latest.started_at,
                                 completed_at=None, url=index.lessons[latest.lesson_id].url,
                                 title=index.lessons[latest.lesson_id].title)
    last = max(states.values(), key=lambda r: r.updated_at)
    position = index.lesson_order.index(last.lesson_id)
    course_id = index.lessons[last.lesson_id].course_id
    for lesson_id in index.lesson_order[position + 1:]:
        info = index.lessons[lesson_id]
        if info.course_id == course_id and lesson_id not in states:
            return LessonStatePublic(lesson_id=lesson_id, state="not_started", url=info.url, title=info.title)
    return None
