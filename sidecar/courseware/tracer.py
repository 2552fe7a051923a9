"""The step-through tracer behind the Visualization canvas (design §7.2).

It runs in the browser's Pyodide worker (copied to assets/drona/tracer.py and imported as
``drona_tracer``) and in CPython for its tests: it depends on the standard library alone.

``trace_program(code)`` runs the learner's program under ``sys.settrace`` and records one *step*
per line event, call, return and exception in the learner's own code (never inside the standard
library), up to a step limit. Each step holds:

- ``line`` and ``event`` (``line`` | ``call`` | ``return`` | ``exception``);
- ``out``: how many characters of the program's output existed at that step (the output itself is
  sent once, as ``output``);
- ``frames``: the call stack, outermost first, each ``{name, line, vars: [[name, value]], ret?}``;
- ``heap``: ``{id: object}`` for every object reachable from those variables.

A value is ``{"p": repr}`` for an immutable scalar (None, bool, int, float, complex, str) and
``{"r": id}`` for a reference into the heap, so two names bound to one list point at one box:
aliasing is visible. Heap ids are stable for the whole trace (objects are kept alive until it
ends, so CPython cannot reuse an id). Containers show at most MAX_ITEMS items and the heap at most
MAX_OBJECTS objects per step; what is left out is counted, never silently dropped.

Nothing here decides a verdict: the trace is a picture for the learner, and grading stays where
#7 put it.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import linecache
import sys
import traceback
import types
from typing import Any

PROGRAM_FILENAME = "main.py"  # the name drona_harness gives learner code, so tracebacks read the same
DEFAULT_MAX_STEPS = 1000
MAX_ITEMS = 40  # per container, per step
MAX_OBJECTS = 120  # per step
MAX_REPR = 80  # characters of a scalar's repr
SCALARS = (type(None), bool, int, float, complex, str)
HIDDEN_GLOBALS = {"__name__", "__builtins__", "__doc__", "__loader__", "__spec__", "__package__",
                  "__file__", "__cached__", "__annotations__"}


class StepLimitReached(BaseException):
    """Raised inside the learner's program when the trace is full (a BaseException, so a bare
    ``except:`` in the program can still swallow it: the tracer then stops recording anyway)."""


class _Recorder:
    """What the program printed, forwarded to the real stream so the output panel stays live."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.parts: list[str] = []
        self.length = 0

    def write(self, text: str) -> int:
        text = str(text)
        self.record(text)
        return self.real.write(text) if self.real is not None else len(text)

    def record(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def flush(self) -> None:
        if self.real is not None:
            self.real.flush()

    def getvalue(self) -> str:
        return "".join(self.parts)


def _repr(value: Any) -> str:
    # A learner's __repr__ may raise, and an int past 4,300 digits refuses repr(): the picture
    # shows a placeholder instead of breaking the program it draws.
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


def _scalar(value: Any) -> dict[str, str]:
    text = _repr(value)
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR - 1] + "…"
    return {"p": text}


class _Heap:
    """Numbers objects in the order first seen and snapshots what the frames can reach."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps every numbered object alive, so no id is reused

    def number(self, obj: Any) -> int:
        key = id(obj)
        found = self.numbers.get(key)
        if found is None:
            found = len(self.keep) + 1
            self.numbers[key] = found
            self.keep.append(obj)
        return found

    def value(self, obj: Any, pending: list[Any]) -> dict[str, Any]:
        if isinstance(obj, SCALARS):
            return _scalar(obj)
        pending.append(obj)
        return {"r": self.number(obj)}

    def snapshot(self, roots: list[Any]) -> tuple[dict[str, Any], int]:
        heap: dict[str, Any] = {}
        pending = list(roots)
        omitted = 0
        while pending:
            obj = pending.pop(0)
            key = str(self.number(obj))
            if key in heap:
                continue
            if len(heap) >= MAX_OBJECTS:
                omitted += 1
                continue
            heap[key] = self.describe(obj, pending)
        return heap, omitted

    def describe(self, obj: Any, pending: list[Any]) -> dict[str, Any]:
        kind = type(obj)
        if kind in (list, tuple, set, frozenset):
            items = list(obj)
            if kind in (set, frozenset):
                items.sort(key=_repr)  # a stable order, so a set does not reshuffle between steps
            shown = [self.value(item, pending) for item in items[:MAX_ITEMS]]
            return {"t": kind.__name__, "items": shown, "more": max(0, len(items) - MAX_ITEMS)}
        if kind is dict:
            entries = list(obj.items())
            shown_entries = [[self.value(k, pending), self.value(v, pending)] for k, v in entries[:MAX_ITEMS]]
            return {"t": "dict", "entries": shown_entries, "more": max(0, len(entries) - MAX_ITEMS)}
        if isinstance(obj, types.FunctionType):
            code = obj.__code__
            params = ", ".join(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
            return {"t": "function", "name": f"{obj.__name__}({params})"}
        if isinstance(obj, type):
            return {"t": "class", "name": obj.__name__}
        if isinstance(obj, types.ModuleType):
            return {"t": "module", "name": obj.__name__}
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict) and not callable(obj):
            pairs = list(attributes.items())
            pairs_shown: list[list[Any]] = [[name, self.value(v, pending)] for name, v in pairs[:MAX_ITEMS]]
            return {"t": "object", "class": kind.__name__, "attrs": pairs_shown, "more": max(0, len(pairs) - MAX_ITEMS)}
        text = _repr(obj)
        return {"t": "other", "class": kind.__name__, "repr": text[:MAX_REPR]}


class Tracer:
    def __init__(self, max_steps: int, out: _Recorder, injected: frozenset[str]) -> None:
        self.max_steps = max_steps
        self.out = out
        self.injected = injected  # names the tracer put in the program's globals (its input())
        self.heap = _Heap()
        self.steps: list[dict[str, Any]] = []
        self.truncated = False
        self.raising: types.FrameType | None = None  # the frame whose last event was an exception

    def _mine(self, frame: types.FrameType) -> bool:
        return frame.f_code.co_filename == PROGRAM_FILENAME

    def global_trace(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event != "call" or not self._mine(frame):
            return None  # the standard library and builtins run untraced, at full speed
        if frame.f_code.co_name != "<module>":
            self.record(frame, "call", None)
        return self.local_trace

    def local_trace(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "return" and self.raising is frame:
            # The exception leaves this frame: its exception step already shows where; a "return"
            # of None here would be a picture of something that did not happen.
            return self.local_trace
        self.raising = frame if event == "exception" else None
        if event in ("line", "return", "exception"):
            self.record(frame, event, arg)
        return self.local_trace

    def _variables(self, frame: types.FrameType, pending: list[Any]) -> list[list[Any]]:
        if frame.f_code.co_name == "<module>":
            names = {k: v for k, v in frame.f_globals.items()
                     if k not in HIDDEN_GLOBALS and k not in self.injected and not k.startswith("__")
                     and not isinstance(v, types.ModuleType)}
        else:
            names = dict(frame.f_locals)
        return [[name, self.heap.value(value, pending)] for name, value in names.items()]

    def record(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if len(self.steps) >= self.max_steps:
            self.truncated = True
            sys.settrace(None)
            raise StepLimitReached
        stack: list[types.FrameType] = []
        walker: types.FrameType | None = frame
        while walker is not None:
            if self._mine(walker):
                stack.append(walker)
            walker = walker.f_back
        stack.reverse()
        pending: list[Any] = []
        frames = []
        for index, each in enumerate(stack):
            entry: dict[str, Any] = {"name": each.f_code.co_name, "line": each.f_lineno,
                                     "vars": self._variables(each, pending)}
            if index == len(stack) - 1 and event == "return" and each.f_code.co_name != "<module>":
                entry["ret"] = self.heap.value(arg, pending)
            frames.append(entry)
        heap, omitted = self.heap.snapshot(pending)
        step: dict[str, Any] = {"line": frame.f_lineno, "event": event, "out": self.out.length,
                                "frames": frames, "heap": heap}
        if omitted:
            step["omitted"] = omitted
        if event == "exception" and isinstance(arg, tuple) and arg:
            step["exception"] = getattr(arg[0], "__name__", "Exception")
        self.steps.append(step)


def _format_error(exc: BaseException) -> str:
    te = traceback.TracebackException.from_exception(exc)
    if isinstance(exc, SyntaxError):
        return "".join(te.format_exception_only()).rstrip("\n")
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename == PROGRAM_FILENAME])
    return "".join(te.format()).rstrip("\n")


def _virtual_time(code: str) -> Any:
    """The harness's simulated clock for programs that use asyncio or sleep (asyncio.run cannot block in
    Pyodide): the worker has the harness as drona_harness; elsewhere (tests) it is importable by name."""
    harness: Any = sys.modules.get("drona_harness")
    if harness is None:
        try:
            from sidecar.courseware import harness as imported
        except ImportError:
            return contextlib.nullcontext()
        harness = imported
    return harness.virtual_time(harness.VirtualClock(), code)


def trace_program(code: str, max_steps: int = DEFAULT_MAX_STEPS) -> dict[str, Any]:
    """Run `code` as __main__ under the tracer; return the trace (see the module's docstring).

    ``input()`` reads the real stdin (the worker's input field); the line typed is recorded in the
    output, as a terminal would echo it. A KeyboardInterrupt (Stop, the time limit) propagates.
    """
    max_steps = max(1, min(int(max_steps), 20_000))
    recorder = _Recorder(sys.stdout)
    tracer = Tracer(max_steps, recorder, frozenset({"input"}))
    linecache.cache[PROGRAM_FILENAME] = (len(code), None, code.splitlines(True), PROGRAM_FILENAME)

    def traced_input(prompt: object = "") -> str:
        recorder.write(str(prompt))
        recorder.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError("EOF when reading a line")
        line = line.rstrip("\n")
        recorder.record(line + "\n")  # echoed in the trace's output, as a terminal shows it
        return line

    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "input": traced_input}
    error: str | None = None
    real_stdout = sys.stdout
    sys.stdout = recorder
    try:
        compiled = compile(code, PROGRAM_FILENAME, "exec")
        with _virtual_time(code):
            sys.settrace(tracer.global_trace)
            try:
                exec(compiled, namespace)
            finally:
                sys.settrace(None)
    except StepLimitReached:
        tracer.truncated = True
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = f"The program exited with status {exc.code}."
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - any learner error becomes part of the picture
        error = _format_error(exc)
    finally:
        sys.stdout = real_stdout
        with contextlib.suppress(Exception):  # a closed stream must not hide the trace
            real_stdout.flush()
    return {"steps": tracer.steps, "truncated": tracer.truncated, "max_steps": max_steps,
            "error": error, "output": recorder.getvalue(), "code": code}


def trace_json(code: str, max_steps: int = DEFAULT_MAX_STEPS) -> str:
    """The trace as one JSON string: one crossing from Python to JavaScript, parsed there once."""
    return json.dumps(trace_program(code, max_steps), ensure_ascii=False, separators=(",", ":"))
