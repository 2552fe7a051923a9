"""Grading latency and throughput in the sandbox (sidecar/sandbox), with the workers' memory.

Grades the FizzBuzz exercise of python-basics (its reference solution against all its visible and
hidden tests) with a warm pool:
  - latency, one submission at a time: back to back (each job also leaves its worker preparing a
    fresh interpreter, so the next one may wait for it) and paced (a learner-like pause between
    submissions, so a fresh interpreter is ready);
  - throughput with 8 concurrent submitters, each submission tagged with its own id: every one
    must come back exactly once, graded correctly (no submission lost, none graded twice).
Target on the 2-core reference machine: p50 under 300 ms warm; zero lost or duplicated.

Run: .venv/bin/python bench/bench_grading.py [--requests 40] [--submitters 8] [--per-submitter 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from sidecar.sandbox import Sandbox

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


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="submissions per latency run")
    parser.add_argument("--submitters", type=int, default=8)
    parser.add_argument("--per-submitter", type=int, default=6)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between paced submissions")
    parser.add_argument("--pool-size", type=int, default=2)
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
        for label, pause in (("back to back", 0.0), (f"paced ({args.pause:g} s apart)", args.pause)):
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
        print(f"memory: workers {' + '.join(f'{r:.0f}' for r in rss)} = {sum(rss):.0f} MB RSS; "
              f"sidecar process {rss_mb(os.getpid()):.0f} MB")
        print(f"pool: {stats['jobs']} jobs, {stats['restarts']} worker restarts, fresh interpreter set-up "
              f"{stats['prepare_ms_mean']:.0f} ms on average, job CPU {stats['job_cpu_seconds']:.1f} s")
    finally:
        box.close()


if __name__ == "__main__":
    main()
