"""Request bodies are limited in size, per route, and checked for storable text, before any endpoint reads them.

Without a limit an unauthenticated 100 MB sign-in request held about 170 MB of server memory
(FastAPI reads the whole body, then parses it). This ASGI middleware sits in front of the routes:

- a Content-Length over the route's limit is refused at once with 413, before a byte is read;
- a body without one (chunked) is counted as it streams in, and refused with 413 as soon as it
  passes the limit, so at most the limit (plus one chunk) is ever held;
- a JSON body is checked as bytes for text no database can store (sidecar/text.py) and
  refused with 422: one place for every endpoint, instead of a validator on every model.

Errors have the one shape of sidecar/errors.py. The limits are per route because most bodies are
tiny (sign-in, progress events), while code submissions and tutor turns carry a program.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message as MimeMessage

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidecar.errors import error_body
from sidecar.text import SafeJSONResponse, body_text_problem

KIB = 1024
AUTH_LIMIT = 16 * KIB  # sign-up, sign-in, passwords: a few short fields
DEFAULT_LIMIT = 256 * KIB
# Code submissions and tutor turns hold up to 50,000 characters of code, a tutor turn also a
# 4,000-character message. JSON may spell a character outside the BMP as two \uXXXX escapes,
# 12 bytes for one character (Python's json.dumps does by default), so the largest valid body is
# 12 * 54,000 = 648,000 bytes plus a few short fields. tests/test_security_api.py checks this
# against the models' max_length.
CODE_CHARS = 54_000
CODE_LIMIT = 12 * CODE_CHARS + 16 * KIB


@dataclass(frozen=True)
class RouteLimit:
    methods: frozenset[str] | None  # None: every method
    path: re.Pattern[str]
    limit: int


ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    RouteLimit(None, re.compile(r"^/api/auth(/|$)"), AUTH_LIMIT),
    RouteLimit(frozenset({"POST"}), re.compile(r"^/api/exercises/[^/]+/submissions$"), CODE_LIMIT),
    RouteLimit(frozenset({"POST"}), re.compile(r"^/api/ai/(chat|hint|review)$"), CODE_LIMIT),
    # Drafts hold the same code as a submission.
    RouteLimit(frozenset({"PUT"}), re.compile(r"^/api/exercises/[^/]+/draft$"), CODE_LIMIT),
    # A review of an exercise carries its code.
    RouteLimit(frozenset({"POST"}), re.compile(r"^/api/review/answers$"), CODE_LIMIT),
)


def body_limit(method: str, path: str, limits: Sequence[RouteLimit] = ROUTE_LIMITS,
               default: int = DEFAULT_LIMIT) -> int:
    """The most bytes a request body to `method path` may have."""
    for rule in limits:
        if (rule.methods is None or method in rule.methods) and rule.path.match(path):
            return rule.limit
    return default


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit.

    An HTTPException, because FastAPI turns any other exception raised while it reads a body into
    a 400; this one it passes on to the error handlers (sidecar/errors.py), which answer 413.
    """

    code = "too_large"

    def __init__(self, limit: int) -> None:
        # Connection: close, since the rest of the body is not read: the server then drops the
        # connection instead of reading (and discarding) whatever the client still sends.
        super().__init__(413, f"The request body is larger than the {describe_size(limit)} this endpoint accepts.",
                         headers={"Connection": "close"})
        self.details = {"limit_bytes": limit}


class InvalidBodyText(HTTPException):
    code = "invalid_input"

    def __init__(self, reason: str) -> None:
        super().__init__(422, reason)
        self.details = [{"loc": ["body"], "message": reason}]


def describe_size(limit: int) -> str:
    return f"{limit // KIB} KiB" if limit % KIB == 0 else f"{limit:,} bytes"


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse this body as JSON: no content type, application/json or +json."""
    if not content_type:
        return True
    mime = MimeMessage()
    mime["content-type"] = content_type
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _error_response(exc: BodyTooLarge | InvalidBodyText) -> SafeJSONResponse:
    # Connection: close always: this answer may come before the body was read (see BodyTooLarge).
    return SafeJSONResponse(error_body(exc.code, str(exc.detail), exc.details), status_code=exc.status_code,
                            headers={"Connection": "close"})


class RequestBodyGuard:
    """ASGI middleware: the size limit and the text check (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Sequence[RouteLimit] = ROUTE_LIMITS,
                 default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"], self.limits, self.default)
        headers = Headers(scope=scope)
        try:
            declared = int(headers.get("content-length", ""))
        except ValueError:
            declared = None  # none (chunked), or malformed: the server refuses those before us
        if declared is not None and declared > limit:
            await _error_response(BodyTooLarge(limit))(scope, receive, send)
            return
        check_text = _is_json(headers.get("content-type"))
        received = 0
        pending: list[bytes] = []  # a JSON body's chunks until the last one (most bodies are one chunk)
        started = False

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                pending.clear()
                raise BodyTooLarge(limit)
            if check_text:
                if message.get("more_body", False):
                    pending.append(chunk)
                else:
                    body = b"".join([*pending, chunk]) if pending else chunk
                    pending.clear()
                    problem = body_text_problem(body)
                    if problem is not None:
                        raise InvalidBodyText(problem)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except (BodyTooLarge, InvalidBodyText) as exc:
            # The error handlers answer these for endpoints; this covers anything that reads a body
            # outside them.
            if started:
                raise
            await _error_response(exc)(scope, receive, send)

