"""A grader's own Prometheus metrics (issue #18): `drona grader` with GRADER_METRICS_PORT serves
prometheus-client's HTTP server with the jobs it handled by outcome, their duration, the queue's
wait, its in-flight count and sandbox pool (the sidecar's drona_grading_* and drona_sandbox_* gauges).

run_grader runs in a thread of this process (the fleet's real Dramatiq worker on Redis, the real
sandbox, PostgreSQL), grades one passing and one failing submission, and the port is scraped.
Fixtures are tests/test_grader_fleet.py's.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import REGISTRY
from sqlalchemy import select

from sidecar.db.engine import get_engine, read_session
from sidecar.grading import exercises
from sidecar.grading.fleet import _enqueue_job, run_grader
from sidecar.grading.tables import GradingJob
from sidecar.settings import Settings
from tests.conftest import needs_node
from tests.test_grader_fleet import DOUBLE, GOOD, pg, queue  # noqa: F401 - pg, queue: fixtures

pytestmark = needs_node

WRONG = "def double(n):\n    return n\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _here(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_settings_default_to_no_metrics_port() -> None:
    settings = Settings(_env_file=None)
    assert settings.GRADER_METRICS_PORT is None and settings.GRADER_METRICS_HOST == "127.0.0.1"


def test_a_grader_serves_its_metrics_and_they_count_its_jobs(
        minimal_build: Any, pg: str, queue: dict[str, str], make_client: Any) -> None:  # noqa: F811
    port = _free_port()
    client = make_client(pg, **queue)
    user = client.signup("metrics@example.com")
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=pg,
                        DRONA_DATA_DIR=minimal_build.site_dir.parent / "data", GRADER_THREADS=1,
                        GRADER_METRICS_PORT=port, GRADER_QUEUE_URL=queue["GRADER_QUEUE_URL"],
                        GRADER_QUEUE_NAME=queue["GRADER_QUEUE_NAME"])
    engine = get_engine(pg)
    before = {outcome: _here("drona_grader_jobs_total", outcome=outcome) for outcome in ("passed", "failed")}
    before_durations = _here("drona_grader_job_duration_seconds_count")
    before_waits = _here("drona_grading_wait_seconds_count")
    jobs = []
    for n, code in enumerate((GOOD, WRONG)):
        pending = exercises.prepare_submission(engine=engine, catalog_db=settings.catalog_db, user_id=user["id"],
                                               exercise_id=DOUBLE, code=code, client_id=f"metrics-{n:06d}",
                                               gamification_enabled=True)
        assert isinstance(pending, exercises.Pending)
        jobs.append(_enqueue_job(engine=engine, settings=settings, user_id=user["id"], pending=pending)[0])

    stop = threading.Event()
    failure: list[BaseException] = []

    def grader() -> None:
        try:
            run_grader(settings, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            failure.append(exc)

    thread = threading.Thread(target=grader, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 90
        while True:
            with read_session(engine) as session:
                states = set(session.scalars(select(GradingJob.state).where(GradingJob.id.in_(jobs))))
            if states == {"graded"}:
                break
            assert not failure, failure
            assert time.monotonic() < deadline, f"not graded: {states}"
            time.sleep(0.1)
        scraped = _scrape(url)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and not failure, failure

    def value(name: str, **labels: str) -> float:
        return scraped[(name, tuple(sorted(labels.items())))]

    assert value("drona_grader_jobs_total", outcome="passed") == before["passed"] + 1
    assert value("drona_grader_jobs_total", outcome="failed") == before["failed"] + 1
    assert value("drona_grader_jobs_total", outcome="dead_lettered") >= 0  # present from the start
    assert value("drona_grader_job_duration_seconds_count") == before_durations + 2
    assert value("drona_grader_job_duration_seconds_sum") > 0
    assert value("drona_grading_wait_seconds_count") == before_waits + 2  # the queue's wait, once per job
    # The fleet's queue as the sidecar's grading gauges: nothing in flight or waiting once both are graded.
    assert value("drona_grading_running") == 0
    assert value("drona_grading_queue_depth") == 0
    assert value("drona_grading_slots") == 1
    assert value("drona_grading_queue_limit") == settings.GRADER_QUEUE_MAX
    assert value("drona_sandbox_pool_size") >= 1  # the grader's sandbox, started by the first job
    assert value("drona_db_pool_size") >= 1
    # The server stops with the grader: its port is free again.
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
