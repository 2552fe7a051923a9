"""The achievement metrics progress owns, counted from its own tables for one learner.

- fast_lessons: lessons completed sooner after their start than their estimated minutes (a lesson
  completed at the moment it was first seen, with no start before, does not count: nothing was timed);
- early_sessions: local days (the learner's time zone) on which learning began before 08:00,
  judged by when the server received the day's first progress event.

Registered with gamification (gamification/metrics.py) when this module is imported (progress's
completion module imports it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sidecar.catalog import readers
from sidecar.db.engine import Tx
from sidecar.gamification.metrics import register_metric_source

from .tables import LessonProgress, ProgressEvent

_PROGRESS = LessonProgress.__table__.c
_EVENTS = ProgressEvent.__table__.c
EARLY_HOUR = 8
METRICS = ("fast_lessons", "early_sessions")


def _fast_lessons(tx: Tx, user_id: str, catalog_db: Path | None) -> int:
    if catalog_db is None:
        return 0
    minutes = {lesson_id: record.minutes for lesson_id, record in readers.lessons(catalog_db).items()}
    fast = 0
    for lesson_id, started_at, completed_at in tx.rows(
            "SELECT lesson_id, started_at, completed_at FROM progress WHERE user_id = :user_id "
            "AND state = 'completed'", {"user_id": user_id}):
        estimate = minutes.get(lesson_id)
        start = tx.from_db(_PROGRESS.started_at, started_at)
        end = tx.from_db(_PROGRESS.completed_at, completed_at)
        if estimate and start is not None and end is not None and start < end < start + timedelta(minutes=estimate):
            fast += 1
    return fast


def _early_sessions(tx: Tx, user_id: str) -> int:
    found = tx.row("SELECT timezone FROM user_profiles WHERE user_id = :user_id", {"user_id": user_id})
    try:
        zone = ZoneInfo(str((found[0] if found else None) or "UTC"))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = ZoneInfo("UTC")
    first: dict[date, datetime] = {}
    for (received_at,) in tx.rows("SELECT received_at FROM progress_events WHERE user_id = :user_id",
                                  {"user_id": user_id}):
        local = tx.from_db(_EVENTS.received_at, received_at).astimezone(zone)
        if local.date() not in first or local < first[local.date()]:
            first[local.date()] = local
    return sum(1 for local in first.values() if local.hour < EARLY_HOUR)


def count(tx: Tx, user_id: str, catalog_db: Path | None,
          needed: frozenset[str] = frozenset(METRICS)) -> dict[str, int]:
    """The needed metrics (default: both of progress's), each read only when asked for."""
    found: dict[str, int] = {}
    if "fast_lessons" in needed:
        found["fast_lessons"] = _fast_lessons(tx, user_id, catalog_db)
    if "early_sessions" in needed:
        found["early_sessions"] = _early_sessions(tx, user_id)
    return found


register_metric_source(metrics=METRICS, source=count)
