"""A set-up that cannot rot (issue 9): on a fresh clone, with pip's cache disabled, the README's
two commands set up from the hashed locks without resolving anything, and `scripts/serve`
serves the demo. (`.ci/run` itself runs `scripts/test` on a fresh clone of main.)"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.engine_repo import clean_env, free_port, git, snapshot_engine, wait_for_health

SETUP_TIMEOUT = 1500  # seconds: downloads every pinned package without a cache on 2 cores



def test_fresh_clone_sets_up_without_a_cache_and_serves(tmp_path: Path) -> None:
    engine, commit = snapshot_engine(tmp_path / "origin")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(engine), str(clone))
    assert git(clone, "rev-parse", "HEAD") == commit and not (clone / ".venv").exists()
    env = clean_env(PIP_NO_CACHE_DIR="1", HOME=str(tmp_path / "home"))

    # scripts/test's set-up: every lock installed as written, then checked.
    setup = subprocess.run(["scripts/setup", "test"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=SETUP_TIMEOUT)
    assert setup.returncode == 0, setup.stdout[-4000:] + setup.stderr[-4000:]
    assert "nothing resolved" in setup.stdout and "pip check" in setup.stdout
    # The clone's tools work: its own lock test and lint run from its own venv.
    checks = subprocess.run([".venv/bin/pytest", "-q", "-p", "no:cacheprovider", "tests/test_locks.py",
                             "tests/test_dependencies.py"], cwd=clone, env=env, capture_output=True, text=True,
                            timeout=300)
    assert checks.returncode == 0, checks.stdout[-4000:] + checks.stderr[-2000:]
    assert subprocess.run([".venv/bin/ruff", "check", "sidecar"], cwd=clone, env=env).returncode == 0

    # scripts/serve: sets up the runtime set, builds the demo, serves it.
    port = free_port()
    server = subprocess.Popen(["scripts/serve", "--port", str(port)], cwd=clone, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_for_health(base, server, timeout=SETUP_TIMEOUT)
        assert health["catalog"] is True
        page = httpx.get(f"{base}/python-developer/python-basics/getting-started/hello-python/", timeout=10)
        assert page.status_code == 200 and "Hello, Python" in page.text
        assert (clone / "build/catalog.db").is_file() and (clone / "data/drona.db").is_file()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert "Serving Dronacharya" in output, output[-4000:]
