"""Scheduled jobs (issue #17) on SQLite and PostgreSQL: periods, exactly one run per job and period (also
with two OS processes at the same moment), failures recorded and retried, the CLI, and the migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from sidecar.cli import main
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.jobs import schedule, service
from sidecar.jobs.tables import JobDelivery, JobRun
from sidecar.mail.tables import OutboxEmail
from sidecar.settings import REPO_ROOT, Settings
from tests.test_org_admin import READING


def test_periods_and_their_bounds() -> None:
    monday = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)  # ISO week 50
    assert service.period_of("hourly", monday) == "2026-12-07T06"
    assert service.period_of("daily", monday) == "2026-12-07"
    assert service.period_of("weekly", monday) == "2026-W49", "the week just ended"
    assert service.period_of("monthly", monday) == "2026-11"
    assert service.period_of("quarterly", monday) == "2026-Q3"
    assert service.period_of("monthly", datetime(2027, 1, 3, tzinfo=UTC)) == "2026-12"
    assert service.period_of("quarterly", datetime(2027, 2, 1, tzinfo=UTC)) == "2026-Q4"
    assert service.period_of("weekly", datetime(2027, 1, 4, tzinfo=UTC)) == "2026-W53", "ISO years have 53 weeks"
    assert service.period_bounds("2026-W49") == (datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC))
    assert service.period_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert service.period_bounds("2026-Q4") == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert service.period_bounds("2026-Q1") == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert service.period_bounds("2026-12-05") == (datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))
    assert service.period_bounds("2026-12-05T13") == (datetime(2026, 12, 5, 13, tzinfo=UTC),
                                                      datetime(2026, 12, 5, 14, tzinfo=UTC))


def _settings(db_url: str, build: Any, tmp_path: Path) -> Settings:
    return Settings(DRONA_BUILD_DIR=build.site_dir.parent, DATABASE_URL=db_url, DRONA_DATA_DIR=tmp_path / "data")


def _runs(db_url: str, job: str | None = None) -> list[JobRun]:
    with read_session(get_engine(db_url)) as session:
        query = select(JobRun).order_by(JobRun.id)
        return list(session.scalars(query.where(JobRun.job == job) if job else query))


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A job that sends two emails and then fails while `fail` is set."""
    state: dict[str, Any] = {"fail": True, "calls": 0}

    def run(run: service.Run) -> dict[str, Any]:
        state["calls"] += 1
        run.deliver(target="a", to="a@example.com", subject=f"Report {run.period}", body="A")
        if state["fail"]:
            raise RuntimeError("the report server is down")
        run.deliver(target="b", to="b@example.com", subject=f"Report {run.period}", body="B")
        return {"made": 2}

    monkeypatch.setattr(schedule, "_JOBS", {"flaky": service.Job("flaky", "daily", "A test job.", run)})
    return state


def test_a_failed_run_is_recorded_and_retried_without_sending_twice(db_url: str, minimal_build: Any,
                                                                    tmp_path: Path, flaky: dict[str, Any]) -> None:
    engine, settings = get_engine(db_url), _settings(db_url, minimal_build, tmp_path)
    now = datetime(2026, 12, 5, 9, tzinfo=UTC)
    first = service.run_due(engine=engine, settings=settings, now=now)
    assert [(r.job, r.period, r.status) for r in first] == [("flaky", "2026-12-05", "failed")]
    assert "RuntimeError: the report server is down" in (first[0].error or "")
    (row,) = _runs(db_url)
    assert (row.status, row.attempts, row.summary) == ("failed", 1, {"emails": 1})
    assert row.error and "the report server is down" in row.error and row.finished_at is not None
    flaky["fail"] = False
    second = service.run_due(engine=engine, settings=settings, now=now + timedelta(minutes=1))
    assert [r.status for r in second] == ["done"] and second[0].summary == {"made": 2, "emails": 1}
    (row,) = _runs(db_url)
    assert (row.status, row.attempts, row.error) == ("done", 2, None)
    with read_session(engine) as session:
        sent = session.execute(select(OutboxEmail.to_address).order_by(OutboxEmail.id)).scalars().all()
        delivered = session.execute(select(JobDelivery.target).order_by(JobDelivery.target)).scalars().all()
    assert sent == ["a@example.com", "b@example.com"], "the retry did not send a's report again"
    assert delivered == ["a", "b"]
    assert [r.status for r in service.run_due(engine=engine, settings=settings, now=now + timedelta(hours=2))] == \
        ["skipped"], "done: never again this period"
    assert [r.period for r in service.run_due(engine=engine, settings=settings, now=now + timedelta(days=1))] == \
        ["2026-12-06"], "the next period runs"
    assert flaky["calls"] == 3


def test_a_run_is_retried_only_while_its_status_allows(db_url: str, minimal_build: Any, tmp_path: Path,
                                                       flaky: dict[str, Any]) -> None:
    engine, settings = get_engine(db_url), _settings(db_url, minimal_build, tmp_path)
    now = datetime(2026, 12, 5, 9, tzinfo=UTC)
    for attempt in range(1, service.MAX_ATTEMPTS + 1):
        assert [r.status for r in service.run_due(engine=engine, settings=settings, now=now)] == ["failed"]
        assert _runs(db_url)[0].attempts == attempt
    assert [r.status for r in service.run_due(engine=engine, settings=settings, now=now)] == ["skipped"], \
        "given up after MAX_ATTEMPTS"
    assert flaky["calls"] == service.MAX_ATTEMPTS

    # A run whose process died stays "running": skipped while it may still be going, taken over when stale.
    later = now + timedelta(days=1)
    with write_session(engine) as session:
        session.add(JobRun(job="flaky", period="2026-12-06", status="running", attempts=1, worker="gone:1",
                           started_at=later))
    flaky["fail"] = False
    assert [r.status for r in service.run_due(engine=engine, settings=settings, now=later + timedelta(hours=1))] \
        == ["skipped"]
    taken = service.run_due(engine=engine, settings=settings, now=later + service.STALE + timedelta(minutes=1))
    assert [r.status for r in taken] == ["done"]
    row = _runs(db_url)[-1]
    assert (row.period, row.status, row.attempts) == ("2026-12-06", "done", 2)


def test_the_jobs_commands(db_url: str, minimal_build: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           flaky: dict[str, Any]) -> None:
    flaky["fail"] = False
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DRONA_BUILD_DIR", str(minimal_build.site_dir.parent))
    monkeypatch.setenv("DRONA_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    ran = runner.invoke(main, ["jobs", "run", "--at", "2026-12-05T09:00:00+00:00"])
    assert ran.exit_code == 0, ran.output
    # Its result on stdout; the outbox warnings (no SMTP here) are logged to stderr.
    assert ran.stdout.strip() == 'flaky 2026-12-05: done {"made": 2, "emails": 2}'
    again = runner.invoke(main, ["jobs", "run", "--job", "flaky", "--at", "2026-12-05T23:00:00"])
    assert again.exit_code == 0 and again.stdout.strip() == "flaky 2026-12-05: skipped"
    listed = runner.invoke(main, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "flaky              daily     A test job." in listed.output
    assert "flaky              2026-12-05     done     x1 2026-12-05 09:00:00" in listed.output
    unknown = runner.invoke(main, ["jobs", "run", "--job", "nope"])
    assert unknown.exit_code == 2 and "no job named 'nope'; jobs: flaky" in unknown.output
    bad = runner.invoke(main, ["jobs", "run", "--at", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_the_registered_jobs() -> None:
    names = {name: job.cadence for name, job in schedule.jobs().items()}
    assert {"analytics-fold": "hourly", "weekly-digest": "weekly", "team-summary": "weekly",
            "executive-summary": "monthly", "skill-inventory": "quarterly"}.items() <= names.items()


_RACE = textwrap.dedent("""
    import json, sys, time
    from datetime import datetime
    from sidecar.cli import _settings
    from sidecar.db.engine import get_engine
    from sidecar.jobs.service import run_due

    start_at, now = float(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
    settings = _settings()
    engine = get_engine(settings.DATABASE_URL)
    with engine.connect():
        pass  # connected before the start line, so both reach run_due together
    time.sleep(max(0.0, start_at - time.time()))
    results = run_due(engine=engine, settings=settings, now=now)
    print(json.dumps({r.job: r.status for r in results}))
""")


def test_a_job_runs_exactly_once_with_two_processes(make_client: Any, db_url: str, minimal_build: Any,
                                                    tmp_path: Path) -> None:
    """Two OS processes run every due job against the same database at the same moment: one run row per job and
    period, one set of emails."""
    learner = make_client(db_url)
    learner.signup("ada@example.com", name="Ada")
    answer = learner.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING,
                                                        "kind": "completed"})
    assert answer.status_code == 200, answer.text
    at = (utcnow() + timedelta(days=7)).isoformat()  # the digest of this week, when Ada read the lesson
    env = {**os.environ, "DATABASE_URL": db_url, "DRONA_BUILD_DIR": str(minimal_build.site_dir.parent),
           "DRONA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT)}
    start_at = time.time() + 6
    processes = [subprocess.Popen([sys.executable, "-c", _RACE, str(start_at), at], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert time.time() >= start_at, "both waited for the start line"
    names = set(outputs[0])
    assert names == set(outputs[1]) and "weekly-digest" in names
    for name in names:
        statuses = sorted(output[name] for output in outputs)
        assert statuses == ["done", "skipped"], (name, outputs)
    runs = _runs(db_url)
    assert sorted(r.job for r in runs) == sorted(names), "one row per job"
    assert all(r.status == "done" and r.attempts == 1 for r in runs)
    workers = {r.worker for r in runs}
    assert len(workers) in (1, 2) and all(":" in w for w in workers)
    with read_session(get_engine(db_url)) as session:
        digests = session.execute(select(OutboxEmail.to_address).where(
            OutboxEmail.subject.like("Your week in learning%"))).scalars().all()
    assert digests == ["ada@example.com"], "one digest, from one process"
    digest_run = next(r for r in runs if r.job == "weekly-digest")
    assert digest_run.summary == {"already_sent": 0, "emails": 1}
    # And the next round, in this process, finds nothing to do for those periods.
    again = service.run_due(engine=get_engine(db_url), settings=_settings(db_url, minimal_build, tmp_path),
                            now=datetime.fromisoformat(at))
    assert {r.status for r in again} == {"skipped"}


def test_a_stale_claim_needs_its_age(db_url: str) -> None:
    """The take-over of a "running" row is conditional: a fresh one is never marked abandoned."""
    engine = get_engine(db_url)
    now = datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert service._claim(engine, job="x", period="p", now=now)
    assert not service._claim(engine, job="x", period="p", now=now + service.STALE - timedelta(seconds=1))
    with write_session(engine) as session:
        session.execute(update(JobRun).values(started_at=now - service.STALE - timedelta(seconds=1)))
    assert service._claim(engine, job="x", period="p", now=now)
    (row,) = _runs(db_url)
    assert (row.status, row.attempts) == ("running", 2)
