"""Domain errors and the one JSON error body every endpoint returns.

Body: {"error": {"code": "<machine-readable>", "message": "<human-readable>", "details": ...}}.
Services raise DomainError subclasses; this module alone turns them into HTTP responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from sidecar.text import SafeJSONResponse as JSONResponse

logger = logging.getLogger("drona")


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def headers(self) -> dict[str, str] | None:
        """Extra response headers (Retry-After, Allow)."""
        return None


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class MethodNotAllowed(DomainError):
    status_code = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allow: list[str]) -> None:
        super().__init__(message, {"allow": allow})
        self.allow = allow

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Allow": ", ".join(self.allow)}


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"retry_after_seconds": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable, e.g. not_found, invalid_input, too_large.")
    message: str = Field(description="Human-readable.")
    details: Any = Field(None, description="More about the error where there is more (omitted otherwise).")


class ErrorResponse(BaseModel):
    """The body of every error response (documented for each operation in the OpenAPI document)."""

    error: ErrorDetail


def documented_errors(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the errors its handler answers with beyond those sidecar/openapi.py derives
    from what the route is (sign-in, CSRF, inputs, limits), e.g. a sign-in's 401 for a wrong password."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in descriptions.items()}


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid_input",
                 429: "rate_limited"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse(error_body("invalid_input", "The request is not valid.", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The request-body guard's errors (sidecar/web/limits.py) carry their own code and details.
        code = getattr(exc, "code", None) or _STATUS_CODES.get(exc.status_code, "error")
        message, details = str(exc.detail), getattr(exc, "details", None)
        allow = (exc.headers or {}).get("Allow") if exc.status_code == 405 else None
        if allow:  # the router's own 405: say what to use instead
            message = f"{request.method} is not allowed here; use {allow}."
            details = {"allow": [m.strip() for m in allow.split(",")]}
        return JSONResponse(error_body(code, message, details), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never leak internals (paths, SQL, secrets) to clients; the server log has the traceback.
        # The route's template, not the path: a path may carry a token (an invitation, a sign-in link).
        route = getattr(request.scope.get("route"), "path_format", None) or "(no route)"
        logger.exception("unhandled error on %s %s", request.method, route)
        return JSONResponse(error_body("internal_error", "Something went wrong on our side."), status_code=500)
