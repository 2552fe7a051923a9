"""The sandbox's pools: host processes that run jobs in fresh isolates, and single-use judges.

Hosts are started ahead (each keeps one isolate booted for its next job) and handed out first
come, first served; a host whose job went wrong (unresponsive, over memory) is killed and
replaced. Judges are started ahead too and used once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sidecar.observability import metrics

from ._process import HostProcess, JudgeProcess, Layers, Limits, WorkerDied, WorkerOverMemory

BOOT_TIMEOUT = 90.0  # seconds for a host to boot and prepare its first isolate (2 busy cores)
LONG_JOB_SECONDS = 1.0  # a job running longer than this (most take tens of ms) is deprioritised
LONG_JOB_NICE = 10
START_TIMEOUT = 30.0  # seconds for a host to start a job (boots an isolate if none is warm)
END_TIMEOUT = 3.0  # seconds for a host to confirm a job's isolate is gone


@dataclass
class Answer:
    reply: str | None  # JSON text from the isolate's runner, or None when there was none
    output: str
    cut: bool
    memory: bool
    fatal: str | None


@dataclass
class PoolStats:
    jobs: int = 0
    restarts: int = 0
    boot_failures: int = 0
    last_boot_error: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    job_cpu_seconds: float = 0.0


class Job:
    """One job on one host: its isolate answers questions about one program."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.id = secrets.token_hex(12)
        self.seq = 0
        self.memory = False
        self.cut = False
        self.ended: dict[str, Any] | None = None
        self._priority = threading.Lock()
        self._reniced = False
        self._finished = False

    def _next(self, deadline: float, ops: tuple[str, ...]) -> dict[str, Any] | None:
        while True:
            message = self.host.read(deadline)
            if message is None:
                return None
            op = message.get("op")
            if op == "ready":
                self.host.warm = True  # type: ignore[attr-defined]
                continue
            if op == "error":
                raise WorkerDied(str(message.get("message")))
            if message.get("id") != self.id:
                continue  # a late message of an earlier job
            if op == "ended":
                self.ended = message
                self.memory = self.memory or message.get("memory") is True
                if op not in ops:
                    raise WorkerDied("the job's isolate stopped: " + str(message.get("reason")))
            if op in ops:
                return message

    def start(self, code: str, memory_bytes: int, output_limit: int) -> None:
        self.host.warm = False  # type: ignore[attr-defined]
        self.host.send({"op": "job", "id": self.id, "code": code, "memory_bytes": memory_bytes,
                        "output_limit": output_limit})
        if self._next(time.monotonic() + START_TIMEOUT, ("started",)) is None:
            raise WorkerDied("the host did not start the job")

    def ask(self, request: dict[str, Any], deadline: float,
            on_output: Callable[[str], None] | None = None) -> Answer | None:
        """The isolate's answer to one request; None when the deadline passes first."""
        self.seq += 1
        self.host.send({"op": "ask", "id": self.id, "seq": self.seq, "request": json.dumps(request),
                        "stream": on_output is not None})
        while True:
            message = self._next(deadline, ("answer", "output"))
            if message is None:
                return None
            if message.get("seq") != self.seq:
                continue
            if message["op"] == "output":
                if on_output is not None:
                    on_output(str(message.get("text", "")))
                continue
            reply = message.get("reply")
            answer = Answer(reply=reply if isinstance(reply, str) else None, output=str(message.get("output", "")),
                            cut=message.get("cut") is True, memory=message.get("memory") is True,
                            fatal=str(message["fatal"]) if message.get("fatal") else None)
            self.memory = self.memory or answer.memory
            self.cut = self.cut or answer.cut
            return answer

    def deprioritise(self) -> None:
        """A job still running well past a normal one's time gives way to everyone else's.

        Linux schedules threads, so every thread of the host gets the lower priority (a higher
        nice value); `restore` puts it back when the job ends.
        """
        with self._priority:
            if not self._finished:
                self._reniced = True
                _renice(self.host.pid, LONG_JOB_NICE)

    def restore(self) -> bool:
        """Back to normal priority; False when the system refuses (not root): retire the host."""
        with self._priority:
            self._finished = True
            return _renice(self.host.pid, 0) if self._reniced else True

    def end(self) -> bool:
        """Tell the host to drop the isolate; False when the host did not confirm (kill it)."""
        if self.ended is not None:
            return True
        try:
            self.host.send({"op": "end", "id": self.id})
            return self._next(time.monotonic() + END_TIMEOUT, ("ended",)) is not None
        except (WorkerDied, WorkerOverMemory):
            return False


def _renice(pid: int, nice: int) -> bool:
    """Set the nice value of every thread of `pid`; False if any refused (raising it back needs root)."""
    import os

    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True  # the process is gone: nothing to restore
    ok = True
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
        except ProcessLookupError:
            continue
        except OSError:
            ok = False
    return ok


class HostPool:
    """`size` host processes, booted in the background, handed out first come, first served."""

    def __init__(self, *, size: int, layers: Layers, limits: Limits, config: dict[str, Any], snapshot: bytes,
                 recycle_after: int) -> None:
        self.size, self.layers, self.limits = size, layers, limits
        self.config, self.snapshot, self.recycle_after = config, snapshot, recycle_after
        self.stats = PoolStats()
        self.closed = False
        self._cond = threading.Condition()
        self._idle: deque[HostProcess] = deque()
        self._waiters: deque[object] = deque()
        self._hosts: set[HostProcess] = set()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._out: set[HostProcess] = set()  # hosts handed out, not yet released or retired (the metrics)
        for _ in range(size):
            self._spawn()
        metrics.track_worker_pool(self)

    # ---- handing hosts out -------------------------------------------------------------------
    def acquire(self, wait_until: float) -> HostProcess:
        ticket = object()
        with self._cond:
            self._waiters.append(ticket)
            try:
                while True:
                    if self.closed:
                        raise _closed()
                    if self._idle and self._waiters[0] is ticket:
                        host = self._pick()
                        if host.alive():
                            self._out.add(host)
                            return host
                        self.retire(host)  # died while idle (killed from outside): start its replacement
                        continue
                    remaining = wait_until - time.monotonic()
                    if remaining <= 0:
                        raise _busy()
                    self._cond.wait(remaining)
            finally:
                self._waiters.remove(ticket)
                self._cond.notify_all()

    def _pick(self) -> HostProcess:
        """A host whose next isolate is already booted, if any: the job then starts at once."""
        for host in self._idle:
            if not getattr(host, "warm", False):
                # Catch up on "ready" lines the host sent since its last job.
                try:
                    while (message := host.read(time.monotonic())) is not None:
                        if message.get("op") == "ready":
                            host.warm = True  # type: ignore[attr-defined]
                except (WorkerDied, WorkerOverMemory):
                    continue
            if getattr(host, "warm", False):
                self._idle.remove(host)
                return host
        return self._idle.popleft()

    def release(self, host: HostProcess, *, healthy: bool) -> None:
        host.jobs += 1
        with self._cond:
            self._out.discard(host)
        if healthy and host.alive() and host.jobs < self.recycle_after:
            with self._cond:
                if not self.closed:
                    self._idle.append(host)
                    self._cond.notify_all()
                    return
        self.retire(host)

    def retire(self, host: HostProcess) -> None:
        self._forget(host)
        host.kill()
        with self._cond:
            self.stats.restarts += 1
            closed = self.closed
        if not closed:
            self._spawn()

    def _forget(self, host: HostProcess) -> None:
        with self._cond:
            self._hosts.discard(host)
            self._out.discard(host)
            if host in self._idle:
                self._idle.remove(host)

    # ---- booting -----------------------------------------------------------------------------
    def _spawn(self) -> None:
        thread = threading.Thread(target=self._boot, name="drona-sandbox-boot", daemon=True)
        with self._cond:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _boot(self) -> None:
        for attempt in range(1000):
            if self.closed:
                return
            try:
                host = HostProcess(self.layers, self.limits, self.config, self.snapshot)
            except (OSError, WorkerDied) as err:
                self._boot_failed(str(err), attempt)
                continue
            with self._cond:
                if self.closed:
                    host.kill()
                    return
                self._hosts.add(host)
            try:
                host.expect("ready", time.monotonic() + BOOT_TIMEOUT)
            except (WorkerDied, WorkerOverMemory) as err:
                self._forget(host)
                host.kill()
                self._boot_failed(str(err), attempt)
                continue
            host.warm = True  # type: ignore[attr-defined]
            with self._cond:
                self._idle.append(host)
                self._cond.notify_all()
            return

    def _boot_failed(self, error: str, attempt: int) -> None:
        with self._cond:
            self.stats.boot_failures += 1
            self.stats.last_boot_error = error[-2000:]
        self._closing.wait(min(30.0, 0.5 * 2 ** min(attempt, 6)))

    # ---- state -------------------------------------------------------------------------------
    def hosts(self) -> list[HostProcess]:
        with self._cond:
            return list(self._hosts)

    def idle_count(self) -> int:
        with self._cond:
            return len(self._idle)

    def pool_state(self) -> metrics.WorkerPoolState:
        """Workers idle (booted, waiting), busy (running a job) and starting (booting or replacing one)."""
        with self._cond:
            idle, busy = len(self._idle), len(self._out)
        return metrics.WorkerPoolState(size=self.size, idle=idle, busy=busy,
                                       starting=max(0, self.size - idle - busy))

    def close(self) -> None:
        with self._cond:
            self.closed = True
            hosts = list(self._hosts)
            self._hosts.clear()
            self._idle.clear()
            threads = list(self._threads)
            self._cond.notify_all()
        self._closing.set()
        for host in hosts:
            host.kill()
        for thread in threads:
            thread.join(timeout=BOOT_TIMEOUT)


class JudgePool:
    """Judges started ahead of need; each runs one job's tests and is then thrown away."""

    def __init__(self, *, size: int, layers: Layers, cpu_seconds: int) -> None:
        self.size, self.layers, self.cpu_seconds = size, layers, cpu_seconds
        self._lock = threading.Lock()
        self._ready: deque[JudgeProcess] = deque()
        self._threads: list[threading.Thread] = []
        self.closed = False
        for _ in range(size):
            self._refill()

    def _start(self) -> JudgeProcess:
        judge = JudgeProcess(self.layers, self.cpu_seconds)
        return judge

    def _refill(self) -> None:
        def boot() -> None:
            try:
                judge = self._start()
            except OSError:
                return
            with self._lock:
                if self.closed:
                    judge.kill()
                else:
                    self._ready.append(judge)

        thread = threading.Thread(target=boot, name="drona-judge-boot", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def take(self) -> JudgeProcess:
        with self._lock:
            judge = self._ready.popleft() if self._ready else None
        self._refill()
        if judge is None or not judge.alive():
            if judge is not None:
                judge.kill()
            judge = self._start()
        return judge

    def close(self) -> None:
        with self._lock:
            self.closed = True
            judges = list(self._ready)
            self._ready.clear()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=30)  # a judge being started now is killed as soon as it exists
        for judge in judges:
            judge.kill()


class SandboxUnavailable(RuntimeError):
    """Node.js or Pyodide is missing, or no worker could be started."""


def _closed() -> SandboxUnavailable:
    return SandboxUnavailable("the sandbox is closed")


def _busy() -> SandboxUnavailable:
    return SandboxUnavailable("no sandbox worker became free in time")
