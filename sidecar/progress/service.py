"""Lesson progress: completion roll-ups and "continue where you left off".

Recording events (idempotent, exactly-once) lives in events.py; it is re-exported here. What any
completion earns (reading, a passing submission or quiz attempt) is completion.py's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, or_, select

from sidecar.catalog.service import CatalogIndex, get_catalog, get_index
from sidecar.db.engine import read_session
from sidecar.gamification import service as gamification

from .events import record_event
from .models import CourseProgressPublic, LessonStatePublic, ModuleProgressPublic, ProgressPublic
from .tables import LessonProgress

__all__ = ["active_between", "get_progress", "lesson_state", "record_event"]

def lesson_state(*, engine: Engine, user_id: str, lesson_id: str) -> str:
    with read_session(engine) as session:
        row = session.get(LessonProgress, (user_id, lesson_id))
        return row.state if row else "not_started"


# The ledger entries a course's XP sums: its lessons, quizzes and module bonuses.
LEDGER_KINDS = frozenset({"lesson", "quiz", "module"})


def get_progress(*, engine: Engine, catalog_db: Path, user_id: str) -> ProgressPublic:
    index = get_index(catalog_db=catalog_db)
    quizzes = _quizzes_by_lesson(catalog_db)
    with read_session(engine) as session:
        rows = session.scalars(select(LessonProgress).where(LessonProgress.user_id == user_id)).all()
        # XP per course comes from the ledger, keyed "<kind>:<id>" (completion.py decides the keys),
        # so it is exactly what was paid: nothing recomputed, nothing counted twice. Lesson, quiz and
        # module ids are unique across kinds, so the id says which course an entry belongs to.
        paid: dict[str, int] = {}
        for key, amount in gamification.xp_by_source(session, user_id).items():
            kind, _, subject = key.partition(":")
            if kind in LEDGER_KINDS:
                paid[subject] = paid.get(subject, 0) + amount
    states = {r.lesson_id: r for r in rows if r.lesson_id in index.lessons}
    # Each lesson's address and title, so the front end can mark links to it (course-progress.js).
    lessons = [LessonStatePublic(lesson_id=r.lesson_id, state=r.state, started_at=r.started_at,
                                 completed_at=r.completed_at, url=index.lessons[r.lesson_id].url,
                                 title=index.lessons[r.lesson_id].title) for r in states.values()]
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
        lesson_ids = [lid for mid in course.module_ids for lid in index.modules[mid].lesson_ids]
        if total and any(lid in states for lid in lesson_ids):
            quiz_ids = [(lid, qid) for lid in lesson_ids for qid in quizzes.get(lid, ())]
            subjects = [*lesson_ids, *(qid for _, qid in quiz_ids), *course.module_ids]
            courses.append(CourseProgressPublic(course_id=course.id, title=course.title, track_id=course.track_id,
                                                completed_lessons=completed, total_lessons=total,
                                                percent=round(100 * completed / total, 1),
                                                completed=completed == total,
                                                xp_earned=sum(paid.get(subject, 0) for subject in subjects),
                                                quizzes_passed=sum(1 for lid, _ in quiz_ids if lid in done),
                                                quizzes_total=len(quiz_ids), modules=modules))
    return ProgressPublic(lessons=lessons, courses=courses, continue_lesson=_continue(index, states))


def _quizzes_by_lesson(catalog_db: Path) -> dict[str, list[str]]:
    """The quiz ids each lesson places, from the catalog tree (cached with it)."""
    tree = get_catalog(catalog_db=catalog_db)
    return {lesson.id: list(lesson.quiz_ids) for track in tree.tracks for course in track.courses
            for module in course.modules for lesson in module.lessons if lesson.quiz_ids}


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


def active_between(*, engine: Engine, start: datetime, end: datetime) -> set[str]:
    """The learners who started or completed a lesson in [start, end): the weekly digest's readers."""
    with read_session(engine) as session:
        return set(session.scalars(select(LessonProgress.user_id).where(or_(
            (LessonProgress.started_at >= start) & (LessonProgress.started_at < end),
            (LessonProgress.completed_at >= start) & (LessonProgress.completed_at < end))).distinct()))
