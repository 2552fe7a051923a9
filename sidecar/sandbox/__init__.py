"""Trusted grading: learner code runs in fresh Pyodide isolates on Node, and verdicts are decided
elsewhere, by trusted code the learner's program can neither reach nor see.

Two places, two levels of trust:

- The **sandbox** (untrusted): a pool of host processes (`node host.mjs`), each running one job
  at a time in a fresh *isolate* (isolate.mjs: a worker thread with its own V8 isolate, JS realm
  and Pyodide interpreter restored from a memory snapshot, booted ahead of the job and thrown
  away after it). It receives the learner's program and answers questions about it: run it with
  this stdin (its output is captured outside Python), look up a top-level name, call a function
  with these arguments. Answers are plain data. It never receives a test, an expected value or
  a verdict, and no JS or Python state survives from one job to the next.
- The **judge** (trusted): a separate CPython process (judge.py) per job that runs the tests,
  hidden ones included, through harness.run_test_with. Its questions go to the job's isolate,
  relayed here; its verdicts come back here. Expected values of hidden tests exist only there
  and in catalog.db.

Layers around the sandbox, outermost first (`Sandbox.describe()` says which are active here):
processes started through launch.py with an empty environment, a scratch working directory,
rlimits and a seccomp filter (no sockets, no new processes, no ptrace, no signals to others),
inside a user + network namespace when `unshare` works; Node's permission model (reads only the
Pyodide runtime and the two sandbox scripts, may start worker threads, nothing else); a hard cap
on wasm memory plus each job's own memory budget, enforced on the memory's growth, a JS heap cap
per isolate and an RSS watchdog on the host; inside each isolate a JS lockdown, frozen JS
intrinsics, and runner.py's Python lockdown (no JS bridge, no builtin-module loader, an audit
hook without reachable state).

The judge runs with rlimits and seccomp too: authored tests are reviewed, but a bug in one must
not hurt the server. `time_limit` is the job's wall-clock time, measured here, covering the
program, the isolate and the tests.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.courseware import harness
from sidecar.engine import engine_files

from ._process import (
    HOST_JS,
    ISOLATE_JS,
    RUNNER,
    HostProcess,
    JudgeProcess,
    Layers,
    Limits,
    WorkerDied,
    WorkerOverMemory,
    probe_layers,
    remove_stale_scratch,
)
from .pool import LONG_JOB_SECONDS, HostPool, Job, JudgePool, SandboxUnavailable

__all__ = ["GradeResult", "RunResult", "Sandbox", "SandboxUnavailable", "get_sandbox"]

MAX_MEMORY_MB = 1024  # the most an exercise may ask for; the hosts' hard cap on wasm memory
JUDGE_GRACE = 2.0  # the judge's last lines after the program's last answer, beyond the time limit
MAX_ASKS = 100_000  # questions one job may ask (a test looping forever on calls still ends)


@dataclass(frozen=True)
class GradeResult:
    passed: bool
    results: list[dict[str, Any]]  # {name, passed, message, hidden} per test, in the caller's order
    status: str  # "ok" | "timeout" | "memory" | "crashed" | "output_limit" | "error" (the judge failed)
    message: str  # learner-facing summary
    duration_ms: float
    worker_restarts: int  # host processes replaced because of this job (0 or 1)


@dataclass(frozen=True)
class RunResult:
    output: str  # stdout and stderr as printed, up to output_limit characters
    error: str | None  # learner-facing traceback, or None
    status: str
    message: str = ""
    duration_ms: float = 0.0


_SNAPSHOTS: dict[str, bytes] = {}  # shared by Sandbox instances in this process
_LAYERS: dict[str, Layers] = {}  # what probing found, per node binary and Pyodide folder
_SNAPSHOT_LOCK = threading.Lock()


def vendored_wheels() -> list[dict[str, str]]:
    """site/wheels/*.whl as {name, data (base64)}: sent to the host once, copied into each isolate."""
    import base64

    folder = engine_files().site_dir / "wheels"
    return [{"name": wheel.name, "data": base64.b64encode(wheel.read_bytes()).decode("ascii")}
            for wheel in sorted(folder.glob("*.whl"))]


class Sandbox:
    def __init__(self, pool_size: int = 2, time_limit: float = 5.0, memory_mb: int = 256,
                 output_limit: int = 64_000, *, recycle_after: int = 200, queue_timeout: float = 120.0,
                 _python_layer: bool = True) -> None:
        node = shutil.which("node")
        pyodide_dir = engine_files().pyodide_dir
        if node is None:
            raise SandboxUnavailable("Node.js is not installed (the sandbox runs Pyodide on node)")
        if not (pyodide_dir / "pyodide.mjs").is_file():
            raise SandboxUnavailable(f"the Pyodide runtime is missing at {pyodide_dir}: run `npm ci` in the engine's "
                                     "checkout, or reinstall the engine")
        self.pool_size, self.time_limit, self.memory_mb = pool_size, time_limit, memory_mb
        self.output_limit, self.recycle_after, self.queue_timeout = output_limit, recycle_after, queue_timeout
        remove_stale_scratch()
        try:
            with _SNAPSHOT_LOCK:
                key = f"{node}|{pyodide_dir.resolve()}"
                if key not in _LAYERS:
                    _LAYERS[key] = probe_layers(node, pyodide_dir.resolve())
                self._layers: Layers = _LAYERS[key]
        except OSError as err:
            raise SandboxUnavailable(str(err)) from None
        self._snapshot = self._make_snapshot()
        self._limits = Limits(memory_mb=MAX_MEMORY_MB, wasm_base_bytes=len(self._snapshot),
                              cpu_seconds=int(600 + recycle_after * (time_limit + 2)),
                              rss_limit_mb=700 + 2 * memory_mb)
        config = {"op": "config", "mode": "serve", "harness": Path(harness.__file__).read_text(encoding="utf-8"),
                  "runner": RUNNER.read_text(encoding="utf-8"),
                  # The vendored wheels (pytest and what it needs), written into each isolate's own file
                  # system and importable from there: a learner's test file may `import pytest`.
                  "wheels": vendored_wheels(),
                  # Off only in the escape suite, to test the JS and OS layers on their own.
                  "python_layer": _python_layer}
        self._hosts = HostPool(size=pool_size, layers=self._layers, limits=self._limits, config=config,
                               snapshot=self._snapshot, recycle_after=recycle_after)
        self._judges = JudgePool(size=pool_size, layers=self._layers, cpu_seconds=int(time_limit * 4 + 30))
        self.closed = False

    # ---- public API ---------------------------------------------------------------------------
    def grade(self, code: str, tests: Sequence[Mapping[str, Any]], seed: int, time_limit: float | None = None,
              memory_mb: int | None = None) -> GradeResult:
        """Run `tests` on `code`, as harness.run_tests(code, tests, seed) does, with the verdicts
        decided by a trusted judge and the program answering from a fresh isolate."""
        started = time.monotonic()
        limit = float(time_limit or self.time_limit)
        memory = min(int(memory_mb or self.memory_mb), MAX_MEMORY_MB)
        host, job = self._start(code, memory)
        try:
            judge = self._judges.take()
        except OSError as err:
            job.end()
            self._release(host, True, "error")
            raise SandboxUnavailable(f"the judge could not start: {err}") from None
        deadline = time.monotonic() + limit
        outcomes: dict[int, dict[str, Any]] = {}
        status, current, healthy = "ok", None, True
        # A job that runs long (an infinite loop, a flood) yields the CPU to everyone else's.
        slow = threading.Timer(LONG_JOB_SECONDS, job.deprioritise)
        slow.daemon = True
        slow.start()
        try:
            judge.send({"tests": [self._judge_test(t) for t in tests], "seed": seed})
            status, current = self._relay(job, judge, deadline, outcomes)
            if status == "ok":
                current = None  # every test finished: nothing was cut short
        except _JudgeFailed:
            status = "error"  # our side failed (a test's own bug, say): nothing the program did
        except WorkerOverMemory:
            status, healthy = "memory", False
        except WorkerDied:
            status, healthy = "crashed", False
        finally:
            slow.cancel()
            judge.kill()
        healthy = job.restore() and healthy
        if status == "ok" and job.memory:
            status = "memory"
        elif status == "ok" and job.cut:
            status = "output_limit"
        healthy = job.end() and healthy
        restarts = self._release(host, healthy, status)
        results = self._results(tests, outcomes, status, current, limit, memory)
        passed = status in ("ok", "output_limit") and len(outcomes) == len(tests) and all(
            r["passed"] for r in results)
        return GradeResult(passed=passed, results=results, status=status,
                           message=self._summary(status, results, limit, memory),
                           duration_ms=(time.monotonic() - started) * 1000, worker_restarts=restarts)

    def run(self, code: str, stdin: str = "", time_limit: float | None = None) -> RunResult:
        """Run a program with `stdin` and capture what it prints (e.g. for predict-output quizzes)."""
        started = time.monotonic()
        limit = float(time_limit or self.time_limit)
        host, job = self._start(code, self.memory_mb)
        chunks: list[str] = []
        error, status, healthy = None, "ok", True
        try:
            answer = job.ask({"op": "run", "stdin": stdin, "keep": False}, time.monotonic() + limit, chunks.append)
            if answer is None:
                status = "timeout"
            elif answer.fatal:
                status = "crashed"
            else:
                chunks.append(answer.output)
                error = _run_error(answer.reply)
        except WorkerOverMemory:
            status, healthy = "memory", False
        except WorkerDied:
            status, healthy = "crashed", False
        if status == "ok" and job.memory:
            status = "memory"
        healthy = job.end() and healthy
        self._release(host, healthy, status)
        summary = "" if status == "ok" else self._summary(status, [], limit, self.memory_mb)
        return RunResult(output="".join(chunks)[: self.output_limit], error=error, status=status, message=summary,
                         duration_ms=(time.monotonic() - started) * 1000)

    def describe(self) -> str:
        layers = [
            *self._layers.names(),
            f"rlimits ({', '.join(f'{k[7:]}={v}' for k, v in self._limits.rlimits().items())})",
            "node permission model (reads: Pyodide runtime and the sandbox scripts only; worker threads; no "
            "writes, child processes, addons, WASI)",
            "empty environment, scratch working directory",
            f"memory per job {self.memory_mb} MiB (hard cap {MAX_MEMORY_MB} MiB), RSS watchdog "
            f"{self._limits.rss_limit_mb} MB",
            "a fresh isolate (V8 isolate, JS realm, Pyodide interpreter) per job, booted ahead",
            "JS lockdown and frozen intrinsics; Python lockdown (no JS bridge, no builtin-module loader, "
            "audit hook without reachable state)",
            "verdicts decided by a separate trusted judge process; hidden tests never enter the sandbox",
        ]
        return "Pyodide on Node.js; layers: " + "; ".join(layers)

    def stats(self) -> dict[str, Any]:
        hosts = self._hosts.hosts()
        stats = self._hosts.stats
        return {"pool_size": self.pool_size, "workers": len(hosts), "idle": self._hosts.idle_count(),
                "jobs": stats.jobs, "restarts": stats.restarts, "statuses": dict(stats.statuses),
                "job_cpu_seconds": round(stats.job_cpu_seconds, 3), "boot_failures": stats.boot_failures,
                "last_boot_error": stats.last_boot_error, "pids": [h.pid for h in hosts],
                "worker_rss_mb": [round(h.rss_mb(), 1) for h in hosts], "layers": self._layers.names()}

    def close(self) -> None:
        self.closed = True
        self._hosts.close()
        self._judges.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- jobs ---------------------------------------------------------------------------------
    @staticmethod
    def _judge_test(test: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": str(test.get("name", "test")), "code": str(test["code"]),
                "stdin": str(test.get("stdin") or ""), "hidden": bool(test.get("hidden")),
                "feedback": str(test.get("feedback") or "")}

    def _start(self, code: str, memory_mb: int) -> tuple[HostProcess, Job]:
        """A host whose isolate accepted the job: until then no learner code ran, so retry."""
        if self.closed:
            raise SandboxUnavailable("the sandbox is closed")
        wait_until = time.monotonic() + self.queue_timeout
        for _attempt in range(5):
            host = self._hosts.acquire(wait_until)
            host.cpu_at_start = host.cpu_seconds()
            host.rss_limit_mb = 700 + 2 * memory_mb
            job = Job(host)
            try:
                job.start(code, len(self._snapshot) + (memory_mb << 20), self.output_limit)
            except (WorkerDied, WorkerOverMemory):
                self._hosts.retire(host)
                continue
            return host, job
        raise SandboxUnavailable("sandbox hosts keep failing before a job starts")

    def _relay(self, job: Job, judge: JudgeProcess, deadline: float,
               outcomes: dict[int, dict[str, Any]]) -> tuple[str, int | None]:
        """Carry the judge's questions to the isolate and its answers back, until the judge is done."""
        current: int | None = None
        asks = 0
        while True:
            try:
                message = judge.read(deadline + JUDGE_GRACE)
            except (WorkerDied, WorkerOverMemory) as err:
                raise _JudgeFailed(str(err)) from None
            if message is None:
                return "timeout", current
            op = message.get("op")
            if op == "test":
                current = int(message["index"])
            elif op == "result":
                outcomes[int(message["index"])] = dict(message["result"])
            elif op == "done":
                return "ok", current
            elif op == "ask":
                asks += 1
                if asks > MAX_ASKS:
                    return "timeout", current
                answer = job.ask(dict(message["request"]), deadline)
                if answer is None:
                    return "timeout", current
                if answer.fatal:
                    return "crashed", current
                try:
                    judge.send({"answer": {"reply": answer.reply, "output": answer.output, "cut": answer.cut}})
                except WorkerDied as err:
                    raise _JudgeFailed(str(err)) from None

    def _release(self, host: HostProcess, healthy: bool, status: str) -> int:
        cpu = max(0.0, host.cpu_seconds() - host.cpu_at_start)
        stats = self._hosts.stats
        stats.jobs += 1
        stats.job_cpu_seconds += cpu
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        self._hosts.release(host, healthy=healthy)
        return 0 if healthy else 1

    def _results(self, tests: Sequence[Mapping[str, Any]], outcomes: dict[int, dict[str, Any]], status: str,
                 current: int | None, limit: float, memory_mb: int) -> list[dict[str, Any]]:
        why = {"timeout": f"took longer than {limit:g} s", "memory": f"used more than {memory_mb} MB",
               "crashed": "stopped the Python interpreter", "error": "could not be tested: grading failed on the "
               "server"}.get(status, "stopped")
        # `current` is set only when the job stopped before the judge finished.
        stopped_in_hidden = current is not None and bool(tests[current].get("hidden"))
        budget = self.output_limit
        results = []
        for index, test in enumerate(tests):
            hidden = bool(test.get("hidden"))
            outcome = outcomes.get(index)
            if stopped_in_hidden and hidden:
                # Which hidden test (so which hidden input) stopped the program stays private: every
                # hidden test reads the same, passed earlier or not.
                passed, message = False, f"The hidden tests did not finish: the program {why}."
            elif outcome is not None:
                passed, message = outcome.get("passed") is True, str(outcome.get("message", ""))
            elif index == current:
                passed, message = False, f"This test did not finish: the program {why}."
            else:
                passed, message = False, f"Not run: the program {why} in an earlier test."
            if passed:
                message = ""
            elif hidden and not stopped_in_hidden:
                # Hidden tests never reveal their inputs, code or expected values (as in the harness).
                message = str(test.get("feedback") or "A hidden test failed.")
            message = message[:budget]
            budget -= len(message)
            results.append({"name": str(test.get("name", "test")), "passed": passed, "message": message,
                            "hidden": hidden})
        return results

    def _summary(self, status: str, results: list[dict[str, Any]], limit: float, memory_mb: int) -> str:
        passed = sum(r["passed"] for r in results)
        tally = f"{passed} of {len(results)} tests passed."
        return {
            "ok": tally,
            "timeout": f"Your program took too long (over {limit:g} s). Look for a loop that never ends, or for "
                       "input() asking for more lines than the test gives.",
            "memory": f"Your program used more than {memory_mb} MB of memory.",
            "crashed": "Your program stopped the Python interpreter (for example with os._exit or runaway "
                       "recursion), so it could not be tested fully.",
            "output_limit": f"Your program printed more than {self.output_limit:,} characters; the rest was cut "
                            "off. " + tally,
            "error": "Grading failed on the server, not because of your program: please try again.",
        }[status]

    # ---- the snapshot -------------------------------------------------------------------------
    def _make_snapshot(self) -> bytes:
        """A memory snapshot of a booted, preloaded interpreter, made once per process by a host."""
        harness_source = Path(harness.__file__).read_bytes()
        key = hashlib.sha256(HOST_JS.read_bytes() + ISOLATE_JS.read_bytes() + RUNNER.read_bytes() + harness_source
                             + str(self._layers.pyodide_dir).encode()
                             + (self._layers.pyodide_dir / "package.json").read_bytes()).hexdigest()
        with _SNAPSHOT_LOCK:
            if key not in _SNAPSHOTS:
                limits = Limits(memory_mb=256, wasm_base_bytes=64 << 20, cpu_seconds=300, rss_limit_mb=2048)
                config = {"op": "config", "mode": "snapshot", "runner": RUNNER.read_text(encoding="utf-8"),
                          "harness": harness_source.decode("utf-8")}
                host = HostProcess(self._layers, limits, config, b"")
                try:
                    header = host.expect("snapshot", time.monotonic() + 180)
                    _SNAPSHOTS[key] = host.read_exact(int(header["size"]), time.monotonic() + 60)
                except (WorkerDied, WorkerOverMemory) as err:
                    raise SandboxUnavailable(f"could not make the Pyodide snapshot: {err}") from None
                finally:
                    host.kill()
            return _SNAPSHOTS[key]


class _JudgeFailed(Exception):
    """The trusted judge stopped (a bug in a test, say): the submission is not judged."""


def _run_error(reply: str | None) -> str | None:
    """The traceback in a `run` reply, or None when the program finished."""
    import json

    try:
        data = json.loads(reply) if reply is not None else None
    except ValueError:
        return "The program's answer could not be read."
    if not isinstance(data, dict):
        return "The program's answer could not be read."
    error = data.get("error")
    return None if error is None else str(error)[:20_000]


_default: Sandbox | None = None
_default_lock = threading.Lock()


def get_sandbox(pool_size: int | None = None) -> Sandbox:
    """The process-wide sandbox, created (and its hosts started) on first use.

    pool_size: host processes, i.e. jobs run at once (default: GRADING_WORKERS).
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            if pool_size is None:
                from sidecar.settings import get_settings

                pool_size = get_settings().GRADING_WORKERS
            _default = Sandbox(pool_size=pool_size)
            atexit.register(_default.close)
        return _default
