"""The `drona` command: validate, build, serve and scaffold courses, in any content repository.

`drona` works in the content repository around the working directory (sidecar/project.py): its
content/, build/ and data/ folders, never the engine's own, unless told otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from sidecar.auth.roles import Role
from sidecar.courseware.lesson_types import LESSON_TYPES
from sidecar.settings import Settings, env_file

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sidecar.compiler.build import BuildSettings
    from sidecar.courseware.changes import ChangeSet
    from sidecar.courseware.problems import Problem
    from sidecar.learner_model.data import Log


def _settings(**overrides: object) -> Settings:
    try:
        values = {k: v for k, v in overrides.items() if v is not None}
        return Settings(_env_file=env_file(), **values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            click.echo(f"configuration error: {where + ': ' if where else ''}{error['msg']}", err=True)
        sys.exit(2)


def _content_dir(settings: Settings) -> Path:
    """The content folder, or a clear error: drona never falls back to the engine's own content."""
    content = settings.DRONA_CONTENT_DIR
    if not content.is_dir():
        click.echo(f"error: no content folder at {content}\n"
                   "  drona works in a content repository: a folder holding content/, found from the working "
                   "directory upwards.\n  Run it there, pass --content DIR, or set DRONA_CONTENT_DIR. "
                   "To start one: drona new site NAME", err=True)
        sys.exit(2)
    return content.resolve()


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from sidecar.engine import engine_files

    click.echo(engine_files().describe())
    ctx.exit()


content_option = click.option("--content", "content_dir", type=click.Path(path_type=Path), default=None,
                              help="Content folder (default: DRONA_CONTENT_DIR or ./content).")
build_dir_option = click.option("--build-dir", type=click.Path(path_type=Path), default=None,
                                help="Output folder for site/ and catalog.db (default: DRONA_BUILD_DIR or ./build).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the engine's version, commit and Pyodide version, then exit.")
def main() -> None:
    """Dronacharya: courses as code, compiled to a learning site, served with its sidecar."""


changed_since_option = click.option(
    "--changed-since", "ref", metavar="REF", envvar="DRONA_CHANGED_SINCE", default=None,
    help="Only what changed since REF's merge base with HEAD (e.g. origin/main), and what depends on it "
         "(default: DRONA_CHANGED_SINCE).")
summary_option = click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), default=None,
                              help="Append a Markdown summary, fit for a pull-request comment, to this file.")


def _changes(content: Path, ref: str | None) -> ChangeSet | None:
    from sidecar.courseware.changes import ChangeError, changed_files

    if not ref:
        return None
    try:
        return changed_files(content, ref)
    except ChangeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _annotate(problems: list[Problem]) -> None:
    """Problems as GitHub Actions annotations too, so they show on the pull request's files."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for problem in problems:
        message = problem.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        click.echo(f"::error file={problem.path},line={problem.line}::{message}")


@main.command("validate")
@content_option
@click.option("--no-run", is_flag=True, help="Skip running reference solutions, starters and quiz code.")
@changed_since_option
@summary_option
def validate_command(content_dir: Path | None, no_run: bool, ref: str | None, summary: Path | None) -> None:
    """Check every content file; print each problem as path:line: message.

    With --changed-since, the whole tree's structure is still checked, but only the changed
    exercises and quizzes run their code, and only problems in the files the change touched (or
    that depend on them) are reported.
    """
    from sidecar.courseware import summary as summaries
    from sidecar.courseware.changes import affected
    from sidecar.courseware.codechecks import check_code
    from sidecar.courseware.validate import validate

    settings = _settings(DRONA_CONTENT_DIR=content_dir)
    content = _content_dir(settings)
    changes = _changes(content, ref)
    result = validate(content, content.parent, run_code=False)
    catalog = result.catalog
    items = [*catalog.exercises(), *catalog.quizzes(), *catalog.certification_files()]
    if changes is None:
        checked = sorted(item.source.path.resolve() for item in items)
    else:
        scope = affected(catalog, changes, content)
        checked = sorted(scope.code)
    if not no_run:
        wanted = set(checked)
        result.programs_run = check_code(catalog, result.problems, lambda path: path.resolve() in wanted)
    shown, hidden = (result.problems.sorted(), 0) if changes is None else scope.select(result.problems)
    for problem in shown:
        click.echo(str(problem))
    _annotate(list(shown))
    if summary is not None:
        summaries.append(summary, summaries.validation_summary(
            catalog=catalog, problems=result.problems, shown=shown, hidden=hidden,
            changes=changes, checked=checked,
            programs=result.programs_run, ran_code=not no_run))
    if hidden:
        click.echo(f"({hidden} problem(s) in files this change does not touch are not shown.)", err=True)
    if shown:
        files = len({p.path for p in shown})
        click.echo(f"\n{len(shown)} problem(s) in {files} file(s).", err=True)
        sys.exit(1)
    scope_note = ""
    if changes is not None:
        scope_note = (f" Changed since {changes.ref}: {len(changes.all)} file(s); "
                      f"{len(checked)} exercise/quiz file(s) checked.")
    click.echo(f"Content OK: {len(catalog.tracks)} tracks, {len(catalog.courses())} courses, "
               f"{len(catalog.lessons())} lessons, {len(catalog.exercises())} exercises, "
               f"{len(catalog.quizzes())} quizzes; {result.programs_run} programs checked.{scope_note}")


def build_settings(settings: Settings, *, preview: bool = False) -> BuildSettings:
    """The settings a build uses, as build()'s arguments: the compiler itself reads no settings."""
    return {"embedding_model": settings.EMBEDDING_MODEL, "embedding_api_base": settings.AI_API_BASE,
            "embedding_cache": settings.DRONA_EMBED_CACHE, "preview": preview}


def _run_build(settings: Settings, check_code: bool, preview: bool = False) -> None:
    from sidecar.compiler.build import BuildFailed, build

    content = _content_dir(settings)
    try:
        report = build(repo=content.parent, content_dir=content, build_dir=settings.DRONA_BUILD_DIR,
                       check_code=check_code, site_url=settings.APP_URL, log=click.echo,
                       **build_settings(settings, preview=preview))
    except BuildFailed as exc:
        if exc.problems:
            for problem in exc.problems.sorted():
                click.echo(str(problem))
            _annotate(exc.problems.sorted())
        click.echo(f"\nBuild failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Built {report.pages} pages ({report.lessons} lessons, {report.exercises} exercises, "
               f"{report.quizzes} quizzes) in {report.seconds:.1f} s; site {report.site_bytes / 1e6:.1f} MB "
               f"at {report.site_dir}, catalog at {report.catalog_db}.")


preview_option = click.option(
    "--preview", is_flag=True,
    help="A preview build for content creators: draft courses too (those without problems), and a content status "
         "page with every draft's problems. Only content creators can open them.")


@main.command("build")
@content_option
@build_dir_option
@click.option("--no-run", is_flag=True, help="Skip running authored code during validation (faster).")
@preview_option
def build_command(content_dir: Path | None, build_dir: Path | None, no_run: bool, preview: bool) -> None:
    """Validate content, then write the static site and catalog.db."""
    settings = _settings(DRONA_CONTENT_DIR=content_dir, DRONA_BUILD_DIR=build_dir)
    _run_build(settings, check_code=not no_run, preview=preview)


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: DRONA_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: DRONA_PORT or 8000).")
@content_option
@build_dir_option
@click.option("--no-build", is_flag=True, help="Serve the existing build even if content changed.")
@click.option("--watch", is_flag=True,
              help="Rebuild when content (or mkdocs.yml) is saved, and reload the pages open in the browser.")
@preview_option
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Sidecar processes sharing the port (uvicorn workers). More than 1 needs REDIS_URL: live "
                   "updates and rate limits cross processes through it (docs/scale-out.md).")
def serve_command(host: str | None, port: int | None, content_dir: Path | None, build_dir: Path | None,
                  no_build: bool, watch: bool, preview: bool, workers: int) -> None:
    """Build if needed, then serve the site and the API (/api): in one process, or in --workers N."""
    import uvicorn

    from sidecar.app import create_app
    from sidecar.compiler.build import is_up_to_date

    settings = _settings(DRONA_HOST=host, DRONA_PORT=port, DRONA_CONTENT_DIR=content_dir,
                         DRONA_BUILD_DIR=build_dir)
    if watch and no_build:
        click.echo("error: --watch rebuilds on every save, so it cannot be combined with --no-build", err=True)
        sys.exit(2)
    if workers > 1 and watch:
        click.echo("error: --watch reloads pages from one process: use it with --workers 1", err=True)
        sys.exit(2)
    if workers > 1 and not settings.REDIS_URL:
        click.echo("error: --workers above 1 needs REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it each "
                   "process would keep its own live updates and AI rate limits, so a tab served by one process "
                   "would miss what another awarded. See docs/scale-out.md.", err=True)
        sys.exit(2)
    reloads, watcher = None, None
    if watch:
        from sidecar.compiler.watch import Watcher
        from sidecar.web.livereload import LiveReload

        reloads = LiveReload()
        watcher = Watcher(content_dir=_content_dir(settings), build_dir=settings.DRONA_BUILD_DIR,
                          site_url=settings.APP_URL, log=lambda line: click.echo(f"watch: {line}"),
                          on_built=reloads.built, on_failed=reloads.failed,
                          build_options=build_settings(settings, preview=preview))
    if not no_build:
        content = _content_dir(settings)
        if is_up_to_date(content, settings.DRONA_BUILD_DIR, project=content.parent, preview=preview):
            if watcher is not None:
                watcher.mark_current()
        elif watcher is not None and settings.site_dir.is_dir():
            # A broken save must not stop the preview: keep serving the last good build.
            click.echo("Content or site changed since the last build: building.")
            watcher.rebuild()
        else:
            click.echo("Content or site changed since the last build: building.")
            _run_build(settings, check_code=True, preview=preview)
            if watcher is not None:
                watcher.mark_current()
    if not settings.site_dir.is_dir():
        click.echo(f"No site at {settings.site_dir}: run `drona build` first.", err=True)
        sys.exit(1)
    if workers > 1:
        _serve_workers(settings, workers)
        return
    if not settings.GRADER_QUEUE_URL:  # with the grader fleet, learner code never runs here
        _warm_sandbox()
    # They start once the app has upgraded the database: a fresh one has no tables before that.
    app = create_app(settings, serve_site=True, live_reload=reloads, background=_background(settings))
    click.echo(f"Serving Dronacharya on http://{settings.DRONA_HOST}:{settings.DRONA_PORT} (Ctrl+C to stop)")
    if watcher is not None:
        click.echo(f"Watching {watcher.describe()} for changes.")
        watcher.start()
    try:
        # Open event streams (tutor replies, live reload) get a moment to finish, not forever.
        uvicorn.run(app, host=settings.DRONA_HOST, port=settings.DRONA_PORT, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=3)
    finally:
        if watcher is not None:
            watcher.stop()


def _serve_workers(settings: Settings, workers: int) -> None:
    """`drona serve --workers N`: uvicorn's supervisor binds the port once and runs N worker processes
    (`worker_app`), restarting any that dies. The background work (hourly housekeeping, the job
    scheduler, the LRS forwarder) runs once, here in the supervisor, not in every worker."""
    import uvicorn

    from sidecar.db.engine import get_engine, is_sqlite
    from sidecar.db.migrate import upgrade

    if is_sqlite(get_engine(settings.DATABASE_URL)):
        # Once, before the workers start: N processes migrating one fresh SQLite file at once would collide.
        upgrade(settings.DATABASE_URL)
    # The workers read their settings from the environment: pass on what the command line changed.
    os.environ.update({"DRONA_HOST": settings.DRONA_HOST, "DRONA_PORT": str(settings.DRONA_PORT),
                       "DRONA_CONTENT_DIR": str(settings.DRONA_CONTENT_DIR),
                       "DRONA_BUILD_DIR": str(settings.DRONA_BUILD_DIR)})
    for start in _background(settings):
        start(settings)
    click.echo(f"Serving Dronacharya on http://{settings.DRONA_HOST}:{settings.DRONA_PORT} with {workers} worker "
               "processes (Ctrl+C to stop)")
    uvicorn.run("sidecar.cli:worker_app", factory=True, workers=workers, host=settings.DRONA_HOST,
                port=settings.DRONA_PORT, log_level="warning", access_log=False, timeout_graceful_shutdown=3)


def worker_app() -> FastAPI:
    """One worker process of `drona serve --workers N` (uvicorn imports it by name): the site and the API,
    with the settings the supervisor passed on in the environment."""
    from sidecar.app import create_app

    settings = _settings()
    if not settings.GRADER_QUEUE_URL:  # with the grader fleet, learner code never runs here
        _warm_sandbox()
    return create_app(settings, serve_site=True)


def _background(settings: Settings) -> list[Callable[[Settings], object]]:
    """What `drona serve` runs beside the requests: housekeeping every hour, the LRS forwarder, the jobs."""
    background: list[Callable[[Settings], object]] = [_remind_hourly]
    if settings.LRS_URL:
        from sidecar.xapi.forward import start_in_background as forward_statements

        background.append(forward_statements)
    if settings.JOBS_IN_SERVE:
        from sidecar.jobs.schedule import start_in_background as schedule_jobs

        background.append(schedule_jobs)
    return background


REMIND_EVERY_SECONDS = 3600


def _remind_hourly(settings: Settings) -> None:
    """Send assignment reminders and apply organisations' retention periods now and then every hour, in
    the background (each reminder is sent once and a purge deletes what is due, so several processes
    doing this at once change nothing twice)."""
    import threading
    import time

    def loop() -> None:
        from sidecar.assignments.service import send_due_reminders
        from sidecar.db.base import utcnow
        from sidecar.db.engine import get_engine
        from sidecar.privacy.service import purge_expired

        while True:
            try:
                engine = get_engine(settings.DATABASE_URL)
                send_due_reminders(engine=engine, settings=settings, catalog_db=settings.catalog_db, now=utcnow())
                purge_expired(engine=engine, now=utcnow())
            except Exception as exc:  # noqa: BLE001 - a failed round is retried in an hour, never fatal
                click.echo(f"warning: hourly housekeeping failed: {type(exc).__name__}: {exc}", err=True)
            time.sleep(REMIND_EVERY_SECONDS)

    threading.Thread(target=loop, name="assignment-reminders", daemon=True).start()


@main.command("remind")
def remind_command() -> None:
    """Email learners about assignments due within 3 days or overdue (each notice once). `drona serve`
    does this every hour; run it from cron when the sidecar runs another way."""
    from sidecar.assignments.service import send_due_reminders
    from sidecar.db.base import utcnow
    from sidecar.db.migrate import upgrade

    settings = _settings()
    engine = upgrade(settings.DATABASE_URL)
    sent = send_due_reminders(engine=engine, settings=settings, catalog_db=settings.catalog_db, now=utcnow())
    click.echo(f"Sent {sent.due_soon} due-soon reminder(s) and {sent.overdue} overdue notice(s).")


@main.command("grader")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Submissions graded at once: the sandbox pool's size (default: GRADER_THREADS).")
@click.option("--status", "show_status", is_flag=True,
              help="Print the queue's depth, its dead letters and the jobs by state as JSON, then exit.")
def grader_command(threads: int | None, show_status: bool) -> None:
    """A grader of the fleet: consume GRADER_QUEUE_URL's queue with a sandbox pool of its own and record
    verdicts in DATABASE_URL (the same database and build as the sidecar). Run any number, anywhere;
    stop with SIGTERM or Ctrl-C (unfinished submissions go back to the queue). docs/scale-out.md."""
    import logging

    from sidecar.grading import fleet

    settings = _settings(GRADER_THREADS=threads)
    if not settings.GRADER_QUEUE_URL:
        click.echo("error: GRADER_QUEUE_URL is not set (a Redis URL, e.g. redis://127.0.0.1:6379/1)", err=True)
        sys.exit(2)
    if show_status:
        from sidecar.db.engine import get_engine

        click.echo(json.dumps(fleet.fleet_status(engine=get_engine(settings.DATABASE_URL), settings=settings)))
        return
    if not settings.catalog_db.is_file():
        click.echo(f"error: no catalog at {settings.catalog_db}: run `drona build` (the grader reads exercises "
                   "from the same build as the sidecar)", err=True)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    fleet.run_grader(settings)


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: the weekly digest and team summary, the monthly executive summary, the quarterly skill
    inventory, the analytics rollups. Each runs once per period, however many processes try."""


@jobs_group.command("run")
@click.option("--job", "name", default=None, help="Only this job (default: every job that is due).")
@click.option("--at", "at", default=None, metavar="ISO",
              help="Run as of this moment (ISO 8601, e.g. 2026-12-07T06:00:00+00:00; default: now), which picks the "
                   "period: the week, month or quarter just ended before it.")
def jobs_run_command(name: str | None, at: str | None) -> None:
    """Run every job due now (for cron or a Kubernetes CronJob; `drona serve` does this every minute unless
    JOBS_IN_SERVE=false). A job that already ran for its period, here or elsewhere, is skipped."""
    from datetime import UTC, datetime

    from sidecar.db.base import utcnow
    from sidecar.db.migrate import upgrade
    from sidecar.jobs.service import run_due

    now = utcnow()
    if at is not None:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            click.echo(f"error: --at takes an ISO 8601 moment, not {at!r}", err=True)
            sys.exit(2)
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    settings = _settings()
    try:
        results = run_due(engine=upgrade(settings.DATABASE_URL), settings=settings, now=now, only=name)
    except KeyError:
        from sidecar.jobs.schedule import jobs

        click.echo(f"error: no job named {name!r}; jobs: {', '.join(jobs())}", err=True)
        sys.exit(2)
    for result in results:
        detail = result.error if result.status == "failed" else json.dumps(result.summary) if result.summary else ""
        click.echo(f"{result.job} {result.period}: {result.status}{' ' + detail if detail else ''}")
    if any(result.status == "failed" for result in results):
        sys.exit(1)


@jobs_group.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="How many recent runs to show.")
def jobs_list_command(limit: int) -> None:
    """The jobs and their cadence, then the latest runs: period, status, attempts, when, where, summary or error."""
    from sidecar.db.migrate import upgrade
    from sidecar.jobs.schedule import jobs
    from sidecar.jobs.service import recent_runs

    settings = _settings()
    for job in jobs().values():
        click.echo(f"{job.name:<18} {job.cadence:<9} {job.description}")
    runs = recent_runs(engine=upgrade(settings.DATABASE_URL), limit=limit)
    click.echo("")
    if not runs:
        click.echo("No runs yet.")
    for run in runs:
        finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "-"
        detail = run.error if run.error else json.dumps(run.summary) if run.summary else ""
        click.echo(f"{run.job:<18} {run.period:<14} {run.status:<8} x{run.attempts} "
                   f"{run.started_at:%Y-%m-%d %H:%M:%S} → {finished} {run.worker} {detail}".rstrip())


@main.command("purge")
def purge_command() -> None:
    """Apply every organisation's retention period: delete its members' tutor conversations idle longer,
    and their kept draft versions older. `drona serve` does this every hour."""
    from sidecar.db.base import utcnow
    from sidecar.db.migrate import upgrade
    from sidecar.privacy.service import purge_expired

    settings = _settings()
    removed = purge_expired(engine=upgrade(settings.DATABASE_URL), now=utcnow())
    click.echo(f"Deleted {removed['conversations']} conversation(s) and {removed['draft_versions']} kept draft "
               "version(s).")


def _warm_sandbox() -> None:
    """Start the grading sandbox's workers in the background, so the first submission is not slow."""
    import threading

    def warm() -> None:
        from sidecar.sandbox import SandboxUnavailable, get_sandbox

        try:
            get_sandbox()
        except SandboxUnavailable as exc:
            click.echo(f"warning: server-side grading is unavailable: {exc}", err=True)

    threading.Thread(target=warm, name="sandbox-warmup", daemon=True).start()


@main.command("leak-check")
@content_option
@build_dir_option
@changed_since_option
@summary_option
def leak_check_command(content_dir: Path | None, build_dir: Path | None, ref: str | None,
                       summary: Path | None) -> None:
    """Ask the tutor for each exercise's solution in many ways; fail if any reply gives it away.

    Runs against the last build (run `drona build` first), offline unless AI_MODEL is set, in a
    throwaway learner database. With --changed-since, only the exercises the change added or
    edited are attacked.
    """
    from sidecar.agents.guard.leaksuite import report_markdown, run_leak_suite
    from sidecar.compiler.build import is_up_to_date
    from sidecar.courseware import summary as summaries
    from sidecar.courseware.validate import validate

    settings = _settings(DRONA_CONTENT_DIR=content_dir, DRONA_BUILD_DIR=build_dir)
    content = _content_dir(settings)
    if not settings.catalog_db.is_file():
        click.echo(f"error: no build at {settings.DRONA_BUILD_DIR}: run `drona build` first", err=True)
        sys.exit(2)
    # A preview build serves drafts to content creators: their tutor must not leak either.
    if not any(is_up_to_date(content, settings.DRONA_BUILD_DIR, project=content.parent, preview=preview)
               for preview in (False, True)):
        click.echo("error: the build is older than the content: run `drona build` first", err=True)
        sys.exit(2)
    catalog = validate(content, content.parent, run_code=False).catalog
    exercises = catalog.exercises()
    changes = _changes(content, ref)
    if changes is not None:
        touched = {p.resolve() for p in changes.added | changes.modified}
        exercises = [e for e in exercises if e.source.path.resolve() in touched]
    if not exercises:
        text = "## Tutor leak check\n\nNo exercise changed: nothing to check.\n"
        click.echo("No exercise to check" + (f" (none changed since {ref})." if ref else "."))
        if summary is not None:
            summaries.append(summary, text)
        return
    try:
        paths = {e.id: e.source.path.resolve().relative_to(content.parent).as_posix() for e in exercises}
        report = run_leak_suite(settings=settings, exercise_ids=list(paths), log=click.echo, source_paths=paths)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    markdown = report_markdown(report)
    if summary is not None:
        summaries.append(summary, markdown)
    for finding in report.findings:
        click.echo(f"LEAK {finding.source_path or finding.exercise_id}: {finding.attack[:60]!r} "
                   f"({finding.intent}): {finding.detail}")
    click.echo(f"{len(report.exercises)} exercise(s), {report.messages} messages, {len(report.findings)} leak(s) "
               f"({report.mode}).")
    if report.findings:
        sys.exit(1)


@main.group("learner-model")
def learner_model_group() -> None:
    """The learner model: fit it on a log, or check it against a baseline and BKT (docs/analytics.md)."""


def _read_logs(*paths: Path) -> list[Log]:
    """Read every log, or print every bad row of all of them (path:line: message) and exit 1."""
    from sidecar.learner_model.data import LogError, read_csv

    logs: list[Log] = []
    problems: list[str] = []
    for path in paths:
        try:
            logs.append(read_csv(path))
        except LogError as exc:
            problems.extend(exc.problems)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"{len(problems)} problem(s); expected CSV columns user_id,skill_id,correct,timestamp", err=True)
        sys.exit(1)
    return logs


@learner_model_group.command("evaluate")
@click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV log to fit on: user_id,skill_id,correct,timestamp (header required).")
@click.option("--test", "test_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV log to score, same columns; its learners may be new.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def learner_model_evaluate_command(train_path: Path, test_path: Path, as_json: bool) -> None:
    """Fit on TRAIN; print AUC, log-loss and RMSE on TEST for the model, a constant and textbook BKT."""
    from sidecar.learner_model.evaluate import evaluate, table

    train, test = _read_logs(train_path, test_path)
    result = evaluate(train, test)
    if as_json:
        body = {k: v for k, v in result.to_json().items() if k != "params"}
        click.echo(json.dumps({**body, "decay": result.params.decay}, indent=1))
        return
    click.echo(f"train: {result.train_rows} rows; test: {result.test_rows} rows; fitted decay {result.params.decay}")
    click.echo(table(result.scores))


@learner_model_group.command("fit")
@click.option("--train", "train_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV log to fit on: user_id,skill_id,correct,timestamp (header required).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the parameters (JSON), for LEARNER_MODEL_PARAMS.")
def learner_model_fit_command(train_path: Path, out_path: Path) -> None:
    """Fit the learner model on a log and write its parameters."""
    from sidecar.learner_model.model import fit

    (train,) = _read_logs(train_path)
    params = fit(train)
    params.save(out_path)
    click.echo(f"Fitted on {len(train)} rows, {len(train.user_ids)} learners, {len(params.skills)} skills; "
               f"wrote {out_path}.")


@main.group("xapi")
def xapi_group() -> None:
    """The learning record: every learning event as an xAPI statement, optionally forwarded to an LRS."""


@xapi_group.command("forward")
def xapi_forward_command() -> None:
    """Send the statements waiting for the LRS (LRS_URL) now, in batches; `drona serve` does this every few
    seconds. Failed ones stay queued with a back-off; exits 1 when any failed."""
    from sidecar.db.migrate import upgrade
    from sidecar.xapi.forward import Lrs, drain

    settings = _settings()
    if not settings.LRS_URL:
        click.echo("error: LRS_URL is not set: there is no LRS to forward statements to.", err=True)
        sys.exit(2)
    engine = upgrade(settings.DATABASE_URL)
    result = drain(engine=engine, lrs=Lrs.from_settings(settings))
    click.echo(f"Sent {result.sent} statement(s); {result.failed} failed; {result.waiting} waiting.")
    if result.failed:
        click.echo(f"error: {result.last_error}", err=True)
        sys.exit(1)


@main.group("db")
def db_group() -> None:
    """The learner database (DATABASE_URL)."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Apply every pending migration (drona serve does this itself for SQLite)."""
    from sqlalchemy.exc import OperationalError

    from sidecar.db.migrate import current_revision, upgrade

    settings = _settings()
    try:
        upgrade(settings.DATABASE_URL)
        revision = current_revision(settings.DATABASE_URL)
    except OperationalError as exc:
        click.echo(f"error: cannot reach the database: {exc.orig}", err=True)
        sys.exit(1)
    click.echo(f"Database is at revision {revision}.")


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def db_backup_command(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH, consistently, while drona serve runs (PostgreSQL: pg_dump)."""
    from sidecar.db.backup import BackupError, backup

    settings = _settings()
    try:
        info = backup(url=settings.DATABASE_URL, dest=path, force=force)
    except BackupError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"Backed up to {info.path}: {_size(info.size)}, {info.tables} tables, revision {info.revision}.")


@db_group.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm replacing the current database (it is kept aside first).")
def db_restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH, then migrate it to the current schema."""
    from sidecar.db.backup import BackupError, check_backup, restore, sqlite_database

    settings = _settings()
    try:
        target = sqlite_database(url=settings.DATABASE_URL)
        if not yes:
            info = check_backup(path=path)
            click.echo(f"error: this replaces the database at {target} with {path} (revision {info.revision}); "
                       "pass --yes to confirm. The current database is kept as "
                       f"{target.name}.before-restore-<UTC time>.", err=True)
            sys.exit(2)
        result = restore(url=settings.DATABASE_URL, source=path)
    except BackupError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    if result.saved_as:
        click.echo(f"Kept the previous database as {result.saved_as}.")
    click.echo(f"Restored {result.target} from {path} (revision {result.source.revision}); "
               f"now at revision {result.revision}.")


@main.group("admin")
def admin_group() -> None:
    """Administration from the command line."""


@admin_group.command("create-user")
@click.option("--email", required=True)
@click.option("--display-name", default="Administrator", show_default=True)
@click.option("--role", type=click.Choice([r.value for r in Role]),
              default="super_admin", show_default=True)
@click.password_option("--password", help="Asked for when not given (never echoed).")
def create_user_command(email: str, display_name: str, role: str, password: str) -> None:
    """Create an account with a role, e.g. the first super admin."""
    from sidecar.auth.service import check_new_account, create_user
    from sidecar.db.engine import get_engine, write_session
    from sidecar.db.migrate import upgrade
    from sidecar.errors import DomainError

    try:
        # The sign-in API's rules, checked before touching the database.
        check_new_account(email=email, password=password, display_name=display_name)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    settings = _settings()
    upgrade(settings.DATABASE_URL)
    try:
        with write_session(get_engine(settings.DATABASE_URL)) as session:
            user = create_user(session=session, email=email, password=password, display_name=display_name,
                               role=Role(role))
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Created {role} {user.email} ({user.id}).")


@main.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The issuer's keys (GET /api/issuer/keys) for a bare credential; a bundle carries its own.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(file: Path, keys_file: Path | None, as_json: bool) -> None:
    """Verify a certificate offline: a bundle (signature, revocation, log inclusion) or a bare credential.

    Exits 0 when every check passes, 1 otherwise. Nothing is fetched from the network: the JSON-LD
    contexts are bundled, the keys come from the file(s) given.
    """
    from sidecar.credentials.bundle import verify_bundle, verify_credential_only

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        keys = json.loads(keys_file.read_text(encoding="utf-8")) if keys_file else None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        click.echo(f"error: {file}: not a JSON file ({exc})", err=True)
        sys.exit(1)
    if isinstance(document, dict) and "credential" in document:
        report = verify_bundle(document)
    elif isinstance(document, dict):
        methods = keys if isinstance(keys, list) else (keys or {}).get("verificationMethod", []) if keys else []
        report = verify_credential_only(document, methods)
    else:
        click.echo(f"error: {file}: expected a credential or a verification bundle (a JSON object)", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail}
                                                            for c in report.checks]}, indent=2))
    else:
        for check in report.checks:
            click.echo(f"{'ok ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        click.echo("VALID: every check passed." if report.ok else "NOT VALID: see the failed checks above.")
    sys.exit(0 if report.ok else 1)


@main.group("issuer")
def issuer_group() -> None:
    """The certificate issuer's signing keys."""


@issuer_group.command("rotate-key")
def rotate_key_command() -> None:
    """Retire the signing key and start signing with a new one; old credentials keep verifying."""
    from sidecar.certificates.service import rotate_key
    from sidecar.db.engine import get_engine
    from sidecar.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.DATABASE_URL)
    new_key = rotate_key(engine=get_engine(settings.DATABASE_URL), settings=settings)
    click.echo(f"Now signing with {new_key}; earlier keys stay published at /api/issuer/keys.")


@main.group("new")
def new_group() -> None:
    """Scaffold a content repository, or content with fresh ids (paths relative to content/tracks)."""


def _report(action: object) -> None:
    from sidecar.courseware.scaffold import ScaffoldError

    try:
        created = action()  # type: ignore[operator]
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for path in created:
        click.echo(f"created {path}")
    click.echo("Next: edit it, then run `drona validate`.")


def _tracks(content_dir: Path | None) -> Path:
    return _content_dir(_settings(DRONA_CONTENT_DIR=content_dir)) / "tracks"


@new_group.command("site")
@click.argument("name", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default=None, help="The site's name (default: from NAME).")
@click.option("--engine-repo", default=None, metavar="URL",
              help="Git repository CI installs the engine from (default: where this engine came from).")
@click.option("--engine-commit", default=None, metavar="SHA",
              help="Full commit id of the engine to pin (default: this engine's commit).")
def new_site_command(name: Path, title: str | None, engine_repo: str | None, engine_commit: str | None) -> None:
    """Create a content repository NAME: a first course, mkdocs.yml, README and CI workflows."""
    from sidecar.courseware.newsite import engine_pin, new_site
    from sidecar.courseware.scaffold import ScaffoldError
    from sidecar.engine import engine_files

    try:
        pin = engine_pin(engine_files(), repo=engine_repo, commit=engine_commit)
        created = new_site(name, title=title, pin=pin)
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Created {len(created)} files in {name}, pinned to engine {pin.commit[:12]} from {pin.repo}.")
    click.echo(f"Next: cd {name} && git init && scripts/install-engine, then `drona serve --watch`.")


@new_group.command("course")
@click.argument("track")
@click.argument("slug")
@content_option
def new_course_command(track: str, slug: str, content_dir: Path | None) -> None:
    """Add course SLUG to TRACK (e.g. `drona new course python-developer my-course`)."""
    from sidecar.courseware import scaffold

    _report(lambda: scaffold.new_course(_tracks(content_dir), track, slug))


@new_group.command("module")
@click.argument("course")
@click.argument("slug")
@content_option
def new_module_command(course: str, slug: str, content_dir: Path | None) -> None:
    """Add module SLUG to COURSE (TRACK/COURSE), with a first lesson."""
    from sidecar.courseware import scaffold

    _report(lambda: scaffold.new_module(_tracks(content_dir), course, slug))


@new_group.command("lesson")
@click.argument("module")
@click.argument("slug")
@click.option("--type", "lesson_type", type=click.Choice(LESSON_TYPES), default="concept", show_default=True)
@content_option
def new_lesson_command(module: str, slug: str, lesson_type: str, content_dir: Path | None) -> None:
    """Add lesson SLUG to MODULE (TRACK/COURSE/MODULE)."""
    from sidecar.courseware import scaffold

    _report(lambda: scaffold.new_lesson(_tracks(content_dir), module, slug, lesson_type))


@new_group.command("exercise")
@click.argument("module")
@click.argument("slug")
@click.option("--lesson", default=None, help="Place it at the end of this lesson (its slug).")
@content_option
def new_exercise_command(module: str, slug: str, lesson: str | None, content_dir: Path | None) -> None:
    """Add exercise SLUG to MODULE (TRACK/COURSE/MODULE)."""
    from sidecar.courseware import scaffold

    _report(lambda: scaffold.new_exercise(_tracks(content_dir), module, slug, lesson))


@new_group.command("quiz")
@click.argument("module")
@click.argument("slug")
@click.option("--lesson", default=None, help="Place it at the end of this lesson (its slug).")
@content_option
def new_quiz_command(module: str, slug: str, lesson: str | None, content_dir: Path | None) -> None:
    """Add quiz SLUG to MODULE (TRACK/COURSE/MODULE)."""
    from sidecar.courseware import scaffold

    _report(lambda: scaffold.new_quiz(_tracks(content_dir), module, slug, lesson))


if __name__ == "__main__":
    main()
