"""The `drona` command: validate, build, serve and scaffold courses."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from pydantic import ValidationError

from sidecar.auth.roles import Role
from sidecar.settings import REPO_ROOT, Settings

LESSON_TYPES = ("concept", "guided-discovery", "code-along", "sandbox", "challenge", "project-milestone",
                "reflection", "quiz")


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            click.echo(f"configuration error: {where + ': ' if where else ''}{error['msg']}", err=True)
        sys.exit(2)


content_option = click.option("--content", "content_dir", type=click.Path(path_type=Path), default=None,
                              help="Content folder (default: DRONA_CONTENT_DIR or ./content).")
build_dir_option = click.option("--build-dir", type=click.Path(path_type=Path), default=None,
                                help="Output folder for site/ and catalog.db (default: DRONA_BUILD_DIR or ./build).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dronacharya")
def main() -> None:
    """Dronacharya: courses as code, compiled to a learning site, served with its sidecar."""


@main.command("validate")
@content_option
@click.option("--no-run", is_flag=True, help="Skip running reference solutions, starters and quiz code.")
def validate_command(content_dir: Path | None, no_run: bool) -> None:
    """Check every content file; print each problem as path:line: message."""
    from sidecar.courseware.validate import validate

    settings = _settings(DRONA_CONTENT_DIR=content_dir)
    result = validate(settings.DRONA_CONTENT_DIR, Path.cwd(), run_code=not no_run)
    if result.problems:
        for problem in result.problems.sorted():
            click.echo(str(problem))
        files = len({p.path for p in result.problems.items})
        click.echo(f"\n{len(result.problems)} problem(s) in {files} file(s).", err=True)
        sys.exit(1)
    catalog = result.catalog
    click.echo(f"Content OK: {len(catalog.tracks)} tracks, {len(catalog.courses())} courses, "
               f"{len(catalog.lessons())} lessons, {len(catalog.exercises())} exercises, "
               f"{len(catalog.quizzes())} quizzes; {result.programs_run} programs checked.")


def _run_build(settings: Settings, check_code: bool) -> None:
    from sidecar.compiler.build import BuildFailed, build

    try:
        report = build(repo=REPO_ROOT, content_dir=settings.DRONA_CONTENT_DIR, build_dir=settings.DRONA_BUILD_DIR,
                       check_code=check_code, site_url=settings.APP_URL, log=click.echo)
    except BuildFailed as exc:
        if exc.problems:
            for problem in exc.problems.sorted():
                click.echo(str(problem))
        click.echo(f"\nBuild failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Built {report.pages} pages ({report.lessons} lessons, {report.exercises} exercises, "
               f"{report.quizzes} quizzes) in {report.seconds:.1f} s; site {report.site_bytes / 1e6:.1f} MB "
               f"at {report.site_dir}, catalog at {report.catalog_db}.")


@main.command("build")
@content_option
@build_dir_option
@click.option("--no-run", is_flag=True, help="Skip running authored code during validation (faster).")
def build_command(content_dir: Path | None, build_dir: Path | None, no_run: bool) -> None:
    """Validate content, then write the static site and catalog.db."""
    settings = _settings(DRONA_CONTENT_DIR=content_dir, DRONA_BUILD_DIR=build_dir)
    _run_build(settings, check_code=not no_run)


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: DRONA_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: DRONA_PORT or 8000).")
@content_option
@build_dir_option
@click.option("--no-build", is_flag=True, help="Serve the existing build even if content changed.")
def serve_command(host: str | None, port: int | None, content_dir: Path | None, build_dir: Path | None,
                  no_build: bool) -> None:
    """Build if needed, then serve the site and the API (/api) in one process."""
    import uvicorn

    from sidecar.app import create_app
    from sidecar.compiler.build import is_up_to_date

    settings = _settings(DRONA_HOST=host, DRONA_PORT=port, DRONA_CONTENT_DIR=content_dir,
                         DRONA_BUILD_DIR=build_dir)
    if not no_build and not is_up_to_date(REPO_ROOT, settings.DRONA_CONTENT_DIR, settings.DRONA_BUILD_DIR):
        click.echo("Content or site changed since the last build: building.")
        _run_build(settings, check_code=True)
    if not settings.site_dir.is_dir():
        click.echo(f"No site at {settings.site_dir}: run `drona build` first.", err=True)
        sys.exit(1)
    _warm_sandbox()
    click.echo(f"Serving Dronacharya on http://{settings.DRONA_HOST}:{settings.DRONA_PORT} (Ctrl+C to stop)")
    uvicorn.run(create_app(settings, serve_site=True), host=settings.DRONA_HOST, port=settings.DRONA_PORT,
                log_level="warning", access_log=False)


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
    from sidecar.auth.service import create_user
    from sidecar.db.engine import get_engine, write_session
    from sidecar.db.migrate import upgrade
    from sidecar.errors import Conflict

    if len(password) < 8:
        click.echo("error: the password needs at least 8 characters", err=True)
        sys.exit(1)
    settings = _settings()
    upgrade(settings.DATABASE_URL)
    try:
        with write_session(get_engine(settings.DATABASE_URL)) as session:
            user = create_user(session=session, email=email, password=password, display_name=display_name,
                               role=Role(role))
    except Conflict as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Created {role} {user.email} ({user.id}).")


@main.group("new")
def new_group() -> None:
    """Scaffold content with fresh ids (paths are relative to content/tracks)."""


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
    return _settings(DRONA_CONTENT_DIR=content_dir).DRONA_CONTENT_DIR / "tracks"


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
