"""`drona build`: validate, generate pages, run MkDocs, add assets, write catalog.db."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from sidecar.courseware.problems import Problems
from sidecar.courseware.validate import validate

from . import assets
from .catalogdb import write_catalog_db
from .pages import write_pages
from .vectors import vector_writer

STAMP = "build.json"
# What a build depends on: when none of it changed, `drona serve` reuses the last build.
INPUTS = ("content", "site", "schemas", "mkdocs.yml", "package-lock.json", "sidecar/compiler",
          "sidecar/courseware")


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


def inputs_digest(repo: Path, content_dir: Path) -> str:
    digest = hashlib.sha256()
    roots = [content_dir] + [repo / p for p in INPUTS if p != "content"]
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(repo) if path.is_relative_to(repo) else path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_up_to_date(repo: Path, content_dir: Path, build_dir: Path) -> bool:
    stamp = build_dir / STAMP
    if not stamp.is_file() or not (build_dir / "catalog.db").is_file() or not (build_dir / "site").is_dir():
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8")).get("inputs")
    except (OSError, json.JSONDecodeError):
        return False
    return bool(recorded == inputs_digest(repo, content_dir))


def _generated_config(repo: Path, docs: Path, site_dir: Path, nav: list[Any], pyodide: str,
                      site_url: str) -> dict[str, Any]:
    return {
        "INHERIT": str(repo / "mkdocs.yml"),
        "docs_dir": str(docs),
        "site_dir": str(site_dir),
        # Material's instant navigation follows only links listed in sitemap.xml, which needs
        # site_url; `drona serve` rewrites the sitemap to the address it is reached at.
        "site_url": site_url.rstrip("/") + "/",
        "nav": nav,
        "theme": {"name": "material", "custom_dir": str(repo / "site" / "overrides")},
        "extra": {"drona": {"pyodide": f"pyodide/{pyodide}/", "api": "api/",
                            "snapshot": f"pyodide/{pyodide}/{assets.SNAPSHOT}"}},
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


def build(
    *,
    repo: Path,
    content_dir: Path,
    build_dir: Path,
    check_code: bool = True,
    site_url: str = "http://127.0.0.1:8000/",
    log: Callable[[str], None] = print,
    embedding_model: str | None = None,
) -> BuildReport:
    """Build the static site and catalog.db; raises BuildFailed with every problem.

    embedding_model: EMBEDDING_MODEL for the lesson vectors (None: from the settings; `none`: no
    vectors, lexical retrieval only).
    """
    started = time.perf_counter()
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

    result = stage(1, "validate content", lambda: validate(content_dir, repo, run_code=check_code))
    if result.problems:
        raise BuildFailed(f"{len(result.problems)} problem(s) in content", result.problems)
    catalog = result.catalog
    report.programs_checked = result.programs_run
    try:
        pyodide = assets.pyodide_version(repo)
    except assets.AssetError as exc:
        raise BuildFailed(str(exc)) from None

    staging = build_dir / "staging"
    docs = staging / "docs"
    if staging.exists():
        shutil.rmtree(staging)
    docs.mkdir(parents=True)
    pageset = stage(2, "generate pages", lambda: write_pages(catalog, docs))

    def make_assets() -> None:
        assets.bundle_scripts(repo, docs / "assets" / "drona")
        assets.copy_static(repo, docs / "assets" / "drona")

    try:
        stage(3, "bundle scripts", make_assets)
    except assets.AssetError as exc:
        raise BuildFailed(str(exc)) from None
    config_file = staging / "mkdocs.yml"
    config = _generated_config(repo, docs, site_dir, pageset.nav, pyodide, site_url)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def render_site() -> None:
        _run_mkdocs(config_file)
        runtime = assets.copy_pyodide(repo, site_dir)
        if assets.make_snapshot(repo, runtime) is None:
            log("warning: no Pyodide snapshot was made (is node installed?); Python still starts, only slower")
        assets.precompress(site_dir / "pyodide")
        assets.precompress(site_dir / "assets" / "drona")

    stage(4, f"render {len(pageset.pages)} pages with MkDocs", render_site)
    digest = inputs_digest(repo, content_dir)
    meta = {"built_at": datetime.now(UTC).isoformat(timespec="seconds"), "inputs": digest,
            "pyodide": pyodide, "site_url": config["site_url"]}
    add_vectors = vector_writer(embedding_model, log=log)
    stage(5, "write catalog.db", lambda: write_catalog_db(catalog, report.catalog_db, repo / "mkdocs.yml", meta,
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
