"""The scheduled jobs, and the clock that runs them inside `drona serve`.

| job | cadence | period | what it does |
|---|---|---|---|
- analytics-fold (hourly, the current hour): folds new events into the dashboards' rollups
  (`sidecar.analytics.service.fold`);
- weekly-digest (weekly, the week just ended): emails each learner active that week, or with an unfinished
  required course, their week;
- team-summary (weekly, the week just ended): emails each team's managers the team's week;
- executive-summary (monthly, the month just ended): emails each organisation's admins the month's summary (PDF);
- skill-inventory (quarterly, the quarter just ended): emails each organisation's admins the skill inventory (CSV).

Assignment reminders and the retention purge stay where they were (`drona serve`'s hourly housekeeping,
`drona remind`, `drona purge`): each reminder is claimed once per assignment and person, and a purge
deletes what is due, so running them twice changes nothing, which is all a job's run-once gives; and the
purge lives in `privacy`, above this package.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from sidecar.analytics.service import fold as analytics_fold
from sidecar.db.base import utcnow
from sidecar.reports.digest import weekly_digests
from sidecar.reports.executive import executive_summaries
from sidecar.reports.messages import Message
from sidecar.reports.skills import skill_inventories
from sidecar.reports.team import team_summaries
from sidecar.settings import Settings

from .service import Job, Run, RunResult, run_due

logger = logging.getLogger("drona.jobs")
TICK_SECONDS = 60


def _send(run: Run, messages: Any) -> dict[str, Any]:
    skipped = 0
    for message in messages:
        assert isinstance(message, Message)
        if not run.deliver(target=message.target, to=message.to, subject=message.subject, body=message.body,
                           attachments=message.attachments or None):
            skipped += 1
    return {"already_sent": skipped}


def _weekly_digest(run: Run) -> dict[str, Any]:
    start, end = run.bounds
    return _send(run, weekly_digests(engine=run.engine, settings=run.settings, catalog_db=run.catalog_db,
                                     start=start, end=end, now=run.now))


def _team_summary(run: Run) -> dict[str, Any]:
    start, end = run.bounds
    return _send(run, team_summaries(engine=run.engine, settings=run.settings, catalog_db=run.catalog_db,
                                     start=start, end=end, now=run.now))


def _executive_summary(run: Run) -> dict[str, Any]:
    start, end = run.bounds
    return _send(run, executive_summaries(engine=run.engine, settings=run.settings, catalog_db=run.catalog_db,
                                          month=run.period, start=start, end=end, now=run.now))


def _skill_inventory(run: Run) -> dict[str, Any]:
    return _send(run, skill_inventories(engine=run.engine, settings=run.settings, catalog_db=run.catalog_db,
                                        quarter=run.period))


def _fold(run: Run) -> dict[str, Any]:
    return {"folded": analytics_fold(engine=run.engine)}


_JOBS: dict[str, Job] = {}


def register(job: Job) -> None:
    """Add a job (another package's): it then runs once per period like the others."""
    _JOBS[job.name] = job


def jobs() -> dict[str, Job]:
    """The registered jobs, by name."""
    return dict(_JOBS)


for _job in (
    Job("analytics-fold", "hourly", "Fold new learning events into the dashboards' rollups.", _fold),
    Job("weekly-digest", "weekly", "Email each learner their week (the week just ended).", _weekly_digest),
    Job("team-summary", "weekly", "Email each team's managers the team's week.", _team_summary),
    Job("executive-summary", "monthly", "Email each organisation's admins last month's summary (PDF).",
        _executive_summary),
    Job("skill-inventory", "quarterly", "Email each organisation's admins the skill inventory (CSV).",
        _skill_inventory),
):
    register(_job)


def tick(*, engine: Engine, settings: Settings, now: datetime | None = None) -> list[RunResult]:
    """One round: every job due now runs here unless another process has it."""
    return run_due(engine=engine, settings=settings, now=now or utcnow())


def start_in_background(settings: Settings) -> threading.Thread:
    """`drona serve`'s scheduler: a daemon thread that ticks once a minute (a failing round is logged and the
    next one tries again; a job's failure is recorded on its run)."""

    def loop() -> None:
        from sidecar.db.engine import get_engine

        while True:
            try:
                engine = get_engine(settings.DATABASE_URL)
                for result in tick(engine=engine, settings=settings):
                    if result.status == "failed":
                        logger.error("job %s for %s failed: %s", result.job, result.period, result.error)
                    elif result.status == "done":
                        logger.info("job %s for %s done: %s", result.job, result.period, result.summary)
            except Exception as exc:  # noqa: BLE001 - a failed round is retried next tick, never fatal
                logger.error("the job scheduler's round failed (%s: %s); the next one is in %s s",
                             type(exc).__name__, exc, TICK_SECONDS)
            time.sleep(TICK_SECONDS)

    thread = threading.Thread(target=loop, name="jobs-scheduler", daemon=True)
    thread.start()
    return thread
