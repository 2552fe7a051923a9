"""Platform findings of the security review (issue #10, part 5), each a regression test.

1. Request bodies have a size limit per route, enforced before the body is read (413).
2. Text that cannot be stored (lone surrogates, NUL) is refused on every JSON body (422), stored
   text that predates that check is repaired on read, and time zones must be IANA keys.
3. A method a path does not have gets 405 with Allow; unknown paths keep 404.
4. The OpenAPI document lists every operation's error responses in the one error shape.
5. Streaks and other rewards run on the server's clock, not the client's.
6/7. Tutor Markdown cannot carry a live script link: the renderer's link check (site/src/markdown.js,
   run here in Node; tests/e2e/test_security_markdown.py runs it in Chromium) and the Code
   Reviewer's quoting of learner code.

API tests run on SQLite and PostgreSQL (the db_url fixture) wherever a database is involved.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import uvicorn
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from sidecar.agents.api.models import ChatCreate, HintCreate, ReviewCreate
from sidecar.agents.review.reviewer import review_code
from sidecar.app import create_app
from sidecar.auth.models import LoginIn, PasswordChange, ResetConfirm, UserCreate
from sidecar.auth.tables import UserProfile
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.drafts.models import DraftUpdate
from sidecar.grading.models import SubmissionCreate
from sidecar.progress.tables import ProgressEvent
from sidecar.settings import REPO_ROOT, Settings
from sidecar.text import body_text_problem, repair
from sidecar.timezones import is_zone_key
from sidecar.web.limits import AUTH_LIMIT, CODE_LIMIT, DEFAULT_LIMIT, body_limit

TRACK = "00000000-0000-4000-8000-000000000010"
QUIZ = "00000000-0000-4000-8000-000000000016"
QUIZ_ITEM = "00000000-0000-4000-8000-000000000017"
EXERCISE = "00000000-0000-4000-8000-000000000015"
EXERCISE_LESSON = "00000000-0000-4000-8000-000000000013"
CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code
REFLECTION = "00000000-0000-4000-8000-000000000032"  # second-steps/naming-things
JSON_HEADERS = {"content-type": "application/json"}
MIB = 1024 * 1024


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return dict(body["error"])


@pytest.fixture
def app(sqlite_url: str, minimal_build: Any) -> Any:
    return create_app(Settings(DATABASE_URL=sqlite_url, DRONA_BUILD_DIR=minimal_build.site_dir.parent,
                               DRONA_DATA_DIR=minimal_build.site_dir.parent / "data"))


# ---- 1. request-body size limits -------------------------------------------------------------------


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


class Upload:
    """A request body streamed to the app one chunk per receive(); counts what the app pulled."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.bytes = 0

    async def receive(self) -> dict[str, Any]:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.pulled += 1
        self.bytes += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}


def call(app: Any, method: str, path: str, headers: dict[str, str], upload: Upload) -> tuple[int, dict[str, Any]]:
    """Run one request through the ASGI app; (status, JSON body)."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: pytest's main thread may already run an event loop (Playwright's).
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(app(_scope(method, path, headers), upload.receive, send))
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), json.loads(body)


def endless(chunk_size: int, total: int) -> Iterator[bytes]:
    """`total` bytes in fresh chunks, made only when pulled (a 100 MB upload never exists at once)."""
    for _ in range(total // chunk_size):
        yield b"x" * chunk_size


def test_a_declared_oversized_body_is_refused_before_a_byte_is_read(app: Any) -> None:
    def never() -> Iterator[bytes]:
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    upload = Upload(never())
    status, body = call(app, "POST", "/api/auth/login", {**JSON_HEADERS, "content-length": str(100 * MIB)}, upload)
    assert status == 413 and body["error"]["code"] == "too_large"
    assert body["error"]["details"] == {"limit_bytes": AUTH_LIMIT}
    assert upload.pulled == 0


@pytest.mark.parametrize(("path", "limit"), [("/api/auth/login", AUTH_LIMIT), ("/api/progress/events", DEFAULT_LIMIT)])
def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(app: Any, path: str, limit: int) -> None:
    # Chunked (no Content-Length): 100 MB offered 64 KiB at a time. The guard must stop pulling just
    # past the limit, and memory must stay flat: nothing near 100 MB is ever held.
    chunk = 64 * 1024
    upload = Upload(endless(chunk, 100 * MIB))
    tracemalloc.start()
    try:
        status, body = call(app, "POST", path, dict(JSON_HEADERS), upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and body["error"]["code"] == "too_large"
    assert upload.bytes <= limit + chunk, f"pulled {upload.bytes:,} bytes for a {limit:,}-byte limit"
    assert peak < 4 * MIB, f"peak Python allocation {peak:,} bytes while refusing a 100 MB upload"


def test_large_bodies_are_refused_with_413_on_both_databases(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("big@example.com")
    event = {"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT, "kind": "started", "pad": "x" * (10 * MIB)}
    assert_error(client.post("/api/progress/events", json=event), 413, "too_large")
    login = {"email": "big@example.com", "password": "x" * (100 * 1024)}
    assert_error(client.post("/api/auth/login", json=login), 413, "too_large")
    # A normal event still goes through on the same connection settings.
    ok = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT,
                                                   "kind": "started"})
    assert ok.status_code == 200, ok.text


def _max_chars(model: Any) -> int:
    """The most characters a body of `model` can carry in its string fields (by their max_length)."""
    total = 0
    for field in model.model_fields.values():
        lengths = [m.max_length for m in field.metadata if hasattr(m, "max_length") and m.max_length]
        total += max(lengths, default=0)
    return total


@pytest.mark.parametrize(("model", "method", "path"), [
    (SubmissionCreate, "POST", "/api/exercises/x/submissions"), (ChatCreate, "POST", "/api/ai/chat"),
    (HintCreate, "POST", "/api/ai/hint"), (ReviewCreate, "POST", "/api/ai/review"),
    (DraftUpdate, "PUT", "/api/exercises/x/draft"),
    (LoginIn, "POST", "/api/auth/login"), (UserCreate, "POST", "/api/auth/signup"),
    (PasswordChange, "POST", "/api/auth/password"), (ResetConfirm, "POST", "/api/auth/password-reset/confirm"),
])
def test_each_limit_holds_the_largest_valid_body_of_its_route(model: Any, method: str, path: str) -> None:
    # 12 bytes per character: the longest JSON spelling (a surrogate pair of \\uXXXX escapes);
    # 512 bytes for field names, punctuation and an email address (at most 320 characters).
    largest = 12 * _max_chars(model) + 12 * 320 + 512
    assert largest <= body_limit(method, path), f"{model.__name__}: {largest:,} > {body_limit(method, path):,}"
    assert body_limit(method, path) <= max(AUTH_LIMIT, largest * 2), "the limit is not 'just above' the model"


def test_the_largest_valid_code_bodies_are_accepted(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("emoji@example.com")
    # 50,000 characters outside the BMP, each spelled as two \\u escapes (Python's json default): the
    # worst case the code limit is sized for. The bodies are then refused by validation or grading,
    # never by size.
    code = "#" + "\U0001F600" * 49_999
    body = json.dumps({"code": code, "message": "\U0001F600" * 4_000, "intent": "review", "lesson_id": "nope"})
    assert len(body) > 600_000 and len(body) <= CODE_LIMIT
    chat = client.post("/api/ai/chat", content=body, headers=JSON_HEADERS)
    assert chat.status_code != 413 and chat.status_code < 500, chat.text[:300]
    review = client.post("/api/ai/review", content=json.dumps({"code": "x" * 50_001}), headers=JSON_HEADERS)
    assert_error(review, 422, "invalid_input")  # over max_length: the model's own limit, not 413


@pytest.fixture
def live_server(app: Any) -> Iterator[int]:
    """The app on a real server (uvicorn, HTTP/1.1) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1]), json.loads(rest[:length])


def test_a_real_server_refuses_at_once_and_stops_reading_a_chunked_upload(live_server: int) -> None:
    request = (b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        started = time.monotonic()
        sock.sendall(request + f"Content-Length: {100 * MIB}\r\n\r\n".encode())
        status, body = _read_response(sock)  # sent no body at all: the answer must not wait for it
        assert status == 413 and body["error"]["code"] == "too_large"
        assert time.monotonic() - started < 5
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        sock.sendall(request + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        sent = 0
        sock.settimeout(2)
        try:
            while sent < 100 * MIB:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server answered and closed: the send buffer filled or the pipe broke
            pass
        status, body = _read_response(sock)
        assert status == 413 and body["error"]["code"] == "too_large"
        assert sent < 100 * MIB, "the server read the whole 100 MB upload"


# ---- 2. text that cannot be stored; time zones ------------------------------------------------------


@pytest.mark.parametrize(("body", "refused"), [
    (b'{"a": "plain"}', False),
    (b'{"a": "\\ud83d\\ude00 a pair"}', False),
    (b'{"a": "\\\\ud800 is a literal backslash"}', False),
    (b'{"a": "\\u00e9"}', False),
    (b'{"a": "\\ud800"}', True),
    (b'{"a": "\\uDBFF x"}', True),
    (b'{"a": "\\udc00"}', True),
    (b'{"a": "\\ud83d\\ude00\\ude00"}', True),
    (b'{"a": "\\\\\\ud800"}', True),
    (b'{"a": "\\u0000"}', True),
    (b'{"a": "\xed\xa0\x80"}', True),
    ('{"a": "utf-16"}'.encode("utf-16-le"), True),
    (b'{"a": "\xff"}', True),
])
def test_body_text_problem(body: bytes, refused: bool) -> None:
    assert (body_text_problem(body) is not None) is refused


def test_repair_replaces_lone_surrogates_only() -> None:
    stored = {"goals": {"goals": ["learn \ud800", "\U0001F600 ok"]}, "k\udfff": 1}
    assert repair(stored) == {"goals": {"goals": ["learn \ufffd", "\U0001F600 ok"]}, "k\ufffd": 1}


def _onboarded_client(make_client: Any, db_url: str, email: str) -> Any:
    client = make_client(db_url)
    client.signup(email)
    assert client.post("/api/onboarding/role", json={"learner_kind": "student"}).status_code == 200
    return client


@pytest.mark.parametrize(("method", "path", "raw"), [
    ("PATCH", "/api/me/settings", b'{"timezone": "\\ud800"}'),
    ("POST", "/api/onboarding/goals", b'{"goals": ["learn \\ud800"], "minutes_per_week": 60}'),
    ("POST", "/api/onboarding/complete", b'{"track_id": "' + TRACK.encode() + b'", "timezone": "\\udfff"}'),
    ("POST", f"/api/quizzes/{QUIZ}/attempts", b'{"answers": {"' + QUIZ_ITEM.encode() + b'": "\\ud800"}}'),
    ("POST", "/api/onboarding/goals", b'{"goals": ["nul \\u0000"], "minutes_per_week": 60}'),
    ("PATCH", "/api/me/settings", b'{"display_name": "\xed\xa0\x80"}'),
])
def test_text_that_cannot_be_stored_is_refused_with_422(make_client: Any, db_url: str, method: str, path: str,
                                                        raw: bytes) -> None:
    client = _onboarded_client(make_client, db_url, "text@example.com")
    error = assert_error(client.request(method, path, content=raw, headers=JSON_HEADERS), 422, "invalid_input")
    assert error["details"][0]["loc"] == ["body"]
    # Nothing was stored, and the account still works.
    assert client.get("/api/onboarding").status_code == 200
    assert client.get("/api/me/settings").json()["timezone"] == "UTC"


def test_valid_unicode_still_round_trips(make_client: Any, db_url: str) -> None:
    client = _onboarded_client(make_client, db_url, "emoji-goals@example.com")
    raw = b'{"goals": ["\\ud83d\\ude00 pairs", "a literal \\\\ud800", "caf\\u00e9"], "minutes_per_week": 60}'
    response = client.post("/api/onboarding/goals", content=raw, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    goals = client.get("/api/onboarding").json()["state"]["goals"]["goals"]
    assert goals == ["\U0001F600 pairs", "a literal \\ud800", "café"]


def test_a_stored_lone_surrogate_goal_no_longer_breaks_onboarding(make_client: Any, db_url: str) -> None:
    # Stored before bodies were checked (written here directly): GET /api/onboarding used to fail
    # with a 500 for this learner on every visit.
    client = _onboarded_client(make_client, db_url, "stored@example.com")
    user_id = client.get("/api/me").json()["id"]
    with write_session(get_engine(db_url)) as session:
        profile = session.get(UserProfile, user_id)
        assert profile is not None
        profile.onboarding = {"goals": {"goals": ["learn \ud800 python"], "minutes_per_week": 60}}
    response = client.get("/api/onboarding")
    assert response.status_code == 200, response.text
    assert response.json()["state"]["goals"]["goals"] == ["learn \ufffd python"]
    # The next step stores the repaired state, and everything after keeps working.
    assert client.post("/api/onboarding/learning-style", json={"learning_style": "mixed"}).status_code == 200
    with read_session(get_engine(db_url)) as session:
        stored = session.get(UserProfile, user_id)
        assert stored is not None and stored.onboarding["goals"]["goals"] == ["learn \ufffd python"]


@pytest.mark.parametrize("name", ["Europe", "America/Argentina", "Europe/", "x" * 5_000, "Europe/" + "x" * 60,
                                  "zone.tab", "localtime", "../etc/passwd", "/etc/localtime", " UTC", "utc", ""])
def test_is_zone_key_refuses_what_is_no_iana_zone(name: str) -> None:
    assert not is_zone_key(name)


def test_is_zone_key_accepts_iana_zones() -> None:
    assert all(is_zone_key(name) for name in ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/Argentina/Salta"))


@pytest.mark.parametrize("zone", ["Europe", "x" * 5_000, "zone.tab", "localtime", "Europe/../Asia/Kolkata"])
def test_onboarding_refuses_a_time_zone_that_is_no_iana_zone(make_client: Any, db_url: str, zone: str) -> None:
    client = _onboarded_client(make_client, db_url, "zone@example.com")
    assert_error(client.post("/api/onboarding/complete", json={"track_id": TRACK, "timezone": zone}),
                 422, "invalid_input")
    assert client.get("/api/me").json()["timezone"] == "UTC"
    done = client.post("/api/onboarding/complete", json={"track_id": TRACK, "timezone": "Asia/Kolkata"})
    assert done.status_code == 200, done.text
    assert client.get("/api/me").json()["timezone"] == "Asia/Kolkata"


# ---- 3. 405 for a method a path does not have -----------------------------------------------------


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_api_path_answers_405_with_allow_for_a_method_it_lacks(app: Any) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    paths: dict[str, set[str]] = {}
    patterns: dict[str, set[str]] = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path_format.startswith("/api/"):
            paths.setdefault(_concrete(context.path_format), set()).update(context.methods or ())
            for method in context.methods or ():
                pattern = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", context.path_format))
                patterns.setdefault(method, set()).add(pattern)
    assert len(paths) > 20
    checked = 0
    for path, methods in paths.items():
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in methods:
                continue
            if any(re.fullmatch(pattern, path) for pattern in patterns.get(method, ())):
                # Another route's parameter takes this literal segment (DELETE .../invitations/{id}
                # matches .../invitations/import): that method exists here.
                continue
            response = client.request(method, path)
            assert response.status_code == 405, (method, path, response.text)
            error = assert_error(response, 405, "method_not_allowed")
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert methods <= allowed, (method, path, allowed)
            assert set(error["details"]["allow"]) == allowed
            checked += 1
    assert checked > 50
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        assert_error(client.request(method, "/api/no/such/endpoint"), 404, "not_found")


# ---- 4. error responses in the OpenAPI document -----------------------------------------------------


def _resolve(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    return {"$ref": "#/components/schemas/ErrorResponse", "components": {"schemas": schemas}}


def test_openapi_documents_every_operations_error_responses(app: Any) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(document), "FastAPI's 422 shape is never sent"
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len(operations) > 30
    for path, method, op in operations:
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        errors = {int(s): r for s, r in responses.items() if s.isdigit() and 400 <= int(s) < 500}
        for status, response in errors.items():
            assert response["content"]["application/json"]["schema"] == error_ref, (where, status)
            assert response["description"], (where, status)
        if "requestBody" in op:
            assert {413, 422} <= set(errors), where
        if op.get("parameters"):
            assert 422 in errors, where
        if method in ("post", "put", "patch", "delete"):
            assert {403, 413} <= set(errors), where  # CSRF; a body can be sent to any of them
    for path, method in (("/api/me", "get"), ("/api/progress", "get"), ("/api/progress/events", "post"),
                         ("/api/gamification/profile", "get"), ("/api/onboarding", "get")):
        assert "401" in document["paths"][path][method]["responses"], (method, path)
    for path in ("/api/health", "/api/catalog", "/api/auth/csrf"):
        assert "401" not in document["paths"][path]["get"]["responses"], path
    for path in ("/api/auth/login", "/api/ai/chat", "/api/ai/review"):
        assert "429" in document["paths"][path]["post"]["responses"], path
    assert "16 KiB" in document["paths"]["/api/auth/login"]["post"]["responses"]["413"]["description"]


def test_openapi_401s_match_what_the_api_does(app: Any) -> None:
    # Every operation documented with the sign-in 401 answers 401 when signed out, and every one that
    # answers 401 documents it (the document is derived from the routes' dependencies: this checks it).
    # Sign-in itself documents its own 401 (a wrong password), which an empty body does not reach.
    from fastapi.testclient import TestClient

    client = TestClient(app)
    document = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, op in item.items():
            token = client.get("/api/auth/csrf").json()["csrf_token"]  # (sign-out endpoints rotate it)
            kwargs: dict[str, Any] = {"headers": {"X-CSRF-Token": token}}
            if "requestBody" in op:
                kwargs["json"] = {}
            status = client.request(method.upper(), _concrete(path), **kwargs).status_code
            signed_in_only = op["responses"].get("401", {}).get("description", "").startswith("Not signed in")
            assert (status == 401) == signed_in_only, (method, path, status)


def test_real_error_bodies_match_the_documented_schema(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    schema = _resolve(client.get("/openapi.json").json())
    samples = [client.get("/api/me"),  # 401
               client.post("/api/progress/events", json={}, headers={"X-CSRF-Token": "forged"}),  # 403
               client.get("/api/nope"),  # 404
               client.put("/api/health"),  # 405
               client.post("/api/auth/login", json={"email": "a@b.co", "password": "x" * 20_000}),  # 413
               client.post("/api/auth/login", json={"email": "not an email"}),  # 422
               client.post("/api/auth/login", content=b'{"email": "\\ud800"}', headers=JSON_HEADERS)]  # 422
    assert sorted(r.status_code for r in samples) == [401, 403, 404, 405, 413, 422, 422]
    for response in samples:
        jsonschema.validate(response.json(), schema)


# ---- 5. rewards on the server's clock ---------------------------------------------------------------


def test_back_dated_events_do_not_make_a_streak(make_client: Any, db_url: str) -> None:
    # Seven `started` events dated one per day over the past week, sent within a second.
    client = make_client(db_url)
    user_id = client.signup("backdate@example.com")["id"]
    now = datetime.now(UTC)
    for days_ago in range(6, -1, -1):
        body = {"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT, "kind": "started",
                "occurred_at": (now - timedelta(days=days_ago, minutes=1)).isoformat()}
        response = client.post("/api/progress/events", json=body)
        assert response.status_code == 200 and response.json()["state"] == "started", response.text
    streak = client.get("/api/gamification/profile").json()["streak"]
    assert streak["current"] == 1 and streak["longest"] == 1 and list(streak["calendar"]) == [streak["today"]]
    # The history keeps the client's times: the lesson was started six days ago, as queued.
    (lesson,) = client.get("/api/progress").json()["lessons"]
    assert now - datetime.fromisoformat(lesson["started_at"]) > timedelta(days=5)
    with read_session(get_engine(db_url)) as session:
        times = session.scalars(select(ProgressEvent.occurred_at).where(ProgressEvent.user_id == user_id)).all()
    assert len(times) == 7 and min(times) < now - timedelta(days=5)


def test_a_start_dated_ahead_does_not_break_module_xp(make_client: Any, db_url: str) -> None:
    # A clock a few minutes fast (within the allowed skew) puts the module's first start after the
    # server's time of completion: the time against par must not go negative (it raised, a 500).
    client = make_client(db_url)
    client.signup("ahead@example.com")
    ahead = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    for lesson in (CONCEPT, REFLECTION):
        started = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": lesson,
                                                              "kind": "started", "occurred_at": ahead})
        assert started.status_code == 200, started.text
    assert client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT,
                                                     "kind": "completed"}).status_code == 200
    last = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": REFLECTION,
                                                     "kind": "completed"})
    assert last.status_code == 200, last.text
    assert last.json()["xp_awarded"] == 50 + 375  # reflection, then the module (under par)


# ---- 6/7. tutor Markdown: links and quoted code -----------------------------------------------------

MARKDOWN_JS = REPO_ROOT / "site" / "src" / "markdown.js"
NODE = shutil.which("node")
# Every way a browser would still read these as script (or data) URLs.
HOSTILE_TARGETS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\x01javascript:alert(1)",
    "\x00javascript:alert(1)", "\x1fjavascript:alert(1)", "\x08\x0bjavascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "jav\rascript:alert(1)", "javascript\t:alert(1)", "\x01\x02java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "\x0edata:text/html,x", "vbscript:msgbox(1)", "\x1cvbscript:x",
    "//evil.example/", "/\\evil.example/", "\\\\evil.example", "\x01//evil.example",
]
SAFE_TARGETS = ["https://example.org/a?b=1&c=2", "http://example.org/", "mailto:ada@example.org", "#notes",
                "lesson/next/", "/demo-track/demo-course/first-steps/printing/"]


def run_markdown(calls: list[tuple[str, str]]) -> list[Any]:
    """Run site/src/markdown.js in Node: [(function name, argument)] -> results."""
    if NODE is None:
        pytest.skip("Node.js is not installed")
    script = (
        "globalThis.location = {href: 'http://127.0.0.1:8000/lesson/'};"
        "globalThis.document = {querySelector: () => null, currentScript: null};"
        f"const md = await import({json.dumps(MARKDOWN_JS.as_uri())});"
        "let input = ''; for await (const chunk of process.stdin) input += chunk;"
        "const calls = JSON.parse(input);"
        "process.stdout.write(JSON.stringify(calls.map(([name, arg]) => md[name](arg))));"
    )
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(calls), text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_safe_href_refuses_what_browsers_read_as_script_or_another_host() -> None:
    results = run_markdown([("safeHref", t) for t in HOSTILE_TARGETS + SAFE_TARGETS])
    refused = dict(zip(HOSTILE_TARGETS, results[:len(HOSTILE_TARGETS)], strict=True))
    assert all(href is None for href in refused.values()), {t: h for t, h in refused.items() if h is not None}
    allowed = dict(zip(SAFE_TARGETS, results[len(HOSTILE_TARGETS):], strict=True))
    assert all(allowed.values()), allowed
    assert allowed["/demo-track/demo-course/first-steps/printing/"].startswith("http://127.0.0.1:8000/")


def test_rendered_tutor_markdown_has_no_script_link() -> None:
    sources = [f"See [this]({t}) now." for t in HOSTILE_TARGETS] + [
        f"- **note** — [x]({t}) *why?*" for t in HOSTILE_TARGETS]
    for html in run_markdown([("renderMarkdown", s) for s in sources]):
        assert "<a " not in html, html


def test_code_spans_follow_commonmark_so_quoted_backticks_stay_code() -> None:
    html = run_markdown([("renderMarkdown", "a `` x = `[y](https://e.example)` `` b"),
                         ("renderMarkdown", "`one` and ``two ` ticks``, `unclosed")])
    assert html[0] == "<p>a <code>x = `[y](https://e.example)`</code> b</p>"
    assert html[1] == "<p><code>one</code> and <code>two ` ticks</code>, `unclosed</p>"


# Code under review that tries to break out of the reviewer's quotes into a live link.
HOSTILE_CODE = [
    "x = 1 `[x](\x01javascript:alert(1))` y\n",  # a syntax error: the line is quoted
    "`[x](https://evil.example)` `\n",
    "data = {}\ndata['``[x](javascript:alert(1))`']\n",  # a useless expression: its source is quoted
    "for i in range(len(a['`[x](https://evil.example)`'])):\n    print(a['`[x](https://evil.example)`'][i])\n",
]


def _reviewer_markdown(code: str) -> str:
    """A review as the tutor sends it (sidecar/agents/policy/orchestrator.py's format)."""
    grading = {"passed": False, "status": "ok", "results": [
        {"name": "output", "passed": False, "hidden": False,
         "message": "expected 2, got `[x](javascript:alert(1))`\nand ``[y](\x01javascript:alert(2))``"}]}
    review = review_code(code, grading=grading)
    return "\n\n".join([review.summary] + [f"- **{f.category}** — {f.message} *{f.question}*"
                                           for f in review.findings])


@pytest.mark.parametrize("code", HOSTILE_CODE)
def test_the_code_reviewer_quotes_code_so_it_cannot_become_a_link(code: str) -> None:
    markdown = _reviewer_markdown(code)
    (html,) = run_markdown([("renderMarkdown", markdown)])
    assert "<a " not in html, html
    # Each payload stays inside one code element, whole: quoted, not interpreted.
    assert re.search(r"<code>[^<]*\[x\]\([^<]*</code>", html), html


def test_a_tutor_review_reply_of_hostile_code_renders_without_links(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("review@example.com")
    code = "x = 1 `[x](\x01javascript:alert(1))` y\n"
    response = client.post("/api/ai/chat", json={"intent": "review", "code": code, "lesson_id": EXERCISE_LESSON,
                                                 "exercise_id": EXERCISE})
    assert response.status_code == 200, response.text
    done = [json.loads(line[len("data: "):]) for block in response.text.split("\n\n") if "event: done" in block
            for line in block.splitlines() if line.startswith("data: ")]
    assert done and done[0]["agent"] == "reviewer", response.text[:500]
    (html,) = run_markdown([("renderMarkdown", done[0]["text"])])
    assert "javascript" in html and "<a " not in html, html
    findings = client.post("/api/ai/review", json={"code": code}).json()["findings"]
    assert any("``x = 1 `[x](" in f["message"] for f in findings), findings


def test_the_guard_is_installed_once_and_innermost(app: Any) -> None:
    names = [m.cls.__name__ for m in app.user_middleware]
    assert names.count("RequestBodyGuard") == 1 and names[-1] == "RequestBodyGuard", names


@pytest.mark.parametrize("zone", ["Europe", "America/Argentina", "localtime", "zone.tab", "x" * 5000, "../etc/passwd"])
def test_settings_refuse_what_is_no_time_zone(make_client: Any, db_url: str, zone: str) -> None:
    """Found by the API fuzzer: PATCH /api/me/settings with a folder name answered 500."""
    client = make_client(db_url)
    client.signup("zones@example.com")
    response = client.patch("/api/me/settings", json={"timezone": zone})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert client.patch("/api/me/settings", json={"timezone": "America/Argentina/Salta"}).status_code == 200
