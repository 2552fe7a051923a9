"""End-to-end fixtures: the demo course built once, served by `drona serve`, driven in headless Chromium.

The browser is the system Chromium (never downloaded): DRONA_CHROMIUM overrides its path. When it
or Playwright is missing, the e2e tests skip instead of failing. DRONA_E2E_URL points the tests at
a site that is already being served (e.g. http://127.0.0.1:8000/) instead of building one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.settings import REPO_ROOT

CONTENT = REPO_ROOT / "content"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = ".drona-exercise[data-state=ready]"


def chromium_path() -> str | None:
    candidate = os.environ.get("DRONA_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).is_file():
        return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"drona serve exited early:\n{output}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class DemoSite:
    """A running `drona serve` of the demo content."""

    base_url: str
    data_dir: Path | None = None  # DRONA_DATA_DIR of the server (its email outbox), when we started it

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:  # noqa: S310 - loopback
            return json.load(response)

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:  # noqa: S310 - loopback
            return str(response.read().decode("utf-8"))

    def lessons(self) -> list[dict[str, Any]]:
        """Every lesson of the catalog, in course order."""
        found: list[dict[str, Any]] = []
        for track in self.get_json("api/catalog")["tracks"]:
            for course in track.get("courses", []):
                for module in course.get("modules", []):
                    found.extend(module.get("lessons", []))
        return found

    def lesson_url_with(self, *, exercise_id: str | None = None, quiz_id: str | None = None) -> str:
        for lesson in self.lessons():
            if exercise_id in lesson.get("exercise_ids", []) or quiz_id in lesson.get("quiz_ids", []):
                return self.base_url + lesson["url"]
        raise LookupError(f"no lesson places exercise {exercise_id} / quiz {quiz_id}")


def authored(kind: str, slug: str) -> tuple[dict[str, Any], Path]:
    """The YAML of an exercise or quiz of the demo content, found by slug (a glob: the first match)."""
    matches = sorted(CONTENT.glob(f"tracks/**/{kind}/{slug}.yaml"))
    if not matches:
        raise LookupError(f"content has no {kind}/{slug}.yaml")
    return yaml.safe_load(matches[0].read_text(encoding="utf-8")), matches[0]


def start_demo_site(tmp: Path, settings: dict[str, str] | None = None) -> tuple[DemoSite, subprocess.Popen[str]]:
    """Build the demo content into tmp and start `drona serve` on a free port.

    The learner database and data folder live in tmp; APP_URL is the served origin, so the links
    in emails (password resets) and the sitemap point at this server. settings are extra
    environment variables for the build and the server (e.g. {"ENABLE_AI_PROCTORING": "true"}).
    """
    build_dir = tmp / "build"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ,
        "DRONA_ENV": "local",
        "APP_URL": base_url.rstrip("/"),
        "DATABASE_URL": f"sqlite:///{tmp / 'learners.db'}",
        "DRONA_DATA_DIR": str(tmp / "data"),
    }
    for name in ("SMTP_HOST", "ENABLE_GAMIFICATION"):
        env.pop(name, None)
    env.update(settings or {})
    subprocess.run(
        [sys.executable, "-m", "sidecar.cli", "build", "--content", str(CONTENT), "--build-dir", str(build_dir),
         "--no-run"],
        check=True, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--content", str(CONTENT), "--build-dir", str(build_dir), "--no-build"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT, env=env)
    try:
        wait_for(base_url + "api/health", proc)
    except RuntimeError:
        proc.kill()
        raise
    return DemoSite(base_url=base_url, data_dir=tmp / "data"), proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    external = os.environ.get("DRONA_E2E_URL")
    if external:
        yield DemoSite(base_url=external.rstrip("/") + "/")
        return
    site, proc = start_demo_site(tmp_path_factory.mktemp("e2e"))
    try:
        yield site
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI: scripts/setup test installs Debian's chromium")
        pytest.skip("Chromium is not installed (set DRONA_CHROMIUM to its path)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context (empty cache and localStorage) per test; fails the test on page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def set_code(page: Any, widget: Any, code: str) -> None:
    """Replace the editor's code; insert_text avoids auto-indent and bracket closing."""
    widget.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(code)


def answer_quiz(page: Any, quiz: dict[str, Any]) -> None:
    """Fill every item of a rendered quiz with its authored (correct) answer."""
    for item in quiz["items"]:
        node = page.locator(f'.drona-quiz-item[data-item-id="{item["id"]}"]')
        if item["kind"] in ("multiple-choice", "find-the-bug"):
            node.locator(f'input[type=radio][value="{item["answer"]}"]').check()
        elif item["kind"] == "predict-output":
            node.locator("textarea").fill(str(item["answer"]))
        else:
            node.locator(".drona-blank").first.fill(str(item["answer"]))


@pytest.fixture(scope="session")
def clock_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A `drona serve` of the demo content of its own whose clock tests may move (DRONA_TEST_CLOCK): the
    challenge and review flows. Tests set the clock back to real time when they finish."""
    previous = os.environ.get("DRONA_TEST_CLOCK")
    os.environ["DRONA_TEST_CLOCK"] = "true"  # start_demo_site passes the environment to the server
    try:
        site, proc = start_demo_site(tmp_path_factory.mktemp("e2e-clock"))
    finally:
        if previous is None:
            os.environ.pop("DRONA_TEST_CLOCK", None)
        else:
            os.environ["DRONA_TEST_CLOCK"] = previous
    try:
        yield site
    finally:
        stop(proc)
