"""Recording lesson events: idempotent, exactly-once, and cheap enough for the busiest endpoint.

Every event carries a client-generated id; the (user, event id) pair is unique, so a replayed or
duplicated event changes nothing. Completion is a conditional update, and XP has its own unique
source key, so concurrent duplicates of the same completion award once on SQLite and PostgreSQL.

Why it is written this way: SQLite has one writer at a time, so the work done inside the write
transaction bounds the whole process's event throughput. Hence
- one read first, outside the write lock, that answers replays outright and spots events whose
  only effect is to be recorded (the lesson is already in that state and today already counts
  for the streak: most events). Those write one row.
- the writes are plain SQL on the driver connection (db.engine.Tx), not ORM statements.
The read is a safe shortcut because everything it checks only moves forward: a lesson's state
goes from none to started to completed and never back, a streak's last day never moves back (and
is set together with that day's activity row), and none of these rows is deleted but with the
account. So an event that was a no-op when read is still one when written, whatever ran between.
Replays answered from the read report the state and XP of that moment, which already include
every earlier request of the same learner.

Two clocks: `occurred_at` (the client's, clamped) is history: it is stored with the event and as
the lesson's started/completed time, so events queued offline keep when they happened. Rewards
(the streak's days, activity days, the streak bonus, the module's time against par) use the
server's clock, when the event arrived: a client's clock is the client's to set, and seven
back-dated events sent in one second must not make a seven-day streak.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sidecar.auth.tables import UserProfile
from sidecar.catalog.service import CatalogIndex, LessonInfo, get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_tx, write_tx
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.gamification import service as gamification
from sidecar.gamification import xp
from sidecar.gamification.models import AchievementPublic
from sidecar.gamification.streaks import local_day

from .models import EventResultPublic
from .tables import LessonProgress, ProgressEvent

# A client clock may be off; events claiming the future or the distant past are clamped (history only:
# rewards use the server's clock).
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=7)

_PROGRESS = LessonProgress.__table__.c
_STATE_AND_XP = ("SELECT (SELECT state FROM progress WHERE user_id = :user_id AND lesson_id = :lesson_id), "
                 "(SELECT COALESCE(SUM(amount), 0) FROM xp_transactions WHERE user_id = :user_id)")
# One round trip: the learner's day and streak, the lesson's state, XP so far, and whether this
# event id was seen already. Every part is an indexed lookup.
_SNAPSHOT = ("SELECT p.timezone, p.streak_last_day, "
             "(SELECT state FROM progress WHERE user_id = :user_id AND lesson_id = :lesson_id), "
             "(SELECT COALESCE(SUM(amount), 0) FROM xp_transactions WHERE user_id = :user_id), "
             "EXISTS (SELECT 1 FROM progress_events WHERE user_id = :user_id AND event_id = :event_id) "
             "FROM user_profiles p WHERE p.user_id = :user_id")


@dataclass(frozen=True)
class _Snapshot:
    timezone: str
    last_day: date | None  # the streak's latest local day
    state: str | None  # the lesson's state; None: not started
    total_xp: int
    seen: bool  # this event id is recorded already


def _clamp(occurred_at: datetime | None, now: datetime) -> datetime:
    if occurred_at is None or occurred_at.tzinfo is None:
        return now
    if occurred_at > now + MAX_CLOCK_SKEW or occurred_at < now - MAX_EVENT_AGE:
        return now
    return occurred_at


def lesson_info(index: CatalogIndex, lesson_id: str) -> LessonInfo:
    lesson = index.lessons.get(lesson_id)
    if lesson is None:
        raise NotFound(f"No lesson with id {lesson_id} in the catalog.")
    return lesson


def _snapshot(engine: Engine, *, user_id: str, lesson_id: str, event_id: str) -> _Snapshot:
    with read_tx(engine) as tx:
        row = tx.row(_SNAPSHOT, {"user_id": user_id, "lesson_id": lesson_id, "event_id": event_id})
        if row is None:
            raise NotFound("No learner profile for this account.")
        last_day = tx.from_db(UserProfile.__table__.c.streak_last_day, row[1])
    return _Snapshot(timezone=row[0], last_day=last_day, state=row[2], total_xp=int(row[3]), seen=bool(row[4]))


def _insert_event(tx: Tx, *, user_id: str, event_id: str, lesson_id: str, kind: str, at: datetime,
                  now: datetime) -> bool:
    return insert_ignore(tx, ProgressEvent, {
        "user_id": user_id, "event_id": event_id, "lesson_id": lesson_id, "kind": kind,
        "occurred_at": at, "received_at": now}, ["user_id", "event_id"])


def record_event(*, engine: Engine, catalog_db: Path, user_id: str, event_id: str, lesson_id: str, kind: str,
                 occurred_at: datetime | None, gamification_enabled: bool) -> EventResultPublic:
    """Record one started/completed event and apply its effects once, however often it is sent."""
    if kind not in ("started", "completed"):
        raise InvalidInput("kind must be started or completed.")
    index = get_index(catalog_db=catalog_db)
    lesson = lesson_info(index, lesson_id)
    if kind == "completed" and not lesson.completes_on_reading:
        raise Conflict("This lesson completes when its exercise or quiz passes on the server, not on reading.")
    now = utcnow()
    at = _clamp(occurred_at, now)
    before = _snapshot(engine, user_id=user_id, lesson_id=lesson_id, event_id=event_id)

    def result(*, duplicate: bool, state: str | None, awarded: int = 0, total: int = before.total_xp,
               achievements: list[AchievementPublic] | None = None) -> EventResultPublic:
        return EventResultPublic(event_id=event_id, duplicate=duplicate, lesson_id=lesson_id,
                                 state=state or "not_started", xp_awarded=awarded, total_xp=total,
                                 new_achievements=achievements or [])

    if before.seen:  # a replay: nothing to write
        return result(duplicate=True, state=before.state)
    day_counted = not gamification_enabled or before.last_day == local_day(instant=now, tz=before.timezone)
    if before.state in ("completed", kind) and day_counted:
        # Nothing changes but the event log (see the module docstring): one insert under the lock.
        with write_tx(engine) as tx:
            fresh = _insert_event(tx, user_id=user_id, event_id=event_id, lesson_id=lesson_id, kind=kind, at=at,
                                  now=now)
        return result(duplicate=not fresh, state=before.state)
    awarded = 0
    achievements: list[AchievementPublic] = []
    with write_tx(engine) as tx:
        fresh = _insert_event(tx, user_id=user_id, event_id=event_id, lesson_id=lesson_id, kind=kind, at=at, now=now)
        if fresh:
            _, awarded, achievements = _apply(tx, user_id=user_id, lesson=lesson, index=index, kind=kind, at=at,
                                              rewarded_at=now, gamification_enabled=gamification_enabled)
        state, total = tx.row(_STATE_AND_XP, {"user_id": user_id, "lesson_id": lesson_id})
    return result(duplicate=not fresh, state=state, awarded=awarded, total=int(total), achievements=achievements)


def complete_graded_lesson(*, session: Session, catalog_db: Path, user_id: str, lesson_id: str, at: datetime,
                           award: xp.XpAward, gamification_enabled: bool) -> tuple[bool, int, list[AchievementPublic]]:
    """Complete a lesson from a server-graded result (grading calls this inside its transaction).

    Returns (completed just now, XP awarded, new achievements); a lesson completes once.
    """
    index = get_index(catalog_db=catalog_db)
    lesson = lesson_info(index, lesson_id)
    return _apply(Tx.of_session(session), user_id=user_id, lesson=lesson, index=index, kind="completed", at=at,
                  rewarded_at=at, gamification_enabled=gamification_enabled, award=award)


def _apply(tx: Tx, *, user_id: str, lesson: LessonInfo, index: CatalogIndex, kind: str, at: datetime,
           rewarded_at: datetime, gamification_enabled: bool, award: xp.XpAward | None = None
           ) -> tuple[bool, int, list[AchievementPublic]]:
    """The effects of a new event: lesson state, streak day, XP and achievements.

    `at` is when it happened (history), `rewarded_at` the server's time for everything that earns
    rewards (see the module docstring). Returns (completed just now, XP awarded, new achievements).
    """
    completed_now = _mark(tx, user_id=user_id, lesson=lesson, kind=kind, at=at)
    if not gamification_enabled:
        return completed_now, 0, []
    gamification.record_activity(session=tx, user_id=user_id, instant=rewarded_at)
    if not completed_now:
        return False, 0, []
    awarded, courses_done, lessons_done = _on_lesson_completed(tx, user_id=user_id, lesson=lesson, index=index,
                                                               at=rewarded_at, award=award)
    fresh = gamification.evaluate_achievements(session=tx, user_id=user_id, courses_completed=courses_done,
                                               lessons_completed=lessons_done)
    return True, awarded, fresh


def _mark(tx: Tx, *, user_id: str, lesson: LessonInfo, kind: str, at: datetime) -> bool:
    """Apply a started/completed transition; True when the lesson became completed just now."""
    values = {"user_id": user_id, "lesson_id": lesson.id, "module_id": lesson.module_id,
              "course_id": lesson.course_id, "state": kind, "started_at": at,
              "completed_at": at if kind == "completed" else None, "updated_at": at}
    if insert_ignore(tx, LessonProgress, values, ["user_id", "lesson_id"]):
        return kind == "completed"
    if kind != "completed":
        return False
    # Conditional: of concurrent completions only one finds the row not yet completed.
    changed = tx.row("UPDATE progress SET state = 'completed', completed_at = :at, updated_at = :at "
                     "WHERE user_id = :user_id AND lesson_id = :lesson_id AND state <> 'completed' "
                     "RETURNING lesson_id",
                     {"at": tx.to_db(_PROGRESS.completed_at, at), "user_id": user_id, "lesson_id": lesson.id})
    return changed is not None


def _on_lesson_completed(tx: Tx, *, user_id: str, lesson: LessonInfo, index: CatalogIndex, at: datetime,
                         award: xp.XpAward | None) -> tuple[int, int, int]:
    """Award lesson (or the given graded award), then module XP.

    Returns (XP awarded, courses completed, lessons completed).
    """
    if award is None:
        award = xp.lesson_xp(base=lesson.xp, first_attempt=True,
                             streak_active=gamification.streak_is_active(session=tx, user_id=user_id, instant=at))
    awarded = gamification.award_xp(session=tx, user_id=user_id, source_key=f"lesson:{lesson.id}", award=award)
    # One query serves the module check, the per-course counts and the achievements' lesson count.
    completed = tx.rows("SELECT lesson_id, course_id FROM progress WHERE user_id = :user_id AND state = 'completed'",
                        {"user_id": user_id})
    module = index.modules[lesson.module_id]
    if set(module.lesson_ids) <= {row[0] for row in completed}:
        first = tx.row("SELECT MIN(started_at) FROM progress WHERE user_id = :user_id AND module_id = :module_id",
                       {"user_id": user_id, "module_id": module.id})[0]
        first_start = tx.from_db(_PROGRESS.started_at, first) or at
        # At least 0: a start the client dated a few minutes ahead (within MAX_CLOCK_SKEW) may lie
        # after the server's time of completion.
        minutes = max(0.0, (at - first_start).total_seconds() / 60)
        awarded += gamification.award_xp(session=tx, user_id=user_id, source_key=f"module:{module.id}",
                                         award=xp.module_xp(minutes_spent=minutes, par_minutes=module.par_minutes))
    done_per_course = Counter(row[1] for row in completed)
    courses_done = sum(
        1 for course in index.courses.values()
        if (size := sum(len(index.modules[m].lesson_ids) for m in course.module_ids))
        and done_per_course.get(course.id, 0) >= size)
    return awarded, courses_done, len(completed)
