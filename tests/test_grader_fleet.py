"""The grader fleet (issue #18): submissions graded by `drona grader` processes through Dramatiq on Redis,
on PostgreSQL, with the real sandbox; at-least-once delivery, idempotent verdicts, back-pressure, and a
grader killed with SIGKILL mid-job whose submission another grader completes, graded once.

Each test has a queue of its own (a random GRADER_QUEUE_NAME) in DRONA_TEST_REDIS_URL's server, so that
nothing collides with other tests using Redis; its keys are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sidecar.db.engine import get_engine, read_session
from sidecar.gamification.tables import XpTransaction
from sidecar.grading.tables import GradingJob, Submission
from sidecar.settings import Settings
from sidecar.xapi.tables import XapiStatement
from tests.conftest import REDIS_URL, REQUIRE_REDIS, _truncate_pg, needs_node
from tests.engine_repo import VENV_BIN

pytestmark = needs_node

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing: 50 XP, +25% on the first attempt
GOOD = "def double(n):\n    return n * 2\n"
# Busy for two seconds before it answers (the exercise's limit is 5 s): a job long enough to kill mid-way.
SLOW = "import time\n_end = time.time() + 2.0\nwhile time.time() < _end:\n    pass\n" + GOOD
HEARTBEAT = 3.0


@pytest.fixture
def pg(pg_url: str | None) -> str:
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
    _truncate_pg(pg_url)
    return pg_url


@pytest.fixture
def queue() -> Iterator[dict[str, str]]:
    """GRADER_QUEUE_URL and a queue name of this test's own; its Redis keys are removed afterwards."""
    import redis

    url = REDIS_URL.rsplit("/", 1)[0] + "/14"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (DRONA_REQUIRE_REDIS=1) but {url} is unreachable: {exc}")
        pytest.skip("Redis is not reachable here (CI sets DRONA_REQUIRE_REDIS=1 and starts it)")
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield {"GRADER_QUEUE_URL": url, "GRADER_QUEUE_NAME": name}
    for key in client.scan_iter(f"drona:{name}*"):
        client.delete(key)
    client.close()


class Graders:
    """`drona grader` subprocesses over the minimal build; logs under tmp_path."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.tmp / f"grader-{len(self.procs)}.log"
        proc = subprocess.Popen([str(Path(VENV_BIN) / "drona"), "grader"], env=self.env, stdout=log.open("wb"),
                                stderr=subprocess.STDOUT)
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            while "consuming" not in proc.log.read_text(errors="replace"):  # type: ignore[attr-defined]
                assert proc.poll() is None, proc.log.read_text(errors="replace")  # type: ignore[attr-defined]
                assert time.monotonic() < deadline, "a grader did not start"
                time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(p.log.read_text(errors="replace") for p in self.procs)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def fleet(minimal_build: Any, pg: str, queue: dict[str, str], tmp_path: Path,
          make_client: Any) -> Iterator[dict[str, Any]]:
    settings = {**queue, "GRADER_HEARTBEAT_SECONDS": HEARTBEAT, "GRADER_THREADS": 1, "GRADER_MAX_RETRIES": 1}
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}, "DATABASE_URL": pg,
           "DRONA_BUILD_DIR": str(minimal_build.site_dir.parent), "DRONA_DATA_DIR": str(tmp_path / "data")}
    graders = Graders(env, tmp_path)
    try:
        yield {"settings": settings, "graders": graders, "db": pg,
               "client": lambda **extra: make_client(pg, **{**settings, **extra})}
    finally:
        graders.stop()


@pytest.fixture
def no_sandbox_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """In fleet mode the sidecar never starts a sandbox: any attempt in this process fails the test."""
    import sidecar.sandbox

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a sandbox was started in the sidecar's process")

    monkeypatch.setattr(sidecar.sandbox.Sandbox, "__init__", refuse)
    monkeypatch.setattr(sidecar.sandbox, "_default", None)


def _submit(client: Any, code: str, submission_id: str | None = None) -> Any:
    return client.post(f"/api/exercises/{DOUBLE}/submissions",
                       json={"code": code, "submission_id": submission_id or uuid.uuid4().hex})


def _counts(db: str) -> dict[str, int]:
    with read_session(get_engine(db)) as session:
        return {"submissions": session.scalar(select(func.count()).select_from(Submission)) or 0,
                "xp": session.scalar(select(func.coalesce(func.sum(XpTransaction.amount), 0))) or 0,
                "xp_rows": session.scalar(select(func.count()).select_from(XpTransaction)) or 0,
                "attempted": session.scalar(select(func.count()).select_from(XapiStatement).where(
                    XapiStatement.verb == "attempted")) or 0}


def test_a_grader_process_grades_a_submission_and_the_sidecar_runs_no_code(fleet: dict[str, Any],
                                                                            no_sandbox_here: None) -> None:
    graders: Graders = fleet["graders"]
    graders.start()
    graders.wait_ready()
    client = fleet["client"]()
    client.signup("fleet@example.com")
    response = _submit(client, GOOD, "fleet-000001")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passed"] is True and body["status"] == "ok" and body["xp_awarded"] == 63
    assert body["lesson_state"] == "completed" and body["reward"]["total_xp"] == 63
    assert [r["name"] for r in body["results"]] == ["doubles 4", "doubles a random number"]
    # A retry of the same id is answered from storage; the status endpoint says graded.
    again = _submit(client, GOOD, "fleet-000001").json()
    assert again["duplicate"] is True and again["id"] == body["id"] and again["xp_awarded"] == 63
    status = client.get(f"/api/exercises/{DOUBLE}/submissions/fleet-000001").json()
    assert status["state"] == "graded" and status["submission"]["id"] == body["id"]
    assert client.get(f"/api/exercises/{DOUBLE}/submissions/nobody-sent-this").status_code == 404
    assert _counts(fleet["db"]) == {"submissions": 1, "xp": 63, "xp_rows": 1, "attempted": 1}
    assert "grading " in graders.logs() and "passed" in graders.logs()
    # The other ways into the sandbox (review, assessments, pre-review) go to the fleet too.
    from sidecar.catalog import readers
    from sidecar.grading.fleet import remote_sandbox

    settings = client.app.state.settings
    tests = readers.exercise(settings.catalog_db, DOUBLE).tests
    remote = remote_sandbox(settings).grade(GOOD, tests, seed=7, time_limit=5.0)
    assert remote.passed is True and remote.status == "ok" and len(remote.results) == 2
    wrong = remote_sandbox(settings).grade("def double(n):\n    return n\n", tests, seed=7)
    assert wrong.passed is False and wrong.results[0]["passed"] is False
    ran = remote_sandbox(settings).run("print(sum(range(5)))")
    assert ran.status == "ok" and ran.output.strip() == "10" and ran.error is None
    out = subprocess.run([str(Path(VENV_BIN) / "drona"), "grader", "--status"], env=graders.env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == {"queued": 0, "dead_lettered": 0, "pending": 0, "graded": 1, "failed": 0}


def test_a_second_delivery_grades_nothing_again(fleet: dict[str, Any], sandbox: Any) -> None:
    """The same job delivered three times, twice at once, in graders with a real sandbox: one verdict, XP once."""
    from sidecar.grading import exercises
    from sidecar.grading.fleet import Grader, _enqueue_job

    client = fleet["client"]()
    user = client.signup("twice@example.com")
    settings = client.app.state.settings
    engine = get_engine(fleet["db"])
    pending = exercises.prepare_submission(engine=engine, catalog_db=settings.catalog_db, user_id=user["id"],
                                           exercise_id=DOUBLE, code=GOOD, client_id="twice-000001",
                                           gamification_enabled=True)
    assert isinstance(pending, exercises.Pending)
    job_id, new = _enqueue_job(engine=engine, settings=settings, user_id=user["id"], pending=pending)
    assert new
    grader = Grader(settings, engine, lambda: sandbox)
    both = [threading.Thread(target=grader.grade, args=(job_id,)) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(timeout=120)
    grader.grade(job_id)  # a late redelivery: skipped at once
    with read_session(engine) as session:
        job = session.get(GradingJob, job_id)
        assert job is not None and job.state == "graded" and job.response is not None
        assert job.response["xp_awarded"] == 63
    assert _counts(fleet["db"]) == {"submissions": 1, "xp": 63, "xp_rows": 1, "attempted": 1}
    status = client.get(f"/api/exercises/{DOUBLE}/submissions/twice-000001").json()
    assert status["state"] == "graded" and status["submission"]["xp_awarded"] == 63


def test_back_pressure_and_still_grading(fleet: dict[str, Any], no_sandbox_here: None) -> None:
    """No grader runs: a submission waits (503 still_grading, Retry-After, pending in the status); the
    learner's next one is over their bound and a full queue refuses everyone: 429 with Retry-After."""
    from sidecar.grading.fleet import fleet_for

    client = fleet["client"](GRADER_WAIT_SECONDS=1, GRADING_QUEUE_PER_LEARNER=0, GRADER_QUEUE_MAX=3)
    client.signup("busy@example.com")
    waiting = _submit(client, GOOD, "busy-0000001")
    assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "2"
    assert waiting.json()["error"]["code"] == "still_grading"
    assert waiting.json()["error"]["details"]["submission_id"] == "busy-0000001"
    assert client.get(f"/api/exercises/{DOUBLE}/submissions/busy-0000001").json()["state"] == "pending"
    mine = _submit(client, GOOD)
    assert mine.status_code == 429 and int(mine.headers["Retry-After"]) >= 1
    assert mine.json()["error"]["code"] == "rate_limited"
    # Fill the queue to GRADER_QUEUE_MAX (3): one real message and two more.
    queue = fleet_for(client.app.state.settings)
    for _ in range(2):
        queue.send(str(uuid.uuid4()), time_limit=5)
    assert queue.depth() == 3
    other = fleet["client"](GRADER_WAIT_SECONDS=1, GRADER_QUEUE_MAX=3)
    other.signup("other@example.com")
    refused = _submit(other, GOOD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["message"] == "Grading is busy right now; try again in a moment."
    with read_session(get_engine(fleet["db"])) as session:
        assert session.scalar(select(func.count()).select_from(GradingJob)) == 1, "refused ones are not kept"


def test_a_grader_killed_mid_job_is_replaced_and_the_submission_graded_once(fleet: dict[str, Any],
                                                                           no_sandbox_here: None) -> None:
    graders: Graders = fleet["graders"]
    pids = {graders.start().pid, graders.start().pid}
    graders.wait_ready()
    client = fleet["client"](GRADER_WAIT_SECONDS=120)
    client.signup("killed@example.com")
    answer: dict[str, Any] = {}
    request = threading.Thread(target=lambda: answer.update(response=_submit(client, SLOW, "killed-00001")))
    request.start()
    engine = get_engine(fleet["db"])
    deadline = time.monotonic() + 60
    worker = None
    while worker is None:
        assert time.monotonic() < deadline, "no grader took the submission"
        with read_session(engine) as session:
            worker = session.scalar(select(GradingJob.worker).where(GradingJob.client_id == "killed-00001"))
        time.sleep(0.1)
    victim = int(worker.rsplit(":", 1)[1])
    assert victim in pids
    time.sleep(0.5)  # inside its two busy seconds
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    request.join(timeout=120)
    print(f"verdict {time.monotonic() - killed_at:.1f} s after the SIGKILL (heartbeat timeout {HEARTBEAT} s)")
    response = answer["response"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passed"] is True and body["xp_awarded"] == 63, "graded once, as a first attempt"
    with read_session(engine) as session:
        job = session.scalar(select(GradingJob).where(GradingJob.client_id == "killed-00001"))
        assert job is not None and job.state == "graded" and job.deliveries == 2
        survivor = int((job.worker or "").rsplit(":", 1)[1])
    assert survivor in pids - {victim}
    assert _counts(fleet["db"]) == {"submissions": 1, "xp": 63, "xp_rows": 1, "attempted": 1}


def test_a_dead_lettered_submission_fails_for_the_learner(fleet: dict[str, Any], no_sandbox_here: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A grader whose grading keeps failing (its catalog lacks the exercise): retried once, then
    dead-lettered; the learner is told grading failed, and the dead letter is counted."""
    graders: Graders = fleet["graders"]
    graders.env["DRONA_BUILD_DIR"] = str(Path(graders.env["DRONA_DATA_DIR"]) / "empty-build")
    Path(graders.env["DRONA_BUILD_DIR"]).mkdir(parents=True)
    import sqlite3

    sqlite3.connect(Path(graders.env["DRONA_BUILD_DIR"]) / "catalog.db").close()
    graders.start()
    graders.wait_ready()
    client = fleet["client"](GRADER_WAIT_SECONDS=60)
    client.signup("failed@example.com")
    response = _submit(client, GOOD, "failed-00001")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "grading_failed"
    assert client.get(f"/api/exercises/{DOUBLE}/submissions/failed-00001").json()["state"] == "failed"
    out = subprocess.run([str(Path(VENV_BIN) / "drona"), "grader", "--status"], env=graders.env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout)["dead_lettered"] == 1 and json.loads(out.stdout)["failed"] == 1
    assert _counts(fleet["db"])["submissions"] == 0


def test_a_submission_pending_too_long_is_failed_by_the_sweep(fleet: dict[str, Any], no_sandbox_here: None) -> None:
    """Its message lost (Redis flushed, say): graders' sweep fails it after STALE_AFTER, never pending forever."""
    from datetime import timedelta

    from sqlalchemy import update

    from sidecar.db.base import utcnow
    from sidecar.db.engine import write_session
    from sidecar.grading import exercises
    from sidecar.grading.fleet import STALE_AFTER, Grader, _enqueue_job

    client = fleet["client"](GRADER_WAIT_SECONDS=1)
    user = client.signup("stale@example.com")
    settings = client.app.state.settings
    engine = get_engine(fleet["db"])
    fresh, old = (exercises.prepare_submission(engine=engine, catalog_db=settings.catalog_db, user_id=user["id"],
                                               exercise_id=DOUBLE, code=GOOD, client_id=f"stale-{n:07d}",
                                               gamification_enabled=True) for n in (1, 2))
    assert isinstance(fresh, exercises.Pending) and isinstance(old, exercises.Pending)
    _enqueue_job(engine=engine, settings=settings, user_id=user["id"], pending=fresh)
    old_id, _ = _enqueue_job(engine=engine, settings=settings, user_id=user["id"], pending=old)
    with write_session(engine) as session:
        session.execute(update(GradingJob).where(GradingJob.id == old_id).values(
            created_at=utcnow() - STALE_AFTER - timedelta(seconds=1)))
    assert Grader(settings, engine, lambda: None).sweep() == 1
    assert client.get(f"/api/exercises/{DOUBLE}/submissions/stale-0000002").json()["state"] == "failed"
    assert client.get(f"/api/exercises/{DOUBLE}/submissions/stale-0000001").json()["state"] == "pending"
    again = _submit(client, GOOD, "stale-0000002")
    assert again.status_code == 503 and again.json()["error"]["code"] == "grading_failed"


def test_fleet_settings_have_safe_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.GRADER_QUEUE_URL is None  # the embedded default: graded in process, no broker
    assert settings.GRADER_WAIT_SECONDS > 5 + 2  # longer than the default time limit and the judge's grace
