"""Typed dependencies: the database engine, the signed-in user, role checks and CSRF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import Engine

from sidecar.db.engine import is_sqlite
from sidecar.deps import SettingsDep
from sidecar.errors import Forbidden, Unauthorized

from . import security, service
from .roles import Role, has_role
from .tables import User, UserProfile

SESSION_COOKIE = "drona_session"
CSRF_COOKIE = "drona_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def get_engine_dep(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine_dep)]


@dataclass
class Principal:
    user: User
    profile: UserProfile
    token: str


async def _principal(request: Request, engine: EngineDep, settings: SettingsDep) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    lookup = partial(service.user_for_token, engine=engine, settings=settings, token=token)
    # Every signed-in request pays this. On SQLite it is one indexed read of a local file, cheaper
    # than the hop to a worker thread; over a network (PostgreSQL) it goes to a worker thread.
    found = lookup() if is_sqlite(engine) else await anyio.to_thread.run_sync(lookup)
    if found is None:
        return None
    if found.stale:
        await anyio.to_thread.run_sync(partial(service.refresh_session, engine=engine, settings=settings,
                                               token=token))
    return Principal(found.user, found.profile, token)


async def _require_principal(principal: Annotated[Principal | None, Depends(_principal)]) -> Principal:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    if principal is None:
        raise Unauthorized("Sign in to continue.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_require_principal)]


def require_role(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not has_role(principal.user.role, role):
            raise Forbidden("Your role does not allow this.")
        return principal

    return check


async def csrf_protect(request: Request) -> None:
    """Double-submit: a state-changing request must echo the drona_csrf cookie in X-CSRF-Token."""
    if request.method not in UNSAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not security.same(cookie, header):
        raise Forbidden("Missing or wrong CSRF token: call GET /api/auth/csrf and send it as X-CSRF-Token.")
