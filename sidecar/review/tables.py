from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class ReviewCard(Base):
    """One item in a learner's review queue and its FSRS memory state (stability, difficulty, due)."""

    __tablename__ = "review_cards"
    __table_args__ = (Index("ix_review_cards_user_due", "user_id", "due"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "quiz-item:<id>" | "exercise:<id>"
    kind: Mapped[str] = mapped_column(String(24))  # a quiz item kind, or "exercise"
    origin: Mapped[str] = mapped_column(String(16))  # quiz | exercise | misconception: how the learner met it
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    fsrs: Mapped[dict[str, Any]] = mapped_column(JSON)  # fsrs.Card.to_dict()
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    reps: Mapped[int] = mapped_column(Integer, default=0)  # reviews in the queue (the first meeting not counted)
    lapses: Mapped[int] = mapped_column(Integer, default=0)  # reviews answered wrong
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewLog(Base):
    """Every rating the scheduler saw: the first meeting (from a quiz or a submission) and each review.

    `retrievability` is FSRS's predicted chance of recall just before the review and `correct` the
    outcome: together, the retention record analytics reads (calibration, knowledge retention).
    """

    __tablename__ = "review_logs"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),
                      Index("ix_review_logs_user_time", "user_id", "reviewed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(80))
    client_id: Mapped[str] = mapped_column(String(120))  # idempotency: a review's id, or the source it came from
    kind: Mapped[str] = mapped_column(String(16))  # meeting | review
    rating: Mapped[int] = mapped_column(Integer)  # fsrs.Rating: 1 Again, 3 Good
    correct: Mapped[bool] = mapped_column(Boolean)
    retrievability: Mapped[float | None] = mapped_column(Float)  # None at the first meeting
    elapsed_days: Mapped[float | None] = mapped_column(Float)
    stability: Mapped[float] = mapped_column(Float)  # after the review
    difficulty: Mapped[float] = mapped_column(Float)
    scheduled_days: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the answer's public result (replays)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewDay(Base):
    """A learner's review on one of their local days: what they answered and the XP it paid (once)."""

    __tablename__ = "review_days"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date in the learner's time zone
    answered: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    xp_awarded: Mapped[int] = mapped_column(Integer, default=0)


class ReviewSync(Base):
    """How far the queue has read the learner's graded history (quiz attempts and submissions)."""

    __tablename__ = "review_sync"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    synced_until: Mapped[datetime] = mapped_column(UTCDateTime)
