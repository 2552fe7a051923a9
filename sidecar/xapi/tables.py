"""The learning record: one row per xAPI statement, and the queue that forwards them to an LRS.

The columns beside `statement` are the statement's facts that analytics reads (who, what verb, which
object, which course and skills, success, score, how long, when), so dashboards and rollups never
parse JSON. `seq` orders rows for incremental folding (rollups keep a watermark); `id` is the
statement's own UUID, the LRS's idempotency key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (autoincrementing); BIGINT elsewhere.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class XapiStatement(Base):
    __tablename__ = "xapi_statements"
    __table_args__ = (
        Index("ix_xapi_statements_user_time", "user_id", "timestamp"),
        Index("ix_xapi_statements_verb_time", "verb", "timestamp"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)  # the statement's UUID
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Short verb names (xapi/verbs.py maps them to IRIs): viewed, completed, attempted, asked (hint),
    # interacted (tutor turn), answered (quiz), responded (assessment item), reviewed.
    verb: Mapped[str] = mapped_column(String(24))
    object_type: Mapped[str] = mapped_column(String(24))  # lesson, exercise, quiz_item, assessment_item, ...
    object_id: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # skill ids the object exercises
    success: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)  # scaled, 0..1
    duration_s: Mapped[float | None] = mapped_column(Float)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)  # when it happened
    stored: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when it was recorded
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)  # the full xAPI statement, validated


class LrsOutbox(Base):
    """Statements waiting to be forwarded to the configured LRS (retries with backoff)."""

    __tablename__ = "xapi_lrs_outbox"

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
