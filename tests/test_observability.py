"""Observability (issue 18, design §15.5): /metrics, request ids and JSON logs, OTLP traces, Sentry, alert rules.

Everything real: the app over the minimal catalog and a migrated SQLite database, a local HTTP
receiver decoding the OTLP protobuf, a local HTTP server standing in for Sentry, two real uvicorn
processes sharing a Prometheus multiprocess directory, and Debian's promtool on the alert rules.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text

from sidecar.db.engine import get_engine
from sidecar.db.migrate import upgrade
from sidecar.grading.scheduler import GradingQueue
from sidecar.observability import logs as obs_logs
from sidecar.observability import metrics
from sidecar.settings import Settings
from tests.conftest import REPO_ROOT, client_factory, needs_node
from tests.engine_repo import free_port

TOKEN = "metrics-token-" + "x" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing (code-along) in the minimal catalog
PROMTOOL = "/usr/bin/promtool"
RULES = REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"


def scrape(client: Any) -> str:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return str(response.text)


def find_sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample (labels must match exactly those given, in any order); None when absent."""
    for line in exposition.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when absent."""
    return find_sample(exposition, name, **labels) or 0.0


def route_labels(exposition: str) -> set[str]:
    return set(re.findall(r'drona_http_request_duration_seconds_count\{[^}]*route="([^"]*)"', exposition))


@pytest.fixture(scope="module")
def shared(minimal_build: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app with /metrics on, for the tests that only read it (an app's start-up costs seconds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('observability') / 'learners.db'}"
    upgrade(url)
    factory = client_factory(minimal_build)
    yield next(factory)(url, METRICS_TOKEN=TOKEN)
    next(factory, None)


# ---- /metrics ------------------------------------------------------------------------------------------


def test_metrics_is_404_without_a_token_and_needs_the_bearer_token(make_client, sqlite_url: str) -> None:
    closed = make_client(sqlite_url)
    response = closed.get("/metrics", headers=AUTH)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"

    client = make_client(sqlite_url, METRICS_TOKEN=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    assert "drona_http_request_duration_seconds" in scrape(client)


def test_production_refuses_a_weak_metrics_token() -> None:
    strong = "s" * 40
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(DRONA_ENV="production", SECRET_KEY=strong, METRICS_TOKEN="change-me")
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(DRONA_ENV="production", SECRET_KEY=strong, METRICS_TOKEN="short")
    assert Settings(DRONA_ENV="production", SECRET_KEY=strong, METRICS_TOKEN=strong).METRICS_TOKEN is not None
    assert TOKEN not in repr(Settings(METRICS_TOKEN=TOKEN))  # a SecretStr: never in reprs or logs


def test_latency_is_labelled_by_route_template_with_bounded_cardinality(shared: Any) -> None:
    client = shared
    client.signup("ada@example.com")
    before = scrape(client)
    labels = {"method": "GET", "status_class": "2xx"}
    base = sample(before, "drona_http_request_duration_seconds_count", route="/api/exercises/{exercise_id}/draft",
                  **labels)
    for _ in range(3):
        assert client.get(f"/api/exercises/{DOUBLE}/draft").status_code == 200
    # Random unknown paths, under /api and elsewhere: one label each, never the raw path.
    for _ in range(25):
        client.get(f"/api/no-such-thing/{uuid.uuid4().hex}")
        client.get(f"/nowhere/{uuid.uuid4().hex}.html")
    client.request("BREW", "/api/health")
    after = scrape(client)
    assert sample(after, "drona_http_request_duration_seconds_count", route="/api/exercises/{exercise_id}/draft",
                  **labels) == base + 3
    routes = route_labels(after)
    assert DOUBLE not in after and "no-such-thing" not in after and "nowhere" not in after
    assert "/api/{rest}" in routes and "/{path}" in routes  # the API's 404 route and the static site
    assert sample(after, "drona_http_request_duration_seconds_count", route="/api/{rest}", method="GET",
                  status_class="4xx") >= 25
    # An unknown method: answered 405 by the /api catch-all, counted as `other`.
    assert sample(after, "drona_http_request_duration_seconds_count", route="/api/{rest}", method="other",
                  status_class="4xx") >= 1
    # Every label is a route template of the app (or the two catch-alls), whatever was asked.
    templates = {r.path_format for r in iter_route_contexts(client.app.router.routes)} | {"/{path}", "unmatched"}
    assert routes <= templates, routes - templates
    # A bucket at the 300 ms target, for the p99 alert.
    assert 'le="0.3"' in after


def test_a_request_the_client_abandons_is_not_a_server_error() -> None:
    from prometheus_client import REGISTRY

    from sidecar.observability.http import RequestTelemetry

    async def abandoned(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError  # what the server does to a request whose client went away

    async def nothing(*_: Any) -> Any:
        return {"type": "http.disconnect"}

    def count(status_class: str) -> float:
        labels = {"route": "unmatched", "method": "PATCH", "status_class": status_class}
        return REGISTRY.get_sample_value("drona_http_request_duration_seconds_count", labels) or 0.0

    before = count("4xx"), count("5xx")
    scope = {"type": "http", "method": "PATCH", "path": "/gone", "root_path": "", "headers": []}
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(RequestTelemetry(abandoned, routes=list)(scope, nothing, nothing))
    assert (count("4xx"), count("5xx")) == (before[0] + 1, before[1])


def test_db_pool_grading_queue_and_leak_metrics_are_exported(make_client, sqlite_url: str) -> None:
    client = make_client(sqlite_url, METRICS_TOKEN=TOKEN, DATABASE_POOL_SIZE=3)
    engine = get_engine(sqlite_url, 3)
    assert client.app.state.engine is engine
    with engine.connect() as held:
        held.execute(text("SELECT 1"))
        exposition = scrape(client)
        assert sample(exposition, "drona_db_pool_checked_out") >= 1
    assert sample(exposition, "drona_db_pool_size") == 3
    assert sample(exposition, "drona_db_pool_capacity") == 3 + 3 * 4  # SQLite's pool: size + 4 x size overflow
    # No submission yet: the queue is not even created, and reads empty.
    assert sample(exposition, "drona_grading_queue_depth") == 0
    assert "drona_grading_queue_limit" in exposition and "drona_grading_slots" in exposition
    # Every leak series exists from the start (at 0), so that the alert's increase() sees the first leak.
    assert find_sample(exposition, "drona_tutor_leak_events_total", source="llm", kind="code") is not None
    assert "# TYPE drona_tutor_leak_events_total counter" in exposition


def test_the_grading_queue_reports_depth_and_wait(shared: Any) -> None:
    client = shared
    queue = GradingQueue(slots=1, per_learner_queued=2, queued_per_slot=4)
    client.app.state.grading_queue = queue  # what the first submission creates (grading/scheduler.py)
    waits_before = sample(scrape(client), "drona_grading_wait_seconds_count")
    seen: dict[str, float] = {}

    async def scenario() -> None:
        release = asyncio.Event()

        async def job(learner: str, hold: bool) -> None:
            async with queue.turn(learner):
                if hold:
                    await release.wait()

        first = asyncio.create_task(job("a", True))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(job("b", False))
        third = asyncio.create_task(job("c", False))
        await asyncio.sleep(0.05)
        exposition = await asyncio.to_thread(scrape, client)
        seen["depth"] = sample(exposition, "drona_grading_queue_depth")
        seen["running"] = sample(exposition, "drona_grading_running")
        seen["limit"] = sample(exposition, "drona_grading_queue_limit")
        release.set()
        await asyncio.gather(first, second, third)

    try:
        asyncio.run(scenario())
    finally:
        del client.app.state.grading_queue
    assert seen == {"depth": 2, "running": 1, "limit": 4}
    after = scrape(client)
    assert sample(after, "drona_grading_wait_seconds_count") == waits_before + 3
    assert sample(after, "drona_grading_wait_seconds_sum") > 0.04  # two of them waited ≥ 50 ms
    assert sample(after, "drona_grading_queue_depth") == 0


def test_tutor_turns_and_leaks_are_counted(shared: Any) -> None:
    from sidecar.agents.api import service
    from sidecar.courseware.leak_verdict import LeakVerdict

    client = shared
    client.post("/api/auth/logout")
    client.signup(f"turns-{uuid.uuid4().hex[:8]}@example.com")
    before = scrape(client)
    response = client.post("/api/ai/chat", json={"message": "What does print do?", "exercise_id": DOUBLE})
    assert response.status_code == 200 and "event: done" in response.text
    agent = json.loads(response.text.strip().split("\n\n")[-1].split("data: ", 1)[1])["agent"]
    verdict = LeakVerdict(leaked=True, kind="answer", score=1.0, detail="test")
    service.log_leak(engine=client.app.state.engine, user_id=None, session_id=None, exercise_id=DOUBLE,
                     source="llm", verdict=verdict)
    after = scrape(client)
    turns = sample(after, "drona_tutor_turns_total", agent=agent, outcome="policy")
    assert turns == sample(before, "drona_tutor_turns_total", agent=agent, outcome="policy") + 1
    assert (sample(after, "drona_tutor_leak_events_total", source="llm", kind="answer")
            == sample(before, "drona_tutor_leak_events_total", source="llm", kind="answer") + 1)


@needs_node
def test_sandbox_pool_reports_its_workers(shared: Any) -> None:
    from sidecar.sandbox import Sandbox

    client = shared
    box = Sandbox(pool_size=1)
    try:
        exposition = scrape(client)
        states = {s: sample(exposition, "drona_sandbox_workers", state=s) for s in ("idle", "busy", "starting")}
        assert sum(states.values()) >= 1 and sample(exposition, "drona_sandbox_pool_size") >= 1
        host = box._hosts.acquire(time.monotonic() + 90)  # what a grading job does first
        try:
            assert box._hosts.pool_state() == metrics.WorkerPoolState(size=1, idle=0, busy=1, starting=0)
            exposition = scrape(client)
            assert sample(exposition, "drona_sandbox_workers", state="busy") >= 1
        finally:
            box._hosts.release(host, healthy=True)
        assert box._hosts.pool_state() == metrics.WorkerPoolState(size=1, idle=1, busy=0, starting=0)
        exposition = scrape(client)
        assert sample(exposition, "drona_sandbox_workers", state="idle") >= 1
    finally:
        box.close()
    exposition = scrape(client)  # a closed pool is no longer counted
    assert sample(exposition, "drona_sandbox_pool_size") == sum(s.size for s in metrics.worker_pools())


# ---- request ids and logs -----------------------------------------------------------------------------


@pytest.fixture
def json_log(make_client, sqlite_url: str) -> Iterator[tuple[Any, io.StringIO]]:
    client = make_client(sqlite_url, LOG_FORMAT="json")
    stream = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, obs_logs._DronaHandler))
    handler.setStream(stream)

    def noisy() -> dict[str, str]:
        # A sync endpoint: runs in a worker thread, where the request id must follow.
        logging.getLogger("sidecar.test").warning("inside the request, in a worker thread")
        return {"ok": "yes"}

    from fastapi.routing import APIRoute

    client.app.router.routes.insert(0, APIRoute("/api/test/noisy", noisy, methods=["POST"]))
    yield client, stream
    obs_logs.configure_logging("text")


def test_every_request_gets_an_id_in_the_response_and_its_log_lines(json_log) -> None:
    client, stream = json_log
    response = client.post("/api/test/noisy", json={"password": "hunter2-body-secret"},
                           headers={"Authorization": "Bearer auth-header-secret",
                                    "Cookie": "drona_session=cookie-secret"})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [entry for entry in lines if entry.get("request_id") == request_id]
    messages = [entry["message"] for entry in mine]
    assert "inside the request, in a worker thread" in messages
    access = [entry for entry in mine if entry["logger"] == "drona.access"]
    assert len(access) == 1 and access[0]["route"] == "/api/test/noisy" and access[0]["status"] == 200
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    for secret in ("hunter2-body-secret", "auth-header-secret", "cookie-secret"):
        assert secret not in stream.getvalue()


@pytest.mark.parametrize(("given", "kept"), [
    ("req-123_abc.DEF:9", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("has space", False),
    ("forged\r\nX-Evil: 1", False),
    ('quote"d', False),
    ("", False),
    ("-starts-with-dash", False),
])
def test_an_incoming_request_id_is_kept_only_when_safe(shared: Any, given: str, kept: bool) -> None:
    client = shared
    try:
        response = client.get("/api/health", headers={"X-Request-ID": given})
    except (httpx.LocalProtocolError, ValueError):
        assert not kept  # the client library itself refuses to send it
        return
    echoed = response.headers["x-request-id"]
    assert (echoed == given) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    assert response.headers.get_list("x-request-id") == [echoed]


def test_an_unhandled_error_answers_500_with_the_request_id_in_header_and_log(json_log) -> None:
    client, stream = json_log

    def boom(token: str) -> None:
        raise RuntimeError("kaboom")

    from fastapi.routing import APIRoute

    client.app.router.routes.insert(0, APIRoute("/api/test/boom/{token}", boom, methods=["GET"]))
    with TestClient(client.app, raise_server_exceptions=False) as plain:
        response = plain.get("/api/test/boom/secret-link-token-42", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error" and "kaboom" not in response.text
    assert response.headers["x-request-id"] == "trace-me-1"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [entry for entry in lines if entry["level"] == "ERROR"]
    assert errors and all(entry["request_id"] == "trace-me-1" for entry in errors)
    assert "RuntimeError: kaboom" in errors[0]["exception"]
    # The route's template is logged, never the path: a path may carry a token (a sign-in link).
    assert "/api/test/boom/{token}" in stream.getvalue() and "secret-link-token-42" not in stream.getvalue()


# ---- traces -------------------------------------------------------------------------------------------


class _Receiver(ThreadingHTTPServer):
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.bodies: list[tuple[str, dict[str, str], bytes]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Collect(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server: Any = self.server
        server.bodies.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(_Collect)
    yield server
    server.close()


def _decompress(headers: dict[str, str], body: bytes) -> bytes:
    encoding = headers.get("content-encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]

        return bytes(brotli.decompress(body))
    return body


def test_requests_are_traced_to_an_otlp_http_receiver(make_client, sqlite_url: str, receiver: _Receiver) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    client = make_client(sqlite_url, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert client.get("/api/health", headers={"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01"}
                      ).status_code == 200
    assert client.get(f"/api/exercises/{DOUBLE}/draft").status_code == 401
    assert client.app.state.tracer_provider.force_flush(10_000)
    spans: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    for path, headers, body in receiver.bodies:
        assert path == "/v1/traces" and headers["content-type"] == "application/x-protobuf"
        export = ExportTraceServiceRequest()
        export.ParseFromString(_decompress(headers, body))
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: (a.value.string_value or a.value.int_value) for a in span.attributes}
                    spans.append((span, attributes, resource))
    by_name = {span.name: (span, attributes, resource) for span, attributes, resource in spans}
    assert "GET /api/health" in by_name, sorted(by_name)
    span, attributes, resource = by_name["GET /api/health"]
    assert span.kind == Span.SpanKind.SPAN_KIND_SERVER
    assert attributes["http.route"] == "/api/health" and attributes["http.response.status_code"] == 200
    assert attributes["http.request.method"] == "GET"
    assert span.trace_id.hex() == parent_trace  # joined the caller's trace (W3C traceparent)
    assert resource["service.name"] == "drona-sidecar"
    span, attributes, _ = by_name["GET /api/exercises/{exercise_id}/draft"]
    assert attributes["http.response.status_code"] == 401 and span.status.code != Status.STATUS_CODE_ERROR
    assert DOUBLE not in span.name


# ---- Sentry -------------------------------------------------------------------------------------------


def test_unhandled_errors_reach_sentry_without_credentials(make_client, sqlite_url: str,
                                                           receiver: _Receiver) -> None:
    import sentry_sdk

    dsn = f"http://publickey@127.0.0.1:{receiver.server_address[1]}/1"
    client = make_client(sqlite_url, SENTRY_DSN=dsn)
    app = client.app

    def boom() -> None:
        raise RuntimeError("sentry test kaboom")

    from fastapi.routing import APIRoute

    app.router.routes.insert(0, APIRoute("/api/test/sentry-boom", boom, methods=["POST"]))
    try:
        with TestClient(app, raise_server_exceptions=False) as plain:
            response = plain.post("/api/test/sentry-boom?token=query-secret", json={"password": "body-secret"},
                                  headers={"Authorization": "Bearer auth-secret",
                                           "Cookie": "drona_session=cookie-secret; drona_csrf=csrf-secret"})
        assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
        # With Sentry on, a body the API refuses is still answered.
        client.signup("sentry@example.com")
        refused = client.request("PATCH", "/api/me/settings", content=b'{"timezone": "\\ud800"}',
                                 headers={"Content-Type": "application/json"})
        assert refused.status_code == 422, refused.text
        sentry_sdk.flush(timeout=10)
        deadline = time.monotonic() + 10
        while not receiver.bodies and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sentry_sdk.get_client().close(timeout=2)
        # Off again (no DSN), patching nothing: what later tests in this process run must not change.
        sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)
    envelopes = [_decompress(headers, body).decode("utf-8", "replace") for path, headers, body in receiver.bodies
                 if path.startswith("/api/1/envelope")]
    assert envelopes, [path for path, _, _ in receiver.bodies]
    everything = "\n".join(envelopes)
    assert "sentry test kaboom" in everything and "RuntimeError" in everything
    for secret in ("auth-secret", "cookie-secret", "csrf-secret", "body-secret", "query-secret"):
        assert secret not in everything, secret


def test_the_sentry_scrubber_drops_credentials_and_bodies() -> None:
    from sidecar.observability.sentry import scrub

    event = {"request": {"url": "http://x/api/a", "method": "POST", "data": {"password": "p"},
                         "cookies": {"drona_session": "s"}, "query_string": "token=t", "env": {"REMOTE_ADDR": "ip"},
                         "headers": {"Authorization": "Bearer a", "Cookie": "c=1", "X-CSRF-Token": "x",
                                     "User-Agent": "ua"}},
             "user": {"email": "ada@example.com"}, "message": "boom"}
    cleaned = scrub(event, None)
    assert cleaned["request"] == {"url": "http://x/api/a", "method": "POST", "headers": {"User-Agent": "ua"}}
    assert "user" not in cleaned and cleaned["message"] == "boom"
    listed = scrub({"request": {"headers": [["authorization", "a"], ["accept", "json"]]}}, None)
    assert listed["request"]["headers"] == [["accept", "json"]]


# ---- several processes --------------------------------------------------------------------------------


MULTIPROCESS_APP = """
import sys

import uvicorn
from fastapi import FastAPI

from sidecar import observability
from sidecar.db.engine import get_engine
from sidecar.settings import Settings

# The sidecar's observability as create_app installs it, on an app with one route: the full app's
# start-up (catalog, retrieval, sandbox factory) is not what is under test, and costs seconds.
settings = Settings()
app = FastAPI()
app.add_api_route("/api/ping", lambda: {"pong": True})
observability.install(app, settings=settings, engine=get_engine(settings.DATABASE_URL), version="test")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def test_metrics_aggregate_over_processes_in_multiprocess_mode(sqlite_url: str, tmp_path: Path) -> None:
    """Two real uvicorn processes sharing PROMETHEUS_MULTIPROC_DIR: either one's /metrics counts both."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "METRICS_TOKEN": TOKEN, "DATABASE_URL": sqlite_url,
           "PYTHONPATH": str(REPO_ROOT)}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-c", MULTIPROCESS_APP, str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        route = {"route": "/api/ping", "method": "GET", "status_class": "2xx"}

        def count(base: str) -> float:
            response = httpx.get(f"{base}/metrics", headers=AUTH, timeout=10)
            assert response.status_code == 200, response.text
            return sample(response.text, "drona_http_request_duration_seconds_count", **route)

        for base, proc in zip(bases, procs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"the server exited with {proc.returncode}"
                try:
                    if httpx.get(f"{base}/metrics", headers=AUTH, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"no server at {base}"
                time.sleep(0.2)
        assert count(bases[0]) == 0
        for base, times in zip(bases, (3, 2), strict=True):
            for _ in range(times):
                assert httpx.get(f"{base}/api/ping", timeout=10).status_code == 200
        assert count(bases[0]) == 5
        assert count(bases[1]) == 5
        assert len(list(folder.glob("*.db"))) >= 2  # prometheus-client's files, one set per process
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---- alert rules --------------------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    assert Path(PROMTOOL).is_file() or shutil.which("promtool"), "promtool is missing: scripts/setup installs it"
    promtool = PROMTOOL if Path(PROMTOOL).is_file() else str(shutil.which("promtool"))
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([promtool, "test", "rules", "alerts.test.yml"], cwd=RULES.parent, capture_output=True,
                            text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr
    # Every alert in the rules has a unit test that fires it.
    alerts = set(re.findall(r"^\s*- alert: (\w+)", RULES.read_text(encoding="utf-8"), re.M))
    fired = set(re.findall(r"alertname: (\w+)\n\s*exp_alerts:\n\s*- exp_labels",
                           (RULES.parent / "alerts.test.yml").read_text(encoding="utf-8")))
    assert alerts and alerts == fired, alerts ^ fired


def test_every_metric_in_the_alert_rules_is_exported(shared: Any) -> None:
    client = shared
    for _ in range(3):
        client.get("/api/health")
        client.get("/api/catalog")
    exposition = scrape(client)
    exported = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", exposition, re.M)}
    used = set(re.findall(r"\b(drona_[a-z0-9_]+)\b", RULES.read_text(encoding="utf-8")))
    assert used, "no metric names found in the rules"
    missing = used - exported
    assert not missing, f"the alert rules use metrics /metrics does not export: {sorted(missing)}"
