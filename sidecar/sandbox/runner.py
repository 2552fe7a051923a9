"""Python half of a sandbox worker: runs inside each Pyodide interpreter, never in the sidecar.

worker.mjs executes this file once per fresh interpreter and calls `install` before any learner
code runs. For every test it executes the file again into a fresh namespace whose builtins are a
pristine copy, and calls the step functions from JavaScript, one step at a time. So no frame of
ours is on the stack while the program's module code runs, and the step that runs the test is
rebuilt from scratch after the program had its chance to tamper with things.

The verdict is decided by worker.mjs: a test passes only if `test_step` reached its final
`return True`, i.e. executing the test code returned normally. Every other path returns a list,
so no learner object (say, one whose `__radd__` returns True) can pass for a verdict.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

TEST_FILENAME = "test.py"  # as in sidecar/courseware/harness.py
# Root modules a graded program may not import: bridges to JavaScript and raw memory access.
BLOCKED_IMPORTS = frozenset({
    "js", "pyodide_js", "pyodide", "_pyodide", "_pyodide_core", "micropip", "pyodide_http",
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testlimitedcapi",
})
# Audit events a graded program may not raise, with the words used in the error.
DENIED_EVENTS = {
    "sys.addaudithook": "adding audit hooks",
    "sys.settrace": "tracing", "sys.setprofile": "profiling", "sys.monitoring.register_callback": "sys.monitoring",
    "gc.get_objects": "walking the garbage collector", "gc.get_referrers": "walking the garbage collector",
    "gc.get_referents": "walking the garbage collector",
    "code.__new__": "building code objects", "marshal.loads": "marshal", "marshal.load": "marshal",
    "os.system": "starting processes", "os.exec": "starting processes", "os.posix_spawn": "starting processes",
    "os.spawn": "starting processes", "os.fork": "starting processes", "os.forkpty": "starting processes",
    "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
    "os.kill": "sending signals", "os.killpg": "sending signals",
    "urllib.Request": "network access", "http.client.connect": "network access", "ftplib.connect": "network access",
    "smtplib.connect": "network access", "imaplib.open": "network access", "poplib.connect": "network access",
    "webbrowser.open": "opening a browser",
}
DENIED_PREFIXES = {"socket.": "network access", "ctypes.": "ctypes"}


def _audit_hook() -> Callable[[str, tuple[Any, ...]], None]:
    """The hook lives only in CPython's hook list and this closure, where learner code cannot reach."""
    denied, prefixes, blocked = dict(DENIED_EVENTS), tuple(DENIED_PREFIXES.items()), BLOCKED_IMPORTS

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in denied:
            raise PermissionError(f"{denied[event]} is not available in graded programs")
        if event == "import":
            name = args[0]
            # Only exact str is trusted: a subclass could lie in __eq__/__hash__ or partition().
            if type(name) is not str or name.partition(".")[0] in blocked:
                raise ImportError(f"module {name if type(name) is str else '?'!r} is not available in graded programs")
        elif event == "object.__setattr__" and args[1] == "__code__":
            raise PermissionError("replacing a function's code is not available in graded programs")
        else:
            for prefix, what in prefixes:
                if event.startswith(prefix):
                    raise PermissionError(f"{what} is not available in graded programs")

    return hook


def install(harness_source: str, runner_source: str, lock: bool = True) -> tuple[Any, ...]:
    """Lock this interpreter down; return what worker.mjs keeps for the whole job (pristine refs).

    `lock=False` leaves the Python layer out: only the escape suite uses it, to show that the JS
    and OS layers hold on their own.
    """
    import builtins
    import os
    import random
    import sys

    pristine = dict(builtins.__dict__)
    harness_code = compile(harness_source, "drona_harness.py", "exec")
    runner_code = compile(runner_source, "drona_runner.py", "exec")
    os.environ.pop("_", None)  # Node's argv[1], i.e. a host path
    if not lock:
        return pristine, harness_code, runner_code, random.Random, dict, exec, builtins
    try:
        from pyodide.ffi import unregister_js_module

        for name in ("js", "pyodide_js"):
            unregister_js_module(name)
    except (ImportError, ValueError):
        pass  # not registered: nothing to remove
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("_pyodide")]
    for name in list(sys.modules):
        if name.partition(".")[0] in BLOCKED_IMPORTS:
            del sys.modules[name]
    sys.addaudithook(_audit_hook())
    return pristine, harness_code, runner_code, random.Random, dict, exec, builtins


def program_step(execute: Callable[[str, str], tuple[dict[str, Any], str]], program_error: type[BaseException],
                 code: str, stdin: str) -> tuple[Any, ...]:
    """Run the program once, as harness.run_test does; (True, namespace, output) or (False, message, type)."""
    try:
        namespace, output = execute(code, stdin)
    except program_error as err:
        return False, "Your program raised an error:\n" + err.formatted, err.exc_type  # type: ignore[attr-defined]
    return True, namespace, output


def make_rerun(execute: Callable[[str, str], tuple[dict[str, Any], str]], code: str) -> Callable[..., str]:
    def rerun(stdin: str = "") -> str:
        return execute(code, stdin)[1]

    return rerun


def test_step(register_source: Callable[[str, str], None], program_error: type[BaseException], source: str,
              scope: dict[str, Any]) -> bool | list[Any]:
    """Run one test's code as harness.run_test does: True when it returned, else [message]."""
    register_source(TEST_FILENAME, source)
    try:
        exec(compile(source, TEST_FILENAME, "exec"), scope)
    except AssertionError as exc:
        return [str(exc) or "An assertion in this test failed."]
    except program_error as err:
        return ["Your program raised an error:\n" + err.formatted]  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - e.g. the function under test is missing
        return ["".join(traceback.format_exception_only(type(exc), exc)).strip()]
    return True
