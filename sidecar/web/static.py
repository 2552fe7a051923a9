"""Serving the built static site: precompressed assets, cache rules and cross-origin isolation.

COOP/COEP make the page cross-origin isolated, which gives the Pyodide worker SharedArrayBuffer
(clean interrupts, blocking input()). Files under the versioned Pyodide path never change, so
browsers may cache them for a year; HTML is revalidated on every visit.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .livereload import inject

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=300"

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/x-python", ".py")


# The start-up snapshot (sidecar/compiler/assets.py) sits in the versioned Pyodide folder but depends on
# the engine's own scripts too: a rebuild may replace it under the same address, so it is revalidated.
SNAPSHOT = "snapshot.bin"


def cache_control(path: str) -> str:
    if path.startswith("pyodide/"):
        return REVALIDATE if path.endswith("/" + SNAPSHOT) else IMMUTABLE
    if path.endswith(".html") or path.endswith("/") or path == "":
        return REVALIDATE
    return SHORT


class SiteFiles(StaticFiles):
    """StaticFiles that prefers a precompressed .gz sibling when the client accepts gzip.

    live_reload: add the live-reload script to HTML pages (`drona serve --watch`).
    policy: the site's Content-Security-Policy (csp.txt, sidecar/web/csp.py), sent with every file
    (pages, and worker scripts: a dedicated worker may follow its own script's policy).
    """

    def __init__(self, *args: Any, live_reload: bool = False, policy: Callable[[], str | None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live_reload = live_reload
        self.policy = policy

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 404 and isinstance(response, FileResponse):
            # Starlette answers an unknown address with 404.html itself, past file_response: send the
            # page through it, so it gets the same gzip, live reload and cache rule as any other page.
            return self.file_response(response.path, os.stat(response.path), scope, status_code=404)
        return response

    def file_response(self, full_path: os.PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = self._file_response(full_path, stat_result, scope, status_code)
        value = self.policy() if self.policy is not None else None
        if value:
            response.headers["content-security-policy"] = value
        return response

    def _file_response(self, full_path: os.PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
                       status_code: int) -> Response:
        path = Path(full_path)
        if self.live_reload and path.suffix == ".html":
            return Response(inject(path.read_bytes()), status_code=status_code, media_type="text/html",
                            headers={"cache-control": "no-store"})
        accepts = Headers(scope=scope).get("accept-encoding", "")
        gz = path.with_name(path.name + ".gz")
        if "gzip" in accepts and gz.is_file():
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            response: Response = FileResponse(gz, status_code=status_code, media_type=media_type,
                                              stat_result=os.stat(gz))
            response.headers["content-encoding"] = "gzip"
            response.headers["vary"] = "Accept-Encoding"
        else:
            response = super().file_response(full_path, stat_result, scope, status_code)
        rel = str(scope.get("path", "")).lstrip("/")
        # An unknown address gets the site's 404 page (html=True): HTML, so revalidated like any
        # page, whatever the address looks like (a cached 404 would outlive the page once it exists).
        response.headers["cache-control"] = REVALIDATE if status_code == 404 else cache_control(rel)
        return response


class IsolationHeaders:
    """Adds COOP/COEP/CORP and basic hardening headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-embedder-policy", b"require-corp"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def sitemap_response(site_dir: Path, base_url: str) -> Response:
    """sitemap.xml with its URLs pointing at the address the site is being reached at.

    The build writes site_url into the sitemap; instant navigation compares links with it
    exactly (port included), so a site served on another host or port would lose it.
    """
    import json

    path = site_dir / "sitemap.xml"
    if not path.is_file():
        return Response("Not found", status_code=404)
    text = path.read_text(encoding="utf-8")
    stamp = site_dir.parent / "build.json"
    built_for = json.loads(stamp.read_text(encoding="utf-8")).get("site_url") if stamp.is_file() else None
    if built_for:
        text = text.replace(f"<loc>{built_for}", f"<loc>{base_url}")
    return Response(text, media_type="application/xml", headers={"cache-control": REVALIDATE})
