"""Live updates across tabs, devices and sidecar processes (sidecar/live, docs/scale-out.md).

1. The bus in process: an award is published once its transaction commits, never for a rollback.
2. The bus over Redis (two buses in one loop stand for two processes), and its shared stream cap.
3. `GET /api/me/events` on a real server with the in-process bus: sign-in, the stream, the cap.
4. Two `drona serve` processes on PostgreSQL and Redis: XP earned through one reaches a stream
   opened on the other; SIGTERM ends open streams cleanly and at once.
5. `drona serve --workers 2`: two worker processes on one port, and the bus crosses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from sidecar.cli import main
from sidecar.compiler.build import BuildReport
from sidecar.db.engine import get_engine, read_session, write_session, write_tx
from sidecar.gamification import service as gamification
from sidecar.gamification.tables import XpTransaction
from sidecar.gamification.xp import Activity, XpAward
from sidecar.live import bus
from sidecar.live.events import LiveEvent
from sidecar.settings import REPO_ROOT, Settings

from .conftest import MINIMAL, live_server
from .engine_repo import free_port

CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code (concept, 50 XP → 63)
FIRST_STEPS = "00000000-0000-4000-8000-000000000002"  # the achievement of a first completed lesson
PASSWORD = "correct horse battery"


def _award(amount: int, key: str) -> tuple[str, XpAward]:
    return key, XpAward(activity=Activity.LESSON, base=amount, bonuses=())


def _ledger(url: str, user_id: str) -> list[str]:
    with read_session(get_engine(url)) as session:
        return list(session.scalars(XpTransaction.__table__.select().with_only_columns(XpTransaction.source_key)
                                    .where(XpTransaction.user_id == user_id)))


async def _drain(subscription: bus.Subscription, wait: float) -> list[LiveEvent]:
    events: list[LiveEvent] = []
    while True:
        try:
            event = await subscription.get(wait)
        except TimeoutError:
            return events
        assert event is not None, "the stream was closed"
        events.append(event)


# ---- 1. the bus in process ------------------------------------------------------------------------


def test_an_award_is_published_only_after_its_transaction_commits(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    user_id = client.signup("live-commit@example.com")["id"]
    engine = get_engine(db_url)

    async def scenario() -> tuple[list[int], list[LiveEvent]]:
        subscription = bus.Subscription(user_id, asyncio.get_running_loop())
        bus.current().fanout.add(subscription)
        queued_inside: list[int] = []

        def award() -> None:
            with write_tx(engine) as tx:  # the driver-level transaction of the progress path
                key, award = _award(40, "test:live-1")
                assert gamification.award_xp(session=tx, user_id=user_id, source_key=key, award=award) == 40
                time.sleep(0.3)  # time enough for an early event to reach the loop
                queued_inside.append(subscription.queue.qsize())
            with write_session(engine) as session:  # an ORM transaction (graded work, certificates)
                key, award = _award(10, "test:live-2")
                gamification.award_xp(session=session, user_id=user_id, source_key=key, award=award)
                time.sleep(0.3)
                queued_inside.append(subscription.queue.qsize())

        try:
            await asyncio.to_thread(award)
            return queued_inside, await _drain(subscription, 1.0)
        finally:
            bus.current().fanout.remove(subscription)

    queued_inside, events = asyncio.run(scenario())
    assert queued_inside == [0, 1], "nothing is published before its transaction commits"
    assert [e.type for e in events] == ["xp", "xp"]
    first, second = (e.data for e in events)
    assert (first["delta"], first["total_xp"], first["reason"], first["sources"]) == (40, 40, "lesson", ["test:live-1"])
    assert (second["delta"], second["total_xp"], second["sources"]) == (10, 50, ["test:live-2"])
    assert first["level"] == 1 and first["level_title"] and first["streak"]["current"] == 0
    assert len({e.id for e in events}) == 2, "every event has its own id"


def test_a_rolled_back_award_publishes_nothing(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    user_id = client.signup("live-rollback@example.com")["id"]
    engine = get_engine(db_url)

    async def scenario() -> list[LiveEvent]:
        subscription = bus.Subscription(user_id, asyncio.get_running_loop())
        bus.current().fanout.add(subscription)

        def award_then_fail() -> None:
            for begin in (write_tx, write_session):
                with contextlib.suppress(RuntimeError), begin(engine) as tx:
                    key, award = _award(40, f"test:rolled-back-{begin.__name__}")
                    assert gamification.award_xp(session=tx, user_id=user_id, source_key=key, award=award) == 40
                    gamification.evaluate_achievements(session=tx, user_id=user_id, lessons_completed=1)
                    raise RuntimeError("the request failed after the award")

        try:
            await asyncio.to_thread(award_then_fail)
            return await _drain(subscription, 1.0)
        finally:
            bus.current().fanout.remove(subscription)

    assert asyncio.run(scenario()) == []
    assert _ledger(db_url, user_id) == [], "the awards were rolled back"


def test_a_completion_publishes_its_xp_and_achievement(make_client: Any, sqlite_url: str) -> None:
    client = make_client(sqlite_url)
    user_id = client.signup("live-complete@example.com")["id"]

    async def scenario() -> tuple[dict[str, Any], list[LiveEvent]]:
        subscription = bus.Subscription(user_id, asyncio.get_running_loop())
        bus.current().fanout.add(subscription)
        try:
            response = await asyncio.to_thread(lambda: client.post("/api/progress/events", json={
                "event_id": str(uuid.uuid4()), "lesson_id": CONCEPT, "kind": "completed"}))
            return response.json(), await _drain(subscription, 1.0)
        finally:
            bus.current().fanout.remove(subscription)

    reward, events = asyncio.run(scenario())
    xp = [e.data for e in events if e.type == "xp"]
    badges = [e.data for e in events if e.type == "achievement"]
    # One xp event for the whole transaction (lesson and achievement XP), with the committed total.
    assert len(xp) == 1 and xp[0]["total_xp"] == reward["total_xp"] and xp[0]["delta"] == reward["xp_awarded"] == 63
    assert [(b["id"], b["title"]) for b in badges] == [(FIRST_STEPS, "First Steps")]
    assert badges[0]["description"] == "Complete your first lesson."


# ---- 2. the bus over Redis ------------------------------------------------------------------------


def test_redis_carries_events_between_buses_and_shares_the_stream_cap(redis_url: str) -> None:
    async def scenario() -> None:
        one, two = bus.RedisBus(redis_url), bus.RedisBus(redis_url)  # two processes, in effect
        await one.start()
        await two.start()
        try:
            assert one.subscribed and two.subscribed
            learner = f"learner-{uuid.uuid4().hex}"
            here = bus.Subscription(learner, asyncio.get_running_loop())
            two.fanout.add(here)
            other = bus.Subscription("someone-else", asyncio.get_running_loop())
            two.fanout.add(other)
            event = LiveEvent(type="xp", data={"total_xp": 7})
            await asyncio.to_thread(one.publish, learner, event)  # from a request's worker thread
            received = await here.get(5)
            assert received == event, "the other process's stream got it, id and all"
            assert await _drain(other, 0.5) == [], "only to that learner's streams"
            # A process that serves nothing (a CLI command) publishes straight to Redis.
            one.loop = None
            one.publish(learner, LiveEvent(type="xp", data={"total_xp": 8}))
            assert (await here.get(5)).data == {"total_xp": 8}  # type: ignore[union-attr]
            # The cap counts streams in every process.
            claims = [await (one if i % 2 else two).claim(learner, f"s{i}", 5) for i in range(6)]
            assert claims == [True] * 5 + [False]
            await one.release(learner, "s0")
            assert await two.claim(learner, "s6", 5)
        finally:
            await one.stop()
            await two.stop()

    asyncio.run(scenario())


def test_the_redis_channel_follows_the_database_number() -> None:
    assert bus.channel_for("redis://127.0.0.1:6379/15") == "drona:live:15"
    assert bus.channel_for("redis://:secret@redis.internal:6379") == "drona:live:0"


# ---- 3. the endpoint with the in-process bus -------------------------------------------------------


def _frames(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """The SSE frames of a streaming response: (event, data, id); comments and retry: skipped."""
    kind, data, event_id = "message", [], None
    for line in response.iter_lines():
        if line == "":
            if data:
                yield kind, json.loads("\n".join(data)), event_id
            kind, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def _signed_in(base: str, email: str, *, signup: bool) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(30.0))  # a loaded 2-core machine
    client.get("/api/auth/csrf")
    path = "/api/auth/signup" if signup else "/api/auth/login"
    body: dict[str, str] = {"email": email, "password": PASSWORD}
    if signup:
        body["display_name"] = "Ada"
    response = client.post(path, json=body, headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
    assert response.status_code in (200, 201), response.text
    return client


def _complete(client: httpx.Client, lesson: str = CONCEPT) -> dict[str, Any]:
    response = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": lesson,
                                                          "kind": "completed"},
                           headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def server(minimal_build: BuildReport, sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=sqlite_url,
                        DRONA_DATA_DIR=tmp_path / "data")
    with live_server(settings) as base:
        yield base


def test_the_stream_needs_a_session(server: str) -> None:
    response = httpx.get(f"{server}/api/me/events", timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_stream_carries_the_learners_xp_and_achievements(server: str) -> None:
    client = _signed_in(server, "live-sse@example.com", signup=True)
    stranger = _signed_in(server, "live-stranger@example.com", signup=True)
    with client.stream("GET", "/api/me/events") as mine, stranger.stream("GET", "/api/me/events") as theirs:
        assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/event-stream")
        assert mine.headers["cache-control"] == "no-store"
        frames, others = _frames(mine), _frames(theirs)
        assert next(frames)[0] == "ready" and next(others)[0] == "ready"
        reward = _complete(client)
        kind, data, event_id = next(frames)
        assert kind == "xp" and data["total_xp"] == reward["total_xp"] and data["id"] == event_id
        kind, data, _ = next(frames)
        assert kind == "achievement" and data["title"] == "First Steps"
    # The other learner's stream saw nothing of it (it ends when closed, having had only `ready`).


def test_at_most_five_streams_per_learner(server: str) -> None:
    client = _signed_in(server, "live-cap@example.com", signup=True)
    with contextlib.ExitStack() as streams:
        opened = [streams.enter_context(client.stream("GET", "/api/me/events")) for _ in range(5)]
        assert all(r.status_code == 200 for r in opened)
        # (Kept: a frame reader that is dropped closes its connection, which would free its place.)
        readers = [_frames(response) for response in opened]
        assert [next(reader)[0] for reader in readers] == ["ready"] * 5
        with client.stream("GET", "/api/me/events") as refused:  # (a stream: a wrong 200 must not hang the test)
            assert refused.status_code == 429, "a sixth stream was let in"
            refused.read()
            assert refused.json()["error"]["code"] == "rate_limited"
            assert int(refused.headers["retry-after"]) > 0
        opened[0].close()  # a closed tab gives its place back
        del readers[0]
        deadline = time.monotonic() + 10
        while True:
            with client.stream("GET", "/api/me/events") as again:
                if again.status_code == 200:
                    assert next(_frames(again))[0] == "ready"
                    break
            assert time.monotonic() < deadline, "the closed stream's place was never given back"
            time.sleep(0.2)


def test_a_stream_ends_when_its_session_is_signed_out(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sidecar.live import router

    monkeypatch.setattr(router, "HEARTBEAT_S", 0.2)  # (the server runs in this process)
    monkeypatch.setattr(router, "RECHECK_S", 0.3)
    client = _signed_in(server, "live-signout@example.com", signup=True)
    with client.stream("GET", "/api/me/events") as stream:
        frames = _frames(stream)
        assert next(frames)[0] == "ready"
        signed_out = client.post("/api/auth/logout-all", headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
        assert signed_out.status_code in (200, 204), signed_out.text
        assert [kind for kind, _, _ in frames] == ["signed_out"], "then the stream ends"


def test_the_stream_is_in_the_openapi_document(server: str) -> None:
    document = httpx.get(f"{server}/openapi.json", timeout=10).json()
    operation = document["paths"]["/api/me/events"]["get"]
    assert {"200", "401", "429"} <= set(operation["responses"])
    assert "text/event-stream" in operation["responses"]["200"]["content"]


# ---- 4. two sidecar processes on PostgreSQL and Redis ---------------------------------------------


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sidecar.cli", "serve", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_up(base: str, proc: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer in {timeout} s")


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def _env(database_url: str, redis_url: str, tmp: Path) -> dict[str, str]:
    env = {**os.environ, "DRONA_ENV": "local", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DRONA_DATA_DIR": str(tmp / "data"), "JOBS_IN_SERVE": "false"}
    for name in ("SMTP_HOST", "ENABLE_GAMIFICATION", "LRS_URL", "GRADER_QUEUE_URL"):
        env.pop(name, None)
    return env


def _serve_args(build: BuildReport, port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--content", str(MINIMAL / "content"),
            "--build-dir", str(build.site_dir.parent), "--no-build"]


@pytest.fixture
def postgres(pg_url: str | None) -> str:
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
    return pg_url


def test_xp_earned_through_one_process_reaches_a_stream_on_the_other(
        minimal_build: BuildReport, postgres: str, redis_url: str, tmp_path: Path) -> None:
    env = _env(postgres, redis_url, tmp_path)
    ports = free_port(), free_port()
    procs = [_serve(_serve_args(minimal_build, port), env) for port in ports]
    try:
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        for base, proc in zip((a, b), procs, strict=True):
            _wait_up(base, proc)
        email = f"live-{uuid.uuid4().hex[:8]}@example.com"
        on_a = _signed_in(a, email, signup=True)
        on_b = _signed_in(b, email, signup=False)  # the same learner on another device, another process
        with on_b.stream("GET", "/api/me/events") as stream:
            frames = _frames(stream)
            assert next(frames)[0] == "ready"
            started = time.monotonic()
            reward = _complete(on_a)
            kind, data, event_id = next(frames)
            took = time.monotonic() - started
            assert kind == "xp" and event_id
            assert data["total_xp"] == reward["total_xp"] == 63 and data["delta"] == 63
            assert data["level"] == reward["reward"]["level"] == 1
            kind, data, _ = next(frames)
            assert kind == "achievement" and data["id"] == FIRST_STEPS
            assert took < 5, f"the event took {took:.2f} s to cross processes"
            # SIGTERM with the stream open: it ends cleanly (a complete chunked body), at once.
            stopping = time.monotonic()
            procs[1].send_signal(signal.SIGTERM)
            rest = list(frames)  # ends without an error: the server closed the stream properly
            assert rest == [] and time.monotonic() - stopping < 2.5
        procs[1].wait(timeout=20)
        assert time.monotonic() - stopping < 2.9, "shutdown waited for the open stream"
    finally:
        outputs = [_stop(proc) for proc in procs]
    for output in outputs:
        assert "Traceback" not in output, output


# ---- 5. drona serve --workers N -------------------------------------------------------------------


def test_workers_above_one_need_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      minimal_build: BuildReport) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(main, ["serve", "--workers", "2", *_serve_args(minimal_build, free_port())])
    assert result.exit_code == 2 and "--workers above 1 needs REDIS_URL" in result.output
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--watch", "--content", str(MINIMAL / "content")])
    assert result.exit_code == 2


def _workers(parent: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing spawn children), read from /proc."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    found = []
    for pid in children:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
    return sorted(found)


def _serving_pid(pids: list[int], server_port: int, client_port: int) -> int | None:
    """Which of `pids` holds the server side of the loopback connection from client_port (from /proc)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local, remote = cols[1], cols[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            inode = cols[9]
    if inode is None:
        return None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    return None


def _client_port(response: httpx.Response) -> int:
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def test_serve_with_two_workers(minimal_build: BuildReport, redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = _env(f"sqlite:///{tmp_path / 'learners.db'}", redis_url, tmp_path)
    proc = _serve([*_serve_args(minimal_build, port), "--workers", "2"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc)
        deadline = time.monotonic() + 60
        while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2 and proc.pid not in workers, workers
        client = _signed_in(base, "live-workers@example.com", signup=True)
        with client.stream("GET", "/api/me/events") as stream:
            frames = _frames(stream)
            assert next(frames)[0] == "ready"
            listening = _serving_pid(workers, port, _client_port(stream))
            assert listening in workers
            # Send the completion over a connection that the other worker accepted.
            cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            for _ in range(100):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.connect()
                serving = None
                for _ in range(50):  # until the worker has accepted it
                    serving = _serving_pid(workers, port, connection.sock.getsockname()[1])
                    if serving is not None:
                        break
                    time.sleep(0.02)
                if serving is not None and serving != listening:
                    break
                connection.close()
            else:
                pytest.fail("no connection reached the second worker in 100 tries")
            body = json.dumps({"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT, "kind": "completed"})
            connection.request("POST", "/api/progress/events", body=body, headers={
                "Content-Type": "application/json", "Cookie": cookies, "X-CSRF-Token": client.cookies["drona_csrf"]})
            answer = connection.getresponse()
            reward = json.loads(answer.read())
            connection.close()
            assert answer.status == 200, reward
            kind, data, _ = next(frames)
            assert kind == "xp" and data["total_xp"] == reward["total_xp"] == 63
    finally:
        output = _stop(proc)
    assert "Traceback" not in output, output
    assert "with 2 worker processes" in output
