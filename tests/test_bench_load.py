"""bench/bench_load.py's options and its bookkeeping (no server: the bench itself prints the numbers).

Guards what the figures in docs/load.md rest on: which server and database the options start, when a
step of the --scaling ramp counts as sustained, and that the CPU meter keeps the time of processes
that ended during a run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from bench.bench_load import DEFAULT_POSTGRES, DEFAULT_REDIS, SCALING_P99_BOUND_MS, Stats, parse, step_verdict, tree_cpu


def test_defaults_per_scenario_and_scaling() -> None:
    assert parse([]).rate == 200.0
    assert parse(["--scenario", "mix"]).rate == 100.0
    scaling = parse(["--scaling"])
    assert scaling.database == DEFAULT_POSTGRES
    assert scaling.redis == DEFAULT_REDIS
    assert scaling.p99_bound == SCALING_P99_BOUND_MS
    started = parse(["--database", "postgresql://postgres@127.0.0.1:5432/postgres", "--workers", "2"])
    assert started.workers == 2 and started.url is None


@pytest.mark.parametrize("argv", [
    ["--url", "http://127.0.0.1:8000", "--workers", "2"],
    ["--url", "http://127.0.0.1:8000", "--scaling"],
    ["--database", "sqlite:///x.db"],  # a started server on SQLite uses its own throwaway file
    ["--scaling", "--workers", "2"],
    ["--workers", "0"],
    ["--rate", "0"],
])
def test_contradictory_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2


def _stats(latencies: list[float], sent: int, errors: int = 0, last_done: float = 10.0) -> Stats:
    stats = Stats(latencies={"POST /api/progress/events": latencies}, sent=Counter({"POST /api/progress/events": sent}),
                  lag=[0.001] * sent, first_at=0.0, last_done=last_done)
    if errors:
        stats.errors["POST /api/progress/events"] = Counter({"503": errors})
    return stats


def test_a_step_is_sustained_only_when_the_server_keeps_up() -> None:
    kept_up = step_verdict(_stats([0.02] * 1000, 1000), 100.0, 10.0, 1000.0)
    assert kept_up["sustained"] and kept_up["achieved_rps"] == 100.0
    # The answers came back over 14 s for 10 s of arrivals: a queue grew.
    queued = step_verdict(_stats([0.02] * 1000, 1000, last_done=14.0), 100.0, 10.0, 1000.0)
    assert not queued["sustained"]
    slow = step_verdict(_stats([0.02] * 980 + [2.0] * 20, 1000), 100.0, 10.0, 1000.0)
    assert not slow["sustained"] and slow["p99_ms"] == 2000.0
    failed = step_verdict(_stats([0.02] * 999, 1000, errors=1), 100.0, 10.0, 1000.0)
    assert not failed["sustained"]


def test_cpu_of_a_child_that_ended_still_counts() -> None:
    before = tree_cpu(os.getpid())
    subprocess.run([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                    "while time.process_time() < end: pass"], check=True)
    assert tree_cpu(os.getpid()) - before >= 0.25
