"""Helpers for tests that treat the engine as its users get it: a fresh git clone, a clean
environment, and CI workflow files whose steps are run as the CI service would run them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from sidecar.settings import REPO_ROOT

GIT_ID = ["-c", "user.name=Drona Tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false"]
VENV_BIN = str(Path(sys.executable).parent)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def snapshot_engine(target: Path) -> tuple[Path, str]:
    """A git repository holding this checkout's working tree as one commit: what a fresh clone of
    main would be once the change under test lands (uncommitted edits included)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if not source.is_file():
            continue  # deleted but not yet staged
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "engine snapshot for tests")
    return target, git(target, "rev-parse", "HEAD")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no virtual environment, no Drona or pip settings of ours."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != Path(VENV_BIN)]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DRONA_", "PIP_", "VIRTUAL_ENV", "PYTHON", "GITHUB_", "CI_", "AI_"))
           and key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "APP_URL")}
    env["PATH"] = os.pathsep.join(path)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(base: str, proc: subprocess.Popen[Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            response = httpx.get(f"{base}/api/health", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no healthy server at {base} within {timeout:.0f} s")


@dataclass
class StepResult:
    name: str
    ran: bool
    returncode: int = 0
    output: str = ""


@dataclass
class JobRun:
    steps: list[StepResult] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(step.ran and step.returncode != 0 for step in self.steps)

    def output(self) -> str:
        return "\n".join(f"--- {s.name} (rc {s.returncode}, ran {s.ran})\n{s.output}" for s in self.steps)


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        if "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def run_github_job(workflow: Path, job: str, repo: Path, work: Path, env: dict[str, str],
                   timeout: float = 1200) -> JobRun:
    """Run a GitHub Actions job's `run:` steps in order, as the runner does: bash -eo pipefail,
    GITHUB_PATH / GITHUB_ENV carried to later steps, `if: always()` steps after a failure.
    `uses:` steps (checkout, setup-python, setup-node, upload-artifact) are the test's set-up."""
    spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"][job]
    files = {name: work / name.lower() for name in ("GITHUB_PATH", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("", encoding="utf-8")
    run = JobRun(files=files)
    for index, step in enumerate(spec["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        condition = str(step.get("if", "success()"))
        if "run" not in step or (run.failed and "always()" not in condition):
            run.steps.append(StepResult(name, ran=False))
            continue
        step_env = {**env, **{k: str(v) for k, v in (spec.get("env") or {}).items()},
                    **_read_env_file(files["GITHUB_ENV"]), **{k: str(p) for k, p in files.items()},
                    "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": str(repo)}
        added = [line for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines() if line]
        step_env["PATH"] = os.pathsep.join([*reversed(added), env["PATH"]])
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=repo,
                              env=step_env, capture_output=True, text=True, timeout=timeout)
        run.steps.append(StepResult(name, True, proc.returncode, proc.stdout + proc.stderr))
    return run


def run_gitlab_job(config: Path, job: str, repo: Path, env: dict[str, str], timeout: float = 1200) -> JobRun:
    """Run a GitLab CI job's before_script and script lines in one bash -eo pipefail shell, as the
    shell executor does, with the job's variables."""
    spec = yaml.safe_load(config.read_text(encoding="utf-8"))[job]
    lines = [*spec.get("before_script", []), *spec["script"]]
    job_env = {**env, **{k: str(v) for k, v in (spec.get("variables") or {}).items()}, "GITLAB_CI": "true",
               "CI": "true", "CI_PROJECT_DIR": str(repo)}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)], cwd=repo,
                          env=job_env, capture_output=True, text=True, timeout=timeout)
    return JobRun(steps=[StepResult(job, True, proc.returncode, proc.stdout + proc.stderr)])
