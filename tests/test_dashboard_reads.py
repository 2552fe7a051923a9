"""What keeps the dashboards fast at scale (docs/analytics.md, "Benchmark"): their reads price random page
reads for cached rollups on PostgreSQL, in their own transaction only; and a started server hides its
start-up heap from the garbage collector, once per process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from sidecar.analytics import service as analytics
from sidecar.compiler.build import BuildReport
from sidecar.db.engine import get_engine, read_session

REPO = Path(__file__).resolve().parents[1]


def test_rollup_reads_price_cached_pages_in_their_own_transaction_only(pg_url: str | None) -> None:
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
    engine = get_engine(pg_url)
    with read_session(engine) as session:
        default = session.scalar(text("SHOW random_page_cost"))
    with analytics._rollup_reads(engine) as session:
        assert session.scalar(text("SHOW random_page_cost")) == "1.1"
        assert session.scalar(text("SELECT 41 + 1")) == 42
    # The pooled connection goes back as it was: the setting was SET LOCAL, not the session's.
    for _ in range(3):
        with read_session(engine) as session:
            assert session.scalar(text("SHOW random_page_cost")) == default
    assert default != "1.1"


def test_rollup_reads_on_sqlite_are_plain_read_sessions(sqlite_url: str) -> None:
    with analytics._rollup_reads(get_engine(sqlite_url)) as session:
        assert session.scalar(text("SELECT count(*) FROM analytics_users")) == 0


def test_a_started_server_freezes_its_startup_heap_once(minimal_build: BuildReport, tmp_path: Path) -> None:
    # Its own interpreter: the test process's heap has been frozen by whichever app started first.
    script = textwrap.dedent(f"""
        import gc, json
        from fastapi.testclient import TestClient
        from sidecar.app import create_app
        from sidecar.settings import Settings
        settings = Settings(DRONA_BUILD_DIR={str(minimal_build.site_dir.parent)!r},
                            DATABASE_URL={"sqlite:///" + str(tmp_path / "learners.db")!r},
                            DRONA_DATA_DIR={str(tmp_path / "data")!r})
        counts = [gc.get_freeze_count()]
        for _ in range(2):
            with TestClient(create_app(settings)) as client:
                assert client.get("/api/health").status_code == 200
                counts.append(gc.get_freeze_count())
        print(json.dumps(counts))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    before, first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == 0
    assert first > 20_000  # the modules, routes and models of a started server
    # Once per process: the second app's start froze nothing more (frozen objects can still be freed by
    # reference counting, so the count may fall; a second freeze would add that app's objects).
    assert second <= first
