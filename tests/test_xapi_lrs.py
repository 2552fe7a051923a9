"""Forwarding statements to a real LRS: Ralph's, run locally as a separate process from its own venv.

Ralph's pins conflict with ours, so `scripts/setup test` installs it into .venv-ralph from
requirements/ralph.txt (hash-checked). Each test starts it (uvicorn on Ralph's app, file-system
backend in a temporary folder, HTTP basic auth from a credentials file written by `ralph auth`;
tests/fixtures/ralph_lrs.py),
forwards statements, kills it in the middle to prove the retries and restarts it, then reads the
statements back from the LRS: every one arrives, exactly once, as recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from sidecar.cli import main
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.xapi import forward
from sidecar.xapi import service as xapi
from sidecar.xapi.tables import LrsOutbox, XapiStatement
from tests.engine_repo import free_port

REPO = Path(__file__).resolve().parents[1]
RALPH_BIN = REPO / ".venv-ralph" / "bin"
LAUNCHER = REPO / "tests" / "fixtures" / "ralph_lrs.py"  # uvicorn on Ralph's app (see its docstring)
USER, PASSWORD = "drona", "lrs-pass-" + uuid.uuid4().hex[:12]
CONCEPT = "00000000-0000-4000-8000-000000000031"


@dataclass
class RalphLrs:
    """Ralph's LRS on a loopback port; stop() kills it, start() brings it back on the same data."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "RALPH_APP_DIR": str(self.root), "RALPH_AUTH_FILE": str(self.root / "auth.json"),
                "RALPH_RUNSERVER_BACKEND": "fs",
                "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.root / "statements")}

    def start(self) -> None:
        log = (self.root / "lrs.log").open("ab")
        self.process = subprocess.Popen(
            [str(RALPH_BIN / "python"), str(LAUNCHER), str(self.port)], env=self.env(), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.root / "lrs.log").read_text()
            try:
                if requests.get(f"{self.url}/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("Ralph's LRS did not start: " + (self.root / "lrs.log").read_text())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # a crash, not a shutdown
            self.process.wait(timeout=10)
        self.process = None

    def statements(self) -> list[dict[str, Any]]:
        """Every statement the LRS holds (following `more` links)."""
        found: list[dict[str, Any]] = []
        url: str | None = f"{self.url}/xAPI/statements?limit=100"
        while url:
            response = requests.get(url, auth=(USER, PASSWORD), headers={"X-Experience-API-Version": "1.0.3"},
                                    timeout=10)
            assert response.status_code == 200, response.text
            body = response.json()
            found.extend(body["statements"])
            url = self.url + body["more"] if body.get("more") else None
        return found


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[RalphLrs]:
    if not (RALPH_BIN / "python").is_file():
        pytest.fail("Ralph's LRS is not installed: run `scripts/setup test` (it creates .venv-ralph)")
    server = RalphLrs(root=tmp_path / "ralph")
    (server.root / "statements").mkdir(parents=True)
    made = subprocess.run([str(RALPH_BIN / "ralph"), "auth", "-u", USER, "-p", PASSWORD, "-s", "all",
                           "-M", "mailto:lrs@example.com", "-w"], env=server.env(), capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0 and (server.root / "auth.json").is_file(), made.stderr
    server.start()
    yield server
    server.stop()


def _record(engine: Any, user_id: str, count: int, *, prefix: str) -> list[str]:
    at = datetime.now(UTC)
    ids = []
    with write_session(engine) as session:
        for i in range(count):
            ids.append(xapi.record(db=session, key=f"{prefix}{i}", user_id=user_id, verb="answered",
                                   object_type="quiz_item", object_id=f"item-{i % 4}", course_id="course-1",
                                   skills=["loops"], success=i % 3 != 0, score=1.0 if i % 3 else 0.0,
                                   timestamp=at - timedelta(seconds=count - i), extensions={"n": i}))
    return ids


def _outbox(engine: Any) -> list[LrsOutbox]:
    with read_session(engine) as session:
        rows = list(session.scalars(select(LrsOutbox).order_by(LrsOutbox.created_at)))
        session.expunge_all()
    return rows



def _drained(engine: Any, seconds: float = 30) -> None:
    """Wait (at most `seconds`) for the background forwarder to empty the outbox."""
    deadline = time.monotonic() + seconds
    while forward.pending(engine=engine) and time.monotonic() < deadline:
        time.sleep(0.2)

def test_statements_reach_ralphs_lrs_exactly_once_through_a_crash(lrs: RalphLrs, make_client: Any,
                                                                   db_url: str) -> None:
    client = make_client(db_url, LRS_URL=lrs.url, LRS_USERNAME=USER, LRS_PASSWORD=PASSWORD)
    user_id = client.signup("ada@example.com")["id"]
    engine = get_engine(db_url)
    # A learning event through the API queues its statement too.
    response = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT,
                                                         "kind": "started"})
    assert response.status_code == 200, response.text
    ids = [r.statement_id for r in _outbox(engine)] + _record(engine, user_id, 24, prefix="a")
    assert len(ids) == 25 and len(_outbox(engine)) == 25
    target = forward.Lrs(url=lrs.url, username=USER, password=PASSWORD)

    # The first batch goes through; then the LRS dies.
    now = datetime.now(UTC)
    first = forward.drain(engine=engine, lrs=target, now=now, batch_size=10, max_batches=1)
    assert (first.sent, first.failed, first.waiting) == (10, 0, 15)
    lrs.stop()
    down = forward.drain(engine=engine, lrs=target, now=now, batch_size=10)
    assert (down.sent, down.failed, down.waiting) == (0, 10, 15)  # one failed batch ends the round
    assert down.last_error and "cannot reach the LRS" in down.last_error
    tried = [r for r in _outbox(engine) if r.attempts]
    assert len(tried) == 10 and all(r.attempts == 1 and r.last_error and PASSWORD not in r.last_error
                                    for r in tried)
    assert all(abs((r.next_attempt_at - (now + forward.backoff(1))).total_seconds()) < 1 for r in tried)
    # Before their back-off is over the failed ones wait; the five not tried yet are tried now.
    soon = forward.drain(engine=engine, lrs=target, now=now + timedelta(seconds=2), batch_size=10)
    assert (soon.sent, soon.failed) == (0, 5)
    assert sorted(r.attempts for r in _outbox(engine)) == [1] * 15
    # Still down after the back-off: the wait doubles.
    later = now + timedelta(seconds=8)
    assert forward.drain(engine=engine, lrs=target, now=later, batch_size=10).failed == 10
    assert sorted(r.attempts for r in _outbox(engine)) == [1] * 5 + [2] * 10
    assert all(r.next_attempt_at >= later + forward.backoff(2) - timedelta(seconds=1)
               for r in _outbox(engine) if r.attempts == 2)

    # The LRS is back (same data): everything left is delivered, once.
    lrs.start()
    back = forward.drain(engine=engine, lrs=target, now=now + timedelta(seconds=60), batch_size=10)
    assert (back.sent, back.failed, back.waiting) == (15, 0, 0), back.last_error

    # Sending it all again (a lost acknowledgement, a second process) changes nothing at the LRS.
    now = datetime.now(UTC)
    with write_session(engine) as session:
        for sid in ids:
            insert_ignore(session, LrsOutbox, {"statement_id": sid, "attempts": 0, "next_attempt_at": now,
                                               "last_error": None, "created_at": now}, ["statement_id"])
    again = forward.drain(engine=engine, lrs=target, now=now, batch_size=7)
    assert (again.sent, again.failed, again.waiting) == (25, 0, 0)

    stored = lrs.statements()
    counts = Counter(s["id"] for s in stored)
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    with read_session(engine) as session:
        ours = {row.id: row.statement for row in session.scalars(select(XapiStatement))}
    for statement in stored:
        mine = ours[statement["id"]]
        for key in ("actor", "verb", "object", "context"):
            assert statement[key] == mine[key], key
        assert statement["authority"] == {"mbox": "mailto:lrs@example.com", "objectType": "Agent"}


def test_a_conflict_counts_as_delivered_and_the_command_drains(lrs: RalphLrs, make_client: Any,
                                                               sqlite_url: str, tmp_path: Path) -> None:
    client = make_client(sqlite_url, LRS_URL=lrs.url, LRS_USERNAME=USER, LRS_PASSWORD=PASSWORD)
    user_id = client.signup("ada@example.com")["id"]
    engine = get_engine(sqlite_url)
    ids = _record(engine, user_id, 5, prefix="c")
    with read_session(engine) as session:
        clash = dict(session.scalars(select(XapiStatement.statement).where(XapiStatement.id == ids[2])).one())
    # The LRS already holds a different statement under one of these ids: it answers 409 to the batch.
    clash["verb"] = {"id": "http://adlnet.gov/expapi/verbs/experienced"}
    put = requests.put(f"{lrs.url}/xAPI/statements", params={"statementId": ids[2]}, json=clash,
                       auth=(USER, PASSWORD), headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)
    assert put.status_code == 204, put.text
    batch = requests.post(f"{lrs.url}/xAPI/statements", auth=(USER, PASSWORD), timeout=10,
                          json=[s for s in _statements(engine, ids)], headers={"X-Experience-API-Version": "1.0.3"})
    assert batch.status_code == 409  # what the sender meets

    env = {"DATABASE_URL": sqlite_url, "LRS_URL": lrs.url, "LRS_USERNAME": USER, "LRS_PASSWORD": PASSWORD,
           "DRONA_BUILD_DIR": str(tmp_path / "build")}
    result = CliRunner().invoke(main, ["xapi", "forward"], env=env)
    assert result.exit_code == 0, result.output
    assert "Sent 5 statement(s); 0 failed; 0 waiting." in result.output and PASSWORD not in result.output
    counts = Counter(s["id"] for s in lrs.statements())
    assert set(counts) == set(ids) and set(counts.values()) == {1}

    # With the LRS down the command says so and exits 1; the statement waits for its retry.
    _record(engine, user_id, 1, prefix="d")
    lrs.stop()
    result = CliRunner().invoke(main, ["xapi", "forward"], env=env)
    assert result.exit_code == 1 and "1 failed; 1 waiting" in result.output and PASSWORD not in result.output
    assert CliRunner().invoke(main, ["xapi", "forward"], env={**env, "LRS_URL": ""}).exit_code == 2


def _statements(engine: Any, ids: list[str]) -> list[dict[str, Any]]:
    with read_session(engine) as session:
        found = {row.id: row.statement for row in session.scalars(select(XapiStatement)
                                                                   .where(XapiStatement.id.in_(ids)))}
    return [found[sid] for sid in ids]


def test_serve_forwards_in_the_background(lrs: RalphLrs, make_client: Any, sqlite_url: str) -> None:
    """`drona serve`'s sender: a daemon thread that drains the outbox every few seconds."""
    from sidecar.settings import Settings

    client = make_client(sqlite_url, LRS_URL=lrs.url, LRS_USERNAME=USER, LRS_PASSWORD=PASSWORD)
    user_id = client.signup("ada@example.com")["id"]
    engine = get_engine(sqlite_url)
    ids = _record(engine, user_id, 3, prefix="s")
    stop = threading.Event()
    thread = forward.start_in_background(Settings(DATABASE_URL=sqlite_url, LRS_URL=lrs.url, LRS_USERNAME=USER,
                                                  LRS_PASSWORD=PASSWORD), poll_s=0.2, stop=stop)
    try:
        _drained(engine)
        assert forward.pending(engine=engine) == 0
        assert {s["id"] for s in lrs.statements()} == set(ids)
        more = _record(engine, user_id, 2, prefix="t")  # later statements follow on their own
        _drained(engine)
        assert {s["id"] for s in lrs.statements()} == set(ids) | set(more)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_ralphs_venv_is_its_hashed_lock() -> None:
    """.venv-ralph holds exactly requirements/ralph.txt's pins (installed --no-deps --require-hashes), consistent."""
    if not (RALPH_BIN / "python").is_file():
        pytest.fail("Ralph's LRS is not installed: run `scripts/setup test` (it creates .venv-ralph)")
    lock = (REPO / "requirements" / "ralph.txt").read_text()
    pins = dict(line.split(" ", 1)[0].split("==") for line in lock.splitlines() if "==" in line and line[0].isalpha())
    assert "ralph-malph" in pins and all("--hash=sha256:" in block for block in lock.split("==")[1:])
    listed = subprocess.run([str(RALPH_BIN / "python"), "-m", "pip", "list", "--format=freeze",
                             "--disable-pip-version-check"], capture_output=True, text=True, timeout=120)
    installed = {name.lower().replace("_", "-"): version for name, version in
                 (line.split("==") for line in listed.stdout.splitlines() if "==" in line)}
    for name, version in pins.items():
        assert installed.get(name) == version, (name, version, installed.get(name))
    check = subprocess.run([str(RALPH_BIN / "python"), "-m", "pip", "check", "--disable-pip-version-check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
