"""The Content-Security-Policy headers `drona serve` sends (docs/security.md).

The static site's policy is computed by `drona build` (sidecar/compiler/csp.py: the hashes of the
inline scripts the pages carry) and written beside the site as `csp.txt`; every response of the
static site carries it, read again whenever a rebuild (`drona serve --watch`) replaces the file.
JSON answers (the API, SCIM, the OpenAPI document) get a policy that allows nothing: a JSON
document opened as a page runs no script and may not be framed. A response that already says its
own policy (the certificate pages) keeps it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SITE_POLICY_FILE = "csp.txt"  # in the build folder, beside site/ (never published with the site)
NGINX_POLICY_FILE = "nginx-csp.conf"  # the same policy as an nginx `add_header` line
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HEADER = "content-security-policy"


def read_policy(text: str) -> str | None:
    """The policy in csp.txt's text: its one line, or None when the file says nothing usable."""
    policy = " ".join(text.split())
    return policy or None


class PolicyFile:
    """csp.txt, read again when it changes (a rebuild writes a new one). None while it is missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._policy: str | None = None

    def policy(self) -> str | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._policy = read_policy(self.path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    return None
                self._stamp = stamp
            return self._policy


def _is_json(content_type: str) -> bool:
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


class ApiPolicyHeaders:
    """Gives JSON responses that carry no policy of their own the API policy (`default-src 'none'`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers and _is_json(headers.get("content-type", "")):
                    headers.append(HEADER, API_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_policy)
