"""Streaks: consecutive learning days in the learner's own time zone, with freezes earned by practice.

Days are local calendar days, not 24-hour windows, so a learner who studies at 23:30 and again at
00:30 has learned on two days, and a DST change (a 23- or 25-hour day) never breaks a streak.
Freezes cover missed days automatically. They are only ever earned by keeping a streak: there is no
paid "streak repair", because selling relief from manufactured loss is a deceptive pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_FREEZES = 2
FREEZE_EVERY_DAYS = 7  # one freeze each time the streak reaches a multiple of this


def local_day(*, instant: datetime, tz: str) -> date:
    """The calendar day `instant` falls on in the IANA time zone `tz` (e.g. "Asia/Kolkata")."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware; a naive datetime has no single local day")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        raise ValueError(f"unknown time zone {tz!r}: expected an IANA name such as 'Europe/Berlin'") from None
    return instant.astimezone(zone).date()


@dataclass(frozen=True)
class StreakState:
    current: int = 0
    longest: int = 0
    last_day: date | None = None  # the latest local day with activity
    freezes: int = 0


@dataclass(frozen=True)
class StreakUpdate:
    state: StreakState
    frozen_days: tuple[date, ...]  # missed days covered by freezes this time, oldest first
    freeze_earned: bool
    extended: bool  # the streak grew by one (the first activity included); False if unchanged or restarted


def record_activity(*, state: StreakState, day: date) -> StreakUpdate:
    """Count activity on local `day`."""
    if state.last_day is not None and day <= state.last_day:
        # Already counted, or the learner moved west and their clock went back: never count a day twice.
        return StreakUpdate(state=state, frozen_days=(), freeze_earned=False, extended=False)
    frozen_days: tuple[date, ...] = ()
    freezes = state.freezes
    if state.last_day is None:
        current = 1
    else:
        missed = (day - state.last_day).days - 1
        if missed <= freezes:
            frozen_days = tuple(state.last_day + timedelta(days=i) for i in range(1, missed + 1))
            freezes -= missed
            current = state.current + 1  # frozen days keep the streak alive but do not lengthen it
        else:
            current = 1  # broken; unused freezes are kept for the next streak
    freeze_earned = current % FREEZE_EVERY_DAYS == 0 and freezes < MAX_FREEZES
    new_state = replace(
        state,
        current=current,
        longest=max(state.longest, current),
        last_day=day,
        freezes=freezes + 1 if freeze_earned else freezes,
    )
    return StreakUpdate(
        state=new_state, frozen_days=frozen_days, freeze_earned=freeze_earned, extended=current == state.current + 1
    )


def current_streak(*, state: StreakState, today: date) -> int:
    """The streak to show on `today`: still alive while today's activity could continue it."""
    if state.last_day is None:
        return 0
    missed = (today - state.last_day).days - 1  # days between, today excluded; <= 0 for today/yesterday
    return state.current if missed <= state.freezes else 0


def streak_active(*, state: StreakState, today: date) -> bool:
    """Whether the lesson streak bonus applies: from the second consecutive day.

    Call it with the state after today's activity was recorded, so the first day of a streak earns no bonus.
    """
    return current_streak(state=state, today=today) >= 2
