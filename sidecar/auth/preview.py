"""Who may open a preview build's draft courses: content creators (and the roles that imply it).

`drona build --preview` builds draft courses and a content status page; catalog.db's meta names their
site paths. The static site is served by the app, so the app wraps it in DraftGate: those paths answer
403 (with a way to sign in) to anyone else. A normal build has no draft paths, and the gate costs one
cached read per request.
"""

from __future__ import annotations

import html
import posixpath
from functools import partial
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sidecar.catalog import readers
from sidecar.db.engine import is_sqlite
from sidecar.settings import Settings

from . import service
from .deps import SESSION_COOKIE
from .roles import Role, has_role


async def is_content_creator(request: Request, *, engine: Engine, settings: Settings) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    lookup = partial(service.user_for_token, engine=engine, settings=settings, token=token)
    found = lookup() if is_sqlite(engine) else await anyio.to_thread.run_sync(lookup)
    return found is not None and has_role(found.user.role, Role.CONTENT_CREATOR)


def _drafts(catalog_db: Path) -> tuple[str, ...]:
    try:
        return readers.draft_paths(catalog_db)
    except Exception:  # noqa: BLE001 - no catalog yet (or an older one): nothing is a draft
        return ()


def is_draft_path(path: str, drafts: tuple[str, ...]) -> bool:
    """Whether a request path falls under a draft's pages; normalised first, so `a/./b` or `a//b` cannot
    slip past the check to the file server."""
    clean = posixpath.normpath("/" + path).lstrip("/") + ("/" if path.endswith("/") else "")
    return any(clean.startswith(prefix) or clean + "/" == prefix for prefix in drafts)


_REFUSAL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Draft course</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<h1>This page is a draft</h1>
<p>Only content creators can open draft courses on this preview site.</p>
<p><a href="/account/signin/?next={next}">Sign in as a content creator</a> or go to the
<a href="/">home page</a>.</p></main></body></html>"""


class DraftGate:
    """Wraps the static site: a preview build's draft pages go to content creators only."""

    def __init__(self, app: ASGIApp, *, catalog_db: Path, engine: Engine, settings: Settings) -> None:
        self.app = app
        self.catalog_db = catalog_db
        self.engine = engine
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            drafts = _drafts(self.catalog_db)
            if drafts and is_draft_path(scope["path"], drafts):
                request = Request(scope)
                if not await is_content_creator(request, engine=self.engine, settings=self.settings):
                    body = _REFUSAL.format(next=html.escape(quote(scope["path"], safe="/"), quote=True))
                    await HTMLResponse(body, status_code=403, headers={"cache-control": "no-store"})(
                        scope, receive, send)
                    return
        await self.app(scope, receive, send)
