"""`drona serve --watch` (issue 9): a save rebuilds the site and reloads open pages; a broken save
keeps the last good site and shows its problems; pages of a plain `serve` are left untouched."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sidecar.web.livereload import EVENTS_PATH, SCRIPT_PATH, SNIPPET, inject
from tests.conftest import MINIMAL
from tests.engine_repo import clean_env, free_port, wait_for_health

LESSON = "content/tracks/demo-track/demo-course/first-steps/printing.md"
PAGE = "/demo-track/demo-course/first-steps/printing/"



class Events:
    """Server-Sent Events from the live-reload stream, read in a thread."""

    def __init__(self, base: str) -> None:
        self.queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(base,), daemon=True)
        self.thread.start()

    def _read(self, base: str) -> None:
        try:
            with httpx.stream("GET", base + EVENTS_PATH, timeout=httpx.Timeout(10, read=120)) as response:
                event = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event:
                        self.queue.put((event, json.loads(line[6:])))
        except httpx.HTTPError:
            pass  # the server stopped at the end of the test

    def next(self, timeout: float = 60) -> tuple[str, dict[str, Any]]:
        return self.queue.get(timeout=timeout)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    repo = tmp_path / "site"
    shutil.copytree(MINIMAL / "content", repo / "content")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sidecar.cli", "serve", "--watch", "--port", str(port)],
                            cwd=repo, env=clean_env(HOME=str(tmp_path)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, proc, timeout=180)
        yield repo, base
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        print(output)


def test_a_save_rebuilds_and_reloads(served: tuple[Path, str]) -> None:
    repo, base = served
    page = httpx.get(base + PAGE, timeout=10)
    assert page.status_code == 200 and SNIPPET.decode() in page.text
    assert "EventSource" in httpx.get(base + SCRIPT_PATH, timeout=10).text
    events = Events(base)
    name, hello = events.next()
    assert name == "hello" and hello["problems"] == []
    lesson = repo / LESSON
    saved = time.perf_counter()
    lesson.write_text(lesson.read_text().replace("Programs talk to you", "Programs chat with you"))
    name, data = events.next()
    took = time.perf_counter() - saved
    assert name == "reload" and data["generation"] > hello["generation"]
    assert "Programs chat with you" in httpx.get(base + PAGE, timeout=10).text
    print(f"save to reload event: {took:.2f} s")

    # A broken save: the last good site stays, the problems reach the page.
    lesson.write_text("---\nid: [broken\n---\n")
    name, data = events.next()
    assert name == "problems" and any(LESSON in line for line in data["problems"]), data
    assert "Programs chat with you" in httpx.get(base + PAGE, timeout=10).text
    # A page opened now sees the problems straight away.
    late = Events(base)
    assert late.next()[1]["problems"] == data["problems"]


def test_a_changed_exercise_has_its_code_checked(served: tuple[Path, str]) -> None:
    repo, base = served
    events = Events(base)
    assert events.next()[0] == "hello"
    exercise = repo / "content/tracks/demo-track/demo-course/first-steps/exercises/double-it.yaml"
    exercise.write_text(exercise.read_text().replace("return n * 2", "return n + 2", 1))
    name, data = events.next()
    assert name == "problems" and any("reference solution must pass every test" in p for p in data["problems"])
    exercise.write_text(exercise.read_text().replace("return n + 2", "return n * 2", 1))
    assert events.next()[0] == "reload"


def test_inject_places_the_script_before_the_body_ends() -> None:
    assert inject(b"<html><body><p>x</p></body></html>") == b"<html><body><p>x</p>" + SNIPPET + b"</body></html>"
    assert inject(b"<p>fragment</p>") == b"<p>fragment</p>" + SNIPPET


def test_plain_serve_pages_have_no_live_reload(tmp_path: Path, minimal_build) -> None:
    from fastapi.testclient import TestClient

    from sidecar.app import create_app
    from sidecar.settings import Settings

    settings = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
                        DRONA_DATA_DIR=tmp_path)
    with TestClient(create_app(settings, serve_site=True)) as client:
        page = client.get(PAGE)
        assert page.status_code == 200 and SNIPPET.decode() not in page.text
        assert client.get(EVENTS_PATH).status_code == 404
