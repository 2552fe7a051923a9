"""The sandbox's processes and how they are started (the OS layers): see __init__.py for the design.

Two kinds, both speaking JSON lines over pipes: a host (`node host.mjs`, running learner code in
fresh isolates) and a judge (`python judge.py`, running the trusted tests). Both are started
through launch.py: empty environment, scratch working directory, rlimits, seccomp, and (when
this machine allows) a user + network namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST_JS = HERE / "host.mjs"
ISOLATE_JS = HERE / "isolate.mjs"
LAUNCHER = HERE / "launch.py"
RUNNER = HERE / "runner.py"
JUDGE = HERE / "judge.py"
MAX_LINE = 8 << 20  # a protocol line longer than this means the worker misbehaves
STDERR_LIMIT = 1 << 20  # RLIMIT_FSIZE: the only file a worker writes is its stderr log
SCRATCH_PREFIX = "drona-sandbox-"  # + the sidecar's pid, so leftovers of a killed sidecar can be found


def remove_stale_scratch() -> None:
    """Remove scratch folders (ours, by uid) left by sidecar processes that died without closing."""
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        owner = path.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        with contextlib.suppress(OSError):
            if owner.isdigit() and path.stat().st_uid == os.getuid() and not Path(f"/proc/{owner}").exists():
                shutil.rmtree(path, ignore_errors=True)


class WorkerDied(Exception):
    """The process exited, or wrote something that is not the protocol."""


class WorkerOverMemory(Exception):
    """The worker's resident memory passed the watchdog's ceiling."""


@dataclass
class Layers:
    """Which isolation layers this machine supports; chosen once per Sandbox by probing."""

    node: str
    pyodide_dir: Path
    namespace: list[str] = field(default_factory=list)  # unshare prefix, empty when unavailable
    seccomp: bool = False
    permission_flag: str = "--experimental-permission"  # Node 20; plain --permission from Node 22.13

    def names(self) -> list[str]:
        found = []
        if self.namespace:
            found.append("network namespace" + (" (user namespace)" if "--user" in self.namespace else ""))
        else:
            found.append("no network namespace (unshare unavailable)")
        found.append("seccomp filter" if self.seccomp else "no seccomp filter (unsupported here)")
        return found


@dataclass
class Limits:
    memory_mb: int
    wasm_base_bytes: int  # the snapshot's linear memory: the learner's budget comes on top
    cpu_seconds: int
    rss_limit_mb: int

    @property
    def wasm_pages(self) -> int:
        return -(-(self.wasm_base_bytes + (self.memory_mb << 20)) // 65536)

    def node_flags(self, layers: Layers) -> list[str]:
        return [
            layers.permission_flag,
            f"--allow-fs-read={layers.pyodide_dir}/",
            f"--allow-fs-read={HOST_JS}",
            f"--allow-fs-read={ISOLATE_JS}",
            "--allow-worker",  # isolates are worker threads; nothing else is allowed
            "--disable-wasm-trap-handler",  # no 8 GiB guard regions per memory, so RLIMIT_AS can bite
            f"--wasm-max-mem-pages={self.wasm_pages}",  # a hard cap; each job's own budget is lower
            "--max-old-space-size=256",
            "--no-warnings",
        ]

    def rlimits(self) -> dict[str, int]:
        # Address space: node itself (~1.2 GiB reserved), a few isolates' memories and JS heaps.
        address_space = (1536 << 20) + 4 * (self.wasm_pages << 16) + (1024 << 20)
        return {"RLIMIT_AS": address_space, "RLIMIT_CPU": self.cpu_seconds, "RLIMIT_FSIZE": STDERR_LIMIT,
                "RLIMIT_CORE": 0, "RLIMIT_NOFILE": 256}


def command(layers: Layers, limits: Limits, script: list[str]) -> list[str]:
    spec = json.dumps({"rlimits": limits.rlimits(), "seccomp": layers.seccomp})
    launcher = [sys.executable, "-I", "-S", str(LAUNCHER), spec]
    return [*layers.namespace, *launcher, layers.node, *limits.node_flags(layers), *script]


def judge_command(layers: Layers, cpu_seconds: int) -> list[str]:
    """The trusted judge: plain CPython, standard library only, no site-packages, no network."""
    rlimits = {"RLIMIT_AS": 1 << 30, "RLIMIT_CPU": cpu_seconds, "RLIMIT_FSIZE": STDERR_LIMIT, "RLIMIT_CORE": 0,
               "RLIMIT_NOFILE": 64}
    spec = json.dumps({"rlimits": rlimits, "seccomp": layers.seccomp})
    launcher = [sys.executable, "-I", "-S", str(LAUNCHER), spec]
    return [*layers.namespace, *launcher, sys.executable, "-I", "-S", str(JUDGE), str(HERE.parents[1])]


def probe_layers(node: str, pyodide_dir: Path) -> Layers:
    """Try the strongest combination first; keep what starts node and runs a script."""
    unshare = shutil.which("unshare")
    namespaces: list[list[str]] = []
    if unshare:
        namespaces.append([unshare, "--user", "--map-root-user", "--net"])
        if os.geteuid() == 0:
            namespaces.append([unshare, "--net"])
    namespaces.append([])
    help_text = subprocess.run([node, "--help"], capture_output=True, text=True, timeout=30).stdout
    stable = re.search(r"^\s*--permission\s", help_text, re.M)
    permission_flag = "--permission" if stable else "--experimental-permission"
    limits = Limits(memory_mb=64, wasm_base_bytes=32 << 20, cpu_seconds=30, rss_limit_mb=512)
    script = ["-e", "process.stdout.write('ok')"]
    for namespace in namespaces:
        for seccomp in (True, False):
            layers = Layers(node=node, pyodide_dir=pyodide_dir, namespace=namespace, seccomp=seccomp,
                            permission_flag=permission_flag)
            try:
                proc = subprocess.run(command(layers, limits, script), env={}, capture_output=True, timeout=30,
                                      cwd=tempfile.gettempdir())
            except (OSError, subprocess.TimeoutExpired):
                continue
            if proc.returncode == 0 and proc.stdout == b"ok":
                return layers
    raise OSError("cannot start node for the sandbox, even without namespaces or seccomp")


class LineProcess:
    """A started process: JSON lines in and out over pipes, stderr to a scratch file."""

    def __init__(self, argv: list[str], *, rss_limit_mb: int) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self.stderr_path = self.scratch / "stderr.log"
        self.jobs = 0
        self.cpu_at_start = 0.0
        self._buffer = b""
        self.rss_limit_mb = rss_limit_mb
        try:
            with open(self.stderr_path, "wb") as stderr:
                self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                             env={}, cwd=self.scratch, close_fds=True, start_new_session=True)
        except OSError:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        self.pid = self.proc.pid
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin = self.proc.stdin
        self._stdout = self.proc.stdout
        os.set_blocking(self._stdout.fileno(), False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        try:
            self._stdin.write(json.dumps(message).encode() + b"\n")
            self._stdin.flush()
        except (OSError, ValueError) as err:
            raise WorkerDied(f"the worker stopped reading: {err}") from None

    def read(self, deadline: float, poll: float = 0.05) -> dict[str, Any] | None:
        """The next message, or None when `deadline` (time.monotonic) passes; checks RSS while waiting."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
                try:
                    message = json.loads(line)
                except ValueError:
                    raise WorkerDied("the worker wrote something that is not the protocol") from None
                if not isinstance(message, dict):
                    raise WorkerDied("the worker wrote something that is not the protocol")
                return message
            if len(self._buffer) > MAX_LINE:
                raise WorkerDied("the worker wrote an over-long line")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if self._selector.select(min(remaining, poll)):
                try:
                    chunk = os.read(self._stdout.fileno(), 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise WorkerDied(f"the worker exited ({self.proc.wait()}); {self.stderr_tail()}")
                self._buffer += chunk
            elif self.rss_mb() > self.rss_limit_mb:
                raise WorkerOverMemory(f"the process's memory passed {self.rss_limit_mb} MB")

    def read_exact(self, size: int, deadline: float) -> bytes:
        chunks, have = [self._buffer], len(self._buffer)
        while have < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerDied("timed out reading from the worker")
            if self._selector.select(min(remaining, 0.5)):
                try:
                    chunk = os.read(self._stdout.fileno(), 1 << 22)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise WorkerDied(f"the worker exited ({self.proc.wait()}); {self.stderr_tail()}")
                chunks.append(chunk)
                have += len(chunk)
        data = b"".join(chunks)
        self._buffer = data[size:]
        return data[:size]

    def expect(self, op: str, deadline: float) -> dict[str, Any]:
        message = self.read(deadline)
        if message is None:
            raise WorkerDied(f"no {op!r} from the worker in time; {self.stderr_tail()}")
        if message.get("op") == "error":
            raise WorkerDied(f"the worker failed: {message.get('message')}")
        if message.get("op") != op:
            raise WorkerDied(f"expected {op!r} from the worker, got {message.get('op')!r}")
        return message

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
        return 0.0

    def cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def stderr_tail(self, size: int = 1500) -> str:
        try:
            data = self.stderr_path.read_bytes()[-size:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def kill(self) -> None:
        """SIGKILL, reap and remove the scratch folder; safe to call twice."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._selector.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class HostProcess(LineProcess):
    """`node host.mjs`: runs jobs in fresh isolates; receives its configuration and the snapshot first."""

    def __init__(self, layers: Layers, limits: Limits, config: dict[str, Any], snapshot: bytes) -> None:
        super().__init__(command(layers, limits, [str(HOST_JS), str(layers.pyodide_dir) + "/"]),
                         rss_limit_mb=limits.rss_limit_mb)
        self.limits = limits
        try:
            self._stdin.write(json.dumps({**config, "snapshot_size": len(snapshot)}).encode() + b"\n")
            self._stdin.write(snapshot)
            self._stdin.flush()
        except OSError as err:
            self.kill()
            raise WorkerDied(f"the host did not accept its configuration: {err}; {self.stderr_tail()}") from None


class JudgeProcess(LineProcess):
    """`python judge.py`: runs one job's tests on the trusted side, then exits."""

    def __init__(self, layers: Layers, cpu_seconds: int) -> None:
        super().__init__(judge_command(layers, cpu_seconds), rss_limit_mb=900)
