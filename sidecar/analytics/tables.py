"""Tables of analytics (issue #17): rollups folded from xapi_statements, so dashboards never scan events.

`rollup.fold` reads the statements after the watermark's `seq`, in order, and adds them into these rows
under a lock on the watermark row: each statement is counted exactly once, whichever process folds.
Days are UTC dates. A learner's rows go with their account (foreign keys cascade).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class AnalyticsWatermark(Base):
    """How far a fold has read a source (`xapi`: xapi_statements.seq); locked while a fold runs."""

    __tablename__ = "analytics_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnalyticsUser(Base):
    """A learner's lifetime totals and the state the fold carries from one statement to the next."""

    __tablename__ = "analytics_users"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)  # a gap over 30 minutes starts a new one
    active_s: Mapped[float] = mapped_column(Float, default=0.0)  # time between statements within sessions
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # graded: submissions, quiz and assessment answers
    successes: Mapped[int] = mapped_column(Integer, default=0)
    hints: Mapped[int] = mapped_column(Integer, default=0)
    hinted: Mapped[int] = mapped_column(Integer, default=0)  # objects the learner asked a hint on
    hint_passes: Mapped[int] = mapped_column(Integer, default=0)  # ... and then passed
    tutor_turns: Mapped[int] = mapped_column(Integer, default=0)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    reviews_correct: Mapped[int] = mapped_column(Integer, default=0)
    pending_hints: Mapped[str] = mapped_column(String(2000), default="")  # object ids hinted, not yet passed


class _DayCounts:
    """What is counted per day, for one learner (AnalyticsDaily) and for the whole platform."""

    events: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    active_s: Mapped[float] = mapped_column(Float, default=0.0)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    hints: Mapped[int] = mapped_column(Integer, default=0)
    tutor_turns: Mapped[int] = mapped_column(Integer, default=0)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    reviews_correct: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsDaily(_DayCounts, Base):
    """One learner's counts on one UTC day: the trends and the recent-window metrics."""

    __tablename__ = "analytics_daily"
    __table_args__ = (Index("ix_analytics_daily_day", "day"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class AnalyticsSkill(Base):
    """A learner's record on one skill: attempts, mastery (three right in a row), and an FSRS memory state
    updated by every graded attempt and review, from which the skill's decay risk is read."""

    __tablename__ = "analytics_skills"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(100), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    hints: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    streak: Mapped[int] = mapped_column(Integer, default=0)  # right answers in a row now
    delayed_attempts: Mapped[int] = mapped_column(Integer, default=0)  # a day or more after the last practice
    delayed_successes: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mastered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts_to_mastery: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)  # FSRS, days
    difficulty: Mapped[float | None] = mapped_column(Float)


class AnalyticsCourse(Base):
    """A learner's pace on one course: lessons completed, first and latest activity."""

    __tablename__ = "analytics_courses"
    __table_args__ = (Index("ix_analytics_courses_course", "course_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnalyticsPlatformDaily(_DayCounts, Base):
    """The whole platform on one UTC day (the super admins' dashboard reads only this and counts)."""

    __tablename__ = "analytics_platform_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    active_users: Mapped[int] = mapped_column(Integer, default=0)
    new_users: Mapped[int] = mapped_column(Integer, default=0)  # learners whose first statement was that day
    hinted: Mapped[int] = mapped_column(Integer, default=0)
    hint_passes: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsUserWeek(Base):
    """A learner's week (Monday, UTC) with any activity: the fold counts each learner once per week, and
    sums the week's trend figures, so a group's 12-week trend reads 12 rows per member, not 84 daily ones."""

    __tablename__ = "analytics_user_weeks"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    successes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AnalyticsPlatformWeekly(Base):
    """Learners active on the platform in a week (Monday, UTC): the platform trend's one distinct count,
    so that the super admins' dashboard never counts distinct learners over the daily rows."""

    __tablename__ = "analytics_platform_weekly"

    week: Mapped[date] = mapped_column(Date, primary_key=True)
    active_users: Mapped[int] = mapped_column(Integer, default=0)
