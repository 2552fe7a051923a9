from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class XpTransaction(Base):
    """Append-only XP ledger. source_key names what earned it, once per user (exactly-once)."""

    __tablename__ = "xp_transactions"
    __table_args__ = (UniqueConstraint("user_id", "source_key"), Index("ix_xp_transactions_created", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source_key: Mapped[str] = mapped_column(String(128))
    activity: Mapped[str] = mapped_column(String(16))
    base: Mapped[int] = mapped_column(Integer)
    bonuses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AchievementDefinition(Base):
    """Badge definitions, mirrored from content/achievements.yaml (git owns them)."""

    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    xp: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)


class UserAchievement(Base):
    __tablename__ = "user_achievements"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityDay(Base):
    """Days (in the learner's time zone) with practice, or covered by a streak freeze."""

    __tablename__ = "activity_days"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="active")  # active | frozen
