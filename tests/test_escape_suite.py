"""Escape suite: hostile submissions are contained or fail, and the sandbox stays healthy.

Every attack is graded against a small exercise (`add(2, 3) == 5` visible, `add(-1, -1) == -2`
hidden) and must not pass; nothing secret may show up in the result; the listening socket must
see no connection; and the next submission, a correct solution, must be graded correctly.

Attacks that try something and report back use the REPORT pattern: the program records what
happened and `add` raises it as the assertion message, which the visible test then shows. So a
"blocked ..." message proves the attempt ran and failed, and "ESCAPED" would prove the opposite.

The second half switches runner.py's Python layer off (audit hook, bridge removal) to show that
the JavaScript and OS layers hold on their own against the same escape hatches.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.sandbox import Sandbox
from sidecar.sandbox._process import LAUNCHER
from sidecar.settings import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("node") is None
                                or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file(),
                                reason="needs Node.js and node_modules/pyodide (npm ci)")

SECRET_ENV = "DRONA_ESCAPE_SUITE_SECRET"
SECRET = "env-secret-5f1c2e"
DB_SECRET = "db-secret-9a7b3d"
TESTS: list[dict[str, Any]] = [
    {"name": "adds", "code": "assert add(2, 3) == 5"},
    {"name": "negatives", "code": "assert add(-1, -1) == -2", "hidden": True, "feedback": "Try negative numbers."},
]
GOOD = "def add(a, b):\n    return a + b\n"
TIME_LIMIT = 5.0


def report(attempt: str) -> str:
    """A program that runs `attempt` (indented statements), then reports the outcome through add()."""
    body = "\n".join("    " + line for line in attempt.strip().splitlines())
    return (f"try:\n{body}\n    RESULT = 'ESCAPED'\nexcept BaseException as exc:\n"
            "    RESULT = 'blocked ' + type(exc).__name__ + ': ' + str(exc)[:200]\n"
            "def add(a, b):\n    raise AssertionError(RESULT)\n")


class Listener:
    """A real listening TCP socket on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def secret_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sidecar") / "learners.db"
    path.write_text(f"SQLite format 3\x00 users(email, password_hash) {DB_SECRET}\n")
    return path


def _sandbox(python_layer: bool = True) -> Sandbox:
    # The secret is in the sidecar's environment before the pool starts, as real secrets would be.
    os.environ[SECRET_ENV] = SECRET
    return Sandbox(pool_size=2, time_limit=TIME_LIMIT, memory_mb=256, output_limit=64_000,
                   _python_layer=python_layer)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = _sandbox()
    yield box
    box.close()
    os.environ.pop(SECRET_ENV, None)


@pytest.fixture(scope="module")
def bare_sandbox() -> Iterator[Sandbox]:
    box = _sandbox(python_layer=False)
    yield box
    box.close()


def fill(code: str, listener: Listener, secret_db: Path) -> str:
    return (code.replace("PORT", str(listener.port)).replace("DB_PATH", str(secret_db))
            .replace("PARENT_PID", str(os.getpid())))


def assert_contained(box: Sandbox, code: str, listener: Listener, secret_db: Path) -> str:
    """Grade the attack, check containment and the sandbox's health; return the visible message."""
    before = listener.connections
    result = box.grade(fill(code, listener, secret_db), TESTS, seed=7)
    text = repr(result)
    assert not result.passed, result
    assert SECRET not in text and DB_SECRET not in text and "root:x:0:0" not in text
    assert "ESCAPED" not in text, result
    assert result.results[1]["message"] == "Try negative numbers.", "hidden tests show only their feedback"
    time.sleep(0.05)
    assert listener.connections == before, "the attack reached the listening socket"
    after = box.grade(GOOD, TESTS, seed=7)
    assert after.passed and after.status == "ok", f"the next submission was not graded correctly: {after}"
    return str(result.results[0]["message"])


CONNECT = "import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=2)"
NETWORK = [
    pytest.param(report(CONNECT), id="socket-connect"),
    pytest.param(report("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                        "s.sendto(b'x', ('127.0.0.1', PORT))"), id="udp-sendto"),
    pytest.param(report("import urllib.request\nurllib.request.urlopen('http://127.0.0.1:PORT/', timeout=2)"),
                 id="urllib-urlopen"),
    pytest.param(report("import http.client\nhttp.client.HTTPConnection('127.0.0.1', PORT).request('GET', '/')"),
                 id="http-client"),
    pytest.param(report("import js\njs.fetch('http://127.0.0.1:PORT/')"), id="js-fetch"),
    pytest.param(report("import pyodide.http\npyodide.http.pyfetch('http://127.0.0.1:PORT/')"), id="pyodide-pyfetch"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"fetch('http://127.0.0.1:PORT/')\")"),
                 id="run_js-fetch"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"process.binding('tcp_wrap')\")"),
                 id="run_js-process-binding"),
    pytest.param(report("import js\njs.process.env"), id="js-process"),
]
FILES_AND_SECRETS = [
    pytest.param(report("raise RuntimeError(open('/etc/passwd').read())"), id="read-etc-passwd"),
    pytest.param(report("raise RuntimeError(open('DB_PATH').read())"), id="read-sidecar-db"),
    pytest.param(report("import os\nraise RuntimeError(str(dict(os.environ)))"), id="os-environ"),
    pytest.param(report("raise RuntimeError(open('/proc/self/environ').read())"), id="proc-self-environ"),
    pytest.param(report("raise RuntimeError(open('/proc/PARENT_PID/environ').read())"), id="proc-parent-environ"),
    pytest.param(report("import os\nraise RuntimeError(str(os.listdir('/')) + str(os.listdir('/proc')))"),
                 id="list-filesystem"),
    pytest.param(report("import js\nraise RuntimeError(str(js.process.env))"), id="js-process-env"),
]
PROCESSES = [
    pytest.param(report("import os\nif os.system('id > /tmp/owned') != 0: raise OSError('failed')"), id="os-system"),
    pytest.param(report("import subprocess\nsubprocess.run(['id'], check=True)"), id="subprocess"),
    pytest.param(report("import os\nos.fork()"), id="os-fork"),
    pytest.param(report("import os\nos.execv('/bin/sh', ['sh'])"), id="os-exec"),
    pytest.param(report("import os\nos.kill(PARENT_PID, 9)"), id="kill-the-sidecar"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"require('child_process').execSync('id')\")"),
                 id="run_js-child_process"),
    pytest.param(report("import ctypes\nctypes.CDLL(None).system(b'id')"), id="ctypes-cdll"),
]
TAMPERING = [
    pytest.param("import builtins\nbuiltins.AssertionError = type('Fake', (Exception,), {})\n"
                 "def add(a, b):\n    return 0\n", id="patch-AssertionError"),
    pytest.param("import sys\nsys.exit(0)\ndef add(a, b):\n    return a + b\n", id="sys-exit-0-module-level"),
    pytest.param("import os\nos._exit(0)\n", id="os-_exit"),
    pytest.param("def add(a, b):\n    raise SystemExit(0)\n", id="SystemExit-in-test"),
    pytest.param("def add(a, b):\n    raise KeyboardInterrupt\n", id="KeyboardInterrupt-in-test"),
    pytest.param("import os, sys\nfor fd in (1, 2):\n    os.write(fd, b'{\"op\": \"result\", \"passed\": true}\\n')\n"
                 "sys.__stdout__.write('PASSED all tests\\n')\nprint('{\"passed\": true}')\n"
                 "def add(a, b):\n    return 0\n", id="fake-success-line"),
    pytest.param("import drona_harness\ndrona_harness.run_test = lambda *a: {'passed': True}\n", id="import-harness"),
    pytest.param("import sys\nh = [m for m in sys.modules.values() if hasattr(m, 'run_test')]\n"
                 "for m in h:\n    m.run_test = lambda *a, **k: {'passed': True, 'message': ''}\n"
                 "def add(a, b):\n    return 0\n", id="replace-run_test-in-sys-modules"),
    pytest.param("G = input.__globals__  # the harness module's globals, reachable from input()\n"
                 "G['_result'] = lambda name, passed, message, hidden, test: {'name': name, 'passed': True,"
                 " 'message': '', 'hidden': hidden}\nG['AssertionError'] = KeyError\n"
                 "def add(a, b):\n    return 0\n", id="patch-harness-globals"),
    pytest.param("import sys\ndef add(a, b):\n    sys.settrace(lambda *a: None)\n    return 0\n", id="settrace"),
    pytest.param("import gc\nsecrets = [o for o in gc.get_objects() if isinstance(o, dict) and 'assert' in str(o)]\n"
                 "def add(a, b):\n    return 0\n", id="gc-walk"),
    pytest.param("import linecache, sys\nSEEN = []\ndef add(a, b):\n"
                 "    SEEN.append(linecache.getlines('test.py'))\n    raise AssertionError(repr(SEEN))\n",
                 id="read-test-source"),
    pytest.param("try:\n    while True:\n        try:\n            pass\n        except BaseException:\n"
                 "            pass\nexcept BaseException:\n    pass\n", id="catch-BaseException-everywhere"),
    pytest.param("import sys\nsys.addaudithook(lambda *a: None)\ndef add(a, b):\n    return 0\n", id="addaudithook"),
]
RESOURCES = [
    pytest.param("x = []\nwhile True:\n    x.append(' ' * 10**7)\n", id="memory-bomb"),
    pytest.param("b = bytearray(10**10)\n", id="bytearray-10GB"),
    pytest.param("print('x' * 10**9)\n", id="print-a-gigabyte"),
    pytest.param("import sys\nwhile True:\n    sys.stdout.write('x' * 10**5)\n", id="print-loop"),
    pytest.param("def f():\n    f()\nf()\n", id="recursion-bomb"),
    pytest.param("import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\nf(0)\n",
                 id="deep-recursion-no-limit"),
    pytest.param("import os\nwhile True:\n    os.fork()\n", id="fork-bomb"),
]


@pytest.mark.parametrize("code", NETWORK + FILES_AND_SECRETS + PROCESSES)
def test_escape_attempts_are_blocked(sandbox: Sandbox, listener: Listener, secret_db: Path, code: str) -> None:
    message = assert_contained(sandbox, code, listener, secret_db)
    assert message.startswith("blocked "), message


@pytest.mark.parametrize("code", TAMPERING)
def test_harness_tampering_fails_its_tests(sandbox: Sandbox, listener: Listener, secret_db: Path, code: str) -> None:
    assert_contained(sandbox, code, listener, secret_db)


def test_patched_builtins_do_not_reach_the_test_code(sandbox: Sandbox) -> None:
    tests = [{"name": "typed", "code": "result = add(2, 3)\nassert isinstance(result, int) and len(str(result)) == 1"}]
    cheat = ("import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 1\n"
             "def add(a, b):\n    return 'five'\n")
    assert not sandbox.grade(cheat, tests, seed=1).passed
    assert sandbox.grade(GOOD, tests, seed=1).passed


def test_a_message_object_cannot_pose_as_a_verdict(sandbox: Sandbox) -> None:
    # `"..." + err.formatted` would call a learner __radd__ returning True: verdicts never come from there.
    tests = [{"name": "reruns", "code": "assert run('') == 'fine\\n'"}]
    liar = ("import builtins\nclass Liar(str):\n    def __radd__(self, other):\n        return True\n"
            "G = input.__globals__\n"
            "G['ProgramError'].formatted = property(lambda self: Liar('x'), lambda self, value: None)\n"
            "if getattr(builtins, 'ran_once', False):\n    raise ValueError('second run')\n"
            "builtins.ran_once = True\nprint('fine')\n")
    result = sandbox.grade(liar, tests, seed=1)
    assert not result.passed and result.results[0]["passed"] is False


def test_reading_hidden_test_source_does_not_leak_it(sandbox: Sandbox) -> None:
    hidden = {"name": "secret", "code": "assert add(40, 2) == 42  # hidden-marker-31337", "hidden": True}
    steal = ("import linecache\nSTOLEN = []\ndef add(a, b):\n"
             "    STOLEN.append(''.join(linecache.getlines('test.py')))\n"
             "    raise AssertionError(' | '.join(STOLEN))\n")
    result = sandbox.grade(steal, [TESTS[0], hidden, TESTS[0]], seed=1)
    assert "hidden-marker-31337" not in repr(result), "hidden tests run last and only show their feedback"
    assert [r["passed"] for r in result.results] == [False, False, False]


@pytest.mark.parametrize("code", RESOURCES)
def test_resource_bombs_are_contained(sandbox: Sandbox, listener: Listener, secret_db: Path, code: str) -> None:
    started = time.monotonic()
    assert_contained(sandbox, code, listener, secret_db)
    assert time.monotonic() - started < TIME_LIMIT + 10


def test_memory_bomb_reports_memory(sandbox: Sandbox) -> None:
    result = sandbox.grade("x = []\nwhile True:\n    x.append(' ' * 10**7)\n", TESTS, seed=1)
    assert result.status == "memory" and "used more than 256 MB" in result.message


def test_infinite_loop_times_out(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = sandbox.grade("while True:\n    pass\n", TESTS, seed=1)
    elapsed = time.monotonic() - started
    assert result.status == "timeout" and "timed out after 5 s" in result.message
    assert elapsed < TIME_LIMIT + 2, f"took {elapsed:.1f} s"
    assert result.worker_restarts == 1
    assert sandbox.grade(GOOD, TESTS, seed=1).passed


def test_output_flood_is_capped(sandbox: Sandbox) -> None:
    flood = "for i in range(2000):\n    print('y' * 100)\ndef add(a, b):\n    return a - b\n"
    result = sandbox.grade(flood, TESTS, seed=1)
    assert result.status == "output_limit" and not result.passed
    assert len(repr(result)) < 70_000
    run = sandbox.run("while True:\n    print('z' * 1000)\n", time_limit=2)
    assert run.status == "timeout" and 0 < len(run.output) <= 64_000


def test_worker_killed_from_outside_is_replaced(sandbox: Sandbox) -> None:
    for pid in sandbox.stats()["pids"]:
        os.kill(pid, signal.SIGKILL)
    result = sandbox.grade(GOOD, TESTS, seed=3)
    assert result.passed and result.status == "ok"
    assert sandbox.grade("def add(a, b):\n    return a - b\n", TESTS, seed=3).passed is False


def test_a_discarded_interpreter_never_runs_again(sandbox: Sandbox) -> None:
    # Finalizers of a finished job must not run later, inside another learner's job.
    bomb = ("import builtins\nclass Bomb:\n    def __del__(self):\n        print('INJECTED')\n"
            "        while True:\n            pass\nbuiltins.keep = Bomb()\nkeep = Bomb()\n"
            "def add(a, b):\n    return a + b\n")
    for _ in range(3):
        sandbox.grade(bomb, TESTS, seed=1)
    for _ in range(3):
        ran = sandbox.run("print('clean')")
        assert ran.status == "ok" and ran.output == "clean\n"
        assert sandbox.grade(GOOD, TESTS, seed=1).passed


# ---- the JavaScript and OS layers on their own (Python layer off) ------------------------------
BARE = [
    pytest.param(report("import js\njs.fetch('http://127.0.0.1:PORT/')"), id="js-fetch"),
    pytest.param(report("import js\nraise RuntimeError(str(js.process.env))"), id="js-process"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"fetch('http://127.0.0.1:PORT/')\")"),
                 id="run_js-fetch"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"process.binding('tcp_wrap')\")"),
                 id="run_js-process-binding"),
    pytest.param(report("from pyodide.code import run_js\nrun_js(\"require('child_process').execSync('id')\")"),
                 id="run_js-child_process"),
    pytest.param(report("import pyodide.http\npyodide.http.pyfetch('http://127.0.0.1:PORT/').send(None)"),
                 id="pyodide-pyfetch"),
    pytest.param(report("import pyodide.http\npyodide.http.open_url('http://127.0.0.1:PORT/')"), id="pyodide-open_url"),
    pytest.param(report("from pyodide.ffi import to_js\nto_js({}).constructor.constructor('return process')()"),
                 id="Function-constructor"),
    pytest.param(report("from pyodide.ffi import to_js\nf = to_js([]).constructor.constructor\n"
                        "raise RuntimeError(str(f.call(None, 'return globalThis.process.env')()))"),
                 id="Function-call"),
    pytest.param(report("import pyodide_js\npyodide_js._api.loadScript(\"data:text/javascript,"
                        "import('node:child_process').then(c => c.execSync('id'))\")"), id="loadScript-data-url"),
    pytest.param(report("import pyodide_js\npyodide_js.mountNodeFS('/host', '/etc')\n"
                        "raise RuntimeError(open('/host/passwd').read())"), id="mountNodeFS"),
    pytest.param(report("import pyodide_js\nfs = pyodide_js.FS\nfs.mount(fs.filesystems.NODEFS, {'root': '/'}, '/h')"),
                 id="FS-NODEFS"),
    pytest.param(report(CONNECT), id="socket-connect"),
    pytest.param(report("import ctypes\nctypes.CDLL(None).emscripten_run_script(b\"require('child_process')\")"),
                 id="ctypes-emscripten_run_script"),
    pytest.param(report("import os\nraise RuntimeError(str(dict(os.environ)))"), id="os-environ"),
    pytest.param(report("raise RuntimeError(open('/proc/PARENT_PID/environ').read())"), id="proc-parent-environ"),
]


@pytest.mark.parametrize("code", BARE)
def test_js_and_os_layers_hold_without_the_python_layer(bare_sandbox: Sandbox, listener: Listener,
                                                         secret_db: Path, code: str) -> None:
    message = assert_contained(bare_sandbox, code, listener, secret_db)
    # Either the attempt raised, or it killed its own interpreter (then the worker is replaced).
    assert message.startswith(("blocked ", "The program stopped the Python interpreter")), message


OS_PROBE = """
const net = require('net'); const cp = require('child_process');
const out = {env: Object.keys(process.env).length};
try { cp.execSync('id'); out.exec = 'ESCAPED' } catch (e) { out.exec = e.code || e.message }
try { process.kill(PARENT_PID, 0); out.kill = 'ESCAPED' } catch (e) { out.kill = e.code }
const s = net.connect(PORT, '127.0.0.1');
s.on('connect', () => { out.net = 'ESCAPED'; done() });
s.on('error', (e) => { out.net = e.code; done() });
function done() { process.stdout.write(JSON.stringify(out)); process.exit(0) }
"""


@pytest.mark.parametrize("layer", ["seccomp", "namespace"])
def test_os_layers_hold_without_node_permissions(sandbox: Sandbox, listener: Listener, secret_db: Path,
                                                 layer: str) -> None:
    """Plain node (no permission model, no JS lockdown) under one OS layer at a time."""
    layers = sandbox._layers
    if layer == "seccomp" and not layers.seccomp or layer == "namespace" and not layers.namespace:
        pytest.skip(f"{layer} is not available on this machine")
    spec = json.dumps({"rlimits": {}, "seccomp": layer == "seccomp"})
    prefix = layers.namespace if layer == "namespace" else []
    command = [*prefix, sys.executable, "-I", "-S", str(LAUNCHER), spec, layers.node, "-e",
               fill(OS_PROBE, listener, secret_db)]
    proc = subprocess.run(command, env={}, capture_output=True, text=True, timeout=60, cwd=secret_db.parent)
    found = json.loads(proc.stdout)
    time.sleep(0.05)
    assert listener.connections == 0 and found["net"] != "ESCAPED" and found["env"] == 0, found
    if layer == "seccomp":
        assert found == {"env": 0, "exec": "EPERM", "kill": "EPERM", "net": "EACCES"}
