"""`drona new site NAME`: a content repository of its own, outside the engine's.

It holds a small valid course (made with the same scaffolding as `drona new course` and
friends), a mkdocs.yml merged over the engine's defaults, a README for authors, the engine pinned
by git repository and commit (engine.env) with scripts/install-engine, and CI workflow files for
GitHub Actions and GitLab CI that check every pull request.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from sidecar.engine import EngineFiles

from . import scaffold
from .scaffold import ScaffoldError

TEMPLATE = Path(__file__).resolve().parent / "site_template"
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# Template file -> where it goes in the new repository.
RENAMED = {
    "gitignore": ".gitignore",
    "github-workflow.yml": ".github/workflows/content.yml",
    "gitlab-ci.yml": ".gitlab-ci.yml",
    "content/track.yaml": None,  # written into the first track's folder below
}


@dataclass(frozen=True)
class EnginePin:
    repo: str
    commit: str


def engine_pin(engine: EngineFiles, *, repo: str | None, commit: str | None) -> EnginePin:
    """Where the new site installs the engine from: given, else where this engine came from."""
    repo = repo or engine.info.get("repository") or _origin(engine)
    commit = commit or engine.info.get("commit")
    if not repo:
        raise ScaffoldError("cannot tell which git repository this engine comes from: pass --engine-repo URL")
    if not commit:
        raise ScaffoldError("cannot tell which commit this engine is at: pass --engine-commit SHA")
    if not COMMIT_RE.match(commit):
        raise ScaffoldError(f"--engine-commit must be a full 40-character commit id, not {commit!r}")
    if "\n" in repo or " " in repo:
        raise ScaffoldError(f"--engine-repo is not a repository URL: {repo!r}")
    return EnginePin(repo=repo, commit=commit)


def _origin(engine: EngineFiles) -> str | None:
    if engine.installed or not (engine.root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "remote", "get-url", "origin"], cwd=engine.root, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = proc.stdout.strip()
    if proc.returncode != 0 or not url:
        return None
    # A local checkout cloned from a path: pin the absolute path, which git can fetch from.
    if "://" not in url and ":" not in url.split("/")[0]:
        url = str((engine.root / url).resolve())
    return url


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    # Every @@ID@@ gets its own fresh id.
    return re.sub("@@ID@@", lambda _: str(uuid.uuid4()), text)


def new_site(target: Path, *, title: str | None, pin: EnginePin) -> list[Path]:
    """Write a content repository into `target` (which must not exist, or be empty)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not empty")
    slug = re.sub(r"[^a-z0-9]+", "-", target.name.lower()).strip("-") or "my-courses"
    title = title or target.name.replace("-", " ").replace("_", " ").strip().title() or "My Courses"
    track = f"{slug}-track" if slug != "track" else "first-track"
    values = {"TITLE": title, "DOMAIN": slug, "TRACK": track, "ENGINE_REPO": pin.repo,
              "ENGINE_COMMIT": pin.commit}
    created: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    try:
        for source in sorted(p for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            rel = source.relative_to(TEMPLATE).as_posix()
            dest_rel = RENAMED.get(rel, rel)
            dest = target / "content" / "tracks" / track / "track.yaml" if dest_rel is None else target / dest_rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(_fill(source.read_text(encoding="utf-8"), values), encoding="utf-8")
            shutil.copymode(source, dest)
            created.append(dest)
        tracks = target / "content" / "tracks"
        created += scaffold.new_course(tracks, track, "first-course")
        created += scaffold.new_module(tracks, f"{track}/first-course", "getting-started")
        module = f"{track}/first-course/getting-started"
        created += scaffold.new_lesson(tracks, module, "first-program", "code-along")
        created += scaffold.new_exercise(tracks, module, "print-a-number", "first-program")
        created += scaffold.new_quiz(tracks, module, "check-yourself", "introduction")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return created
