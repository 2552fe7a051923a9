from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sidecar.auth.deps import CurrentPrincipal
from sidecar.deps import CatalogDbDep, EngineDep, SettingsDep

from . import service
from .models import AccountRowPublic, SupportViewPublic

router = APIRouter(tags=["support"])


@router.get("/admin/users", response_model=list[AccountRowPublic], summary="Find accounts (super admins)")
def find_accounts(principal: CurrentPrincipal, engine: EngineDep,
                  q: Annotated[str, Query(max_length=200, description="Part of an email or a name.")] = "",
                  limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
                  offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[AccountRowPublic]:
    """Newest first. Read-only: there is no way here to sign in as an account."""
    return service.search_accounts(engine=engine, actor=principal.user, query=q, limit=limit, offset=offset)


@router.get("/admin/users/{user_id}", response_model=SupportViewPublic,
            summary="One account's state, read-only (super admins)")
def read_account(user_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal, engine: EngineDep,
                 settings: SettingsDep, catalog_db: CatalogDbDep) -> SupportViewPublic:
    """Account, sessions, course progress, XP and certificates; never secrets, code or tutor conversations. Each
    look is recorded in the audit log (`support.view`)."""
    return service.support_view(engine=engine, settings=settings, catalog_db=catalog_db, actor=principal.user,
                                user_id=user_id)
