from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class Draft(Base):
    """A learner's current code for an exercise, so it follows them to any browser.

    `revision` grows by one with every accepted write: a client sends the revision its edit was
    based on, which is how the server tells a plain save from an edit made offline (or in another
    browser) on top of an older version.
    """

    __tablename__ = "drafts"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    exercise_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the learner typed it (client clock, clamped)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when the server stored it


class DraftVersion(Base):
    """The losing side of a conflict (last writer wins), kept so the learner can restore it."""

    __tablename__ = "draft_versions"
    __table_args__ = (Index("ix_draft_versions_user_exercise", "user_id", "exercise_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    exercise_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(16))  # conflict | restored
