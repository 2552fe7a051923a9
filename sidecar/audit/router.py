from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import EngineDep

from . import service
from .models import AuditEventPublic

router = APIRouter(tags=["audit"])

Id = Annotated[str, Path(max_length=64)]
Action = Annotated[str | None, Query(max_length=48, description="Only this action, e.g. member.role.")]
Before = Annotated[datetime | None, Query(description="Entries older than this (the `at` of the last one seen).")]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]


@router.get("/orgs/{org_id}/audit", response_model=list[AuditEventPublic],
            summary="The organisation's audit log, newest first")
def org_audit(org_id: Id, principal: CurrentPrincipal, engine: EngineDep, action: Action = None,
              before: Before = None, limit: Limit = 50) -> list[AuditEventPublic]:
    """Who changed what: settings, roles, members, invitations, teams and assignments. Its admins and super
    admins."""
    return service.list_events(engine=engine, actor=principal.user, org_id=org_id, action=action, before=before,
                               limit=limit)


@router.get("/admin/audit", response_model=list[AuditEventPublic], summary="The platform's audit log (super admins)")
def platform_audit(principal: CurrentPrincipal, engine: EngineDep, action: Action = None, before: Before = None,
                   limit: Limit = 50) -> list[AuditEventPublic]:
    return service.list_events(engine=engine, actor=principal.user, org_id=None, action=action, before=before,
                               limit=limit)
