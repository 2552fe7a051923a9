"""Stored conversations: sessions and messages, visible to their learner only, deletable."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select

from sidecar.agents.api.models import MessagePublic, SessionDetailPublic, SessionPublic
from sidecar.agents.tables import AiMessage, AiSession
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import NotFound
from sidecar.xapi import service as xapi


def _public(s: AiSession) -> SessionPublic:
    return SessionPublic(id=s.id, lesson_id=s.lesson_id, exercise_id=s.exercise_id, title=s.title,
                         created_at=s.created_at, updated_at=s.updated_at)


def _message(m: AiMessage) -> MessagePublic:
    return MessagePublic(id=m.id, role=m.role, content=m.content, agent=m.agent, mode=m.mode,
                         citations=m.citations or [], hint=(m.meta or {}).get("hint"), created_at=m.created_at)


def open_session(*, engine: Engine, user_id: str, session_id: str | None, lesson_id: str | None,
                 exercise_id: str | None, title: str) -> str:
    """The named conversation (it must be the learner's), else the lesson's latest, else a new one."""
    with read_session(engine) as session:  # a read: only a new conversation needs the writer
        if session_id:
            found = session.get(AiSession, session_id)
            if found is None or found.user_id != user_id:
                raise NotFound("No conversation with that id.")
            return found.id
        if lesson_id:
            latest = session.scalar(select(AiSession.id).where(AiSession.user_id == user_id,
                                                               AiSession.lesson_id == lesson_id)
                                    .order_by(AiSession.updated_at.desc()).limit(1))
            if latest:
                return latest
    with write_session(engine) as session:
        new = AiSession(id=str(uuid.uuid4()), user_id=user_id, lesson_id=lesson_id, exercise_id=exercise_id,
                        title=title[:200], created_at=utcnow(), updated_at=utcnow())
        session.add(new)
        return new.id


def add_learner_message(*, engine: Engine, user_id: str, session_id: str, content: str, client_id: str | None,
                        intent: str) -> tuple[str, AiMessage | None]:
    """Store the learner's turn; for a retried client_id, return the reply already given."""
    with write_session(engine) as session:
        message_id = str(uuid.uuid4())
        inserted = insert_ignore(session, AiMessage, {
            "id": message_id, "session_id": session_id, "user_id": user_id, "client_id": client_id,
            "role": "learner", "content": content, "agent": None, "mode": None, "intent": intent, "citations": [],
            "meta": {}, "created_at": utcnow()}, ["session_id", "client_id"])
        if inserted or client_id is None:
            return message_id, None
        original = session.scalar(select(AiMessage).where(AiMessage.session_id == session_id,
                                                          AiMessage.client_id == client_id))
        assert original is not None
        reply = session.scalar(select(AiMessage).where(AiMessage.session_id == session_id,
                                                       AiMessage.client_id == f"reply:{client_id}"))
        return original.id, reply


def add_reply(*, engine: Engine, user_id: str, session_id: str, reply_to: str, client_id: str | None, text: str,
              agent: str, mode: str, citations: list[dict[str, str]], meta: dict[str, Any],
              intent: str | None = None, statement: xapi.Prepared | None = None) -> str:
    """Store the tutor's reply; `statement` (the turn's xAPI statement) is stored in the same transaction."""
    with write_session(engine) as session:
        message_id = str(uuid.uuid4())
        if statement is not None:
            xapi.store(session, statement)
        insert_ignore(session, AiMessage, {
            "id": message_id, "session_id": session_id, "user_id": user_id,
            "client_id": f"reply:{client_id}" if client_id else None, "role": "tutor", "content": text,
            "agent": agent, "mode": mode, "intent": intent, "citations": citations,
            "meta": {**meta, "reply_to": reply_to}, "created_at": utcnow()}, ["session_id", "client_id"])
        found = session.get(AiSession, session_id)
        if found is not None:
            found.updated_at = utcnow()
        return message_id


def history(*, engine: Engine, session_id: str, limit: int = 8) -> list[dict[str, str]]:
    with read_session(engine) as session:
        rows = session.execute(select(AiMessage.role, AiMessage.content).where(AiMessage.session_id == session_id)
                               .order_by(AiMessage.created_at.desc()).limit(limit)).all()
    return [{"role": r.role, "content": r.content} for r in reversed(rows)]


def reply_texts(*, engine: Engine, session_id: str, limit: int = 200) -> list[str]:
    """The assistant's earlier replies in a conversation, newest last (the tutor never repeats one)."""
    with read_session(engine) as session:
        rows = session.scalars(select(AiMessage.content).where(AiMessage.session_id == session_id,
                                                               AiMessage.role == "tutor")
                               .order_by(AiMessage.created_at.desc()).limit(limit)).all()
    return list(reversed(rows))


def list_sessions(*, engine: Engine, user_id: str, lesson_id: str | None) -> list[SessionPublic]:
    with read_session(engine) as session:
        query = select(AiSession).where(AiSession.user_id == user_id)
        if lesson_id:
            query = query.where(AiSession.lesson_id == lesson_id)
        return [_public(s) for s in session.scalars(query.order_by(AiSession.updated_at.desc()).limit(200))]


def get_session(*, engine: Engine, user_id: str, session_id: str) -> SessionDetailPublic:
    with read_session(engine) as session:
        found = session.get(AiSession, session_id)
        if found is None or found.user_id != user_id:
            raise NotFound("No conversation with that id.")
        messages = session.scalars(select(AiMessage).where(AiMessage.session_id == session_id)
                                   .order_by(AiMessage.created_at, AiMessage.role)).all()
        return SessionDetailPublic(**_public(found).model_dump(), messages=[_message(m) for m in messages])


def delete_sessions(*, engine: Engine, user_id: str, session_id: str | None) -> int:
    with write_session(engine) as session:
        query = select(AiSession.id).where(AiSession.user_id == user_id)
        if session_id:
            query = query.where(AiSession.id == session_id)
        ids = list(session.scalars(query).all())
        if session_id and not ids:
            raise NotFound("No conversation with that id.")
        if ids:
            session.execute(delete(AiMessage).where(AiMessage.session_id.in_(ids)))
            session.execute(delete(AiSession).where(AiSession.id.in_(ids)))
        return len(ids)


def delete_sessions_idle_since(*, engine: Engine, user_ids: list[str], cutoff: datetime) -> int:
    """Delete the conversations of these learners not used since `cutoff` (an organisation's retention)."""
    if not user_ids:
        return 0
    with write_session(engine) as session:
        ids = list(session.scalars(select(AiSession.id).where(AiSession.user_id.in_(user_ids),
                                                              AiSession.updated_at < cutoff)).all())
        if ids:
            session.execute(delete(AiMessage).where(AiMessage.session_id.in_(ids)))
            session.execute(delete(AiSession).where(AiSession.id.in_(ids)))
        return len(ids)


def last_reply_with_intent(*, engine: Engine, user_id: str, intent: str) -> datetime | None:
    """When the tutor last gave this kind of reply (e.g. the weekly reflection prompt)."""
    with read_session(engine) as session:
        return session.scalar(select(func.max(AiMessage.created_at)).where(
            AiMessage.user_id == user_id, AiMessage.role == "tutor", AiMessage.intent == intent))
