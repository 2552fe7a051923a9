"""Preview latency of `drona serve --watch`: from saving one changed lesson of the demo course to
the rebuilt page being served.

A copy of the demo course is served with --watch; each round saves one lesson with a new
sentence, then polls that lesson's page every 25 ms until the sentence is in it. The live-reload
event that tells open pages to reload is timed too. Target: under 2 s on the 2-core reference
machine.
Run: .venv/bin/python bench/bench_watch.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sidecar.settings import REPO_ROOT  # noqa: E402
from sidecar.web.livereload import EVENTS_PATH  # noqa: E402

LESSONS = [
    ("tracks/python-developer/python-basics/getting-started/hello-python.md",
     "/python-developer/python-basics/getting-started/hello-python/"),
    ("tracks/python-developer/python-basics/functions/defining-functions.md",
     "/python-developer/python-basics/functions/defining-functions/"),
]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listen(base: str, events: queue.Queue[tuple[float, str]]) -> None:
    try:
        with httpx.stream("GET", base + EVENTS_PATH, timeout=httpx.Timeout(10, read=120)) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    events.put((time.perf_counter(), line[7:]))
    except httpx.HTTPError:
        pass


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "site"
        shutil.copytree(REPO_ROOT / "content", repo / "content")
        port = _port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "sidecar.cli", "serve", "--watch", "--port", str(port)],
                                cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            events: queue.Queue[tuple[float, str]] = queue.Queue()
            threading.Thread(target=_listen, args=(base, events), daemon=True).start()
            assert events.get(timeout=30)[1] == "hello"
            served, reloaded = [], []
            client = httpx.Client(timeout=10)
            for round_ in range(args.rounds):
                rel, url = LESSONS[round_ % len(LESSONS)]
                lesson = repo / "content" / rel
                marker = f"Watch round {round_} sentence {time.time_ns()}."
                text = lesson.read_text(encoding="utf-8")
                time.sleep(0.3)  # let the previous round's events settle
                saved = time.perf_counter()
                lesson.write_text(text.rstrip("\n") + f"\n\n{marker}\n", encoding="utf-8")
                while marker not in client.get(base + url).text:
                    if time.perf_counter() - saved > 60:
                        raise SystemExit(f"round {round_}: the page did not change within 60 s")
                    time.sleep(0.025)
                served.append(time.perf_counter() - saved)
                while True:
                    at, name = events.get(timeout=60)
                    if name == "reload":
                        reloaded.append(at - saved)
                        break
                    if name == "problems":
                        raise SystemExit(f"round {round_}: the build failed")
            print(f"demo course ({len(list((repo / 'content').rglob('*.md')))} lessons), {args.rounds} saves of one "
                  "lesson each, drona serve --watch")
            print(f"  save -> rebuilt page served: median {statistics.median(served):.2f} s, "
                  f"p90 {_pct(served, 0.9):.2f} s, max {max(served):.2f} s (target < 2 s)")
            print(f"  save -> reload event sent to open pages: median {statistics.median(reloaded):.2f} s, "
                  f"max {max(reloaded):.2f} s")
            print(json.dumps({"served_median_s": round(statistics.median(served), 3),
                              "served_max_s": round(max(served), 3)}))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
