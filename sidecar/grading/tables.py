from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class Submission(Base):
    """Every graded exercise submission, kept for review, analytics and the tutor."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),
                      Index("ix_submissions_user_exercise", "user_id", "exercise_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))  # the client's idempotency key
    exercise_id: Mapped[str] = mapped_column(String(36))
    lesson_id: Mapped[str | None] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    results: Mapped[list[Any]] = mapped_column(JSON)
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    xp_awarded: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizAttempt(Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_user_quiz", "user_id", "quiz_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quiz_id: Mapped[str] = mapped_column(String(36))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    score_percent: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    xp_awarded: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HintReveal(Base):
    """Hint rungs a learner has seen, per exercise: the no-hints bonus and the bottom-out gate."""

    __tablename__ = "hint_reveals"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    exercise_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rung: Mapped[int] = mapped_column(Integer, primary_key=True)
    revealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChallengeAttempt(Base):
    """One timed attempt at a challenge: the server's clock for it (the learner pressed Start).

    Numbered per learner and lesson from 1; the primary key makes a start exactly-once, so two
    concurrent starts of the same attempt number make one row.
    """

    __tablename__ = "challenge_attempts"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)


class GradingJob(Base):
    """A submission handed to the grader fleet (GRADER_QUEUE_URL), written before its message is sent.

    Acknowledged and never lost: the row exists before the queue hears of it, keyed by the learner's
    own submission id (unique per learner, like `submissions`). `state` goes pending → graded or
    failed, each once (conditional updates); the verdict itself is the `submissions` row, which the
    grader inserts idempotently with the XP award, and `response` what the request answers.
    """

    __tablename__ = "grading_jobs"
    __table_args__ = (UniqueConstraint("user_id", "client_id"), Index("ix_grading_jobs_state", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    exercise_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    challenge_mode: Mapped[str | None] = mapped_column(String(16))
    practice_xp: Mapped[bool] = mapped_column(Boolean, default=True)
    gamification: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | graded | failed
    deliveries: Mapped[int] = mapped_column(Integer, default=0)  # times a grader started on it
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the grader that took it last
    error: Mapped[str | None] = mapped_column(Text)  # why it failed: an exception's type or 'stale', nothing more
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the SubmissionPublic answered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
