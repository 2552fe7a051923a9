"""The OpenAPI document lists every operation's error responses, in the one error shape.

FastAPI documents only 200 and a 422 whose body (`HTTPValidationError`, `{"detail": [...]}`) is
not what this API sends. Rather than a `responses=` map on each of the routes (spread over every
domain's router, and easy to forget on a new one), the generated document is completed once, from
what each route is: its dependencies (sign-in), its method (CSRF on unsafe ones), its parameters
and body, and the body limits and rate limits that apply to its path.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from sidecar.auth.deps import CurrentPrincipal
from sidecar.errors import ErrorResponse
from sidecar.web.limits import body_limit, describe_size

ERROR_SCHEMA = "ErrorResponse"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Throttled: sign-in, sign-up and emailed links (per account and address), the tutor (per learner),
# organisation invitations (per organisation and day), grading (the queue: sidecar/grading/scheduler.py).
RATE_LIMITED = re.compile(r"^POST (/api/auth/(?!logout)|/api/ai/|/api/orgs/\{[^}]+\}/invitations$"
                          r"|/api/exercises/\{[^}]+\}/submissions$|/api/review/answers$)")
# The headers an error response always carries (sidecar/errors.py: RateLimited).
_HEADERS = {429: {"Retry-After": {"description": "Seconds to wait before trying again.",
                                  "schema": {"type": "integer", "minimum": 0}}}}

_DESCRIPTIONS = {
    400: "The form or multipart body cannot be parsed.",
    401: "Not signed in (or the session expired).",
    403: "Not allowed: a missing or wrong CSRF token on a state-changing request, or a role or mode that does "
         "not allow this.",
    404: "Something the request names does not exist.",
    409: "The request conflicts with the current state (already exists, not yet earned, ...).",
    413: "The request body is larger than this endpoint accepts ({limit}).",
    422: "The request is not valid (parameters, body, or text that cannot be stored).",
    429: "Too many requests: wait for the number of seconds in the Retry-After header.",
}


def _require_principal() -> Callable[..., Any]:
    """The dependency behind CurrentPrincipal: a route that depends on it needs a signed-in user."""
    dependency = typing.get_args(CurrentPrincipal)[1].dependency
    assert dependency is not None
    found: Callable[..., Any] = dependency
    return found


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def error_statuses(route: APIRoute, path: str, method: str) -> list[int]:
    """The error statuses an operation can answer with, by what the route is (`path`: with its prefix)."""
    needs_user = _require_principal() in set(_calls(route.dependant))
    flat = route.dependant
    has_body = route.body_field is not None
    has_input = has_body or bool(flat.path_params or flat.query_params or flat.header_params or flat.cookie_params
                                 or any(d.path_params or d.query_params for d in flat.dependencies))
    statuses = set()
    if needs_user:
        statuses |= {401, 403, 404}  # a role, a mode or a group; a profile or a record of the learner
    if method in UNSAFE_METHODS:
        statuses |= {403, 409}  # the CSRF check; state conflicts
    if has_input:
        statuses |= {404, 422}
    if has_body or method in UNSAFE_METHODS:
        statuses.add(413)
    if route.body_field is not None and isinstance(route.body_field.field_info, params.Form):  # File is a Form too
        statuses.add(400)  # a form body that does not parse is refused before validation (Starlette)
    if RATE_LIMITED.match(f"{method} {path}"):
        statuses.add(429)
    return sorted(statuses)


def _limit_text(app: FastAPI, method: str, path: str) -> str:
    # The app's own table when it extends the fixed one (a Gold upload's limit is a setting).
    limits = getattr(app.state, "body_limits", None)
    return describe_size(body_limit(method, path, limits) if limits else body_limit(method, path))


def complete_document(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses (and the error schema) to a generated OpenAPI document."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error
    # FastAPI's own validation error shape is never sent: our 422 is an ErrorResponse.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    # iter_route_contexts: the routes of included routers too, with their full paths.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path_format
        if not isinstance(route, APIRoute) or not context.include_in_schema or path is None:
            continue
        operations = document.get("paths", {}).get(path, {})
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(route, path, method):
                description = _DESCRIPTIONS[status].format(limit=_limit_text(app, method, path))
                entry = responses.get(str(status)) or {"description": description}
                if str(status) == "422":
                    entry["description"] = description
                responses[str(status)] = entry
            # Every error, derived above or declared by the route (sidecar.errors.documented_errors), has the
            # one error body, and the headers that always come with it.
            for status, entry in responses.items():
                if status.isdigit() and int(status) >= 400:
                    entry["content"] = {"application/json": {"schema": ref}}
                    if int(status) in _HEADERS:
                        entry["headers"] = _HEADERS[int(status)]
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at app.openapi_url (FastAPI builds it once; we complete it once)."""
    generate = app.openapi
    completed: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not completed:
            complete_document(app, document)
            completed.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
