"""Recording lesson events: idempotent, exactly-once, and cheap enough for the busiest endpoint.

Every event carries a client-generated id; the (user, event id) pair is unique, so a replayed or
duplicated event changes nothing. Completion is a conditional update, and XP has its own unique
source key, so concurrent duplicates of the same completion award once on SQLite and PostgreSQL.
What a new event does (the lesson's state, the streak day, XP, achievements) is completion.py's,
the path graded completions take too.

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

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from sidecar.catalog import readers
from sidecar.catalog.service import CatalogIndex, LessonInfo, get_index
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_tx, write_tx
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.gamification.streaks import local_day
from sidecar.xapi import service as xapi

from . import completion
from .models import EventResultPublic
from .tables import ProgressEvent

# A client clock may be off; events claiming the future or the distant past are clamped (history only:
# rewards use the server's clock).
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=7)

# One round trip: the learner's standing (day and streak, the lesson's state, XP so far) and
# whether this event id was seen already. Every part is an indexed lookup.
_SNAPSHOT = (completion.STANDING_COLUMNS  # noqa: S608 - constant SQL text; values are bound parameters
             + ", EXISTS (SELECT 1 FROM progress_events WHERE user_id = :user_id AND event_id = :event_id)"
             + completion.STANDING_FROM)


@dataclass(frozen=True)
class _Snapshot:
    standing: completion.Standing  # before this event
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
        return _Snapshot(standing=completion.standing_from_row(tx, row), seen=bool(row[7]))


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

    def result(*, duplicate: bool, reward: completion.Reward) -> EventResultPublic:
        return EventResultPublic(event_id=event_id, duplicate=duplicate, lesson_id=lesson_id,
                                 state=reward.standing.lesson_state, xp_awarded=reward.xp_awarded,
                                 total_xp=reward.standing.total_xp, new_achievements=reward.new_achievements,
                                 reward=reward.public())

    unchanged = completion.Reward(lesson_id=lesson_id, standing=before.standing,
                                  gamification_enabled=gamification_enabled, at=now)
    if before.seen:  # a replay: nothing to write
        return result(duplicate=True, reward=unchanged)
    # The learning record: a "started" event is a lesson viewed, its statement built and validated before
    # the write lock and stored with the event (the event id is its idempotency key, so a replay never
    # stores a second one). A completion is recorded once, where it happens (completion.complete_lesson).
    statement = None
    if kind == "started":
        record = readers.lessons(catalog_db).get(lesson_id)
        statement = xapi.prepare(key=event_id, user_id=user_id, verb="viewed", object_type="lesson",
                                 object_id=lesson_id, course_id=lesson.course_id,
                                 skills=record.skills if record is not None else (), timestamp=at)
    last_day = before.standing.streak.last_day
    day_counted = not gamification_enabled or last_day == local_day(instant=now, tz=before.standing.timezone)
    if before.standing.lesson_state in ("completed", kind) and day_counted:
        # Nothing changes but the event log (see the module docstring): one insert under the lock.
        with write_tx(engine) as tx:
            fresh = _insert_event(tx, user_id=user_id, event_id=event_id, lesson_id=lesson_id, kind=kind, at=at,
                                  now=now)
            if fresh and statement is not None:
                xapi.store(tx, statement, now=now)
        return result(duplicate=not fresh, reward=unchanged)
    with write_tx(engine) as tx:
        fresh = _insert_event(tx, user_id=user_id, event_id=event_id, lesson_id=lesson_id, kind=kind, at=at, now=now)
        if fresh and statement is not None:
            xapi.store(tx, statement, now=now)
        if not fresh:  # the same event id, recorded by a concurrent request since the snapshot
            reward = completion.unchanged(tx, user_id=user_id, lesson_id=lesson_id,
                                          gamification_enabled=gamification_enabled, at=now)
        elif kind == "completed":
            reward = completion.complete_lesson(tx, user_id=user_id, lesson=lesson, index=index, at=at,
                                                rewarded_at=now, attempt=completion.Attempt.reading(),
                                                gamification_enabled=gamification_enabled)
        else:
            reward = completion.start_lesson(tx, user_id=user_id, lesson=lesson, at=at, rewarded_at=now,
                                             gamification_enabled=gamification_enabled, catalog_db=index.source)
    return result(duplicate=not fresh, reward=reward)
