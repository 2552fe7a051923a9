"""OpenTelemetry traces (design §15.5): a server span per request, exported over OTLP/HTTP.

On only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Each app gets a TracerProvider of its own (kept
on app.state, not installed as the global one, so that several apps in one process do not fight
over it); spans leave in batches (BatchSpanProcessor) from a background thread, never on the
request's path. The span itself is made by sidecar/observability/http.py.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from sidecar.settings import Settings

TRACES_PATH = "/v1/traces"


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the HTTP exporter's signal path follows it."""
    endpoint = endpoint.strip().rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def tracer_provider(settings: Settings, version: str) -> TracerProvider | None:
    if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": settings.OTEL_SERVICE_NAME, "service.version": version,
                                "deployment.environment.name": settings.DRONA_ENV})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=traces_url(settings.OTEL_EXPORTER_OTLP_ENDPOINT), timeout=10)))
    atexit.register(provider.shutdown)  # the last batch leaves when the process ends
    return provider
