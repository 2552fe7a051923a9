"""The test harness shared by the browser (Pyodide), `drona validate` and the grading server.

One file, standard library only, so a visible test behaves the same wherever it runs. The
compiler copies it into the static site; the Pyodide worker imports it as `drona_harness`.

Contract for a test (see docs/authoring.md):
  - the learner's program runs afresh as ``__main__`` with the test's ``stdin``;
  - the test's ``code`` runs with the program's globals plus ``output``, ``rng`` and ``run``;
  - a test passes when its code raises nothing.
"""

from __future__ import annotations

import builtins
import io
import linecache
import random
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

PROGRAM_FILENAME = "main.py"
TEST_FILENAME = "test.py"
# Output kept per program run: a runaway print loop must not exhaust memory in a test.
MAX_OUTPUT_CHARS = 100_000


class ProgramError(Exception):
    """The learner's program raised while a test was running it."""

    def __init__(self, formatted: str, exc_type: str) -> None:
        super().__init__(formatted)
        self.formatted = formatted
        self.exc_type = exc_type


class _CappedStringIO(io.StringIO):
    def write(self, s: str) -> int:
        room = MAX_OUTPUT_CHARS - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


def _register_source(filename: str, source: str) -> None:
    # Lets tracebacks quote the learner's own lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def format_exception(exc: BaseException) -> str:
    """A traceback that shows only the learner's frames, the way a learner reads it."""
    te = traceback.TracebackException.from_exception(exc)
    if isinstance(exc, SyntaxError):
        return "".join(te.format_exception_only()).rstrip("\n")
    frames = [f for f in te.stack if f.filename == PROGRAM_FILENAME]
    te.stack = traceback.StackSummary.from_list(frames)
    lines = list(te.format())
    if not frames:
        # Only the exception line is meaningful when no learner frame is involved.
        lines = list(te.format_exception_only())
    return "".join(lines).rstrip("\n")


def _make_input(stdin: str, out: io.StringIO):
    lines = io.StringIO(stdin)

    def fake_input(prompt: object = "") -> str:
        out.write(str(prompt))
        line = lines.readline()
        if not line:
            raise EOFError("the program asked for more input than the test gives")
        return line.rstrip("\n")

    return fake_input


def execute(code: str, stdin: str = "") -> tuple[dict[str, Any], str]:
    """Run the learner program once; return its globals and everything it printed.

    Raises ProgramError (with a learner-facing traceback) when the program fails.
    """
    _register_source(PROGRAM_FILENAME, code)
    out = _CappedStringIO()
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    namespace["input"] = _make_input(stdin, out)
    try:
        compiled = compile(code, PROGRAM_FILENAME, "exec")
        with redirect_stdout(out), redirect_stderr(out):
            exec(compiled, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise ProgramError(f"The program exited with status {exc.code}.", "SystemExit") from None
    except Exception as exc:  # noqa: BLE001 - any learner error becomes a readable message
        raise ProgramError(format_exception(exc), type(exc).__name__) from None
    namespace.pop("input", None)
    return namespace, out.getvalue()


def run_test(code: str, test: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one test against the learner code; never raises."""
    name = test.get("name", "test")
    hidden = bool(test.get("hidden"))
    rng = random.Random(seed)  # noqa: S311 - reproducible test inputs, not cryptography
    try:
        namespace, output = execute(code, test.get("stdin", "") or "")
    except ProgramError as err:
        message = "Your program raised an error:\n" + err.formatted
        return _result(name, False, message, hidden, test)

    def rerun(stdin: str = "") -> str:
        return execute(code, stdin)[1]

    scope = dict(namespace)
    scope.update({"__name__": "__test__", "output": output, "rng": rng, "run": rerun})
    _register_source(TEST_FILENAME, test["code"])
    try:
        exec(compile(test["code"], TEST_FILENAME, "exec"), scope)
    except AssertionError as exc:
        message = str(exc) or "An assertion in this test failed."
        return _result(name, False, message, hidden, test)
    except ProgramError as err:
        return _result(name, False, "Your program raised an error:\n" + err.formatted, hidden, test)
    except Exception as exc:  # noqa: BLE001 - e.g. the function under test is missing
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return _result(name, False, message, hidden, test)
    return _result(name, True, "", hidden, test)


def _result(name: str, passed: bool, message: str, hidden: bool, test: dict[str, Any]) -> dict[str, Any]:
    if hidden and not passed:
        # Hidden tests never reveal their inputs, code or expected values.
        message = test.get("feedback") or "A hidden test failed."
    return {"name": name, "passed": passed, "message": message, "hidden": hidden}


def run_tests(code: str, tests: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Run every test in order; the summary says whether all passed."""
    results = [run_test(code, test, seed + index) for index, test in enumerate(tests)]
    return {"passed": all(r["passed"] for r in results), "results": results}


def run_program(code: str) -> str | None:
    """Run a program with the real stdout/stdin (the browser's Run button).

    Returns None on success, else a learner-facing traceback.
    """
    _register_source(PROGRAM_FILENAME, code)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(code, PROGRAM_FILENAME, "exec"), namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return f"The program exited with status {exc.code}."
    except KeyboardInterrupt:
        return "KeyboardInterrupt: the program was stopped."
    except Exception as exc:  # noqa: BLE001
        return format_exception(exc)
    finally:
        sys.stdout.flush()
    return None
