"""Escape suite: hostile submissions are contained or fail, and the sandbox stays healthy.

Every attack is graded against a small exercise (`add(2, 3) == 5` visible, `add(-1, -1) == -2`
hidden) and must not pass; nothing secret may show up in the result; the listening socket must
see no connection; and the next submission, a correct solution, must be graded correctly and
within its normal time.

The tests run in a trusted judge process, so attacks on them from inside the program (patched
builtins, frames, capture buffers, the harness) can only change the program's own answers. The
suite also covers the classes of a security review: the JavaScript bridge (`_imp` handing out
`_pyodide_core`), state across jobs (prototype pollution, ArrayBuffers kept alive), frame and
globals tampering, capture-buffer patching, timeouts as an oracle on hidden inputs, and one
learner starving the others (tests/test_grading_fairness.py covers that through the API).

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

if shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file():
    # Never skipped where it matters: CI sets DRONA_REQUIRE_NODE=1 (.ci/run).
    if os.environ.get("DRONA_REQUIRE_NODE") == "1":
        raise RuntimeError("Node.js and node_modules/pyodide are required here (DRONA_REQUIRE_NODE=1)")
    pytestmark = pytest.mark.skip(reason="needs Node.js and node_modules/pyodide (npm ci)")

SECRET_ENV = "DRONA_ESCAPE_SUITE_SECRET"
SECRET = "env-secret-5f1c2e"
DB_SECRET = "db-secret-9a7b3d"
TESTS: list[dict[str, Any]] = [
    {"name": "adds", "code": "assert add(2, 3) == 5"},
    {"name": "negatives", "code": "assert add(-1, -1) == -2", "hidden": True, "feedback": "Try negative numbers."},
]
GOOD = "def add(a, b):\n    return a + b\n"
TIME_LIMIT = 5.0
NORMAL_SECONDS = 3.0  # a correct submission after an attack is graded within this (a fresh isolate included)


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
    started = time.monotonic()
    after = box.grade(GOOD, TESTS, seed=7)
    assert after.passed and after.status == "ok", f"the next submission was not graded correctly: {after}"
    assert time.monotonic() - started < NORMAL_SECONDS, "the next submission was slowed down by the attack"
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
    assert result.status == "timeout" and "took too long (over 5 s)" in result.message
    assert elapsed < TIME_LIMIT + 2, f"took {elapsed:.1f} s"
    # The isolate is terminated; the host process itself goes on.
    assert result.worker_restarts == 0
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
    assert message.startswith(("blocked ", "This test did not finish: the program stopped")), message


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


# ---- the classes of the security review (issue #10) ---------------------------------------------
BRIDGE = [
    # The reported forge: `_imp.create_builtin` loaded `_pyodide_core` without an "import" audit event.
    pytest.param(report("import importlib._bootstrap as b, importlib.machinery as m\n"
                        "core = b._imp.create_builtin(m.ModuleSpec('_pyodide_core', None))\n"
                        "raise RuntimeError('got ' + repr(core))"), id="_imp-create_builtin"),
    pytest.param(report("import _imp"), id="import-_imp"),
    pytest.param(report("import sys\nraise RuntimeError(repr(sys.modules['_imp']))"), id="sys.modules-_imp"),
    pytest.param(report("import _pyodide_core"), id="import-_pyodide_core"),
    pytest.param(report("import importlib.machinery as m\n"
                        "core = m.BuiltinImporter.create_module(m.ModuleSpec('_pyodide_core', None))\n"
                        "raise RuntimeError('got ' + repr(core))"), id="BuiltinImporter-create_module"),
    pytest.param(report("import asyncio\npolicy = asyncio.events._event_loop_policy\n"
                        "if policy is not None:\n    raise RuntimeError('ESCAPED policy ' + repr(policy))\n"
                        "raise LookupError('no policy left')"), id="webloop-policy"),
    pytest.param(report("import sys\nfinders = [f for f in sys.meta_path if 'pyodide' in type(f).__module__]\n"
                        "if finders:\n    raise RuntimeError('ESCAPED ' + repr(finders))\n"
                        "raise LookupError('no JS finder')"), id="meta_path-JsFinder"),
]
FRAMES_AND_GLOBALS = [
    # Walking up from a function the test calls finds the runner, never a test or an expected value.
    pytest.param("import sys\ndef add(a, b):\n    seen = []\n    f = sys._getframe()\n    while f:\n"
                 "        seen += [repr(f.f_locals)[:3000], repr(f.f_globals.keys())[:500]]\n        f = f.f_back\n"
                 "    raise AssertionError(' '.join(seen))\n", id="walk-frames-from-a-call"),
    pytest.param("import sys\ndef add(a, b):\n    f = sys._getframe(1)\n    f.f_locals['expected'] = a + b\n"
                 "    f.f_globals['AssertionError'] = KeyError\n    return None\n", id="rewrite-caller-locals"),
    pytest.param("import builtins\nbuiltins.str = lambda *a: '5'\nbuiltins.int = lambda *a: 5\n"
                 "builtins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 1\n"
                 "def add(a, b):\n    return 'five'\n", id="shadow-builtins"),
    pytest.param("str = lambda *a: '5'\nabs = lambda *a: 0\nAssertionError = KeyError\n"
                 "def add(a, b):\n    return 'five'\n", id="shadow-names-in-the-program"),
    pytest.param("class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
                 "    def __bool__(self):\n        return True\ndef add(a, b):\n    return Anything()\n",
                 id="object-equal-to-anything"),
    pytest.param("class Five(int):\n    def __eq__(self, other):\n        return True\n"
                 "def add(a, b):\n    return Five(0)\n", id="int-subclass-equal-to-anything"),
]
CAPTURE = [
    # The program's output is captured outside Python: patched buffers change nothing.
    pytest.param("import io, sys\nio.StringIO.getvalue = lambda self: '5\\n'\n"
                 "class Fake:\n    def write(self, s):\n        return len(s)\n    def getvalue(self):\n"
                 "        return '5\\n'\n    def flush(self):\n        pass\nsys.stdout = Fake()\nprint('nothing')\n",
                 id="patch-getvalue-and-stdout"),
    pytest.param("import sys\nsys.stdout.write = lambda s: len(s)\nprint('4')\n", id="patch-stdout-write"),
]
PRINT_TESTS: list[dict[str, Any]] = [
    {"name": "prints five", "code": "assert output == '5\\n', repr(output)"},
    {"name": "prints five (hidden)", "code": "assert output.strip() == '5'", "hidden": True,
     "feedback": "Print the sum."},
]


@pytest.mark.parametrize("code", BRIDGE)
def test_the_js_bridge_is_out_of_reach(sandbox: Sandbox, listener: Listener, secret_db: Path, code: str) -> None:
    message = assert_contained(sandbox, code, listener, secret_db)
    assert message.startswith("blocked "), message
    assert "got <module" not in message and "ESCAPED" not in message


@pytest.mark.parametrize("code", FRAMES_AND_GLOBALS)
def test_frames_globals_and_lookalikes_cannot_pass(sandbox: Sandbox, listener: Listener, secret_db: Path,
                                                    code: str) -> None:
    hidden = {"name": "secret", "code": "expected = 42  # hidden-marker-27182\nassert add(40, 2) == expected",
              "hidden": True, "feedback": "Try other numbers."}
    result = sandbox.grade(code, [TESTS[0], hidden], seed=5)
    assert not result.passed and [r["passed"] for r in result.results] == [False, False], result
    assert "hidden-marker-27182" not in repr(result) and "expected" not in result.results[0]["message"]
    assert_contained(sandbox, code, listener, secret_db)


@pytest.mark.parametrize("code", CAPTURE)
def test_capture_buffer_patching_changes_nothing(sandbox: Sandbox, code: str) -> None:
    result = sandbox.grade(code, PRINT_TESTS, seed=1)
    assert not result.passed and [r["passed"] for r in result.results] == [False, False], result
    assert sandbox.grade("print(2 + 3)\n", PRINT_TESTS, seed=1).passed


def test_timeouts_do_not_say_which_hidden_input(sandbox: Sandbox) -> None:
    """A program that hangs on one hidden input learns only that some hidden test did not finish."""
    visible = {"name": "doubles", "stdin": "4\n", "code": "assert output == '8\\n', output"}
    hidden = [{"name": f"hidden {n}", "stdin": f"{n}\n", "code": f"assert output == '{2 * n}\\n'", "hidden": True,
               "feedback": "Double any number."} for n in (1, 2, 3)]
    probe = "n = int(input())\nif n == 2:\n    while True:\n        pass\nprint(n * 2)\n"
    result = sandbox.grade(probe, [visible, *hidden], seed=1, time_limit=2.0)
    assert result.status == "timeout"
    assert result.results[0]["passed"] is True  # visible tests keep their honest result
    hidden_results = [(r["passed"], r["message"]) for r in result.results[1:]]
    assert len(set(hidden_results)) == 1, hidden_results  # hidden 1 (which passed) reads like hidden 2 and 3
    assert "hidden 2" not in hidden_results[0][1] and "took longer" in hidden_results[0][1]
    # Its message on a visible input names the timeout plainly.
    plain = sandbox.grade(probe, [dict(visible, stdin="2\n")], seed=1, time_limit=1.0)
    assert plain.status == "timeout" and "did not finish" in plain.results[0]["message"]


PROTOTYPE = ("from pyodide.ffi import to_js, create_proxy\nproto = to_js({}).constructor.prototype\n"
             "obj = to_js({}).constructor\n"
             "obj.defineProperty(proto, 'passed', to_js({'get': create_proxy(lambda: True), 'configurable': True}))")


def test_js_state_never_reaches_the_next_job(bare_sandbox: Sandbox, listener: Listener, secret_db: Path) -> None:
    """Without the Python layer a program reaches JavaScript: frozen intrinsics refuse a getter on a
    shared prototype, and nothing it leaves in its realm (a big ArrayBuffer kept alive, globals)
    exists in the next job, which starts in a fresh isolate."""
    message = assert_contained(bare_sandbox, report(PROTOTYPE), listener, secret_db)
    assert message.startswith("blocked "), message
    hoard = ("from pyodide.ffi import to_js\nimport js\nKEEP = [to_js(bytearray(32 * 2**20)) for _ in range(4)]\n"
             "to_js({}).constructor.prototype\ndef add(a, b):\n    return a - b\n")
    for _ in range(3):
        assert not bare_sandbox.grade(hoard, TESTS, seed=1).passed
    probe = ("from pyodide.ffi import to_js\nproto = to_js({}).constructor.prototype\n"
             "print(repr(getattr(proto, 'passed', None)), 'KEEP' in globals())\n")
    for _ in range(3):
        started = time.monotonic()
        ran = bare_sandbox.run(probe)
        assert ran.status == "ok" and ran.output == "None False\n", ran
        assert time.monotonic() - started < NORMAL_SECONDS


def test_the_audit_hook_has_no_state_to_rewrite(sandbox: Sandbox, listener: Listener, secret_db: Path) -> None:
    """The reported bypass: clear whatever mutable state the hook's frame holds, from a caught
    PermissionError's traceback, then try again. The hook's state is immutable (frozensets,
    tuples, builtin classes in its defaults, which cannot be replaced), so it still holds."""
    attack = report(
        "import sys\ntry:\n    sys.settrace(None)\nexcept PermissionError as err:\n    tb = err.__traceback__\n"
        "    while tb is not None:\n        for value in list(tb.tb_frame.f_locals.values()):\n"
        "            for method in ('clear', 'popitem'):\n                try:\n"
        "                    getattr(value, method)()\n                except Exception:\n"
        "                    pass\n        tb = tb.tb_next\n"
        "hooks = [f for f in (getattr(sys, '_getframe')(),)]\n"
        "import _imp")
    message = assert_contained(sandbox, attack, listener, secret_db)
    assert message.startswith("blocked ImportError"), message
    swap = report("import sys\ntry:\n    sys.settrace(None)\nexcept PermissionError as err:\n"
                  "    frame = err.__traceback__.tb_next.tb_frame if err.__traceback__.tb_next else None\n"
                  "    if frame is not None and 'hook' in frame.f_code.co_name:\n"
                  "        raise RuntimeError('no function object to reach from here')\n"
                  "def hook():\n    pass\nhook.__defaults__ = ()\nimport ctypes")
    message = assert_contained(sandbox, swap, listener, secret_db)
    assert message.startswith("blocked "), message
