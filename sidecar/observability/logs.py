"""Logs: a request id on every line written while a request is handled, as text or JSON (LOG_FORMAT).

The id lives in a context variable set by the request middleware (sidecar/observability/http.py);
it follows the request into worker threads (anyio copies the context), and a logging.Filter puts it
on each record. Nothing here logs headers, cookies or bodies: the one line per request names the
route template (never the raw path or query string, which may carry tokens), the method, the status
and the duration.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted from a client or proxy only when it is this harmless: no spaces, quotes or control
# characters that could forge log lines or headers.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("drona_request_id", default=None)
access_log = logging.getLogger("drona.access")

# Attributes every LogRecord has: the JSON formatter adds only the others (a call's `extra=`).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def new_request_id() -> str:
    return secrets.token_hex(16)


def accept_request_id(value: str | None) -> str:
    """The client's (or proxy's) X-Request-ID when it is safe and at most 64 characters, else a new one."""
    if value and SAFE_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record that passes through the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the call's extra fields, and
    the exception (type, message, traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get() or None,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class _DronaHandler(logging.StreamHandler[Any]):
    """The one handler configure_logging installs on the root logger (found again by its class).

    Without a stream of its own it writes to whatever sys.stderr is at the time (a test runner's
    capture, a daemon's redirection), not to the one it found when it was made."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._follow_stderr = stream is None

    def setStream(self, stream: Any) -> Any:  # noqa: N802 - logging's name
        self._follow_stderr = False
        return super().setStream(stream)

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(log_format: str, *, stream: Any = None) -> logging.Handler:
    """Install (or replace) the sidecar's handler on the root logger: text or JSON, with request ids.

    Idempotent: creating several apps in one process (tests) keeps one handler, the last format.
    The request log (`drona.access`, one line per request) is on with JSON; other loggers keep their levels.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DronaHandler)]:
        root.removeHandler(old)
    handler = _DronaHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    # The request log is for production's JSON logs; `drona serve`'s text console stays quiet.
    access_log.setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    return handler
