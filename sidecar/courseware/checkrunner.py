"""Runs authored code (reference solutions, starters, quiz snippets) for `drona validate`.

Started as a separate, isolated Python process (`python -I`): authored code never runs
in the validator's own process. Reads a JSON list of jobs on stdin and writes one JSON result
line per job, flushing each, so a crash still leaves the earlier results readable.

A job is {"key", "code", "tests"} (run the harness) or {"key", "code", "stdin"} (run a
program and capture its output). Each job has its own time limit.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

from sidecar.courseware import harness

MEMORY_LIMIT_BYTES = 1 << 30
# Result lines carry a mark, so stray output (say, from a C extension) can never pose as a result.
RESULT_MARK = "\x1edrona-result "


class JobTimeout(BaseException):
    """BaseException so the harness's `except Exception` cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise JobTimeout


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not available on this platform: the parent's timeout still applies


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    limit = float(job.get("time_limit", 5.0))
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        if "tests" in job:
            return {"key": job["key"], **harness.run_tests(job["code"], job["tests"], seed=job.get("seed", 0))}
        try:
            _, output = harness.execute(job["code"], job.get("stdin", ""))
            return {"key": job["key"], "output": output, "error": None}
        except harness.ProgramError as err:
            return {"key": job["key"], "output": "", "error": err.formatted}
    except JobTimeout:
        return {"key": job["key"], "timeout": limit}
    except MemoryError:
        return {"key": job["key"], "error": "used more memory than allowed"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _vendored_wheels() -> None:
    """The wheels the site serves to Pyodide (site/wheels: pytest and what it needs) are importable here too,
    straight from their zip files, ahead of whatever this Python has installed: authored code is checked
    against the same versions the learner's browser runs."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1]
    for folder in (package.parent / "site" / "wheels", package / "_engine" / "site" / "wheels"):
        for wheel in sorted(folder.glob("*.whl"), reverse=True):
            sys.path.insert(0, str(wheel))


def main() -> None:
    _vendored_wheels()
    _limit_memory()
    signal.signal(signal.SIGALRM, _on_alarm)
    jobs = json.load(sys.stdin)
    real_stdout = sys.stdout
    # Authored code that bypasses the harness's capture must not mix into the result stream.
    sys.stdout = sys.stderr
    for job in jobs:
        result = run_job(job)
        real_stdout.write(RESULT_MARK + json.dumps(result) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main()
