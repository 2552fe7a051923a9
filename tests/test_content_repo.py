"""An author's content repository outside the engine (issue 9): `drona new site` scaffolds it,
its CI workflow files are valid and their steps really run (installing the pinned engine from a
git commit with its hashed locks), the site validates, builds and serves, and a broken file is
reported with its own path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.engine_repo import (
    VENV_BIN,
    clean_env,
    free_port,
    git,
    run_github_job,
    run_gitlab_job,
    snapshot_engine,
    wait_for_health,
)

DRONA = [sys.executable, "-m", "sidecar.cli"]
EXERCISE = "content/tracks/atlas-track/first-course/getting-started/exercises/print-a-number.yaml"



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A content repository scaffolded by `drona new site`, pinned to a snapshot of this engine,
    with a main branch on an `origin` remote and a feature branch that adds a lesson."""
    root = tmp_path_factory.mktemp("content-repo")
    engine, commit = snapshot_engine(root / "engine")
    repo = root / "atlas"
    made = subprocess.run([*DRONA, "new", "site", str(repo), "--title", "Atlas Academy", "--engine-repo",
                           str(engine), "--engine-commit", commit], capture_output=True, text=True, cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    origin = root / "origin.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "New site")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "loops-lesson")
    added = subprocess.run([*DRONA, "new", "lesson", "atlas-track/first-course/getting-started", "counting",
                            "--type", "concept"], capture_output=True, text=True, cwd=repo)
    assert added.returncode == 0, added.stdout + added.stderr
    exercise = repo / EXERCISE
    exercise.write_text(exercise.read_text().replace("Describe the task.", "Show the answer."))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "A lesson on counting")
    yield {"repo": repo, "engine": engine, "commit": commit, "base": base, "root": root}


def test_scaffold_is_a_complete_content_repository(site: dict[str, Any]) -> None:
    repo: Path = site["repo"]
    for name in ("README.md", "mkdocs.yml", "engine.env", ".gitignore", "scripts/install-engine",
                 ".github/workflows/content.yml", ".gitlab-ci.yml", "content/domains.yaml"):
        assert (repo / name).is_file(), name
    env = (repo / "engine.env").read_text()
    assert f"DRONA_ENGINE_COMMIT={site['commit']}" in env and f"DRONA_ENGINE_REPO={site['engine']}" in env
    assert (repo / "scripts/install-engine").stat().st_mode & 0o111
    assert "Atlas Academy" in (repo / "mkdocs.yml").read_text()
    # Nothing tells anyone to install the engine by a bare package name.
    for name in ("README.md", ".github/workflows/content.yml", ".gitlab-ci.yml", "scripts/install-engine"):
        text = (repo / name).read_text()
        assert "pip install dronacharya" not in text and "pip install drona" not in text, name
    again = subprocess.run([*DRONA, "new", "site", str(repo), "--engine-repo", "x", "--engine-commit", "0" * 40],
                           capture_output=True, text=True)
    assert again.returncode == 1 and "not empty" in again.stderr
    bad = subprocess.run([*DRONA, "new", "site", str(site["root"] / "other"), "--engine-repo", "x",
                          "--engine-commit", "main"], capture_output=True, text=True)
    assert bad.returncode == 1 and "40-character" in bad.stderr


@pytest.mark.parametrize(("path", "schema"), [(".github/workflows/content.yml", "vendor.github-workflows"),
                                              (".gitlab-ci.yml", "vendor.gitlab-ci")])
def test_workflow_files_match_their_published_schemas(site: dict[str, Any], path: str, schema: str) -> None:
    proc = subprocess.run([str(Path(VENV_BIN) / "check-jsonschema"), "--builtin-schema", schema,
                           str(site["repo"] / path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflow_steps_run(site: dict[str, Any], tmp_path: Path) -> None:
    repo: Path = site["repo"]
    env = clean_env(GITHUB_BASE_REF="main", GITHUB_EVENT_NAME="pull_request", HOME=str(tmp_path))
    run = run_github_job(repo / ".github/workflows/content.yml", "check", repo, tmp_path, env)
    assert not run.failed, run.output()
    ran = [step.name for step in run.steps if step.ran]
    assert ran == ["Install the pinned engine", "Validate what changed", "Build the site", "Tutor leak check",
                   "Summary"], run.output()
    assert git(repo / ".drona-engine", "rev-parse", "HEAD") == site["commit"]
    assert str(repo / ".drona-engine/.venv/bin") in run.files["GITHUB_PATH"].read_text()
    summary = run.files["GITHUB_STEP_SUMMARY"].read_text()
    assert "## Content check" in summary and "Changes since `origin/main`" in summary
    assert "added: `content/tracks/atlas-track/first-course/getting-started/counting.md` (Counting)" in summary
    assert f"`{EXERCISE}`" in summary  # the edited exercise's code was run
    assert "**Problems:** 0" in summary
    assert "## Tutor leak check" in summary and "No leaks." in summary
    assert (repo / "build/site/index.html").is_file() and (repo / "build/catalog.db").is_file()


def test_gitlab_job_runs(site: dict[str, Any], tmp_path: Path) -> None:
    repo: Path = site["repo"]
    (repo / "drona-summary.md").unlink(missing_ok=True)
    env = clean_env(CI_PIPELINE_SOURCE="merge_request_event", CI_MERGE_REQUEST_DIFF_BASE_SHA=site["base"],
                    HOME=str(tmp_path))
    run = run_gitlab_job(repo / ".gitlab-ci.yml", "content-checks", repo, env)
    assert not run.failed, run.output()
    summary = (repo / "drona-summary.md").read_text()
    assert f"Changes since `{site['base']}`" in summary and "counting.md" in summary
    assert "No leaks." in summary


def test_installed_engine_builds_and_serves_the_site(site: dict[str, Any], tmp_path: Path) -> None:
    repo: Path = site["repo"]
    drona = str(repo / ".drona-engine/.venv/bin/drona")
    if not Path(drona).exists():
        pytest.fail("the GitHub workflow test installs the engine; run the module as a whole")
    version = subprocess.run([drona, "--version"], capture_output=True, text=True, cwd=repo)
    assert site["commit"][:12] in version.stdout, version.stdout
    port = free_port()
    env = clean_env(HOME=str(tmp_path))
    server = subprocess.Popen([drona, "serve", "--port", str(port)], cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for_health(base, server, timeout=120)["catalog"] is True
        page = httpx.get(f"{base}/atlas-track/first-course/getting-started/counting/", timeout=10)
        assert page.status_code == 200 and "Counting" in page.text and "Atlas Academy" in page.text
        catalog = httpx.get(f"{base}/api/catalog", timeout=10).json()
        assert any(t["slug"] == "atlas-track" for t in catalog["tracks"]), catalog
        # The learner database lives in this repository's data/, not in the engine's checkout.
        assert (repo / "data/drona.db").is_file() and not (repo / ".drona-engine/data/drona.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_broken_file_is_reported_with_its_own_path(site: dict[str, Any], tmp_path: Path) -> None:
    repo: Path = site["repo"]
    exercise = repo / EXERCISE
    original = exercise.read_text()
    stray = repo / "content/tracks/atlas-track/first-course/course-copy.yaml"
    try:
        lines = original.splitlines(keepends=True)
        exercise.write_text("".join([*lines[:2], "title: The same key twice\n", *lines[2:]]))
        stray.write_text((repo / "content/tracks/atlas-track/first-course/course.yaml").read_text())
        env = clean_env(GITHUB_BASE_REF="main", HOME=str(tmp_path))
        run = run_github_job(repo / ".github/workflows/content.yml", "check", repo, tmp_path, env)
        validate = next(step for step in run.steps if step.name == "Validate what changed")
        assert validate.returncode == 1, run.output()
        assert f"{EXERCISE}:3: duplicate key 'title'" in validate.output
        assert f"::error file={EXERCISE},line=3::duplicate key 'title'" in validate.output
        assert "content/tracks/atlas-track/first-course/course-copy.yaml:1: unexpected file" in validate.output
        assert not any(step.ran for step in run.steps if step.name in ("Build the site", "Tutor leak check"))
        summary = run.files["GITHUB_STEP_SUMMARY"].read_text()
        assert f"`{EXERCISE}:3`: duplicate key 'title'" in summary and "**Problems:** 2" in summary
    finally:
        exercise.write_text(original)
        stray.unlink(missing_ok=True)


def test_engine_files_are_pinned_actions(site: dict[str, Any]) -> None:
    """Third-party actions run with the job's token: each is pinned by a full commit id."""
    workflow = yaml.safe_load((site["repo"] / ".github/workflows/content.yml").read_text())
    uses = [step["uses"] for step in workflow["jobs"]["check"]["steps"] if "uses" in step]
    assert uses and all(len(u.split("@", 1)[1]) == 40 for u in uses), uses
