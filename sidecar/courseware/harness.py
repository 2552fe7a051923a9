"""The test harness shared by the browser (Pyodide), `drona validate` and the grading server.

One file, standard library only, so a test behaves the same wherever it runs. The compiler
copies it into the static site; the Pyodide worker imports it as `drona_harness`.

Contract for a test (see docs/authoring.md):
  - the learner's program runs afresh as ``__main__`` with the test's ``stdin``; ``output`` is
    everything it printed (prompts of ``input()`` included);
  - the test's ``code`` runs in a namespace of its own with ``output``, ``rng`` (seeded per
    test), ``run(stdin)`` (run the program again, return what it printed), ``use_code``,
    ``learner_tests`` and ``outcome`` (grading the learner's own tests), Python's builtins,
    and then the program's top-level names;
  - the program's names cross a boundary that lets only plain data through: numbers, text,
    bytes, True/False/None, and lists, tuples, dicts and sets of those. Functions and classes
    are called across it (arguments and results as plain data; what a call prints is printed
    in the test); other objects arrive as handles whose attributes and methods can be used but
    which cannot be compared. An exception raised by the program is raised in the test as the
    builtin exception of the same name (``except ValueError`` works), else as ProgramException;
  - a test passes when its code raises nothing.

The boundary is what makes server grading trustworthy. On the server the program runs in a
sandbox (an *oracle* that answers questions about it: run with this input, call this function
with these arguments) and the tests run in a separate trusted process, so nothing the program
does can decide a verdict or see a hidden test (sidecar/sandbox). Here, in one interpreter
(browser, validation), the same boundary is crossed through LocalOracle, so the results match.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import io
import json
import linecache
import math
import random
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

PROGRAM_FILENAME = "main.py"
PATCH_FILENAME = "code_under_test.py"  # authored code a test puts in place of the program's own (use_code)
TEST_FILENAME = "test.py"
# Output kept per program run: a runaway print loop must not exhaust memory in a test.
MAX_OUTPUT_CHARS = 100_000
# What one value crossing the boundary may hold.
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_TEXT_CHARS = 1_000_000
# Builtin exceptions a test may catch by name when the program raises them.
_EXCEPTIONS = {name: value for name, value in vars(builtins).items()
               if isinstance(value, type) and issubclass(value, Exception)}


class ProgramError(Exception):
    """The learner's program raised while running (as a whole, or during a test's `run`)."""

    def __init__(self, formatted: str, exc_type: str) -> None:
        super().__init__(formatted)
        self.formatted = formatted
        self.exc_type = exc_type


class ProgramException(Exception):
    """An exception of the program's own class (or not a builtin one), raised in the test."""


class NotPlainData(Exception):
    """A value that cannot cross the boundary: the test fails with this message."""


class OracleFailure(BaseException):
    """The oracle cannot answer any more (the program ran out of time or memory, or crashed).

    BaseException, so a test's `except Exception` cannot swallow it: the test stops here."""


# ---- the boundary: plain data only ------------------------------------------------------------
class Handles:
    """Objects of the program's own kinds, known to the test only by number."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def add(self, value: Any) -> int:
        self.objects.append(value)
        return len(self.objects) - 1

    def get(self, number: Any) -> Any:
        if type(number) is not int or not 0 <= number < len(self.objects):
            raise NotPlainData("unknown object")
        return self.objects[number]


def encode(value: Any, handles: Handles | None = None) -> Any:
    """`value` as JSON-compatible data; exact builtin types only, so a lookalike cannot pass.

    Containers are tagged ({"$tuple": [...]}, ...) so that they come back as what they were.
    Other objects become {"$object": n, "type": name} when `handles` is given, else NotPlainData.
    """
    budget = [MAX_ITEMS, MAX_TEXT_CHARS]

    def enc(item: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise NotPlainData(f"a value nested more than {MAX_DEPTH} levels deep")
        budget[0] -= 1
        if budget[0] < 0:
            raise NotPlainData(f"a value with more than {MAX_ITEMS:,} parts")
        kind = type(item)
        if item is None or kind is bool or kind is int:
            return item
        if kind is float:
            return item if math.isfinite(item) else {"$float": repr(item)}
        if kind is str:
            budget[1] -= len(item)
            if budget[1] < 0:
                raise NotPlainData(f"more than {MAX_TEXT_CHARS:,} characters of text")
            return item
        if kind is list:
            return [enc(x, depth + 1) for x in item]
        if kind is tuple:
            return {"$tuple": [enc(x, depth + 1) for x in item]}
        if kind is dict:
            return {"$dict": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in item.items()]}
        if kind is set or kind is frozenset:
            return {"$set" if kind is set else "$frozenset": [enc(x, depth + 1) for x in item]}
        if kind is bytes:
            budget[1] -= len(item)
            if budget[1] < 0:
                raise NotPlainData(f"more than {MAX_TEXT_CHARS:,} bytes")
            return {"$bytes": base64.b64encode(item).decode("ascii")}
        if kind is complex:
            return {"$complex": [enc(item.real, depth + 1), enc(item.imag, depth + 1)]}
        name = str(type.__dict__["__name__"].__get__(kind))[:80]
        if handles is not None:
            return {"$object": handles.add(item), "type": name}
        raise NotPlainData(f"a {name} object")

    return enc(value, 0)


def decode(data: Any, on_object: Any = None) -> Any:
    """Plain Python values from `encode`'s output; anything else is NotPlainData.

    on_object(number, type_name) builds the stand-in for a handle (None: refuse handles).
    """
    count = [0]

    def dec(item: Any, depth: int) -> Any:
        count[0] += 1
        if depth > MAX_DEPTH + 2 or count[0] > MAX_ITEMS + 10:
            raise NotPlainData("a value too large or too deeply nested")
        kind = type(item)
        if item is None or kind in (bool, int, float, str):
            return item
        if kind is list:
            return [dec(x, depth + 1) for x in item]
        tags = [k for k in item if type(k) is str and k.startswith("$")] if kind is dict else []
        if len(tags) == 1 and (len(item) == 1 or (tags[0] == "$object" and set(item) == {"$object", "type"})):
            tag = tags[0]
            body = item[tag]
            if tag == "$tuple" and type(body) is list:
                return tuple(dec(x, depth + 1) for x in body)
            if tag in ("$set", "$frozenset") and type(body) is list:
                values = [dec(x, depth + 1) for x in body]
                try:
                    return set(values) if tag == "$set" else frozenset(values)
                except TypeError:
                    raise NotPlainData("a set holding unhashable values") from None
            if tag == "$dict" and type(body) is list:
                result = {}
                for pair in body:
                    if type(pair) is not list or len(pair) != 2:
                        raise NotPlainData("a malformed dict")
                    try:
                        result[dec(pair[0], depth + 1)] = dec(pair[1], depth + 1)
                    except TypeError:
                        raise NotPlainData("a dict with an unhashable key") from None
                return result
            if tag == "$float" and body in ("nan", "inf", "-inf"):
                return float(body)
            if tag == "$bytes" and type(body) is str:
                return base64.b64decode(body.encode("ascii"), validate=True)
            if tag == "$complex" and type(body) is list and len(body) == 2:
                return complex(dec(body[0], depth + 1), dec(body[1], depth + 1))
            if tag == "$object" and on_object is not None and type(body) is int:
                return on_object(body, str(item.get("type", "object"))[:80])
        raise NotPlainData("an answer that is not plain data")

    return dec(data, 0)


# ---- running the program ------------------------------------------------------------------------
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
    if isinstance(exc, SyntaxError) and exc.filename in linecache.cache and exc.lineno:
        # Quote the line from the source we compiled: CPython 3.11 re-reads `filename` from the
        # working directory, where a file of that name may hold something else entirely.
        exc.text = linecache.getline(exc.filename, exc.lineno) or exc.text
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


def make_input(stdin: str, out: Any) -> Any:
    """input() for a program under test: reads the test's stdin, echoes the prompt to `out`."""
    lines = io.StringIO(stdin)

    def fake_input(prompt: object = "") -> str:
        out.write(str(prompt))
        line = lines.readline()
        if not line:
            raise EOFError("the program asked for more input than the test gives")
        return line.rstrip("\n")

    return fake_input


# ---- virtual time ----------------------------------------------------------------------------------
# Programs that use asyncio or sleep run on a simulated clock. Pyodide cannot block (asyncio.run needs
# WebAssembly stack switching, which Node and most browsers lack), and a sandbox should not spend its
# time budget sleeping. So while such a program runs, asyncio's new event loops are VirtualEventLoop:
# ready callbacks run as usual, and when nothing is ready the clock jumps to the next timer instead
# of waiting. `await asyncio.sleep(2)` returns at once with loop.time() two seconds on; three sleeps
# gathered take one second of this clock, not three. time.sleep, time.time, time.monotonic and
# time.perf_counter follow the same clock (a blocking time.sleep inside a coroutine blocks every task,
# as it would for real). Runs are deterministic: the same program gives the same timeline.
#
# Loop recorder (for the event-loop timeline of the Simulation canvas): set_loop_recorder(callback) makes
# every VirtualEventLoop created afterwards call callback(virtual_time, task_name, event) with event one of
#   "created"   a task was created (loop.create_task: asyncio.create_task, gather, TaskGroup, asyncio.run)
#   "started"   the task's first step begins (its coroutine starts running)
#   "awaiting"  a step ended with the task suspended on an await (a sleep, a future, a queue, ...)
#   "resumed"   a later step begins (what it awaited completed, or it was cancelled)
#   "done"      the step ended with the task finished (result, exception or cancellation)
# virtual_time is loop.time() (float seconds, 0.0 when the run started); task_name is task.get_name()
# ("Task-1" for asyncio.run's main task unless named). Events arrive in the order they happen, so a run
# always gives the same list. A recorder that raises is switched off for that loop (the program never
# sees its errors). Without a recorder (the default) the loop pays nothing. set_loop_recorder(None)
# removes it; a single loop's recorder can also be set or read as loop.recorder.
VIRTUAL_TIME_MARKERS = ("asyncio", "sleep")
_LOOP_RECORDER: list[Any] = [None]


def set_loop_recorder(callback: Any) -> None:
    """Record task events of every VirtualEventLoop created from now on (None: stop). See above."""
    _LOOP_RECORDER[0] = callback


class VirtualClock:
    """Seconds of simulated time since the program started (shared by every loop of one run)."""

    def __init__(self) -> None:
        self.now = 0.0


class _VirtualSelector:
    """What BaseEventLoop waits on: here, waiting means moving the clock to the next timer."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            # Nothing ready and no timer: real asyncio would hang here forever.
            raise RuntimeError("every task is waiting and nothing will wake them: the program would hang "
                               "(an await on something no task completes?)")
        if timeout > 0:
            self.clock.now += timeout
        return []

    def close(self) -> None:
        pass


def _virtual_loop_class() -> Any:
    import asyncio
    import asyncio.base_events

    class VirtualEventLoop(asyncio.base_events.BaseEventLoop):
        """asyncio's own loop machinery (tasks, timers, cancellation, timeouts) on a simulated clock."""

        def __init__(self, clock: VirtualClock | None = None) -> None:
            super().__init__()
            self._virtual_clock = clock if clock is not None else VirtualClock()
            self._selector = _VirtualSelector(self._virtual_clock)
            self._clock_resolution = 1e-9
            self.recorder = _LOOP_RECORDER[0]

        def time(self) -> float:
            return self._virtual_clock.now

        def _record(self, task: Any, event: str) -> None:
            if self.recorder is None:
                return
            # "created" waits for the next event: asyncio.create_task(name=...) names the task only after
            # loop.create_task returns (Python 3.11); the clock cannot move in between.
            pending, self._created = getattr(self, "_created", []), []
            for created in pending:
                self._emit(created, "created")
            if event == "created":
                self._created.append(task)
            else:
                self._emit(task, event)

        def _emit(self, task: Any, event: str) -> None:
            recorder = self.recorder
            if recorder is None:
                return
            try:
                recorder(self._virtual_clock.now, task.get_name(), event)
            except Exception:  # noqa: BLE001 - a broken recorder must not change the program's run
                self.recorder = None

        def create_task(self, coro: Any, **kwargs: Any) -> Any:
            task = super().create_task(coro, **kwargs)
            if self.recorder is not None:
                self._record(task, "created")
            return task

        def call_soon(self, callback: Any, *args: Any, context: Any = None) -> Any:  # type: ignore[override]
            # A task's step (its first one, or a wakeup) is a callback bound to the task: wrapped to record.
            if self.recorder is not None and isinstance(getattr(callback, "__self__", None), asyncio.Task):
                callback = self._recorded_step(callback)
            return super().call_soon(callback, *args, context=context)

        def _recorded_step(self, step: Any) -> Any:
            task = step.__self__
            started = getattr(task, "_drona_started", False)

            def recorded_step(*args: Any) -> None:
                self._record(task, "resumed" if started else "started")
                with contextlib.suppress(AttributeError):
                    task._drona_started = True
                try:
                    step(*args)
                finally:
                    self._record(task, "done" if task.done() else "awaiting")

            return recorded_step

        def _process_events(self, event_list: Any) -> None:
            pass

        def _write_to_self(self) -> None:
            pass  # one thread: nothing to wake

        def run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:  # type: ignore[override]
            # No threads in Pyodide: the work runs now. What it computes blocks the loop (as CPU-bound work
            # in a thread would hold the GIL); what it *sleeps* (time.sleep: blocking I/O) runs as if in a
            # worker thread: the clock is wound back and the result arrives that much later, so other tasks
            # run meanwhile and three 1-second asyncio.to_thread(time.sleep, 1) gathered take 1 second.
            future = self.create_future()
            start = self._virtual_clock.now
            outcome: list[Any] = []
            try:
                outcome.append(func(*args))
            except Exception as exc:  # noqa: BLE001 - the program's exception, through the future
                outcome.append(exc)
                failed = True
            else:
                failed = False
            waited = self._virtual_clock.now - start
            self._virtual_clock.now = start

            def settle() -> None:
                if future.cancelled():
                    return
                if failed:
                    future.set_exception(outcome[0])
                else:
                    future.set_result(outcome[0])

            if waited > 0:
                self.call_at(start + waited, settle)
            else:
                settle()
            return future

    return VirtualEventLoop


_VIRTUAL_LOOP: list[Any] = []


def virtual_loop_class() -> Any:
    """VirtualEventLoop (made on first use: importing asyncio costs time, and most programs never do)."""
    if not _VIRTUAL_LOOP:
        _VIRTUAL_LOOP.append(_virtual_loop_class())
    return _VIRTUAL_LOOP[0]


def virtual_loop(clock: VirtualClock | None = None) -> Any:
    """A new VirtualEventLoop on `clock`."""
    return virtual_loop_class()(clock)


@contextlib.contextmanager
def virtual_time(clock: VirtualClock, code: str) -> Any:
    """While the block runs, new event loops and the time module follow `clock` (only for programs that
    mention asyncio or sleep: the others pay nothing)."""
    if not any(marker in code for marker in VIRTUAL_TIME_MARKERS):
        yield
        return
    import asyncio
    import asyncio.events
    import time

    start_wall, start_mono, start_perf = time.time(), time.monotonic(), time.perf_counter()

    def sleep(seconds: Any) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        clock.now += float(seconds)

    saved = [(asyncio, "run"), (asyncio, "new_event_loop"), (asyncio.events, "new_event_loop"), (time, "sleep"),
             (time, "time"), (time, "monotonic"), (time, "perf_counter")]
    originals = [(owner, name, getattr(owner, name)) for owner, name in saved]
    new_loop = lambda: virtual_loop(clock)  # noqa: E731

    def run(main: Any, *, debug: bool | None = None, loop_factory: Any = None) -> Any:
        # asyncio.run as CPython defines it (Pyodide replaces it with one that needs stack switching).
        with outside_host_loop(), asyncio.Runner(debug=debug, loop_factory=loop_factory or new_loop) as runner:
            return runner.run(main)

    asyncio.run = run
    asyncio.new_event_loop = new_loop
    asyncio.events.new_event_loop = new_loop
    time.sleep = sleep
    time.time = lambda: start_wall + clock.now
    time.monotonic = lambda: start_mono + clock.now
    time.perf_counter = lambda: start_perf + clock.now
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


@contextlib.contextmanager
def outside_host_loop() -> Any:
    """Pyodide's own event loop counts as always running; a program's asyncio.run must not see it (a
    virtual loop of the program's, running, must: asyncio.run inside a coroutine is an error)."""
    import asyncio.events

    host = asyncio.events._get_running_loop()
    if host is None or isinstance(host, virtual_loop_class()):
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(host)


def _finish_coroutine(value: Any, clock: VirtualClock) -> Any:
    """A program function called across the boundary returned a coroutine (an async def): run it to the
    end on the virtual clock, as asyncio.run would, and answer its result."""
    import asyncio

    with outside_host_loop(), asyncio.Runner(loop_factory=lambda: virtual_loop(clock)) as runner:
        return runner.run(value)


def program_namespace(code: str) -> dict[str, Any]:
    """A fresh __main__ namespace for the program. A program that mentions `__file__` (the idiom
    `pytest.main([__file__])` runs a file's own tests and prints pytest's report) gets it, and its
    source is written to that file in the working directory (Pyodide's in-memory file system in the
    browser and the sandbox; a scratch directory in validation), where pytest collects it."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    if "__file__" in code:
        namespace["__file__"] = PROGRAM_FILENAME
        with contextlib.suppress(OSError), open(PROGRAM_FILENAME, "w", encoding="utf-8") as file:
            file.write(code)
    return namespace


def run_module(code: str, stdin: str, out: Any, clock: VirtualClock | None = None) -> dict[str, Any]:
    """Run the program once as __main__, its input() reading `stdin` and echoing to `out`.

    Raises ProgramError (with a learner-facing traceback) when the program fails.
    """
    _register_source(PROGRAM_FILENAME, code)
    namespace = program_namespace(code)
    namespace["input"] = make_input(stdin, out)
    try:
        compiled = compile(code, PROGRAM_FILENAME, "exec")
        with virtual_time(clock if clock is not None else VirtualClock(), code):
            exec(compiled, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise ProgramError(f"The program exited with status {exc.code}.", "SystemExit") from None
    except Exception as exc:  # noqa: BLE001 - any learner error becomes a readable message
        raise ProgramError(format_exception(exc), type(exc).__name__) from None
    namespace.pop("input", None)
    return namespace


def execute(code: str, stdin: str = "") -> tuple[dict[str, Any], str]:
    """Run the learner program once; return its globals and everything it printed."""
    out = _CappedStringIO()
    with redirect_stdout(out), redirect_stderr(out):
        namespace = run_module(code, stdin, out)
    return namespace, out.getvalue()


def describe_error(exc: BaseException) -> dict[str, str]:
    """A program's exception as data: its class name, message and learner-facing traceback."""
    kind = type(exc)
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner exception whose __str__ fails
        message = ""
    return {"type": str(type.__dict__["__name__"].__get__(kind))[:80], "message": message[:2000],
            "traceback": format_exception(exc)[:8000]}


class ProgramSide:
    """The program end of the boundary: what an oracle does in the program's interpreter.

    Every answer is plain JSON data (see `encode`). The sandbox's runner uses this with the
    output captured outside Python; LocalOracle uses it in-process.
    """

    def __init__(self, code: str) -> None:
        self.code = code
        self.namespace: dict[str, Any] = {}
        self.handles = Handles()
        self.clock = VirtualClock()

    def run(self, stdin: str, keep: bool, out: Any) -> dict[str, Any]:
        clock = VirtualClock()
        try:
            namespace = run_module(self.code, stdin, out, clock)
        except ProgramError as err:
            return {"error": err.formatted, "exc_type": err.exc_type, "clock": clock.now}
        if keep:
            self.namespace, self.handles, self.clock = namespace, Handles(), clock
        return {"error": None, "clock": clock.now}

    def _target(self, target: Any) -> Any:
        if type(target) is list and len(target) == 2 and type(target[1]) is str:
            owner = self.handles.get(target[0])
            return getattr(owner, target[1])
        if type(target) is str:
            return self.namespace[target]
        raise NotPlainData("a malformed request")

    def patch(self, source: Any) -> dict[str, Any]:
        """Run authored code (another version of the code under test) in the program's namespace, as of
        its last kept run, replacing the program's own definitions of the same names (see `use_code`)."""
        try:
            with virtual_time(self.clock, self.code):
                exec(compile(str(source), PATCH_FILENAME, "exec"), self.namespace)
        except Exception as exc:  # noqa: BLE001 - an authoring error in the replacement code
            return {"kind": "error", "error": describe_error(exc)}
        return {"kind": "ok"}

    def cases(self, name: Any) -> dict[str, Any]:
        """The cases of a test function parametrized with pytest.mark.parametrize, as a list of {parameter:
        value} dicts (stacked marks combine, as in pytest), or None when it is not parametrized."""
        function = self.namespace.get(name) if type(name) is str else None
        try:
            marks = [mark for mark in (getattr(function, "pytestmark", None) or [])
                     if getattr(mark, "name", None) == "parametrize"]
            combined: list[dict[Any, Any]] | None = [{}] if marks else None
            for mark in marks:
                argnames, argvalues = mark.args[0], mark.args[1]
                names = [n.strip() for n in argnames.split(",") if n.strip()] if isinstance(argnames, str) \
                    else [str(n) for n in argnames]
                rows = []
                for value in argvalues:
                    if type(value).__name__ == "ParameterSet":  # pytest.param(...)
                        values = tuple(value.values)
                    elif len(names) == 1:
                        values = (value,)
                    else:
                        values = tuple(value)
                    rows.append(dict(zip(names, values, strict=False)))
                combined = [{**done, **row} for done in (combined or [{}]) for row in rows]
        except Exception as exc:  # noqa: BLE001 - a malformed mark: the test reports it
            return {"kind": "error", "error": describe_error(exc)}
        return {"kind": "value", "value": encode(combined, self.handles)}

    def names(self) -> dict[str, Any]:
        """The program's top-level names, in the order it defined them (dunder names left out)."""
        return {"kind": "value", "value": [n for n in self.namespace if type(n) is str and not n.startswith("__")]}

    def lookup(self, name: Any) -> dict[str, Any]:
        if type(name) is not str or name not in self.namespace:
            return {"kind": "missing"}
        return self._describe(self.namespace[name])

    def attribute(self, number: Any, name: Any) -> dict[str, Any]:
        try:
            value = getattr(self.handles.get(number), str(name))
        except NotPlainData:
            return {"kind": "missing"}
        except Exception as exc:  # noqa: BLE001 - the program's own property raised
            return {"kind": "error", "error": describe_error(exc)}
        return self._describe(value)

    def _describe(self, value: Any) -> dict[str, Any]:
        if callable(value):
            return {"kind": "callable", "type": str(type.__dict__["__name__"].__get__(type(value)))[:80]}
        return {"kind": "value", "value": encode(value, self.handles)}

    def call(self, target: Any, args: Any, kwargs: Any) -> dict[str, Any]:
        try:
            function = self._target(target)
            positional = decode(args, lambda number, _name: self.handles.get(number))
            named = decode(kwargs, lambda number, _name: self.handles.get(number))
            if type(positional) is not list or type(named) is not dict:
                raise NotPlainData("malformed arguments")
        except (KeyError, AttributeError, NotPlainData) as exc:
            return {"kind": "missing", "why": str(exc)[:200]}
        try:
            with virtual_time(self.clock, self.code):
                value = function(*positional, **{str(k): v for k, v in named.items()})
                if _is_coroutine(value):
                    value = _finish_coroutine(value, self.clock)
        except Exception as exc:  # noqa: BLE001 - the program's exception, reported as data
            return {"kind": "error", "error": describe_error(exc), "clock": self.clock.now}
        except BaseException as exc:
            # pytest.fail, pytest.skip and a pytest.raises that saw nothing raise pytest's own outcome
            # exceptions (BaseException, so that `except Exception` in a test cannot swallow them). A
            # function that calls sys.exit() is the program's error too, not the end of the checker.
            if not isinstance(exc, SystemExit) and not any(kind.__name__ == "OutcomeException"
                                                           for kind in type(exc).__mro__):
                raise
            return {"kind": "error", "error": describe_error(exc), "clock": self.clock.now}
        try:
            return {"kind": "value", "value": encode(value, self.handles), "clock": self.clock.now}
        except NotPlainData as exc:
            return {"kind": "unplain", "why": str(exc), "clock": self.clock.now}


def _is_coroutine(value: Any) -> bool:
    # A coroutine object, without importing asyncio or inspect for every call.
    return type(value).__name__ == "coroutine" and hasattr(value, "send") and hasattr(value, "cr_frame")


class LocalOracle:
    """An oracle in this interpreter, for the browser and validation: the same boundary, no sandbox."""

    def __init__(self, code: str) -> None:
        self.side = ProgramSide(code)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        out = _CappedStringIO()
        with redirect_stdout(out), redirect_stderr(out):
            op = request.get("op")
            if op == "run":
                answer = self.side.run(str(request.get("stdin", "")), bool(request.get("keep")), out)
            elif op == "patch":
                answer = self.side.patch(request.get("source"))
            elif op == "names":
                answer = self.side.names()
            elif op == "cases":
                answer = self.side.cases(request.get("name"))
            elif op == "lookup":
                answer = self.side.lookup(request.get("name"))
            elif op == "attribute":
                answer = self.side.attribute(request.get("object"), request.get("name"))
            elif op == "call":
                answer = self.side.call(request.get("target"), request.get("args"), request.get("kwargs"))
            else:
                answer = {"kind": "missing"}
        # What crosses back is data, exactly as from a sandbox: a round trip through JSON text.
        return dict(json.loads(json.dumps({**answer, "output": out.getvalue()})))


# ---- the test side ------------------------------------------------------------------------------
class _Boundary:
    """The test's view of the program, through an oracle (local or remote)."""

    def __init__(self, ask: Any) -> None:
        self._ask = ask
        self.clock = 0.0  # the program's simulated clock after the last answer (seconds)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self._ask(request)
        if type(answer) is not dict:
            raise OracleFailure("the program's side gave no answer")
        clock = answer.get("clock")
        if isinstance(clock, (int, float)) and type(clock) is not bool and clock == clock:  # a number, not NaN
            self.clock = float(clock)
        printed = answer.get("output")
        if type(printed) is str and printed and request.get("op") != "run":
            sys.stdout.write(printed)  # what a call printed is printed in the test (redirect_stdout works)
        return answer

    def value(self, data: Any) -> Any:
        return decode(data, lambda number, name: RemoteObject(self, number, name))

    def raise_error(self, error: Any) -> None:
        error = error if type(error) is dict else {}
        name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
        exc: Exception = ProgramException(f"{name}: {message}" if message else name)
        kind = _EXCEPTIONS.get(name)
        if kind is not None:
            # Some builtin exceptions need more arguments (UnicodeDecodeError): then the generic one.
            with contextlib.suppress(Exception):
                exc = kind(message)
        exc.learner_traceback = str(error.get("traceback", ""))  # type: ignore[attr-defined]
        raise exc

    def answer_value(self, answer: dict[str, Any], what: str) -> Any:
        kind = answer.get("kind")
        if kind == "value":
            return self.value(answer.get("value"))
        if kind == "error":
            self.raise_error(answer.get("error"))
        if kind == "unplain":
            raise NotPlainData(f"{what} gave {answer.get('why', 'a value')}, which is not plain data (numbers, "
                               "text, lists, tuples, dicts, sets, True/False/None): return plain values")
        raise NameError(f"{what} is not defined")


class RemoteFunction:
    """A function or class of the program, called across the boundary."""

    def __init__(self, boundary: _Boundary, target: Any, label: str) -> None:
        self._boundary, self._target, self._label = boundary, target, label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            request = {"op": "call", "target": self._target, "args": encode(list(args), _Passthrough()),
                       "kwargs": encode(dict(kwargs), _Passthrough())}
        except NotPlainData as exc:
            raise NotPlainData(f"{self._label}() can be given plain data only, not {exc}") from None
        return self._boundary.answer_value(self._boundary.ask(request), f"{self._label}(...)")

    def __repr__(self) -> str:
        return f"<{self._label} of your program>"


class _Passthrough(Handles):
    """Lets handles of the program's own objects travel back as arguments."""

    def add(self, value: Any) -> int:
        if isinstance(value, RemoteObject):
            number: int = value._number
            return number
        raise NotPlainData(f"a {type(value).__name__} object")


class RemoteObject:
    """An object of the program's own kind: attributes and methods work, comparisons do not."""

    __slots__ = ("_boundary", "_number", "_type")

    def __init__(self, boundary: _Boundary, number: int, type_name: str) -> None:
        object.__setattr__(self, "_boundary", boundary)
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        answer = self._boundary.ask({"op": "attribute", "object": self._number, "name": name})
        if answer.get("kind") == "callable":
            return RemoteFunction(self._boundary, [self._number, name], f"{self._type}.{name}")
        return self._boundary.answer_value(answer, f"{self._type}.{name}")

    def __eq__(self, other: object) -> bool:
        raise TypeError(f"a {self._type} object of your program cannot be compared; compare its attributes")

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(f"a {self._type} object of your program has no truth value here")

    def __iter__(self) -> Any:
        raise TypeError(f"a {self._type} object of your program cannot be iterated here: return a list")

    def __len__(self) -> int:
        raise TypeError(f"a {self._type} object of your program has no length here: return a list")

    def __repr__(self) -> str:
        return f"<{self._type} object of your program>"


class TestScope(dict[str, Any]):
    """The test's globals: its own names, then builtins, then the program's top-level names."""

    def __init__(self, boundary: _Boundary, **names: Any) -> None:
        super().__init__(__builtins__=builtins, __name__="__test__", **names)
        self._boundary = boundary
        self._cached: dict[str, Any] = {}

    def __missing__(self, name: str) -> Any:
        if hasattr(builtins, name):
            raise KeyError(name)  # CPython then looks in builtins: the test sees real ones
        answer = self._boundary.ask({"op": "lookup", "name": name})
        kind = answer.get("kind")
        if kind == "callable":
            value: Any = RemoteFunction(self._boundary, name, name)
        elif kind == "value":
            value = self._boundary.value(answer.get("value"))
        else:
            raise KeyError(name)  # NameError for the test, as Python says it
        self[name] = value  # the program's names as they were after it ran, like a snapshot
        self._cached[name] = value
        return value

    def forget_program_names(self) -> None:
        """The program ran again: names looked up from the previous run are looked up afresh."""
        for name, value in list(self._cached.items()):
            if name in self and self[name] is value:
                del self[name]
        self._cached.clear()


def run_test_with(ask: Any, test: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one test against a program reached through `ask` (an oracle); never raises.

    OracleFailure (the program's side stopped answering) is left to the caller.
    """
    name = test.get("name", "test")
    hidden = bool(test.get("hidden"))
    boundary = _Boundary(ask)
    first = boundary.ask({"op": "run", "stdin": str(test.get("stdin", "") or ""), "keep": True})
    if first.get("error") is not None:
        return _result(name, False, "Your program raised an error:\n" + str(first.get("error")), hidden, test)
    output = str(first.get("output", ""))

    def rerun(stdin: str = "") -> str:
        answer = boundary.ask({"op": "run", "stdin": str(stdin), "keep": False})
        if answer.get("error") is not None:
            raise ProgramError(str(answer.get("error")), str(answer.get("exc_type", "")))
        return str(answer.get("output", ""))

    def program_time() -> float:
        """Seconds on the program's simulated clock (asyncio's loop.time(), time.sleep): 0 at the start of
        the run, moved by what the program awaited or slept, as of its last answer."""
        return boundary.clock

    # Grading a learner's own tests (docs/authoring.md, "Exercises that grade the learner's tests").
    def use_code(source: str) -> None:
        """Run `source` (authored code: the correct code under test, or a version with a bug) in the
        program's namespace, replacing the program's own definitions of the same names; the learner's
        test functions, which look them up when called, then test that version."""
        answer = boundary.ask({"op": "patch", "source": str(source)})
        scope.forget_program_names()
        if answer.get("kind") != "ok":
            error = answer.get("error")
            message = error.get("message", "?") if isinstance(error, dict) else "?"
            raise RuntimeError(f"the code under test could not be put in place: {message}")

    def learner_tests() -> list[str]:
        """The names of the program's top-level test functions (`test...`), in the order it defines them."""
        answer = boundary.ask({"op": "names"})
        names = boundary.value(answer.get("value")) if answer.get("kind") == "value" else []
        if type(names) is not list:
            return []
        return [name for name in names if type(name) is str and name.startswith("test")
                and boundary.ask({"op": "lookup", "name": name}).get("kind") == "callable"]

    def call_test(name: str, args: Any, kwargs: Any) -> str | None:
        try:
            RemoteFunction(boundary, name, name)(*args, **kwargs)
        except (ProgramError, NotPlainData):
            raise
        except Exception as exc:  # noqa: BLE001 - the learner's test failed: that is the answer
            if isinstance(exc, ProgramException):
                return str(exc)  # already "Failed: DID NOT RAISE ...", the program's own class first
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return None

    def outcome(name: str, *args: Any, **kwargs: Any) -> str | None:
        """Call the program's test function `name`: None when it passes, else how it failed, as pytest
        would report it ("AssertionError: ...", "Failed: DID NOT RAISE ...", or any other exception the
        code under test raised). Given no arguments, a test parametrized with pytest.mark.parametrize runs
        once per case (the first failing case is the answer); arguments, if given, are plain data."""
        name = str(name)
        if boundary.ask({"op": "lookup", "name": name}).get("kind") != "callable":
            raise NameError(f"your program has no test function named {name}")
        if args or kwargs:
            return call_test(name, args, kwargs)
        answer = boundary.ask({"op": "cases", "name": name})
        cases = boundary.answer_value(answer, f"the cases of {name}") if answer.get("kind") in ("value", "error") \
            else None
        if type(cases) is not list:
            return call_test(name, (), {})
        for case in cases:
            failure = call_test(name, (), case if type(case) is dict else {})
            if failure is not None:
                shown = ", ".join(f"{key}={value!r}" for key, value in case.items()) if type(case) is dict else ""
                return f"[{shown}] {failure}"
        return None

    scope = TestScope(boundary, output=output, rng=random.Random(seed), run=rerun,  # noqa: S311
                      program_time=program_time, use_code=use_code, learner_tests=learner_tests,
                      outcome=outcome)
    _register_source(TEST_FILENAME, test["code"])
    try:
        exec(compile(test["code"], TEST_FILENAME, "exec"), scope)
    except AssertionError as exc:
        message = str(exc) or "An assertion in this test failed."
        return _result(name, False, message, hidden, test)
    except ProgramError as err:
        return _result(name, False, "Your program raised an error:\n" + err.formatted, hidden, test)
    except NotPlainData as exc:
        return _result(name, False, f"Your program's answer could not be used: {exc}.", hidden, test)
    except Exception as exc:  # noqa: BLE001 - e.g. the function under test is missing
        learner = getattr(exc, "learner_traceback", "")
        message = ("Your program raised an error:\n" + learner if learner
                   else "".join(traceback.format_exception_only(type(exc), exc)).strip())
        return _result(name, False, message, hidden, test)
    return _result(name, True, "", hidden, test)


def run_test(code: str, test: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one test against the learner code in this interpreter; never raises."""
    return run_test_with(LocalOracle(code).ask, test, seed)


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
    namespace = program_namespace(code)
    try:
        with virtual_time(VirtualClock(), code):
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
