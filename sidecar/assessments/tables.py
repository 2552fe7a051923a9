"""A Silver assessment attempt, its four timed sections, the items each drew, and integrity signals.

Clocks are server state: a section's `deadline` is set when the learner starts it and every write
checks it (with ASSESSMENT_GRACE_SECONDS for the network), so a section that ran out is submitted
with what was saved, whether or not the browser is still there. Items are drawn per attempt
(conceptual ones one at a time, by the adaptive rule) and keep the bank item's id, never a copy
of its answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class AssessmentAttempt(Base):
    __tablename__ = "assessment_attempts"
    __table_args__ = (Index("ix_assessment_attempts_user_course", "user_id", "course_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the learner's first attempt at this course
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | passed | failed
    seed: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    percent: Mapped[float | None] = mapped_column(Float)
    certificate_id: Mapped[str | None] = mapped_column(String(36))
    consent_camera: Mapped[bool] = mapped_column(Boolean, default=False)


class AssessmentSection(Base):
    __tablename__ = "assessment_sections"

    attempt_id: Mapped[str] = mapped_column(ForeignKey("assessment_attempts.id", ondelete="CASCADE"),
                                            primary_key=True)
    section: Mapped[str] = mapped_column(String(16), primary_key=True)  # conceptual | analysis | coding | design
    position: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    max_points: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(16))  # submitted | timeout
    fraction_num: Mapped[int | None] = mapped_column(Integer)  # the score as an exact fraction of max_points
    fraction_den: Mapped[int | None] = mapped_column(Integer)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the Assessor's scoring of the design interview


class AssessmentItem(Base):
    __tablename__ = "assessment_items"

    attempt_id: Mapped[str] = mapped_column(ForeignKey("assessment_attempts.id", ondelete="CASCADE"),
                                            primary_key=True)
    section: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    difficulty: Mapped[int] = mapped_column(Integer)
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[Any | None] = mapped_column(JSON)  # as saved (coding: the code; design: the transcript)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)  # 0..1, decided on the trusted side
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # grading detail (sandbox verdicts)
    active_ms: Mapped[int] = mapped_column(Integer, default=0)  # time on the item, as the browser reports it


class AssessmentEvent(Base):
    """An integrity signal for a reviewer: focus lost and back, a paste and its size, camera checks."""

    __tablename__ = "assessment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("assessment_attempts.id", ondelete="CASCADE"), index=True)
    section: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
