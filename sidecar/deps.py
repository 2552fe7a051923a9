"""Typed FastAPI dependencies shared by the routers: settings, the learner database, catalog.db
and the grading sandbox. Routers take these and pass them to services as keyword arguments, so
no service reads app state or global settings itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from sidecar.settings import Settings

if TYPE_CHECKING:
    from sidecar.sandbox import Sandbox


async def get_app_settings(request: Request) -> Settings:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_engine(request: Request) -> Engine:
    """The learner database (SQLite or PostgreSQL), created once by the app."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_catalog_db(settings: SettingsDep) -> Path:
    """catalog.db, read only through sidecar.catalog (its readers check the schema version)."""
    return settings.catalog_db


CatalogDbDep = Annotated[Path, Depends(get_catalog_db)]


async def get_sandbox_factory(request: Request) -> Callable[[], Sandbox]:
    """The process-wide grading sandbox, started on first use with GRADING_WORKERS hosts.

    A factory rather than the sandbox itself: most requests that may grade end before they need
    it (validation, 404, 429), and starting it is slow the first time. The app puts it in its
    state (sidecar/app.py), which keeps this base module free of the sandbox package.
    """
    factory: Callable[[], Sandbox] = request.app.state.sandbox
    return factory


SandboxDep = Annotated[Callable[[], "Sandbox"], Depends(get_sandbox_factory)]


async def get_draft_viewer(request: Request) -> bool:
    """Whether the caller may see a preview build's draft courses (a content creator). The app installs the
    check (`app.state.draft_viewer`, which needs auth, a layer above this one); without it, nobody may."""
    check: Callable[[Request], Awaitable[bool]] | None = getattr(request.app.state, "draft_viewer", None)
    return bool(await check(request)) if check is not None else False


DraftViewerDep = Annotated[bool, Depends(get_draft_viewer)]
