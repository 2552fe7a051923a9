"""Trusted grading: learner code runs in a pool of locked-down Pyodide-on-Node workers, never here.

Layers, outermost first (`Sandbox.describe()` says which are active on this machine):

- A separate process per worker (`node worker.mjs`), started through launch.py with an empty
  environment, a fresh scratch folder as its working directory, rlimits (address space, CPU,
  file size, core dumps, open files) and a seccomp filter (no sockets, no new processes or exec,
  no ptrace, no signals to other processes); inside a user + network namespace when `unshare`
  works here, so there is no network at all.
- Node's permission model: reads only of the Pyodide runtime and worker.mjs; no writes, child
  processes, worker threads, addons or WASI. V8 caps the wasm memory (--wasm-max-mem-pages), so
  a memory bomb gets a MemoryError; the parent also kills a worker whose RSS passes a ceiling.
- worker.mjs locks JavaScript down before any Python exists and gives every job a fresh
  interpreter restored from a memory snapshot, prepared while the worker is idle; runner.py adds
  a Python audit hook. A worker is replaced after a timeout, crash, memory or output overrun,
  and after `recycle_after` jobs.
- Integrity: tests are sent one at a time, visible ones first, so a hidden test reaches the
  worker only after the program ran and every visible result is in. The verdict of each test is
  decided in JavaScript (the test code returned normally), results carry a per-job nonce, and
  learner output never reaches the protocol stream. Names, hidden flags and hidden-test feedback
  are filled in here, from the caller's tests, never from the worker.

The pool is warm (workers start ahead), thread-safe (callers queue for a free worker) and
replaces dead workers. `time_limit` is wall-clock time per job, measured here.
"""

from __future__ import annotations

import atexit
import hashlib
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.courseware import harness
from sidecar.engine import engine_files

from ._process import (
    RUNNER,
    WORKER_JS,
    Layers,
    Limits,
    WorkerDied,
    WorkerOverMemory,
    WorkerProcess,
    probe_layers,
    remove_stale_scratch,
)

__all__ = ["GradeResult", "RunResult", "Sandbox", "SandboxUnavailable", "get_sandbox"]

BOOT_TIMEOUT = 90.0  # seconds for a worker to boot and prepare its first interpreter (2 busy cores)
READY_TIMEOUT = 30.0  # seconds for a worker to prepare a fresh interpreter between jobs
DONE_GRACE = 2.0  # the "done" message after the last result, beyond the job's time limit


class SandboxUnavailable(RuntimeError):
    """Node.js or Pyodide is missing, or no worker could be started."""


@dataclass(frozen=True)
class GradeResult:
    passed: bool
    results: list[dict[str, Any]]  # {name, passed, message, hidden} per test, in the caller's order
    status: str  # "ok" | "timeout" | "memory" | "crashed" | "output_limit"
    message: str  # learner-facing summary
    duration_ms: float
    worker_restarts: int  # workers replaced because of this job (0 or 1)


@dataclass(frozen=True)
class RunResult:
    output: str  # stdout and stderr as printed, up to output_limit characters
    error: str | None  # learner-facing traceback, or None
    status: str
    message: str = ""
    duration_ms: float = 0.0


@dataclass
class _Stats:
    jobs: int = 0
    restarts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    job_cpu_seconds: float = 0.0
    boot_failures: int = 0
    last_boot_error: str = ""
    prepare_ms: list[float] = field(default_factory=list)  # the last fresh interpreters' set-up times


class _FairQueue:
    """Idle workers handed out first come, first served, so no caller starves behind the others."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: deque[WorkerProcess] = deque()
        self._waiters: deque[object] = deque()
        self.closed = False

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def put(self, worker: WorkerProcess) -> None:
        with self._cond:
            self._items.append(worker)
            self._cond.notify_all()

    def get(self, wait_until: float) -> WorkerProcess | None:
        ticket = object()
        with self._cond:
            self._waiters.append(ticket)
            try:
                while not (self._items and self._waiters[0] is ticket):
                    remaining = wait_until - time.monotonic()
                    if remaining <= 0 or self.closed:
                        return None
                    self._cond.wait(remaining)
                return self._items.popleft()
            finally:
                self._waiters.remove(ticket)
                self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


_SNAPSHOTS: dict[str, bytes] = {}  # shared by Sandbox instances in this process
_LAYERS: dict[str, Layers] = {}  # what probing found, per node binary and Pyodide folder
_SNAPSHOT_LOCK = threading.Lock()


class Sandbox:
    def __init__(self, pool_size: int = 2, time_limit: float = 5.0, memory_mb: int = 256,
                 output_limit: int = 64_000, *, recycle_after: int = 100, queue_timeout: float = 120.0,
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
        self._limits = Limits(memory_mb=memory_mb, wasm_base_bytes=len(self._snapshot),
                              cpu_seconds=int(120 + recycle_after * (time_limit + 2)),
                              rss_limit_mb=640 + 2 * memory_mb)
        self._config = {"op": "config", "mode": "serve", "output_limit": output_limit,
                        "harness": Path(harness.__file__).read_text(encoding="utf-8"),
                        "runner": RUNNER.read_text(encoding="utf-8"),
                        # Off only in the escape suite, to test the JS and OS layers on their own.
                        "python_layer": _python_layer}
        self._idle = _FairQueue()
        self._ready: set[WorkerProcess] = set()  # idle and known to have a fresh interpreter
        self._workers: set[WorkerProcess] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stats = _Stats()
        self.closed = False
        self._closing = threading.Event()  # wakes boot threads sleeping after a failed start
        for _ in range(pool_size):
            self._spawn()

    # ---- public API ---------------------------------------------------------------------------
    def grade(self, code: str, tests: Sequence[Mapping[str, Any]], seed: int,
              time_limit: float | None = None) -> GradeResult:
        """Run the shared harness's tests on `code`, the way harness.run_tests(code, tests, seed) does."""
        started = time.monotonic()
        limit = float(time_limit or self.time_limit)
        # Visible tests first: a hidden test reaches the worker only after every visible result is in.
        order = [i for i, t in enumerate(tests) if not t.get("hidden")] + [i for i, t in enumerate(tests)
                                                                           if t.get("hidden")]
        messages = {index: self._test_message(tests, index, seed) for index in order}
        outcomes: dict[int, tuple[bool, str]] = {}
        status, current = "ok", None
        worker, nonce, deadline = self._start({"kind": "grade", "code": code}, [messages[i] for i in order[:1]], limit)
        try:
            for n, index in enumerate(order):
                current = index
                if n > 0:
                    worker.send({**messages[index], "nonce": nonce})
                message = self._await(worker, nonce, "result", deadline)
                if message is None:
                    status = "timeout"
                    break
                if message.get("index") != index:
                    raise WorkerDied("the worker answered for another test")
                outcomes[index] = (message.get("passed") is True, str(message.get("message", "")))
                if message.get("fatal"):
                    status = "crashed"
                    break
            if status == "ok":
                worker.send({"op": "end", "nonce": nonce})
                done = self._await(worker, nonce, "done", deadline + DONE_GRACE)
                status = "timeout" if done is None else self._status_of(done)
        except WorkerOverMemory:
            status = "memory"
        except WorkerDied:
            status = "crashed"
        restarts = self._finish(worker, status)
        results = self._results(tests, outcomes, status, current, limit)
        passed = status in ("ok", "output_limit") and all(r["passed"] for r in results)
        return GradeResult(passed=passed, results=results, status=status,
                           message=self._summary(status, results, limit),
                           duration_ms=(time.monotonic() - started) * 1000, worker_restarts=restarts)

    def run(self, code: str, stdin: str = "", time_limit: float | None = None) -> RunResult:
        """Run a program with `stdin` and capture what it prints (e.g. for predict-output quizzes)."""
        started = time.monotonic()
        limit = float(time_limit or self.time_limit)
        chunks: list[str] = []
        error, status = None, "ok"
        worker, nonce, deadline = self._start({"kind": "run", "code": code, "stdin": stdin}, [], limit)
        try:
            while True:
                message = self._await(worker, nonce, ("output", "done"), deadline)
                if message is None:
                    status = "timeout"
                    break
                if message["op"] == "output":
                    chunks.append(str(message.get("text", "")))
                    continue
                status = self._status_of(message)
                error = None if message.get("error") is None else str(message["error"])
                break
        except WorkerOverMemory:
            status = "memory"
        except WorkerDied:
            status = "crashed"
        self._finish(worker, status)
        summary = "" if status == "ok" else self._summary(status, [], limit)
        return RunResult(output="".join(chunks)[: self.output_limit], error=error, status=status, message=summary,
                         duration_ms=(time.monotonic() - started) * 1000)

    def describe(self) -> str:
        layers = [
            *self._layers.names(),
            f"rlimits ({', '.join(f'{k[7:]}={v}' for k, v in self._limits.rlimits().items())})",
            "node permission model (reads: Pyodide runtime and worker.mjs only; no writes, child processes, "
            "workers, addons, WASI)",
            "empty environment, scratch working directory",
            f"wasm memory cap {self._limits.wasm_pages * 64 // 1024} MiB, RSS watchdog {self._limits.rss_limit_mb} MB",
            "JS lockdown (no process, network modules, fetch, eval or Function constructors)",
            "Python audit hook (no js/pyodide bridges, ctypes, tracing, gc walking, processes, sockets)",
            f"fresh interpreter per job, worker recycled after {self.recycle_after} jobs or any overrun",
        ]
        return "Pyodide on Node.js; layers: " + "; ".join(layers)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            workers = list(self._workers)
            stats = self._stats
            return {"pool_size": self.pool_size, "workers": len(workers), "idle": len(self._idle),
                    "jobs": stats.jobs, "restarts": stats.restarts, "statuses": dict(stats.statuses),
                    "job_cpu_seconds": round(stats.job_cpu_seconds, 3),
                    "prepare_ms_mean": round(sum(stats.prepare_ms) / max(1, len(stats.prepare_ms)), 1),
                    "boot_failures": stats.boot_failures,
                    "last_boot_error": stats.last_boot_error, "pids": [w.pid for w in workers],
                    "worker_rss_mb": [round(w.rss_mb(), 1) for w in workers], "layers": self._layers.names()}

    def close(self) -> None:
        with self._lock:
            self.closed = True
            workers = list(self._workers)
            self._workers.clear()
            threads = list(self._threads)
        self._idle.close()  # callers waiting for a worker give up now
        self._closing.set()
        for worker in workers:
            worker.kill()
        for thread in threads:
            thread.join(timeout=BOOT_TIMEOUT)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- jobs ---------------------------------------------------------------------------------
    @staticmethod
    def _test_message(tests: Sequence[Mapping[str, Any]], index: int, seed: int) -> dict[str, Any]:
        test = tests[index]
        # Test i gets seed + i, as in harness.run_tests, whatever order the tests run in.
        return {"op": "test", "index": index, "source": str(test["code"]), "stdin": str(test.get("stdin") or ""),
                "seed": seed + index}

    def _start(self, begin: dict[str, Any], first: list[dict[str, Any]],
               limit: float) -> tuple[WorkerProcess, str, float]:
        """A worker that accepted the job: until it says "started", no learner code ran, so retry."""
        wait_until = time.monotonic() + self.queue_timeout
        for _attempt in range(5):
            worker = self._acquire(wait_until)
            nonce = secrets.token_hex(16)
            try:
                worker.send({"op": "begin", "nonce": nonce, **begin})
                if self._await(worker, nonce, "started", time.monotonic() + READY_TIMEOUT) is None:
                    raise WorkerDied("the worker did not start the job")
            except (WorkerDied, WorkerOverMemory):
                self._retire(worker)
                continue
            deadline = time.monotonic() + limit
            try:
                for message in first:
                    worker.send({**message, "nonce": nonce})
            except WorkerDied:
                pass  # reported as a crash by the caller's next read
            return worker, nonce, deadline
        raise SandboxUnavailable("sandbox workers keep dying before a job starts")

    def _acquire(self, wait_until: float) -> WorkerProcess:
        while True:
            if self.closed:
                raise SandboxUnavailable("the sandbox is closed")
            worker = self._idle.get(wait_until)
            if worker is None:
                raise SandboxUnavailable("the sandbox is closed" if self.closed else
                                         "no sandbox worker became free in time")
            if not worker.alive():
                self._retire(worker)
                continue
            with self._lock:
                known_ready = worker in self._ready
                self._ready.discard(worker)
            if not known_ready:
                try:
                    ready = worker.expect("ready", time.monotonic() + READY_TIMEOUT)
                except (WorkerDied, WorkerOverMemory):
                    self._retire(worker)
                    continue
                with self._lock:
                    self._stats.prepare_ms.append(float(ready.get("prepare_ms") or 0))
                    del self._stats.prepare_ms[:-50]
            worker.cpu_at_start = worker.cpu_seconds()
            return worker

    @staticmethod
    def _await(worker: WorkerProcess, nonce: str, op: str | tuple[str, ...], deadline: float) -> dict[str, Any] | None:
        """The next message of this job with one of the ops in `op`; None when the deadline passes."""
        ops = (op,) if isinstance(op, str) else op
        while True:
            message = worker.read(deadline)
            if message is None or (message.get("op") in ops and message.get("nonce") == nonce):
                return message
            if message.get("op") == "error":
                raise WorkerDied(str(message.get("message")))

    def _status_of(self, done: dict[str, Any]) -> str:
        if done.get("memory"):
            return "memory"
        if done.get("fatal"):
            return "crashed"
        return "output_limit" if done.get("output_cut") else "ok"

    def _finish(self, worker: WorkerProcess, status: str) -> int:
        """Return the worker to the pool or replace it; the number of restarts this caused."""
        cpu = max(0.0, worker.cpu_seconds() - worker.cpu_at_start)
        worker.jobs += 1
        with self._lock:
            self._stats.jobs += 1
            self._stats.job_cpu_seconds += cpu
            self._stats.statuses[status] = self._stats.statuses.get(status, 0) + 1
        if status in ("ok", "output_limit") and worker.jobs < self.recycle_after and worker.alive():
            self._idle.put(worker)  # it prepares a fresh interpreter and says "ready" when done
            return 0
        self._retire(worker)
        return 1

    def _results(self, tests: Sequence[Mapping[str, Any]], outcomes: dict[int, tuple[bool, str]], status: str,
                 current: int | None, limit: float) -> list[dict[str, Any]]:
        why = {"timeout": f"timed out after {limit:g} s", "memory": f"used more than {self.memory_mb} MB",
               "crashed": "stopped the Python interpreter"}.get(status, "stopped")
        budget = self.output_limit
        results = []
        for index, test in enumerate(tests):
            hidden = bool(test.get("hidden"))
            if index in outcomes:
                passed, message = outcomes[index]
            elif index == current:
                passed, message = False, f"This test did not finish: the program {why}."
            else:
                passed, message = False, f"Not run: the program {why} in an earlier test."
            if passed:
                message = ""
            elif hidden:
                # Hidden tests never reveal their inputs, code or expected values (as in the harness).
                message = str(test.get("feedback") or "A hidden test failed.")
            message = message[:budget]
            budget -= len(message)
            results.append({"name": str(test.get("name", "test")), "passed": passed, "message": message,
                            "hidden": hidden})
        return results

    def _summary(self, status: str, results: list[dict[str, Any]], limit: float) -> str:
        passed = sum(r["passed"] for r in results)
        tally = f"{passed} of {len(results)} tests passed."
        return {
            "ok": tally,
            "timeout": f"Your program timed out after {limit:g} s. Look for a loop that never ends, or for input() "
                       "asking for more lines than the test gives.",
            "memory": f"Your program used more than {self.memory_mb} MB of memory.",
            "crashed": "Your program stopped the Python interpreter (for example with os._exit or runaway "
                       "recursion), so it could not be tested fully.",
            "output_limit": f"Your program printed more than {self.output_limit:,} characters; the rest was cut off. "
                            + tally,
        }[status]

    # ---- pool ---------------------------------------------------------------------------------
    def _make_snapshot(self) -> bytes:
        """A memory snapshot of a booted interpreter, made once per process in a sandboxed worker."""
        key = hashlib.sha256(WORKER_JS.read_bytes() + str(self._layers.pyodide_dir).encode()
                             + (self._layers.pyodide_dir / "package.json").read_bytes()).hexdigest()
        with _SNAPSHOT_LOCK:
            if key not in _SNAPSHOTS:
                limits = Limits(memory_mb=256, wasm_base_bytes=64 << 20, cpu_seconds=300, rss_limit_mb=2048)
                worker = WorkerProcess(self._layers, limits, {"op": "config", "mode": "snapshot",
                                                              "output_limit": 0}, b"")
                try:
                    header = worker.expect("snapshot", time.monotonic() + 180)
                    _SNAPSHOTS[key] = worker.read_exact(int(header["size"]), time.monotonic() + 60)
                except (WorkerDied, WorkerOverMemory) as err:
                    raise SandboxUnavailable(f"could not make the Pyodide snapshot: {err}") from None
                finally:
                    worker.kill()
            return _SNAPSHOTS[key]

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._boot_worker, name="drona-sandbox-boot", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _boot_worker(self) -> None:
        for attempt in range(1000):
            with self._lock:
                if self.closed:
                    return
            try:
                worker = WorkerProcess(self._layers, self._limits, self._config, self._snapshot)
            except (OSError, WorkerDied) as err:
                self._boot_failed(str(err), attempt)
                continue
            with self._lock:
                if self.closed:
                    worker.kill()
                    return
                self._workers.add(worker)
            try:
                worker.expect("ready", time.monotonic() + BOOT_TIMEOUT)
            except (WorkerDied, WorkerOverMemory) as err:
                self._discard(worker)
                self._boot_failed(str(err), attempt)
                continue
            with self._lock:
                self._ready.add(worker)
            self._idle.put(worker)
            return

    def _boot_failed(self, error: str, attempt: int) -> None:
        with self._lock:
            self._stats.boot_failures += 1
            self._stats.last_boot_error = error[-2000:]
        self._closing.wait(min(30.0, 0.5 * 2 ** min(attempt, 6)))

    def _discard(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._workers.discard(worker)
            self._ready.discard(worker)
        worker.kill()

    def _retire(self, worker: WorkerProcess) -> None:
        """Kill a worker (after an overrun, a crash, or enough jobs) and start its replacement."""
        self._discard(worker)
        with self._lock:
            self._stats.restarts += 1
            closed = self.closed
        if not closed:
            self._spawn()


_default: Sandbox | None = None
_default_lock = threading.Lock()


def get_sandbox() -> Sandbox:
    """The process-wide sandbox, created (and its workers started) on first use."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default
