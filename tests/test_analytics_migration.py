"""Migration 0020 fills the learners' weekly sums from the daily rows already folded, on both databases:
the trend a team or organisation reads after the upgrade is the one the daily rows give."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import insert, select, text

from sidecar.analytics.rollup import week_of
from sidecar.analytics.tables import AnalyticsDaily, AnalyticsUserWeek
from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.db.migrate import upgrade

from .conftest import PG_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0019(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'learners.db'}"
    else:
        if pg_url is None:
            pytest.skip("PostgreSQL is not reachable here (CI sets DRONA_REQUIRE_POSTGRES=1 and starts it)")
        name = f"drona_test_0020_{os.getpid()}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        request.addfinalizer(lambda: _drop(url, name))
    upgrade(url, "0019")
    return url


def _drop(url: str, name: str) -> None:
    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_weeks_already_folded_get_their_sums(url_at_0019: str) -> None:
    engine = get_engine(url_at_0019)
    start = date(2026, 11, 1)  # a Sunday: the first week has one day, the others seven
    expected: dict[tuple[str, date], list[float]] = {}
    with write_session(engine) as session:
        users = [create_user(session=session, email=f"m{i}@example.com", password="a long password 1",
                             display_name=f"m{i}", role=Role.LEARNER).id for i in range(3)]
        for i, uid in enumerate(users):
            for n in range(0, 20, i + 1):
                day = start + timedelta(days=n)
                figures = [n % 3, 60.0 * n + 0.5, n + i, n // 2]
                session.execute(insert(AnalyticsDaily), [{
                    "user_id": uid, "day": day, "events": 1, "sessions": 1, "lessons_completed": figures[0],
                    "active_s": figures[1], "attempts": figures[2], "successes": figures[3], "hints": 0,
                    "tutor_turns": 0, "reviews": 0, "reviews_correct": 0}])
                sums = expected.setdefault((uid, week_of(day)), [0, 0.0, 0, 0])
                for k in range(4):
                    sums[k] += figures[k]
        # Before 0020 the weekly rows hold keys only (what the fold of 0018 wrote).
        for uid, week in expected:
            session.execute(text("INSERT INTO analytics_user_weeks (user_id, week) VALUES (:u, :w)"),
                            {"u": uid, "w": week})
    engine.dispose()
    upgrade(url_at_0019)
    with read_session(get_engine(url_at_0019)) as session:
        found = {(r.user_id, r.week): [r.lessons_completed, r.active_s, r.attempts, r.successes]
                 for r in session.scalars(select(AnalyticsUserWeek))}
    assert set(found) == set(expected) and len({w for _, w in expected}) >= 3
    for key, sums in expected.items():
        assert found[key][0] == sums[0] and found[key][2:] == sums[2:]
        assert found[key][1] == pytest.approx(sums[1])
