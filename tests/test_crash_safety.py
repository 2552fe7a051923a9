"""Crash safety (issue #18): a real `drona serve` process, SIGKILLed under load, loses and duplicates nothing.

Several learners send progress events (each with its own client event id), reading completions that
award XP, and exercise submissions graded in the server's sandbox (each with its own submission id),
from threads at once. Once a third of the requests are acknowledged, the server process is killed
with SIGKILL while the others are still in flight, and the load goes on against the dead port for a
moment. Then the server is started again on the same database, and every request is sent again with
the same id, as a retrying client would. Checked in the database:

- before the resend: every acknowledged event and submission is there, and every acknowledged XP award;
- after the resend: every request is recorded exactly once, resent acknowledged requests are answered
  as duplicates that earn nothing, each (learner, source) has one ledger entry, and the learner's XP
  is the sum of the ledger;
- SQLite: `PRAGMA integrity_check` is ok and `PRAGMA foreign_key_check` finds nothing.

Once on SQLite (a file database) and once on PostgreSQL (the `db_url` fixture). A grader process
SIGKILLed mid-job is tests/test_grader_fleet.py's (`test_a_grader_killed_mid_job_...`).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from sidecar.compiler.build import BuildReport
from sidecar.db.engine import get_engine

from .conftest import needs_node
from .engine_repo import free_port
from .test_live_events import PASSWORD, _client_port, _env, _serve, _serve_args, _serving_pid, _stop, _wait_up

pytestmark = needs_node  # submissions are graded in the server's sandbox (Node.js and Pyodide)

READING = ("00000000-0000-4000-8000-000000000031", "00000000-0000-4000-8000-000000000032")  # complete on reading
OTHERS = ("00000000-0000-4000-8000-000000000013", "00000000-0000-4000-8000-000000000014",
          "00000000-0000-4000-8000-000000000041")  # complete on graded work only: "started" events here
DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing's exercise (completes lesson ...013)
GOOD = "def double(n):\n    return n * 2\n"
WRONG = "def double(n):\n    return n + 2\n"
LEARNERS = 4
KILL_AFTER = 1 / 3  # of all requests acknowledged: the kill lands in the middle of the load


@dataclass
class Call:
    """One request a learner's client makes; `key` is its idempotency key (event id or submission id)."""

    learner: int
    key: str
    path: str
    body: dict[str, Any]
    acked: dict[str, Any] | None = None  # the 200 answer before the crash: acknowledged
    resent: dict[str, Any] | None = None  # the answer to the same request after the restart

    @property
    def is_event(self) -> bool:
        return self.path == "/api/progress/events"


def _calls(learner: int) -> list[Call]:
    """A learner's requests in a shuffled order: started events (revisits included), reading
    completions sent twice under different ids (two tabs), and a wrong then a right submission."""
    rng = random.Random(learner)
    events = [("started", lesson) for lesson in (*READING, *OTHERS) for _ in range(3)]
    events += [("completed", lesson) for lesson in READING for _ in range(2)]
    calls = [Call(learner, uuid.uuid4().hex, "/api/progress/events",
                  {"lesson_id": lesson, "kind": kind}) for kind, lesson in events]
    rng.shuffle(calls)
    for code in (WRONG, GOOD):
        calls.insert(rng.randrange(len(calls) + 1), Call(learner, uuid.uuid4().hex,
                                                         f"/api/exercises/{DOUBLE}/submissions", {"code": code}))
    for call in calls:
        call.body["event_id" if call.is_event else "submission_id"] = call.key
    return calls


def _post(client: httpx.Client, call: Call) -> httpx.Response:
    return client.post(call.path, json=call.body, headers={"X-CSRF-Token": client.cookies["drona_csrf"]})


def _sign_up(base: str, learner: int) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(60.0))  # a loaded 2-core machine
    client.get("/api/auth/csrf")
    response = client.post("/api/auth/signup", json={
        "email": f"crash-{learner}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD, "display_name": "Ada"},
        headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
    assert response.status_code == 201, response.text
    return client, str(response.json()["id"])


class Load:
    """Each learner's requests from a thread of its own; counts acknowledgements for the kill."""

    def __init__(self, clients: list[httpx.Client], calls: list[list[Call]]) -> None:
        self.clients, self.calls = clients, calls
        self.acked = 0
        self.broken = 0  # sent, then the connection broke: in flight when the server died
        self.refused = 0  # no answer at all: the port was dead
        self.refused_status = 0  # answered, but not 200 (a 429: the grading queue was full)
        self.done = threading.Condition()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(clients))]

    def _run(self, learner: int) -> None:
        client = self.clients[learner]
        for call in self.calls[learner]:
            response, broken = None, False
            try:
                response = _post(client, call)
            except httpx.ConnectError:
                pass
            except httpx.TransportError:
                broken = True
            with self.done:
                if response is not None and response.status_code == 200:
                    call.acked = response.json()
                    self.acked += 1
                elif response is not None:
                    self.refused_status += 1
                elif broken:
                    self.broken += 1
                else:
                    self.refused += 1
                self.done.notify_all()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wait_for_acks(self, count: int, timeout: float = 60) -> None:
        with self.done:
            assert self.done.wait_for(lambda: self.acked >= count, timeout), f"only {self.acked} acknowledged"

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "a client thread hung"


def _children(pid: int) -> set[int]:
    """The process's children, started by any of its threads (the sandbox is warmed in a thread)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Recorded:
    """What the database holds for one learner, read directly: rows per idempotency key."""

    events: Counter[str]  # progress_events per client event id
    submissions: Counter[str]  # submissions per client submission id
    verdicts: dict[str, bool]  # passed, per submission id
    ledger: Counter[str]  # XP ledger entries per source key
    xp: int  # the ledger's sum
    badges: Counter[str]  # user_achievements per achievement


def _recorded(db: str, user: str) -> Recorded:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        with get_engine(db).connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), {"u": user})]

    submissions = rows("SELECT client_id, passed FROM submissions WHERE user_id = :u")
    ledger = rows("SELECT source_key, amount FROM xp_transactions WHERE user_id = :u")
    return Recorded(events=Counter(key for (key,) in rows("SELECT event_id FROM progress_events WHERE user_id = :u")),
                    submissions=Counter(key for key, _ in submissions),
                    verdicts={key: bool(passed) for key, passed in submissions},
                    ledger=Counter(key for key, _ in ledger), xp=sum(int(amount) for _, amount in ledger),
                    badges=Counter(key for (key,) in rows(
                        "SELECT achievement_id FROM user_achievements WHERE user_id = :u")))


@contextlib.contextmanager
def _server(build: BuildReport, db: str, tmp: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    env = _env(db, "", tmp)
    env.pop("REDIS_URL")  # one process, the in-process bus
    env["GRADING_WORKERS"] = "1"  # one sandbox host to start (CPU) each time the server starts
    port = free_port()
    proc = _serve(_serve_args(build, port), env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, proc)
        yield base, proc
    finally:
        output = _stop(proc)
        assert "Traceback" not in output, output


def _holds(proc: subprocess.Popen[str], base: str, db: str) -> None:
    """The process we will kill is the one serving the API and holding the database: `drona serve`
    without --workers runs uvicorn in its own process (no worker children)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        response = client.get("/api/health")
        port = int(base.rsplit(":", 1)[1])
        assert _serving_pid([proc.pid], port, _client_port(response)) == proc.pid
    python_children = [pid for pid in _children(proc.pid) if b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert python_children == [], "a worker process, not the server itself, would hold the database"
    if db.startswith("sqlite:///"):
        path = db.removeprefix("sqlite:///")
        held = {os.readlink(fd) for fd in Path(f"/proc/{proc.pid}/fd").iterdir() if fd.is_symlink()}
        assert path in held, "the server process has the SQLite file open"


def _outlived(pids: set[int], timeout: float = 20) -> list[int]:
    """Which of these processes are still running after `timeout`; those are killed (we started them)."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


def _resend(clients: list[httpx.Client], calls: list[list[Call]], timeout: float = 120) -> None:
    """Every call again, each learner's in order from a thread of its own; a 429 (the grading queue
    is full) is retried after a moment, as the site does."""

    def run(learner: int) -> None:
        deadline = time.monotonic() + timeout
        for call in calls[learner]:
            while True:
                response = _post(clients[learner], call)
                if response.status_code != 429 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert response.status_code == 200, response.text
            call.resent = response.json()

    errors: list[BaseException] = []

    def guarded(learner: int) -> None:
        try:
            run(learner)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 30)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)


def test_a_server_killed_under_load_loses_and_duplicates_nothing(minimal_build: BuildReport, db_url: str,
                                                                  tmp_path: Path) -> None:
    started = time.monotonic()
    with _server(minimal_build, db_url, tmp_path) as (base, proc):
        _holds(proc, base, db_url)
        with ThreadPoolExecutor(LEARNERS) as pool:  # (Argon2 hashing: a moment each)
            signed_up = list(pool.map(lambda learner: _sign_up(base, learner), range(LEARNERS)))
        clients, users = [c for c, _ in signed_up], [u for _, u in signed_up]
        calls = [_calls(learner) for learner in range(LEARNERS)]
        total = sum(map(len, calls))
        load = Load(clients, calls)
        load.start()
        load.wait_for_acks(int(total * KILL_AFTER))
        sandboxes = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        killed_at = time.monotonic() - started
        load.join()  # the rest of the load meets a dead port
    acked = [call for learner in calls for call in learner if call.acked is not None]
    print(f"{len(acked)} of {total} requests acknowledged; the SIGKILL ({killed_at:.1f} s in) broke {load.broken} "
          f"in flight, {load.refused} met the dead port, {load.refused_status} were refused (429)")
    assert load.broken > 0, "the kill came between requests, not under load"

    with _server(minimal_build, db_url, tmp_path) as (base, proc):
        # The sandbox hosts end when their sidecar dies (their stdin closes): none is left behind.
        assert _outlived(sandboxes) == [], "sandbox processes outlived the SIGKILLed server"
        # Nothing acknowledged was lost: checked before any resend could put it back.
        before = {user: _recorded(db_url, user) for user in users}
        for call in acked:
            assert call.acked is not None
            held = before[users[call.learner]]
            if call.is_event:
                assert held.events[call.key] == 1, f"acknowledged event {call.key} lost"
            else:
                assert held.submissions[call.key] == 1, f"acknowledged submission {call.key} lost"
                assert held.verdicts[call.key] == call.acked["passed"]
            if call.acked["xp_awarded"]:  # the lesson's award (the event's lesson, the exercise's lesson)
                assert held.ledger[f"lesson:{call.acked['lesson_id']}"] == 1, "acknowledged XP lost"
            total_xp = call.acked["total_xp"] if call.is_event else call.acked["reward"]["total_xp"]
            assert held.xp >= total_xp, "acknowledged XP was lost"

        # A retrying client: every request again, same ids, same sessions (they survived the crash).
        for client in clients:
            client.base_url = httpx.URL(base)
        _resend(clients, calls)
        after = {user: _recorded(db_url, user) for user in users}
        profiles = [client.get("/api/gamification/profile").json()["xp"] for client in clients]

    for learner, learner_calls in enumerate(calls):
        for call in learner_calls:
            assert call.resent is not None
            if call.acked is None:
                continue
            # Answered from storage: an event earns nothing again; a submission is the stored verdict.
            assert call.resent["duplicate"] is True, call.resent
            if call.is_event:
                assert call.resent["xp_awarded"] == 0, call.resent
            else:
                assert [call.resent[k] for k in ("id", "passed", "xp_awarded")] == \
                    [call.acked[k] for k in ("id", "passed", "xp_awarded")]
                assert call.resent["reward"]["xp_awarded"] == 0, call.resent
        mine = after[users[learner]]
        assert set(mine.events) == {c.key for c in learner_calls if c.is_event}
        assert set(mine.submissions) == {c.key for c in learner_calls if not c.is_event}
        assert set(mine.events.values()) == {1}, "an event is recorded twice"
        assert set(mine.submissions.values()) == {1}, "a submission is graded twice"
        assert set(mine.ledger.values()) == {1}, "XP awarded twice for one source"
        assert set(mine.badges.values()) == {1}, "an achievement earned twice"
        lessons = {key for key in mine.ledger if key.startswith("lesson:")}
        assert lessons == {f"lesson:{lesson}" for lesson in (*READING, OTHERS[0])}, "one award per completed lesson"
        assert profiles[learner] == mine.xp, "the learner's XP is the sum of their ledger"

    if db_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    print(f"the crash test took {time.monotonic() - started:.1f} s")
