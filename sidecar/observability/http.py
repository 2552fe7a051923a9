"""The request middleware: a request id, the latency metric, a server span, and the request log line.

Outermost of the app's middleware (sidecar/observability/__init__.py adds it last), so it times
everything, refusals of the body guard included. The route label is the matched route's template
(`/api/exercises/{exercise_id}`), read after the app has routed the request: a bounded set of
values whatever paths clients send; an unmatched path is `unmatched`, the static site `/{path}`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidecar.errors import error_body
from sidecar.observability import metrics
from sidecar.observability.logs import accept_request_id, access_log, request_id_var

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

UNMATCHED = "unmatched"
CLIENT_CLOSED = 499  # the request's status when the client disconnected before any answer


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request, with its routers' prefixes."""
    # FastAPI keeps included routers nested: the route in scope["route"] has its own path only
    # (`/exercises/{exercise_id}`), while the effective route context it records for its own
    # telemetry has the full template (`/api/exercises/{exercise_id}`). Neither is set for the app's
    # own plain routes and mounts: match_template finds those.
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path_format", None)
    return str(template)[:200] if template else UNMATCHED


def match_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """For a request FastAPI recorded no route for (the /api catch-all's 404 and 405, the static
    site's mount): the first of the app's own routes and mounts whose path matches. Included
    routers are not searched: a match in one of them is recorded by FastAPI (a few microseconds
    here, where searching every included route would take milliseconds on each page)."""
    probe = {"type": "http", "path": scope.get("path", ""), "root_path": scope.get("root_path", ""),
             "method": scope.get("method", "GET"), "headers": []}
    partial = None
    for route in routes:
        if not isinstance(route, Route | Mount):
            continue
        match, _ = route.matches(probe)
        if match is Match.NONE:
            continue
        template = route.path_format  # a mount's ends in /{path}
        if match is Match.FULL:
            return template
        partial = partial or template
    return partial or UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return bytes(value).decode("latin-1")
            except (TypeError, ValueError):
                return None
    return None


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, routes: Callable[[], Sequence[BaseRoute]],
                 tracer: Tracer | None = None) -> None:
        self.app = app
        self.routes = routes
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(_header(scope, b"x-request-id"))
        token = request_id_var.set(request_id)
        method = str(scope.get("method", "GET"))
        asked = {"path": scope.get("path", ""), "root_path": scope.get("root_path", ""), "method": method}
        started = time.perf_counter()
        response_status: list[int] = []
        id_header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_status.append(int(message["status"]))
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, id_header]}
            await send(message)

        span = self._start_span(scope, method)
        failed: BaseException | None = None
        try:
            if span is not None:
                from opentelemetry import trace

                with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                    await self.app(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            failed = exc
            if not response_status:
                # The app's handler of unexpected errors answers outside this middleware; answer here
                # first, with the same body, so that the 500 carries the request id too.
                body = json.dumps(error_body("internal_error", "Something went wrong on our side.")).encode()
                await send_with_id({"type": "http.response.start", "status": 500,
                                    "headers": [(b"content-type", b"application/json"),
                                                (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            raise
        except BaseException:
            # Cancelled (the client went away) before an answer: nginx's 499, not a server error.
            if not response_status:
                response_status.append(CLIENT_CLOSED)
            raise
        finally:
            seconds = time.perf_counter() - started
            status = response_status[0] if response_status else 500
            if failed is not None:
                status = 500
            route = route_template(scope)
            if route == UNMATCHED:
                route = match_template(self.routes(), asked)
            metrics.record_request(route=route, method=method, status=status, seconds=seconds)
            if span is not None:
                self._end_span(span, method=method, route=route, status=status, failed=failed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %s %.1f ms", method, route, status, seconds * 1000,
                                extra={"method": method, "route": route, "status": status,
                                       "duration_ms": round(seconds * 1000, 2)})
            if failed is None:
                # On an error the id stays set: the app's error handler, outside, logs with it.
                request_id_var.reset(token)

    def _start_span(self, scope: Scope, method: str) -> Any:
        if self.tracer is None:
            return None
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        carrier = {}
        for key, value in scope.get("headers", ()):
            if key in (b"traceparent", b"tracestate"):
                carrier[key.decode("latin-1")] = bytes(value).decode("latin-1")
        attributes: dict[str, str | int] = {"http.request.method": method,
                                            "url.scheme": str(scope.get("scheme", "http")),
                                            "drona.request_id": request_id_var.get() or ""}
        return self.tracer.start_span(method, context=extract(carrier), kind=SpanKind.SERVER, attributes=attributes)

    @staticmethod
    def _end_span(span: Any, *, method: str, route: str, status: int, failed: BaseException | None) -> None:
        from opentelemetry.trace import Status, StatusCode

        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if failed is not None:
            span.record_exception(failed)
            span.set_attribute("error.type", type(failed).__qualname__)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
