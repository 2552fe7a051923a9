"""Python half of a sandbox job: runs inside the job's own Pyodide interpreter, never in the sidecar.

isolate.mjs executes this file once in a fresh interpreter and calls `install`, which locks the
interpreter down before any learner code exists and returns `answer`, the one function the
isolate calls afterwards. `answer` takes a request as JSON text and returns the reply as JSON
text: run the program with this stdin, look up a top-level name, call a function, read an
attribute (harness.ProgramSide). What the program prints is captured outside Python, by the
isolate's stdout sink.

Nothing here decides anything: the tests and their expected values live in the trusted judge
process (judge.py), which only ever receives these replies as data. The lockdown below keeps
the program away from the JavaScript bridge and the host as defence in depth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Root modules a graded program may not import: bridges to JavaScript, the import machinery's
# builtin-module loader, raw memory access and CPython's test hooks.
BLOCKED_IMPORTS = frozenset({
    "js", "pyodide_js", "pyodide", "_pyodide", "_pyodide_core", "micropip", "pyodide_http", "_imp",
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testlimitedcapi", "_testbuffer", "_testclinic",
    "_testclinic_limited", "_xxtestfuzz", "xxsubtype", "_remote_debugging", "_posixsubprocess", "_socket",
})
# Builtin (statically linked) modules a program may use. They are imported while the snapshot is
# made, so after the lockdown no builtin module ever needs loading again, and the loader itself
# (`_imp.create_builtin`) can be taken away: it used to hand out `_pyodide_core` without an
# "import" audit event.
SAFE_BUILTINS = (
    "_abc", "_ast", "_asyncio", "_bisect", "_blake2", "_bz2", "_codecs", "_codecs_cn", "_codecs_hk",
    "_codecs_iso2022", "_codecs_jp", "_codecs_kr", "_codecs_tw", "_collections", "_contextvars", "_csv",
    "_datetime", "_decimal", "_elementtree", "_functools", "_heapq", "_hmac", "_io", "_json", "_locale", "_lzma",
    "_md5", "_multibytecodec", "_opcode", "_operator", "_pickle", "_queue", "_random", "_sha1", "_sha2", "_sha3",
    "_signal", "_sre", "_stat", "_statistics", "_string", "_struct", "_suggestions", "_symtable", "_thread",
    "_tokenize", "_types", "_typing", "_warnings", "_weakref", "_zoneinfo", "_zstd", "array", "atexit",
    "binascii", "cmath", "errno", "itertools", "math", "pyexpat", "select", "time", "unicodedata", "zlib",
)
# Pure-Python modules worth having in the snapshot, so jobs do not pay for importing them.
WARM_MODULES = ("contextlib", "io", "json", "linecache", "random", "traceback", "math", "string", "collections",
                "itertools", "base64", "functools", "re", "statistics", "datetime", "decimal", "fractions",
                "inspect", "unittest", "unittest.mock")  # the last three: the Testing course's mocks


# Where isolate.mjs writes the vendored wheels (pytest and what it needs); they go at the end of sys.path,
# so the standard library always comes first, and are imported straight from their zip files.
WHEELS_DIR = "/drona-wheels"


def preload(harness_source: str) -> None:
    """Import what the lockdown will no longer allow loading, and the harness (run while making the
    snapshot, so every job starts with them at no cost)."""
    import contextlib
    import importlib
    import sys

    for name in SAFE_BUILTINS + WARM_MODULES:
        if name in sys.builtin_module_names or name in WARM_MODULES:
            with contextlib.suppress(ImportError):  # not in this Pyodide build
                importlib.import_module(name)
    sys.modules["drona_harness"] = _load_harness(harness_source)
    _annotations_without_new_functions()
    _faulthandler_stand_in()


def _faulthandler_stand_in() -> None:
    """faulthandler (a builtin module left out of SAFE_BUILTINS: it dumps raw tracebacks to file
    descriptors and has functions that crash the interpreter on purpose) as a module that does nothing,
    so that pytest.main, whose faulthandler plugin enables it, runs in graded programs."""
    import sys
    import types

    if "faulthandler" in sys.modules:
        return
    stand_in = types.ModuleType("faulthandler", "Not available in graded programs: these functions do nothing.")
    state = {"enabled": False}

    def enable(file: Any = None, all_threads: bool = True, c_stack: bool = True) -> None:
        state["enabled"] = True

    def disable() -> None:
        state["enabled"] = False

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    stand_in.enable, stand_in.disable = enable, disable  # type: ignore[attr-defined]
    stand_in.is_enabled = lambda: state["enabled"]  # type: ignore[attr-defined]
    for name in ("dump_traceback", "dump_traceback_later", "cancel_dump_traceback_later", "register",
                 "unregister", "dump_c_stack"):
        setattr(stand_in, name, nothing)
    sys.modules["faulthandler"] = stand_in


def _annotations_without_new_functions() -> None:
    """Python 3.14 evaluates class annotations lazily (PEP 649): typing.NamedTuple and TypedDict ask
    annotationlib for them in the FORWARDREF format, which rebuilds the class's __annotate__ function with
    types.FunctionType, an event the audit hook denies ("function.__new__"). Ask for plain values first:
    when every name in the annotations exists (nearly always), that is the same answer, made without a
    new function; only a real forward reference still takes the denied path."""
    try:
        import annotationlib
    except ImportError:
        return  # before 3.14: annotations are evaluated eagerly
    original = annotationlib.call_annotate_function
    value_format, forwardref_format = annotationlib.Format.VALUE, annotationlib.Format.FORWARDREF
    string_format, type_repr = annotationlib.Format.STRING, annotationlib.type_repr

    def call_annotate_function(annotate: Any, format: Any, *, owner: Any = None, _original: Any = original,
                               _value: Any = value_format, _forwardref: Any = forwardref_format,
                               _string: Any = string_format, _repr: Any = type_repr) -> Any:
        # The STRING format too (inspect.signature(annotation_format=STRING): pytest reads every test's
        # and fixture's signature so): the values, written as annotationlib writes them.
        if format in (_forwardref, _string):
            try:
                values = annotate(_value)
                return values if format == _forwardref else {key: _repr(item) for key, item in values.items()}
            except Exception:  # noqa: BLE001, S110 - e.g. NameError: a real forward reference
                pass
        return _original(annotate, format, owner=owner)

    annotationlib.call_annotate_function = call_annotate_function


def _load_harness(source: str) -> Any:
    import types

    harness = types.ModuleType("drona_harness")
    harness.__dict__["__source__"] = source
    exec(compile(source, "drona_harness.py", "exec"), harness.__dict__)
    return harness


FUNCTION_TYPE = type(lambda: None)


def _make_audit_hook() -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook, with no state a program can reach or change.

    Everything it consults is a default argument holding an immutable value (frozensets,
    tuples, builtin classes): a closure cell or a dict reachable from a traceback's frames could
    be rewritten, default arguments cannot be replaced without raising "object.__setattr__",
    which the hook denies for itself, and it looks up no global name. Other functions' defaults
    may change (the standard library's namedtuple does it); their code, closure and globals not.
    """

    def hook(event: str, args: tuple[Any, ...],
             _denied: frozenset[str] = frozenset({
                 "sys.addaudithook", "sys.settrace", "sys.setprofile", "sys.monitoring.register_callback",
                 "sys._setprofileallthreads", "sys._settraceallthreads",
                 "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__", "marshal.loads",
                 "marshal.load", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                 "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "urllib.Request", "http.client.connect",
                 "ftplib.connect", "smtplib.connect", "imaplib.open", "poplib.connect", "webbrowser.open",
                 "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "function.__new__", "sys._current_frames",
                 "cpython.remote_debugger_script", "sys.remote_exec"}),
             _blocked: frozenset[str] = BLOCKED_IMPORTS,
             _prefixes: tuple[str, ...] = ("socket.", "ctypes.", "_posixsubprocess."),
             _locked_attributes: frozenset[str] = frozenset({"__code__", "__defaults__", "__kwdefaults__",
                                                             "__closure__", "__globals__", "__builtins__"}),
             _str: type = str, _permission: type = PermissionError, _import: type = ImportError,
             _function: type = FUNCTION_TYPE, _defaults: frozenset[str] = frozenset({"__defaults__",
                                                                                       "__kwdefaults__"}),
             _code: Any = None) -> None:
        if event in _denied:
            raise _permission(f"{event} is not available in graded programs")
        if event == "import":
            name = args[0]
            # An exact str only: a subclass could lie in __eq__, __hash__ or partition().
            if name.__class__ is not _str or _str.partition(name, ".")[0] in _blocked:
                raise _import("this module is not available in graded programs")
        elif event == "object.__setattr__":
            if args[1].__class__ is _str and args[1] in _locked_attributes:
                # A function's defaults may change (collections.namedtuple sets its __new__'s), except
                # this hook's own: its state. Identified by its code object, which no other function
                # can have (function.__new__ is denied), not by anything a program could replace.
                if args[1] in _defaults and not (args[0].__class__ is _function
                                                 and args[0].__code__ is _code):  # type: ignore[attr-defined]
                    return
                raise _permission(f"changing a function's {args[1]} is not available in graded programs")
        elif event.startswith(_prefixes):
            raise _permission(f"{event} is not available in graded programs")

    # Its own code object as its last default (set before the hook is installed, so no audit event).
    defaults = hook.__defaults__ or ()
    hook.__defaults__ = (*defaults[:-1], hook.__code__)
    return hook


def _lock_interpreter() -> None:
    """Take the JavaScript bridge and the builtin-module loader away; add the audit hook."""
    import asyncio
    import importlib._bootstrap as bootstrap
    import sys

    try:
        from pyodide.ffi import unregister_js_module

        for name in ("js", "pyodide_js"):
            unregister_js_module(name)
    except (ImportError, ValueError):
        pass  # not registered: nothing to remove
    # Pyodide's event-loop policy holds JavaScript proxies (setTimeout and friends).
    asyncio.events._event_loop_policy = None  # type: ignore[attr-defined]
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith(("_pyodide", "pyodide"))]
    for name in list(sys.modules):
        if name.partition(".")[0] in BLOCKED_IMPORTS:
            del sys.modules[name]

    def create_builtin(spec: Any) -> Any:
        raise ImportError(f"module {getattr(spec, 'name', '?')!r} is not available in graded programs")

    # Every allowed builtin module is already loaded (preload); nothing else may be created. The
    # original loader is dropped, not wrapped, so no reference to it remains for a program to find.
    bootstrap._imp.create_builtin = create_builtin  # type: ignore[attr-defined]
    sys.addaudithook(_make_audit_hook())


def install(harness_source: str, lock: bool = True) -> Callable[[str], str]:
    """Lock this interpreter down; return `answer(request_json) -> reply_json` for the isolate.

    `lock=False` leaves the Python layer out: only the escape suite uses it, to show that the
    JavaScript and OS layers hold on their own.
    """
    import json
    import os
    import sys
    from contextlib import suppress

    # The harness the snapshot was made with, if it is this one (no compiling per job); it leaves
    # sys.modules, so a program has no name to import it by.
    harness = sys.modules.pop("drona_harness", None)
    if harness is None or harness.__dict__.get("__source__") != harness_source:
        harness = _load_harness(harness_source)
    os.environ.pop("_", None)  # Node's argv[1], i.e. a host path
    with suppress(OSError):
        sys.path.extend(f"{WHEELS_DIR}/{name}" for name in sorted(os.listdir(WHEELS_DIR)) if name.endswith(".whl"))
    if lock:
        _lock_interpreter()
    state: dict[str, Any] = {"side": None}
    loads, dumps = json.loads, json.dumps

    class _Echo:
        """input()'s prompt goes wherever the program's prints go (the isolate's sink)."""

        def write(self, text: str) -> int:
            return int(sys.stdout.write(text) or 0)

    def answer(request_text: str) -> str:
        try:
            reply = respond(loads(request_text))
        except harness.NotPlainData as exc:
            reply = {"kind": "unplain", "why": str(exc)[:300]}
        except BaseException as exc:  # noqa: BLE001 - e.g. a program raising KeyboardInterrupt in a call
            reply = {"kind": "error", "error": harness.describe_error(exc)}
        for stream in (getattr(sys, "stdout", None), getattr(sys, "stderr", None)):
            with suppress(Exception):  # a program may have replaced its streams
                stream.flush()  # type: ignore[union-attr]
        return str(dumps(reply))

    def respond(request: Any) -> dict[str, Any]:
        op = request.get("op") if type(request) is dict else None
        side = state["side"]
        if op == "begin":
            state["side"] = harness.ProgramSide(str(request.get("code", "")))
            reply: dict[str, Any] = {"kind": "ok"}
        elif side is None:
            reply = {"kind": "missing"}
        elif op == "run":
            reply = side.run(str(request.get("stdin", "")), bool(request.get("keep")), _Echo())
        elif op == "patch":
            reply = side.patch(request.get("source"))
        elif op == "names":
            reply = side.names()
        elif op == "cases":
            reply = side.cases(request.get("name"))
        elif op == "lookup":
            reply = side.lookup(request.get("name"))
        elif op == "attribute":
            reply = side.attribute(request.get("object"), request.get("name"))
        elif op == "call":
            reply = side.call(request.get("target"), request.get("args"), request.get("kwargs"))
        else:
            reply = {"kind": "missing"}
        return reply

    return answer
