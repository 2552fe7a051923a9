"""Fair grading through the real API (issue #10): one learner flooding the grader with infinite
loops gets 429s beyond one running and two queued submissions, other endpoints stay responsive,
and another learner's correct submission is graded in about its normal time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from sidecar.compiler.build import BuildReport
from sidecar.settings import Settings
from tests.conftest import live_server

DOUBLE = "00000000-0000-4000-8000-000000000015"  # the minimal course's `double(n)` exercise
SOLUTION = "def double(n):\n    return n * 2\n"
LOOP = "while True:\n    pass\n"


@pytest.fixture
def server(minimal_build: BuildReport, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A real server (uvicorn, one event loop, real threads) on SQLite and on PostgreSQL."""
    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url, DRONA_DATA_DIR=tmp_path,
                        GRADING_WORKERS=2, GRADING_QUEUE_PER_LEARNER=2)
    with live_server(settings) as base:
        yield base


def _learner(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    client.get("/api/auth/csrf")
    response = client.post("/api/auth/signup", headers={"X-CSRF-Token": client.cookies["drona_csrf"]},
                           json={"email": email, "password": "correct horse battery", "display_name": "Ada"})
    assert response.status_code == 201, response.text
    return client


def _submit(client: httpx.Client, code: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post(f"/api/exercises/{DOUBLE}/submissions", json={"code": code},
                           headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
    return response, time.monotonic() - started


def test_one_learner_cannot_starve_the_others(server: str) -> None:
    peer = _learner(server, "peer@example.com")
    attacker = _learner(server, "flood@example.com")
    normal = []
    for _ in range(3):
        response, seconds = _submit(peer, SOLUTION)
        assert response.status_code == 200 and response.json()["passed"] is True, response.text
        normal.append(seconds)
        time.sleep(1.0)  # let the pool boot its next isolates, as between real submissions
    normal_p50 = statistics.median(normal)

    flood: list[Any] = []
    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(_submit, attacker, LOOP) for _ in range(12)]
        time.sleep(1.0)  # the flood is in
        health = []
        for _ in range(5):
            started = time.monotonic()
            assert httpx.get(f"{server}/api/health", timeout=10).status_code == 200
            health.append(time.monotonic() - started)
        during = []
        for _ in range(3):
            response, seconds = _submit(peer, SOLUTION)
            assert response.status_code == 200 and response.json()["passed"] is True, response.text
            during.append(seconds)
        flood = [future.result()[0] for future in futures]

    refused = [r for r in flood if r.status_code == 429]
    graded = [r for r in flood if r.status_code == 200]
    # One running and two queued per learner; the other nine are refused at once, with a Retry-After.
    assert len(graded) == 3 and len(refused) == 9, [r.status_code for r in flood]
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert all(r.json()["error"]["code"] == "rate_limited" for r in refused)
    assert all(r.json()["status"] == "timeout" and r.json()["passed"] is False for r in graded)
    assert max(health) < 1.0, health  # grading never blocks the event loop or the other endpoints
    during_p50 = statistics.median(during)
    # The benchmark holds the 2x target on a quiet machine; here, with other tests running, leave slack.
    assert during_p50 < 2 * normal_p50 + 1.5, (normal, during)
