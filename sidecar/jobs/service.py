"""Scheduled jobs that run exactly once per period, from any number of processes (issue #17, §10.3).

A job has a cadence (hourly, daily, weekly, monthly, quarterly). At a moment `now` it is due for one
period: the hour or day it is in for the housekeeping jobs, the week, month or quarter that has just
ended for the reports (the weekly digest that runs on Monday 2026-12-07 is the digest of "2026-W49").

`run_due` claims each due job by inserting its `job_runs` row (job, period) first: the unique constraint
lets one process win, whether the others are threads of `drona serve`, CronJob pods or other machines,
on SQLite or PostgreSQL. The winner runs the job and records its status (done or failed), finish time
and summary. A run that raised is marked failed with the error; a later call takes it up again, up to
MAX_ATTEMPTS times in all. A run whose process died leaves "running": after STALE it is marked failed
("abandoned") and is retried the same way. Emails a run sends go through `Run.deliver`, which claims
(job, period, target) in the email's own transaction, so a retried run never sends anyone the same
report twice.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, select, update

from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.mail import send_email
from sidecar.settings import Settings

from .tables import JobDelivery, JobRun

Cadence = Literal["hourly", "daily", "weekly", "monthly", "quarterly"]
MAX_ATTEMPTS = 3  # a failing job is tried this many times for one period, then left failed
STALE = timedelta(hours=6)  # a run still "running" after this long is taken for a crashed process


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


# ---- periods -----------------------------------------------------------------------------------------------


def period_of(cadence: Cadence, now: datetime) -> str:
    """The period a job of this cadence is due for at `now` (UTC): the current hour or day; the week,
    month or quarter just ended."""
    now = now.astimezone(UTC)
    if cadence == "hourly":
        return f"{now:%Y-%m-%dT%H}"
    if cadence == "daily":
        return f"{now:%Y-%m-%d}"
    if cadence == "weekly":
        year, week, _ = (now - timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "monthly":
        year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        return f"{year}-{month:02d}"
    quarter = (now.month - 1) // 3  # the quarter just ended, 0 meaning the last of the year before
    return f"{now.year}-Q{quarter}" if quarter else f"{now.year - 1}-Q4"


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a period label made by `period_of`."""
    if "T" in period:
        start = datetime.strptime(period, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        return start, start + timedelta(hours=1)
    if "-W" in period:
        iso_year, week = period.split("-W")
        start = datetime.fromisocalendar(int(iso_year), int(week), 1).replace(tzinfo=UTC)
        return start, start + timedelta(days=7)
    if "-Q" in period:
        year_text, quarter = period.split("-Q")
        year, first = int(year_text), 3 * (int(quarter) - 1) + 1
        start = datetime(year, first, 1, tzinfo=UTC)
        return start, datetime(year + 1, 1, 1, tzinfo=UTC) if first == 10 else datetime(year, first + 3, 1, tzinfo=UTC)
    if period.count("-") == 1:
        year, month = (int(part) for part in period.split("-"))
        start = datetime(year, month, 1, tzinfo=UTC)
        return start, datetime(year + 1, 1, 1, tzinfo=UTC) if month == 12 else datetime(year, month + 1, 1, tzinfo=UTC)
    start = datetime.strptime(period, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


# ---- jobs and their runs -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What a job's function is given: the period it runs for, and the one way it sends email."""

    job: str
    period: str
    now: datetime
    engine: Engine
    settings: Settings
    catalog_db: Path
    sent: int = 0

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return period_bounds(self.period)

    def deliver(self, *, target: str, to: str, subject: str, body: str,
                attachments: list[tuple[str, str, bytes]] | None = None) -> bool:
        """Email `to` once for this job, period and target (e.g. a user id): False when it went before."""
        with write_session(self.engine) as session:
            if not insert_ignore(session, JobDelivery, {"job": self.job, "period": self.period, "target": target[:120],
                                                        "sent_at": self.now}, ["job", "period", "target"]):
                return False
            send_email(settings=self.settings, session=session, to=to, subject=subject, body=body,
                       attachments=attachments)
        self.sent += 1
        return True


@dataclass(frozen=True)
class Job:
    name: str
    cadence: Cadence
    description: str
    run: Callable[[Run], dict[str, Any]] = field(repr=False)


@dataclass(frozen=True)
class RunResult:
    job: str
    period: str
    status: str  # done | failed | skipped (another process has it, or it is done)
    summary: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunRecord:
    job: str
    period: str
    status: str
    attempts: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None
    error: str | None


def _claim(engine: Engine, *, job: str, period: str, now: datetime) -> bool:
    """Insert the run's row (the lock); else take over a failed or abandoned run that may be retried."""
    worker = worker_name()
    with write_session(engine) as session:
        if insert_ignore(session, JobRun, {"job": job, "period": period, "status": "running", "attempts": 1,
                                           "worker": worker, "started_at": now}, ["job", "period"]):
            return True
        # A process that died mid-run left "running": after STALE it counts as failed (and is retried below).
        session.execute(update(JobRun).where(
            JobRun.job == job, JobRun.period == period, JobRun.status == "running",
            JobRun.started_at < now - STALE).values(
            status="failed", finished_at=now, error=f"abandoned: no result after {STALE} (the process stopped)"))
        # One UPDATE with its condition: of several processes retrying at once, one changes the row.
        taken = session.execute(update(JobRun).where(
            JobRun.job == job, JobRun.period == period, JobRun.status == "failed",
            JobRun.attempts < MAX_ATTEMPTS).values(
            status="running", attempts=JobRun.attempts + 1, worker=worker, started_at=now, finished_at=None,
            error=None))
        return bool(getattr(taken, "rowcount", 0) == 1)


def _finish(engine: Engine, *, job: str, period: str, now: datetime, status: str,
            summary: dict[str, Any] | None, error: str | None) -> None:
    with write_session(engine) as session:
        session.execute(update(JobRun).where(JobRun.job == job, JobRun.period == period).values(
            status=status, finished_at=now, summary=summary, error=error))


def run_job(job: Job, *, engine: Engine, settings: Settings, now: datetime, period: str | None = None) -> RunResult:
    """Run `job` for its period at `now` (or the one given) unless it ran, or runs, elsewhere."""
    period = period or period_of(job.cadence, now)
    if not _claim(engine, job=job.name, period=period, now=now):
        return RunResult(job=job.name, period=period, status="skipped")
    run = Run(job=job.name, period=period, now=now, engine=engine, settings=settings, catalog_db=settings.catalog_db)
    try:
        summary = {**job.run(run), "emails": run.sent}
    except Exception as exc:  # noqa: BLE001 - recorded on the run, which a later call may retry
        error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        _finish(engine, job=job.name, period=period, now=datetime.now(UTC), status="failed",
                summary={"emails": run.sent}, error=error)
        return RunResult(job=job.name, period=period, status="failed", error=error)
    _finish(engine, job=job.name, period=period, now=datetime.now(UTC), status="done", summary=summary, error=None)
    return RunResult(job=job.name, period=period, status="done", summary=summary)


def run_due(*, engine: Engine, settings: Settings, now: datetime, only: str | None = None) -> list[RunResult]:
    """Every registered job (or only the one named) for its period at `now`: each runs at most once per
    period across all processes. Returns what each did here."""
    from .schedule import jobs

    registered = jobs()
    if only is not None and only not in registered:
        raise KeyError(only)
    return [run_job(job, engine=engine, settings=settings, now=now)
            for name, job in registered.items() if only is None or name == only]


def recent_runs(*, engine: Engine, limit: int = 50, job: str | None = None) -> list[RunRecord]:
    statement = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job is not None:
        statement = statement.where(JobRun.job == job)
    with read_session(engine) as session:
        return [RunRecord(job=r.job, period=r.period, status=r.status, attempts=r.attempts, worker=r.worker,
                          started_at=r.started_at, finished_at=r.finished_at, summary=r.summary, error=r.error)
                for r in session.scalars(statement)]
