"""The Simulation canvas's scenario engine, in CPython: what a simulation costs the trusted judge.

replay:   the judge's check of a 1,000-request transcript against its own copy of the model
          (simulation.replay). Target < 50 ms.
grading:  every test of the retry-with-backoff exercise (about 60 simulated runs, each replayed) on the
          reference solution, in-process (harness.run_tests, as the browser and `drona validate` run
          them). Target < 1 s.
simulate: the Simulate button's work for that exercise (program run, model installed, function called,
          record as JSON), in-process. Target < 50 ms.

Run: .venv/bin/python bench/bench_simulation.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import types
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sidecar.courseware import harness, loader, scenarios, simulation  # noqa: E402
from sidecar.courseware.problems import Problems  # noqa: E402

CONTENT = Path(__file__).resolve().parents[1] / "content"
EXERCISE = next(CONTENT.glob("tracks/*/*/*/exercises/retry-with-backoff.yaml"))


def model() -> simulation.WebAPI:
    return simulation.WebAPI(3, {"/a": 1}, error_rate=0.3, slow_rate=0.1, rate_limit=(5, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    api = model()
    for _ in range(1000):
        with contextlib.suppress(TimeoutError):
            api.get("/a", timeout=1.0)
    log = api.transcript()
    exercise = loader._load_items(EXERCISE.parent, "exercise", Problems(EXERCISE.parent), set())[EXERCISE.stem]
    config = scenarios.page_config(exercise)
    assert config is not None
    module = types.ModuleType("drona_simulation")
    module.__dict__[simulation.SOURCE_NAME] = config["source"]
    exec(compile(config["source"], "scenario.py", "exec"), module.__dict__)  # noqa: S102 - our own engine
    timings: dict[str, list[float]] = {"replay": [], "grading": [], "simulate": []}
    for run in range(runs):
        started = time.perf_counter()
        simulation.replay(model(), log, sequential=True)
        timings["replay"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        result = harness.run_tests(exercise.data["solution"], exercise.all_tests(), seed=run)
        timings["grading"].append((time.perf_counter() - started) * 1000)
        assert result["passed"], result
        started = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            module.simulate(harness, exercise.data["solution"], config["seed"], config["call"], config["args"])
        timings["simulate"].append((time.perf_counter() - started) * 1000)
    targets = {"replay": 50.0, "grading": 1000.0, "simulate": 50.0}
    for name, values in timings.items():
        median = statistics.median(values)
        verdict = "ok" if median < targets[name] else "OVER"
        print(f"{name:9s} median {median:8.1f} ms  (max {max(values):.1f}, target < {targets[name]:.0f})  {verdict}")


if __name__ == "__main__":
    main()
