"""Grading latency, throughput and fairness (sidecar/sandbox, sidecar/grading/scheduler.py).

Grades the FizzBuzz exercise of python-basics (its reference solution against all its visible and
hidden tests; the tests in the trusted judge, the program in a fresh isolate per job):
  - latency, one submission at a time: paced (a learner-like pause between submissions, so the
    pool is prepared: an isolate booted ahead on each host; this is "warm") and back to back
    (each job's host is still booting its next isolate when the next job arrives);
  - throughput with 8 concurrent submitters, each submission tagged with its own id: every one
    must come back exactly once, graded correctly (no submission lost, none graded twice);
  - fairness, through the real API (a uvicorn server, the demo catalog): a peer's p50 for a
    correct submission to the sum-to-n exercise, alone and while another learner floods the
    grader with 12 concurrent infinite loops (one runs, two wait, nine get 429).
Targets on the 2-core reference machine: p50 under 300 ms warm; zero lost or duplicated; the peer's
p50 under the flood under 2x its normal p50.

Run: .venv/bin/python bench/bench_grading.py [--requests 30] [--submitters 8] [--per-submitter 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sidecar.app import create_app  # noqa: E402
from sidecar.compiler.build import build  # noqa: E402
from sidecar.db.migrate import upgrade  # noqa: E402
from sidecar.sandbox import Sandbox  # noqa: E402
from sidecar.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXERCISE = REPO / "content" / "tracks" / "python-developer" / "python-basics" / "loops" / "exercises" / "fizzbuzz.yaml"


def load_exercise() -> tuple[str, list[dict[str, Any]]]:
    data = yaml.safe_load(EXERCISE.read_text(encoding="utf-8"))
    tests = [dict(t) for t in data["tests"]["visible"]] + [dict(t, hidden=True) for t in data["tests"]["hidden"]]
    return str(data["solution"]), tests


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(box: Sandbox, code: str, tests: list[dict[str, Any]], count: int, pause: float) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        result = box.grade(code, tests, seed=n)
        times.append((time.perf_counter() - started) * 1000)
        assert result.passed, result
        time.sleep(pause)
    return times


def throughput(box: Sandbox, code: str, tests: list[dict[str, Any]], submitters: int,
               per_submitter: int) -> tuple[float, Counter[str], int, list[float]]:
    """Each submission prints its id; an extra test checks it, so a mixed-up result would fail."""
    seen: Counter[str] = Counter()
    wrong = 0
    times: list[float] = []
    lock = threading.Lock()
    submitted: list[str] = []

    def submitter() -> None:
        nonlocal wrong
        for _ in range(per_submitter):
            ident = uuid.uuid4().hex
            with lock:
                submitted.append(ident)
            tagged = f"IDENT = {ident!r}\n" + code
            probe = [*tests, {"name": "own id", "stdin": "3\n", "code": f"assert IDENT == {ident!r}"}]
            started = time.perf_counter()
            result = box.grade(tagged, probe, seed=7)
            with lock:
                times.append((time.perf_counter() - started) * 1000)
                seen[ident] += 1
                wrong += not result.passed

    threads = [threading.Thread(target=submitter) for _ in range(submitters)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    missing = len(set(submitted) - set(seen))
    seen["(lost)"] = missing
    return len(submitted) / elapsed, seen, wrong, times


SUM_TO_N = REPO / "content" / "tracks" / "python-developer" / "python-basics" / "loops" / "exercises" / "sum-to-n.yaml"


def fairness(peer_rounds: int) -> tuple[float, float, list[int], float]:
    """(peer p50 alone, peer p50 under the flood, flood status codes, slowest /api/health) in seconds."""
    exercise = yaml.safe_load(SUM_TO_N.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        build(content_dir=REPO / "content", build_dir=Path(tmp) / "build", check_code=False, log=lambda _: None,
              embedding_model="none")
        url = f"sqlite:///{tmp}/learners.db"
        upgrade(url)
        settings = Settings(DRONA_BUILD_DIR=Path(tmp) / "build", DATABASE_URL=url, DRONA_DATA_DIR=Path(tmp))
        with socket_port() as port:
            server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                                   log_level="warning"))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            try:
                peer, flooder = learner(base, "peer@example.com"), learner(base, "flood@example.com")

                def submit(client: httpx.Client, code: str) -> tuple[int, float]:
                    started = time.perf_counter()
                    response = client.post(f"/api/exercises/{exercise['id']}/submissions", json={"code": code},
                                           headers={"X-CSRF-Token": client.cookies["drona_csrf"]})
                    return response.status_code, time.perf_counter() - started

                submit(peer, exercise["solution"])  # warm-up: the sandbox starts
                alone = []
                for _ in range(peer_rounds):
                    time.sleep(1.0)
                    alone.append(submit(peer, exercise["solution"])[1])
                with ThreadPoolExecutor(max_workers=12) as pool:
                    flood = [pool.submit(submit, flooder, "while True:\n    pass\n") for _ in range(12)]
                    time.sleep(1.0)
                    health = []
                    during = []
                    for _ in range(peer_rounds):
                        started = time.perf_counter()
                        httpx.get(base + "/api/health", timeout=30)
                        health.append(time.perf_counter() - started)
                        time.sleep(1.0)
                        during.append(submit(peer, exercise["solution"])[1])
                    codes = sorted(f.result()[0] for f in flood)
            finally:
                server.should_exit = True
                thread.join(timeout=30)
    return statistics.median(alone), statistics.median(during), codes, max(health)


class socket_port:
    """A free port on 127.0.0.1."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def learner(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    client.get("/api/auth/csrf")
    client.post("/api/auth/signup", headers={"X-CSRF-Token": client.cookies["drona_csrf"]},
                json={"email": email, "password": "correct horse battery", "display_name": "Bench"}).raise_for_status()
    return client


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="submissions per latency run")
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--per-submitter", type=int, default=6)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between paced submissions")
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--peer-rounds", type=int, default=5, help="peer submissions for the fairness figure")
    args = parser.parse_args()

    code, tests = load_exercise()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    box = Sandbox(pool_size=args.pool_size)
    box.grade(code, tests, seed=0)
    print(f"pool of {args.pool_size} started and first job graded in {time.perf_counter() - started:.1f} s")
    print(box.describe())
    print(f"exercise: {EXERCISE.relative_to(REPO)} ({len(tests)} tests)\n")
    try:
        for label, pause in ((f"warm, {args.pause:g} s apart", args.pause), ("back to back", 0.0)):
            times = latency(box, code, tests, args.requests, pause)
            print(f"latency, {label:22s} n={len(times):3d}  p50 {percentile(times, 0.5):6.0f} ms  "
                  f"p95 {percentile(times, 0.95):6.0f} ms  mean {statistics.mean(times):6.0f} ms")
        rate, seen, wrong, times = throughput(box, code, tests, args.submitters, args.per_submitter)
        lost = seen.pop("(lost)")
        twice = sum(1 for n in seen.values() if n > 1)
        print(f"throughput, {args.submitters} submitters: {rate:.1f} submissions/s  "
              f"p50 {percentile(times, 0.5):.0f} ms  p95 {percentile(times, 0.95):.0f} ms")
        print(f"submissions: {sum(seen.values())} graded, {lost} lost, {twice} graded twice, {wrong} graded wrongly")
        stats = box.stats()
        rss = stats["worker_rss_mb"]
        print(f"memory: hosts {' + '.join(f'{r:.0f}' for r in rss)} = {sum(rss):.0f} MB RSS (each with one isolate "
              f"booted ahead); sidecar process {rss_mb(os.getpid()):.0f} MB")
        print(f"pool: {stats['jobs']} jobs, {stats['restarts']} host restarts, "
              f"job CPU {stats['job_cpu_seconds']:.1f} s (a fresh isolate per job included)")
    finally:
        box.close()
    alone, during, codes, health = fairness(args.peer_rounds)
    print(f"fairness: peer p50 {alone * 1000:.0f} ms alone, {during * 1000:.0f} ms while another learner floods 12 "
          f"infinite loops = {during / alone:.2f}x (target < 2x); flood answered {Counter(codes)}; "
          f"slowest /api/health during the flood {health * 1000:.0f} ms")


if __name__ == "__main__":
    main()
