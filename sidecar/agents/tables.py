"""The tutor's memory: conversations, per-lesson state, skill mastery and logged answer leaks.

Learner rows refer to content by stable id (lesson, exercise, skill), so they survive renames.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class AiSession(Base):
    """One conversation; the lesson page keeps one per lesson, learners can delete them."""

    __tablename__ = "ai_sessions"
    __table_args__ = (Index("ix_ai_sessions_user_lesson", "user_id", "lesson_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[str | None] = mapped_column(String(36))
    exercise_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AiMessage(Base):
    """A learner turn or a tutor reply. `client_id` makes a retried learner turn count once."""

    __tablename__ = "ai_messages"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),
                      Index("ix_ai_messages_session_created", "session_id", "created_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("ai_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # "learner" | "tutor"
    content: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(32))
    mode: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(32))
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AiLessonState(Base):
    """What the orchestrator tracks per learner and lesson between turns (§7.3 patterns)."""

    __tablename__ = "ai_lesson_state"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    confusion: Mapped[int] = mapped_column(Integer, default=0)  # turns that signalled confusion
    last_checkin: Mapped[int] = mapped_column(Integer, default=0)  # interaction count at the last check-in
    seen_submissions: Mapped[int] = mapped_column(Integer, default=0)  # graded results already reacted to
    pending_item: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a quiz question awaiting an answer
    last_action_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SkillMastery(Base):
    """Bayesian knowledge tracing estimate per learner and skill (see agents/memory/mastery.py)."""

    __tablename__ = "skill_mastery"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(100), primary_key=True)
    p_known: Mapped[float] = mapped_column(Float)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MasterySource(Base):
    """Graded results already folded into the estimates, so none counts twice."""

    __tablename__ = "skill_mastery_sources"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AiLeakEvent(Base):
    """A reply the guard stopped: what kind of leak, from which source, never the text itself."""

    __tablename__ = "ai_leak_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(String(36))
    exercise_id: Mapped[str | None] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(16))  # "llm" | "policy"
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    replaced: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AiModelCall(Base):
    """One call to a model through LiteLLM: which provider and model, whether it answered, how long it took and
    what it cost (LiteLLM's local cost map; null where the map has no price). The platform dashboard reads it."""

    __tablename__ = "ai_model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column(Float)  # from the request to the last piece of the reply
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
