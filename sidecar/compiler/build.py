"""`drona build`: validate, generate pages, run MkDocs, add assets, write catalog.db."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import yaml

from sidecar.courseware.problems import Problems
from sidecar.courseware.validate import validate
from sidecar.engine import EngineFiles, engine_files

from . import assets, csp, drafts
from .catalogdb import write_catalog_db
from .inputs import inputs_digest
from .pages import app_urls, write_pages
from .vectors import DEFAULT_MODEL, vector_writer

STAMP = "build.json"
PROJECT_CONFIG = "mkdocs.yml"


def content_commit(content_dir: Path) -> str:
    """The git commit of the content (certificates cite it as evidence); "unknown" outside git.

    A working tree with uncommitted changes gets a "-dirty" suffix: the commit alone would not
    name what was compiled.
    """
    try:
        head = subprocess.run(["git", "-C", str(content_dir), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(content_dir), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head or "unknown"


class BuildFailed(Exception):
    def __init__(self, message: str, problems: Problems | None = None) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class BuildReport:
    site_dir: Path
    catalog_db: Path
    pages: int = 0
    lessons: int = 0
    exercises: int = 0
    quizzes: int = 0
    programs_checked: int = 0
    seconds: float = 0.0
    stages: list[tuple[str, float]] = field(default_factory=list)
    site_bytes: int = 0
    inline_scripts: int = 0  # distinct inline scripts the Content-Security-Policy allows by hash


def project_config(project: Path, engine: EngineFiles) -> Path | None:
    """The content repository's own mkdocs.yml, when it has one apart from the engine's."""
    config = project / PROJECT_CONFIG
    if not config.is_file() or config.resolve() == engine.mkdocs_yml.resolve():
        return None
    return config


def is_up_to_date(content_dir: Path, build_dir: Path, *, project: Path | None = None,
                  engine: EngineFiles | None = None, preview: bool = False) -> bool:
    """Whether the build matches the content, and is of the kind asked for (a preview or a normal one)."""
    engine = engine or engine_files()
    stamp = build_dir / STAMP
    if not stamp.is_file() or not (build_dir / "catalog.db").is_file() or not (build_dir / "site").is_dir():
        return False
    if not (build_dir / csp.SITE_POLICY_FILE).is_file():
        return False  # built before the site had a Content-Security-Policy
    try:
        stamped = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if not isinstance(stamped, dict) or bool(stamped.get("preview")) != preview:
        return False
    recorded = stamped.get("inputs")
    config = project_config(project or content_dir.parent, engine)
    return bool(recorded == inputs_digest(content_dir, project_config=config, engine=engine))


def _list_values(config: Path, key: str) -> list[Any]:
    """A top-level list in the project's mkdocs.yml (plain YAML only; tagged values are left to MkDocs)."""
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    value = data.get(key) if isinstance(data, dict) else None
    return list(value) if isinstance(value, list) else []


def _base_config(staging: Path, engine: EngineFiles, project: Path | None) -> tuple[Path, dict[str, Any]]:
    """The file the generated config INHERITs, and list settings merged from engine and project.

    A content repository's mkdocs.yml inherits the engine's: a staged copy of it INHERITs the
    engine's mkdocs.yml, so MkDocs merges the two its usual way (the project wins). MkDocs
    replaces lists rather than merging them, so the engine's stylesheet, script and Markdown
    extensions are kept by listing them again with the project's own after them.
    """
    if project is None:
        return engine.mkdocs_yml, {}
    text = project.read_text(encoding="utf-8")
    staged = staging / "project-mkdocs.yml"
    staged.write_text(f"INHERIT: {json.dumps(str(engine.mkdocs_yml))}\n{text}", encoding="utf-8")
    merged: dict[str, Any] = {}
    for key in ("extra_css", "extra_javascript", "markdown_extensions"):
        own = _list_values(project, key)
        if own:
            base = _list_values(engine.mkdocs_yml, key)
            names = {next(iter(item)) if isinstance(item, dict) else item for item in own}
            kept = [item for item in base if (next(iter(item)) if isinstance(item, dict) else item) not in names]
            merged[key] = kept + own
    return staged, merged


def _generated_config(base: Path, engine: EngineFiles, docs: Path, site_dir: Path, nav: list[Any], pyodide: str,
                      site_url: str, merged: dict[str, Any]) -> dict[str, Any]:
    return {
        "INHERIT": str(base),
        "docs_dir": str(docs),
        "site_dir": str(site_dir),
        # Material's instant navigation follows only links listed in sitemap.xml, which needs
        # site_url; `drona serve` rewrites the sitemap to the address it is reached at.
        "site_url": site_url.rstrip("/") + "/",
        "nav": nav,
        "theme": {"name": "material", "custom_dir": str(engine.site_dir / "overrides")},
        # Every page carries extra.drona in its drona-config meta tag (site/overrides/main.html), so
        # the front end reads these without a request of its own: site/src/config.js.
        "extra": {"drona": {"pyodide": f"pyodide/{pyodide}/", "api": "api/",
                            "snapshot": f"pyodide/{pyodide}/{assets.SNAPSHOT}", "pages": app_urls()}},
        **merged,
    }


def _run_mkdocs(config_file: Path) -> None:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    # MkDocs logs every page at INFO; keep the build output to our own stage lines.
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file))
        mkdocs_build(config)
    except MkDocsException as exc:
        raise BuildFailed(f"MkDocs failed: {exc}") from None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class BuildSettings(TypedDict):
    """The settings a build uses, passed as build()'s arguments: the compiler reads no settings."""

    embedding_model: str
    embedding_api_base: str | None
    embedding_cache: str
    preview: bool  # `--preview`: draft courses too, for content creators


DEFAULT_BUILD_SETTINGS = BuildSettings(embedding_model=DEFAULT_MODEL, embedding_api_base=None, embedding_cache="",
                                       preview=False)


def build(
    *,
    content_dir: Path,
    build_dir: Path,
    repo: Path | None = None,
    check_code: bool = True,
    site_url: str = "http://127.0.0.1:8000/",
    log: Callable[[str], None] = print,
    embedding_model: str = DEFAULT_MODEL,
    embedding_api_base: str | None = None,
    embedding_cache: str = "",
    engine: EngineFiles | None = None,
    code_filter: Callable[[Path], bool] | None = None,
    preview: bool = False,
) -> BuildReport:
    """Build the static site and catalog.db; raises BuildFailed with every problem.

    repo: the content repository's root (default: content_dir's parent): problems are reported
    relative to it, and its mkdocs.yml, if any, is merged over the engine's.
    embedding_model, embedding_api_base, embedding_cache: the EMBEDDING_MODEL, AI_API_BASE and
    DRONA_EMBED_CACHE settings for the lesson vectors (`none`: no vectors, lexical retrieval only).
    The build reads no global settings: its caller (`drona build`, `drona serve --watch`) passes them.
    code_filter: run authored code only for exercise and quiz files it accepts (None: all).
    preview: also build draft courses (those without problems) and the content status page; the
    sidecar lets only content creators open them (catalog.db's meta says which paths).
    """
    started = time.perf_counter()
    engine = engine or engine_files()
    project = repo or content_dir.parent
    site_dir = build_dir / "site"
    report = BuildReport(site_dir=site_dir, catalog_db=build_dir / "catalog.db")
    total_stages = 5

    def stage(number: int, name: str, action: Callable[[], Any]) -> Any:
        log(f"[{number}/{total_stages}] {name} ...")
        t0 = time.perf_counter()
        value = action()
        elapsed = time.perf_counter() - t0
        report.stages.append((name, elapsed))
        log(f"[{number}/{total_stages}] {name}: done in {elapsed:.1f} s")
        return value

    result = stage(1, "validate content", lambda: validate(content_dir, project, run_code=check_code,
                                                         code_filter=code_filter))
    split = drafts.split_problems(result.catalog, result.problems)
    if split.blocking:
        raise BuildFailed(f"{len(split.blocking)} problem(s) in content", split.blocking)
    for course in result.catalog.drafts():
        count = len(split.by_draft[course.id])
        what = f"{count} problem(s), left out" if count else ("built" if preview else "left out: not published")
        log(f"draft course {course.data['title']!r}: {what}")
    broken = {course_id for course_id, problems in split.by_draft.items() if problems}
    catalog = drafts.publishable(result.catalog, preview=preview, broken=broken)
    report.programs_checked = result.programs_run
    try:
        pyodide = assets.pyodide_version(engine)
    except assets.AssetError as exc:
        raise BuildFailed(str(exc)) from None

    staging = build_dir / "staging"
    docs = staging / "docs"
    if staging.exists():
        shutil.rmtree(staging)
    docs.mkdir(parents=True)
    pageset = stage(2, "generate pages", lambda: write_pages(catalog, docs))
    if preview:
        (docs / drafts.STATUS_PAGE).parent.mkdir(parents=True, exist_ok=True)
        (docs / drafts.STATUS_PAGE).write_text(drafts.status_page(result.catalog, split), encoding="utf-8")
        pageset.nav.append({"Content status": drafts.STATUS_PAGE})

    def make_assets() -> None:
        assets.bundle_scripts(engine, docs / "assets" / "drona")
        assets.copy_static(engine, docs / "assets" / "drona")

    try:
        stage(3, "bundle scripts", make_assets)
    except assets.AssetError as exc:
        raise BuildFailed(str(exc)) from None
    config_path = project_config(project, engine)
    base, merged = _base_config(staging, engine, config_path)
    config_file = staging / "mkdocs.yml"
    config = _generated_config(base, engine, docs, site_dir, pageset.nav, pyodide, site_url, merged)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def render_site() -> None:
        _run_mkdocs(config_file)
        runtime = assets.copy_pyodide(engine, site_dir)
        if assets.make_snapshot(engine, runtime) is None:
            log("warning: no Pyodide snapshot was made (is node installed?); Python still starts, only slower")
        assets.precompress(site_dir / "pyodide")
        assets.precompress(site_dir / "assets" / "drona")
        # The policy names the hash of every inline script MkDocs and our templates wrote (docs/security.md).
        report.inline_scripts = len(csp.write_policy(site_dir, build_dir).scripts)

    try:
        stage(4, f"render {len(pageset.pages)} pages with MkDocs", render_site)
    except (assets.AssetError, csp.InlineCodeError) as exc:
        raise BuildFailed(str(exc)) from None
    digest = inputs_digest(content_dir, project_config=config_path, engine=engine)
    meta = {"built_at": datetime.now(UTC).isoformat(timespec="seconds"), "inputs": digest,
            "pyodide": pyodide, "site_url": config["site_url"], "content_commit": content_commit(content_dir),
            # A preview's draft pages and status page: the sidecar serves them to content creators only.
            "preview": preview, "draft_paths": drafts.draft_paths(catalog) if preview else []}
    add_vectors = vector_writer(embedding_model, embedding_api_base, log=log, cache=embedding_cache)
    stage(5, "write catalog.db", lambda: write_catalog_db(catalog, report.catalog_db, engine.mkdocs_yml, meta,
                                                          add_vectors))
    shutil.rmtree(staging, ignore_errors=True)

    report.pages = len(pageset.pages)
    report.lessons = len(catalog.lessons())
    report.exercises = pageset.exercises
    report.quizzes = pageset.quizzes
    report.seconds = time.perf_counter() - started
    report.site_bytes = _dir_size(site_dir)
    (build_dir / STAMP).write_text(json.dumps({**meta, "pages": report.pages, "lessons": report.lessons,
                                               "exercises": report.exercises, "quizzes": report.quizzes},
                                              indent=2), encoding="utf-8")
    return report
