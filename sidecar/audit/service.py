"""Recording and reading the audit log.

`record` joins the caller's transaction (pass its session): the entry commits or rolls back with the
change. Reading is for an organisation's admins (their organisation's entries) and super admins (any,
or the whole platform's). Details hold what changed (field names, old and new roles), never secrets
or large values such as an inline logo."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session
from sidecar.errors import Forbidden, NotFound

from .models import AuditEventPublic
from .tables import AuditEvent

MAX_PAGE = 200


def record(session: Session, *, actor_id: str | None, organization_id: str | None, action: str,
           target_type: str | None = None, target_id: str | None = None,
           details: dict[str, Any] | None = None) -> None:
    session.add(AuditEvent(id=str(uuid.uuid4()), at=utcnow(), actor_id=actor_id, organization_id=organization_id,
                           action=action, target_type=target_type, target_id=target_id, details=details or None))


def list_events(*, engine: Engine, actor: User, org_id: str | None, action: str | None = None,
                before: datetime | None = None, limit: int = 50) -> list[AuditEventPublic]:
    """Newest first; `before` pages back (the `at` of the last entry seen). An organisation's entries
    for its admins and super admins (another organisation's answers 404); all of them (org_id None)
    for super admins only."""
    if org_id is None:
        if not has_role(actor.role, Role.SUPER_ADMIN):
            raise Forbidden("Only a super admin reads the platform's audit log.")
    elif not has_role(actor.role, Role.SUPER_ADMIN):
        if not has_role(actor.role, Role.ENTERPRISE_ADMIN):
            raise Forbidden("Only an organisation's admins read its audit log.")
        if actor.organization_id != org_id:
            raise NotFound("No such organisation.")
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if org_id is not None:
        query = query.where(AuditEvent.organization_id == org_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if before is not None:
        query = query.where(AuditEvent.at < before)
    with read_session(engine) as session:
        events = list(session.scalars(query))
        emails = auth.emails_of(session=session, user_ids={e.actor_id for e in events if e.actor_id})
    return [AuditEventPublic(id=e.id, at=e.at, actor_id=e.actor_id, actor_email=emails.get(e.actor_id or ""),
                             organization_id=e.organization_id, action=e.action, target_type=e.target_type,
                             target_id=e.target_id, details=dict(e.details or {})) for e in events]
