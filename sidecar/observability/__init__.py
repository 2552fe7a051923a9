"""Observability (issue 18, design §15.5): Prometheus metrics at /metrics, JSON logs with request ids,
OpenTelemetry traces and optional Sentry error reports. See docs/observability.md.

`install(app, settings=..., engine=...)` wires it all into an app (sidecar/app.py calls it last, so
that its middleware is the outermost). The domains below the app record their events through
`sidecar.observability.metrics` (grading waits, tutor turns, answer leaks); the sandbox's host pools
report their workers through `metrics.track_worker_pool`.
"""

from __future__ import annotations

import hmac
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.routing import Route

from sidecar.errors import NotFound, Unauthorized
from sidecar.observability import metrics
from sidecar.observability.http import RequestTelemetry
from sidecar.observability.logs import configure_logging
from sidecar.observability.sentry import init_sentry
from sidecar.observability.tracing import tracer_provider
from sidecar.settings import Settings

METRICS_PATH = "/metrics"

__all__ = ["METRICS_PATH", "install", "metrics"]


class _MetricsUnauthorized(Unauthorized):
    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Bearer realm="metrics"'}


def _metrics_endpoint(settings: Settings, live: metrics.LiveCollector) -> Any:
    async def endpoint(request: Request) -> Response:
        if settings.METRICS_TOKEN is None:
            raise NotFound(f"No endpoint at {METRICS_PATH}.")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.METRICS_TOKEN.get_secret_value().encode("utf-8")
        # compare_digest: the time taken does not tell how much of a guess was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"), expected):
            raise _MetricsUnauthorized("/metrics needs Authorization: Bearer <METRICS_TOKEN>.")
        body = await anyio.to_thread.run_sync(metrics.exposition, live)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return endpoint


def install(app: FastAPI, *, settings: Settings, engine: Any, version: str) -> None:
    """Logging, Sentry, /metrics (first among the routes, before the static site's mount) and the
    request middleware (outermost: call this after the app's other middleware is added)."""
    configure_logging(settings.LOG_FORMAT)
    init_sentry(settings, version)
    live = metrics.LiveCollector(engine=engine, grading_queue=lambda: getattr(app.state, "grading_queue", None))
    app.router.routes.insert(0, Route(METRICS_PATH, _metrics_endpoint(settings, live), methods=["GET"],
                                      include_in_schema=False))
    provider = tracer_provider(settings, version)
    app.state.tracer_provider = provider
    app.add_middleware(RequestTelemetry, routes=lambda: app.router.routes,
                       tracer=provider.get_tracer("sidecar") if provider is not None else None)
