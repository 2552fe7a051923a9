"""Folding xapi_statements into the rollups, incrementally and exactly once.

A fold takes the watermark row under a lock (SQLite: the write transaction's BEGIN IMMEDIATE; PostgreSQL:
SELECT ... FOR UPDATE), reads the next statements after it by `seq`, adds them into the rollup rows it
loads for the learners, days, skills and courses they touch, writes those rows back and moves the
watermark, all in one transaction. A second process folding at the same moment waits for the lock and
then starts after the first one's watermark: every statement is added once.

On PostgreSQL a sequence value is taken before its transaction commits, so a statement with a lower seq
can become visible after a higher one. A fold therefore stops before a gap in seq until the gap is
GAP_GRACE old (then it is a rolled-back insert, which leaves a gap forever). SQLite has one writer and
no such gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import fsrs
from sqlalchemy import Engine, Table, and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.db.engine import is_sqlite, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.review import scheduling
from sidecar.xapi.tables import XapiStatement

from .metrics import DELAYED, SESSION_GAP, mastered_now
from .tables import (
    AnalyticsCourse,
    AnalyticsDaily,
    AnalyticsPlatformDaily,
    AnalyticsPlatformWeekly,
    AnalyticsSkill,
    AnalyticsUser,
    AnalyticsUserWeek,
    AnalyticsWatermark,
)

SOURCE = "xapi"
BATCH = 5000
READ_LIMIT = 20_000  # a dashboard request folds at most this many statements; the job does the rest
GAP_GRACE = timedelta(seconds=30)
GRADED = frozenset({"attempted", "answered", "responded"})  # submissions, quiz answers, assessment items
PENDING_HINTS = 20  # objects hinted and not yet passed, kept per learner for hint-to-pass conversion

_USER_COUNTS = ("events", "sessions", "active_s", "lessons_completed", "attempts", "successes", "hints", "hinted",
                "hint_passes", "tutor_turns", "reviews", "reviews_correct")
_DAY_COUNTS = ("events", "sessions", "active_s", "lessons_completed", "attempts", "successes", "hints",
               "tutor_turns", "reviews", "reviews_correct")
# What a learner's week sums (analytics_user_weeks): the figures of the group trends (service._weekly).
WEEK_SUMS = frozenset({"lessons_completed", "active_s", "attempts", "successes"})
_PLATFORM_COUNTS = ("active_users", "new_users", *_DAY_COUNTS, "hinted", "hint_passes")


@dataclass
class _Rows:
    """Rollup rows of one table touched by a batch: key → values, and which keys already exist."""

    table: Table
    keys: tuple[str, ...]
    rows: dict[tuple[Any, ...], dict[str, Any]]
    existing: set[tuple[Any, ...]]

    def save(self, session: Session) -> None:
        new = [v for k, v in self.rows.items() if k not in self.existing]
        old = [{**v, **{f"k_{c}": v[c] for c in self.keys}} for k, v in self.rows.items() if k in self.existing]
        if new:
            session.execute(insert(self.table), new)
        columns = [c.name for c in self.table.columns if c.name not in self.keys]
        if old and columns:
            statement = (update(self.table).where(and_(*(self.table.c[c] == bindparam(f"k_{c}") for c in self.keys)))
                         .values({c: bindparam(c) for c in columns}))
            session.connection().execute(statement, old)


def _load(session: Session, table: Table, keys: tuple[str, ...], wanted: set[tuple[Any, ...]]) -> _Rows:
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), 500):
        chunk = wanted_list[start:start + 500]
        if len(keys) == 1:
            where = table.c[keys[0]].in_([k[0] for k in chunk])
        else:
            where = tuple_(*(table.c[c] for c in keys)).in_(chunk)
        for row in session.execute(select(table).where(where)).mappings():
            found[tuple(row[c] for c in keys)] = dict(row)
    return _Rows(table, keys, found, set(found))


def _zero(table: Table, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c.name: None for c in table.columns}
    for column in table.columns:
        arg = getattr(column.default, "arg", None)
        default = None if callable(arg) else arg
        if default is not None:
            row[column.name] = default
    row.update(values)
    return row


class _Batch:
    def __init__(self, session: Session, statements: list[Any]) -> None:
        users = {(s.user_id,) for s in statements}
        days = {(s.user_id, s.timestamp.date()) for s in statements}
        skills = {(s.user_id, k) for s in statements for k in (s.skills or []) if isinstance(k, str)}
        courses = {(s.user_id, s.course_id) for s in statements if s.course_id}
        self.users = _load(session, AnalyticsUser.__table__, ("user_id",), users)  # type: ignore[arg-type]
        self.days = _load(session, AnalyticsDaily.__table__, ("user_id", "day"), days)  # type: ignore[arg-type]
        self.skills = _load(session, AnalyticsSkill.__table__, ("user_id", "skill"), skills)  # type: ignore[arg-type]
        self.courses = _load(session, AnalyticsCourse.__table__, ("user_id", "course_id"),  # type: ignore[arg-type]
                             courses)
        self.platform = _load(session, AnalyticsPlatformDaily.__table__, ("day",),  # type: ignore[arg-type]
                              {(s.timestamp.date(),) for s in statements})
        weeks = {(s.user_id, week_of(s.timestamp.date())) for s in statements}
        self.user_weeks = _load(session, AnalyticsUserWeek.__table__, ("user_id", "week"), weeks)  # type: ignore[arg-type]
        self.platform_weeks = _load(session, AnalyticsPlatformWeekly.__table__, ("week",),  # type: ignore[arg-type]
                                    {(w,) for _, w in weeks})

    def _platform_day(self, day: date) -> dict[str, Any]:
        key = (day,)
        if key not in self.platform.rows:
            self.platform.rows[key] = _zero(self.platform.table, day=day)
        return self.platform.rows[key]

    def apply(self, s: Any) -> None:  # noqa: C901 - one branch per verb, read top to bottom
        at: datetime = s.timestamp
        day = at.date()
        plat = self._platform_day(day)
        user = self.users.rows.get((s.user_id,))
        if user is None:
            user = self.users.rows[(s.user_id,)] = _zero(self.users.table, user_id=s.user_id, first_at=at, last_at=at)
            gap = None
            plat["new_users"] += 1
        else:
            gap = at - user["last_at"]
            user["first_at"] = min(user["first_at"], at)
            user["last_at"] = max(user["last_at"], at)
        daily = self.days.rows.get((s.user_id, day))
        if daily is None:
            daily = self.days.rows[(s.user_id, day)] = _zero(self.days.table, user_id=s.user_id, day=day)
            plat["active_users"] += 1
        week = week_of(day)
        user_week = self.user_weeks.rows.get((s.user_id, week))
        if user_week is None:
            user_week = self.user_weeks.rows[(s.user_id, week)] = _zero(self.user_weeks.table, user_id=s.user_id,
                                                                        week=week)
            weekly = self.platform_weeks.rows.setdefault((week,), _zero(self.platform_weeks.table, week=week))
            weekly["active_users"] += 1
        rows = (user, daily, plat)

        def add(name: str, amount: float = 1) -> None:
            for row in rows:
                row[name] += amount
            if name in WEEK_SUMS:
                user_week[name] += amount

        add("events")
        if gap is None or gap > SESSION_GAP:
            add("sessions")
        elif gap > timedelta(0):
            add("active_s", gap.total_seconds())
        if s.course_id:
            course = self.courses.rows.get((s.user_id, s.course_id))
            if course is None:
                course = self.courses.rows[(s.user_id, s.course_id)] = _zero(
                    self.courses.table, user_id=s.user_id, course_id=s.course_id, first_at=at, last_at=at)
            course["first_at"], course["last_at"] = min(course["first_at"], at), max(course["last_at"], at)
            if s.verb == "completed" and s.object_type == "lesson":
                course["lessons_completed"] += 1
        if s.verb == "completed" and s.object_type == "lesson":
            add("lessons_completed")
        elif s.verb == "interacted":
            add("tutor_turns")
        elif s.verb == "asked":
            add("hints")
            pending = user["pending_hints"].split()
            if s.object_id not in pending:
                user["hinted"] += 1
                plat["hinted"] += 1
                user["pending_hints"] = " ".join([*pending, s.object_id][-PENDING_HINTS:])
            self._skills(s, at, hint=True)
        elif s.verb in GRADED and s.success is not None:
            add("attempts")
            if s.success:
                add("successes")
                pending = user["pending_hints"].split()
                if s.object_id in pending:
                    user["hint_passes"] += 1
                    plat["hint_passes"] += 1
                    user["pending_hints"] = " ".join(p for p in pending if p != s.object_id)
            self._skills(s, at, graded=True)
        elif s.verb == "reviewed" and s.success is not None:
            add("reviews")
            if s.success:
                add("reviews_correct")
            self._skills(s, at)

    def _skills(self, s: Any, at: datetime, *, hint: bool = False, graded: bool = False) -> None:
        for name in s.skills or []:
            if not isinstance(name, str):
                continue
            key = (s.user_id, name[:100])
            row = self.skills.rows.get(key)
            if row is None:
                row = self.skills.rows[key] = _zero(self.skills.table, user_id=s.user_id, skill=name[:100],
                                                    first_at=at, last_at=at)
                previous = None
            else:
                previous = row["last_at"]
            if hint:
                row["hints"] += 1
                continue
            correct = bool(s.success)
            if graded:
                row["attempts"] += 1
                row["successes"] += 1 if correct else 0
                row["duration_s"] += s.duration_s or 0.0
                row["streak"] = row["streak"] + 1 if correct else 0
                if previous is not None and at - previous >= DELAYED:
                    row["delayed_attempts"] += 1
                    row["delayed_successes"] += 1 if correct else 0
                if row["mastered_at"] is None and mastered_now(streak=row["streak"]):
                    row["mastered_at"], row["attempts_to_mastery"] = at, row["attempts"]
            card = fsrs.Card(card_id=0, due=at) if row["stability"] is None or previous is None \
                else _card(row, previous)
            if previous is None or at >= previous:
                after, _, _ = scheduling.review(card, correct=correct, at=at)
                row["stability"], row["difficulty"] = after.stability, after.difficulty
            row["first_at"], row["last_at"] = min(row["first_at"], at), max(row["last_at"], at)

    def save(self, session: Session) -> None:
        for rows in (self.users, self.days, self.skills, self.courses, self.platform, self.user_weeks,
                     self.platform_weeks):
            rows.save(session)


def week_of(day: date) -> date:
    """The Monday of the day's week (UTC days): the weekly trend's key."""
    return day - timedelta(days=day.weekday())


def _card(row: dict[str, Any], last: datetime) -> fsrs.Card:
    # card_id and due given: without them fsrs.Card sleeps a millisecond (a unique id) and reads the clock.
    return fsrs.Card(card_id=0, state=fsrs.State.Review, stability=row["stability"], difficulty=row["difficulty"],
                     due=last, last_review=last)


_COLUMNS = (XapiStatement.seq, XapiStatement.user_id, XapiStatement.verb, XapiStatement.object_type,
            XapiStatement.object_id, XapiStatement.course_id, XapiStatement.skills, XapiStatement.success,
            XapiStatement.duration_s, XapiStatement.timestamp, XapiStatement.stored)


def _contiguous(statements: Iterable[Any], after: int, now: datetime) -> list[Any]:
    """The statements up to the first young gap in seq (see the module's note)."""
    taken: list[Any] = []
    expected = after + 1
    for s in statements:
        if s.seq != expected and s.stored > now - GAP_GRACE:
            break
        taken.append(s)
        expected = s.seq + 1
    return taken


def fold_batch(*, engine: Engine, batch: int = BATCH, now: datetime | None = None) -> int:
    """Fold up to `batch` statements in one transaction; returns how many were folded."""
    now = now or utcnow()
    with write_session(engine) as session:
        insert_ignore(session, AnalyticsWatermark, {"name": SOURCE, "seq": 0, "updated_at": now}, ["name"])
        mark = session.execute(select(AnalyticsWatermark.seq).where(AnalyticsWatermark.name == SOURCE)
                               .with_for_update()).scalar_one()
        found = session.execute(select(*_COLUMNS).where(XapiStatement.seq > mark)
                                .order_by(XapiStatement.seq).limit(batch)).all()
        statements = found if is_sqlite(engine) else _contiguous(found, mark, now)
        if not statements:
            return 0
        work = _Batch(session, [s for s in statements if s.user_id is not None])
        for s in statements:
            if s.user_id is not None:
                work.apply(s)
        work.save(session)
        session.execute(update(AnalyticsWatermark).where(AnalyticsWatermark.name == SOURCE)
                        .values(seq=statements[-1].seq, updated_at=now))
        return len(statements)


def fold(*, engine: Engine, limit: int | None = None, batch: int = BATCH) -> int:
    """Fold every new statement (at most `limit`), batch by batch; returns how many were folded.
    Safe to run from several processes at once: each statement is added once."""
    total = 0
    while limit is None or total < limit:
        size = batch if limit is None else min(batch, limit - total)
        done = fold_batch(engine=engine, batch=size)
        total += done
        if done < size:
            break
    return total


def behind(*, engine: Engine) -> int:
    """How many statements wait to be folded (0: the rollups are current). Two index lookups."""
    with read_session(engine) as session:
        mark = session.scalar(select(AnalyticsWatermark.seq).where(AnalyticsWatermark.name == SOURCE)) or 0
        last = session.scalar(select(func.max(XapiStatement.seq))) or 0
    return max(0, int(last) - int(mark))


def fold_on_read(*, engine: Engine) -> None:
    """What a dashboard request does first: fold what is new, up to READ_LIMIT statements."""
    if behind(engine=engine):
        fold(engine=engine, limit=READ_LIMIT)
