"""Typed FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sidecar.settings import Settings


async def get_app_settings(request: Request) -> Settings:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
