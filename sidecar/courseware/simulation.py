"""The Simulation canvas: scenario models that run beside the learner's code (design §7.3, issue #15).

Standard library only: this file runs in the browser's Pyodide worker (copied to
assets/drona/simulation.py), in the grading sandbox's interpreter and in the trusted judge.

An exercise declares a *scenario* (``scenario:`` in its YAML, see docs/authoring.md): an authored
``model`` (Python that defines ``build(seed)`` with the classes below in scope), the function of the
learner's program that receives it (``call``) and which canvas draws it (``kind``). The same source
text runs in two places:

- beside the learner's code (the browser, the sandbox): ``install_code(source, seed)`` is authored
  code run in the program's namespace (harness ``use_code``); it builds the model as ``_drona_sim``.
  The learner's function gets it as an argument and calls it (``api.get("/items", timeout=1.0)``,
  ``await api.fetch(...)``). Every request is recorded as plain data: the *transcript*.
- in the trusted judge, where tests get ``simulation`` (the same module) and call
  ``simulation.start(seed)``: it installs the model beside the program, hands its handle to the test
  (``sim.api``) and keeps a copy of its own. ``sim.transcript()`` asks the program's side for what
  happened and *replays* it through the judge's copy: every recorded answer must be exactly what the
  scenario answers for that request at that time, so a transcript the program forged, or a model it
  tampered with, fails. Properties (retried at most 3 times, waited Retry-After, overlapped) are then
  asserted on verified data only. Nothing the program runs decides a verdict (#7).

Time is virtual. Asynchronous requests sleep on asyncio's loop (harness.VirtualEventLoop in every
place learner code runs), so their times are the loop's clock. Synchronous requests keep their own
clock: a request's latency moves it on, and so does the learner's ``time.sleep`` wherever sleeping is
virtual (the harness makes it so for any program that mentions sleep); a real sleep (never in a graded
program) is not counted, so the transcript stays deterministic.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

EPSILON = 1e-6  # times are compared to the microsecond
MAX_REQUESTS = 10_000  # one run's transcript; a runaway retry loop stops here


def _r(value: float) -> float:
    return round(float(value), 6)


class Response:
    """What the web API answers: ``status`` (200, 404, 429, 503), ``headers`` and ``json()``."""

    def __init__(self, status: int, data: Any = None, retry_after: float | None = None) -> None:
        self.status = status
        self._data = data
        self.headers: dict[str, str] = {}
        if retry_after is not None:
            self.headers["Retry-After"] = f"{retry_after:g}"
        self.retry_after = retry_after

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(json.dumps(self._data))  # a fresh copy: the learner may change it

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


class WebAPI:
    """A web API with latency, failures and a rate limit, deterministic for a seed.

    - ``routes``: path → the JSON data a successful GET answers (other paths: 404);
    - ``latency``: (shortest, longest) seconds a request takes;
    - ``error_rate``: the chance a request fails with 503 Service Unavailable;
    - ``slow_rate`` / ``slow_latency``: the chance a request hangs for ``slow_latency`` seconds (a
      client without a timeout waits it out; with ``timeout=`` it gets TimeoutError when it runs out);
    - ``rate_limit``: (requests, seconds): a request arriving when that many already arrived in the last
      ``seconds`` is answered 429 Too Many Requests at once, with ``Retry-After`` (seconds to wait).

    What request number *n* meets is drawn from ``Random(f"{seed}:{n}")``: the same seed and the same
    requests at the same times give the same answers, on every Python.
    """

    def __init__(self, seed: int, routes: dict[str, Any] | None = None, *, latency: tuple[float, float] = (0.05, 0.3),
                 error_rate: float = 0.0, slow_rate: float = 0.0, slow_latency: float = 5.0,
                 rate_limit: tuple[int, float] | None = None, limited_latency: float = 0.01,
                 script: dict[int, str] | None = None) -> None:
        self.seed = int(seed)
        self.routes = dict(routes or {})
        self.latency = (float(latency[0]), float(latency[1]))
        self.error_rate, self.slow_rate, self.slow_latency = float(error_rate), float(slow_rate), float(slow_latency)
        self.rate_limit = (int(rate_limit[0]), float(rate_limit[1])) if rate_limit else None
        self.limited_latency = float(limited_latency)
        self.script = {int(k): str(v) for k, v in (script or {}).items()}  # n → "503" | "slow" | "ok"
        self._arrivals: list[float] = []
        self._log: list[dict[str, Any]] = []
        self._now = 0.0  # the synchronous clock
        self._mark: tuple[Any, float] | None = None
        self.listener: Any = None  # the browser's canvas: called with each entry's JSON as it is recorded

    # ---- the model: what request n at time t meets --------------------------------------------------
    def decide(self, n: int, path: str, start: float, timeout: float | None) -> dict[str, Any]:
        """The answer to request number `n` for `path` arriving at `start` (given the arrivals before it)."""
        if self.rate_limit is not None:
            limit, window = self.rate_limit
            recent: list[float] = []  # arrivals come in time order: the window's are at the end
            for arrival in reversed(self._arrivals):
                if arrival <= start - window + EPSILON or len(recent) == limit:
                    break
                recent.insert(0, arrival)
            if len(recent) >= limit:
                # Whole hundredths, rounded up, so the header's text is the exact number of seconds.
                retry_after = _r(math.ceil(max(recent[-limit] + window - start, 0.0) * 100 - 1e-6) / 100)
                return self._settle({"status": 429, "retry_after": retry_after}, start, self.limited_latency, timeout)
        draw = random.Random(f"{self.seed}:{n}")  # noqa: S311 - a simulation, not a secret
        latency = self.latency[0] + (self.latency[1] - self.latency[0]) * draw.random()
        fault, slow = draw.random(), draw.random()
        scripted = self.script.get(n)
        if scripted == "slow" or (scripted is None and slow < self.slow_rate):
            latency = self.slow_latency
        if path not in self.routes:
            status = 404
        elif scripted == "503" or (scripted is None and fault < self.error_rate):
            status = 503
        else:
            status = 200
        return self._settle({"status": status, "retry_after": None}, start, latency, timeout)

    @staticmethod
    def _settle(answer: dict[str, Any], start: float, latency: float, timeout: float | None) -> dict[str, Any]:
        if timeout is not None and latency > timeout:
            return {"status": None, "retry_after": None, "outcome": "timeout", "end": _r(start + timeout)}
        return {**answer, "outcome": "response", "end": _r(start + latency)}

    def _record(self, n: int, path: str, start: float, timeout: float | None, answer: dict[str, Any],
                task: str | None) -> dict[str, Any]:
        entry = {"n": n, "path": path, "start": _r(start), "timeout": timeout, "status": answer["status"],
                 "outcome": answer["outcome"], "end": answer["end"], "retry_after": answer["retry_after"],
                 "task": task}
        self._arrivals.append(_r(start))
        self._log.append(entry)
        if self.listener is not None:
            self.listener(json.dumps(entry))
        return entry

    def _begin(self, path: Any, timeout: Any) -> tuple[int, str, float | None]:
        if len(self._log) >= MAX_REQUESTS:
            raise RuntimeError(f"more than {MAX_REQUESTS} requests: is a retry loop missing its limit?")
        if type(path) is not str:
            raise TypeError("the path must be text, like '/items'")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
                raise ValueError("timeout must be a positive number of seconds (or None to wait forever)")
            timeout = float(timeout)
        return len(self._log), path, timeout

    # ---- the synchronous client side --------------------------------------------------------------
    def _sync_now(self) -> float:
        """The synchronous clock, moved on by whatever virtual time the learner slept since last asked."""
        monotonic = time.monotonic
        if type(monotonic).__name__ == "builtin_function_or_method":
            self._mark = None  # real time: never counted
            return self._now
        reading = monotonic()
        if self._mark is not None and self._mark[0] is monotonic:
            self._now += max(0.0, reading - self._mark[1])
        self._mark = (monotonic, reading)
        return _r(self._now)

    def _sync_wait(self, until: float) -> None:
        wait = until - self._now
        self._now = until
        sleep = time.sleep
        if wait > 0 and type(sleep).__name__ != "builtin_function_or_method":
            sleep(wait)  # the program's own clock (time.monotonic, program_time) moves on too
            self._mark = (time.monotonic, time.monotonic())

    def get(self, path: str, timeout: float | None = None) -> Response:
        """GET `path`: a Response (check ``.status``), or TimeoutError once `timeout` seconds pass."""
        n, path, timeout = self._begin(path, timeout)
        start = self._sync_now()
        answer = self.decide(n, path, start, timeout)
        entry = self._record(n, path, start, timeout, answer, None)
        self._sync_wait(entry["end"])
        return self._answer(entry)

    # ---- the asynchronous client side -------------------------------------------------------------
    async def fetch(self, path: str, timeout: float | None = None) -> Response:
        """``await api.fetch(path)``: GET on the event loop; other tasks run while it waits."""
        import asyncio

        n, path, timeout = self._begin(path, timeout)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        start = loop.time()
        answer = self.decide(n, path, start, timeout)
        entry = self._record(n, path, start, timeout, answer, task.get_name() if task is not None else None)
        try:
            await asyncio.sleep(max(0.0, entry["end"] - start))
        except asyncio.CancelledError:
            entry["outcome"], entry["status"], entry["cancelled_at"] = "cancelled", None, _r(loop.time())
            if self.listener is not None:
                self.listener(json.dumps(entry))
            raise
        return self._answer(entry)

    def _answer(self, entry: dict[str, Any]) -> Response:
        if entry["outcome"] == "timeout":
            raise TimeoutError(f"GET {entry['path']} took longer than {entry['timeout']:g} s")
        status = entry["status"]
        return Response(status, self.routes.get(entry["path"]) if status == 200 else None, entry["retry_after"])

    # ---- what the judge reads -----------------------------------------------------------------------
    def transcript(self) -> list[dict[str, Any]]:
        """Every request so far, in the order they arrived (plain data)."""
        return [dict(entry) for entry in self._log]

    def now(self) -> float:
        """The synchronous clock (seconds since the scenario started)."""
        return _r(self._now)


# ---- verification: the judge's replay --------------------------------------------------------------
class Forged(AssertionError):
    """A transcript the scenario could not have produced."""


_FIELDS = ("n", "path", "start", "timeout", "status", "outcome", "end", "retry_after", "task")


def replay(model: WebAPI, transcript: Any, *, sequential: bool = False) -> list[dict[str, Any]]:
    """Check `transcript` against a fresh `model` (built from the same seed); return it when every entry
    is what the scenario answers for that request at that time, else raise Forged.

    `sequential`: the requests came from synchronous code, so none starts before the previous ended.
    """
    if type(transcript) is not list:
        raise Forged("the scenario's record is not a list of requests")
    checked: list[dict[str, Any]] = []
    previous_start, previous_end = 0.0, 0.0
    for index, entry in enumerate(transcript):
        where = f"request #{index + 1}"
        if type(entry) is not dict or not set(_FIELDS) <= set(entry):
            raise Forged(f"{where} of the record is malformed: the scenario did not write it")
        if entry["n"] != index or type(entry["path"]) is not str:
            raise Forged(f"{where} is out of order: the scenario did not write this record")
        start = entry["start"]
        if not isinstance(start, (int, float)) or isinstance(start, bool) or start < previous_start - EPSILON:
            raise Forged(f"{where} arrived before the one before it: the scenario did not write this record")
        if sequential and start < previous_end - EPSILON:
            raise Forged(f"{where} started before the previous request ended: the record is not the scenario's")
        timeout = entry["timeout"]
        expected = model.decide(index, entry["path"], float(start), timeout)
        model._arrivals.append(_r(start))
        if entry["outcome"] == "cancelled":
            cancelled_at = entry.get("cancelled_at")
            if (expected["outcome"] == "timeout" or not isinstance(cancelled_at, (int, float))
                    or not start - EPSILON <= cancelled_at <= expected["end"] + EPSILON):
                raise Forged(f"{where} was cancelled at an impossible time: the record is not the scenario's")
        else:
            for key in ("status", "outcome", "retry_after"):
                if entry[key] != expected[key]:
                    raise Forged(f"{where} ({entry['path']} at {start:g} s) was answered {entry[key]!r} for "
                                 f"{key}, but the scenario answers {expected[key]!r}: the record was not made by "
                                 "the scenario")
            if abs(float(entry["end"]) - expected["end"]) > EPSILON:
                raise Forged(f"{where} ended at {entry['end']!r} s, but the scenario takes until {expected['end']:g} s")
        previous_start, previous_end = float(start), float(entry["end"])
        checked.append(dict(entry))
    return checked


# ---- the event-loop timeline --------------------------------------------------------------------------
def timeline(transcript: list[dict[str, Any]]) -> dict[str, Any]:
    """Lanes of a verified asynchronous transcript: per task, its awaiting segments (start, end, path,
    outcome), plus the most requests in flight at once and when the last one ended."""
    lanes: dict[str, list[dict[str, Any]]] = {}
    moments: list[tuple[float, int]] = []
    for entry in transcript:
        end = entry.get("cancelled_at") if entry["outcome"] == "cancelled" else entry["end"]
        lanes.setdefault(str(entry["task"]), []).append(
            {"start": entry["start"], "end": end, "path": entry["path"], "outcome": entry["outcome"],
             "status": entry["status"]})
        moments += [(float(entry["start"]), 1), (float(end if end is not None else entry["end"]), -1)]
    in_flight = most = 0
    for _moment, step in sorted(moments, key=lambda m: (m[0], m[1])):
        in_flight += step
        most = max(most, in_flight)
    return {"lanes": lanes, "max_in_flight": most, "finished": max((m for m, _ in moments), default=0.0)}


# ---- both sides of a test --------------------------------------------------------------------------
SOURCE_NAME = "__drona_scenario_source__"  # the module's own source text (engine + authored model)
PROGRAM_NAME = "_drona_sim"  # the model beside the program, in the program's namespace


def install_code(source: str, seed: int) -> str:
    """Authored code, run in the program's namespace (harness use_code), that builds the model there."""
    return ("def _drona_install(source, seed):\n"
            "    import sys, types\n"
            "    module = types.ModuleType('drona_sim')\n"
            "    module.__dict__['" + SOURCE_NAME + "'] = source\n"
            "    exec(compile(source, 'scenario.py', 'exec'), module.__dict__)\n"
            "    sys.modules['drona_sim'] = module\n"
            "    return module.build(seed)\n"
            f"{PROGRAM_NAME} = _drona_install({source!r}, {int(seed)!r})\n"
            "del _drona_install\n")


def test_prelude(source: str) -> str:
    """One line put before each test of an exercise with a scenario: `simulation` is this module (engine
    and authored model), bound to the test's scope. One line, so the test's own lines keep their numbers
    but one."""
    return ("import types as _drona_types; simulation = _drona_types.ModuleType('simulation'); "
            f"simulation.{SOURCE_NAME} = {source!r}; "
            f"exec(compile(simulation.{SOURCE_NAME}, 'scenario.py', 'exec'), simulation.__dict__); "
            "simulation.bind(globals()); del _drona_types\n")


_SCOPE: dict[str, Any] = {}


def bind(scope: Any) -> None:
    """The test's scope (use_code, program_time and the program's names), for `start`."""
    _SCOPE["scope"] = scope


class Simulation:
    """The judge's view of one scenario run beside the program."""

    def __init__(self, model: Any, handle: Any, seed: int) -> None:
        self.model, self.api, self.seed = model, handle, seed

    def transcript(self, *, sequential: bool | None = None) -> list[dict[str, Any]]:
        """The program side's record, verified against the judge's own copy of the scenario."""
        recorded = self.api.transcript()
        if sequential is None:
            sequential = all(type(entry) is dict and entry.get("task") is None for entry in recorded or [])
        fresh = globals()["build"](self.seed)
        return replay(fresh, recorded, sequential=sequential)

    def data(self, path: str) -> Any:
        """What a successful GET of `path` answers."""
        return json.loads(json.dumps(self.model.routes.get(path)))

    def timeline(self) -> dict[str, Any]:
        return timeline(self.transcript(sequential=False))


def start(seed: int) -> Simulation:
    """In a test: build the scenario beside the program (it runs again, with the model installed as
    `_drona_sim`) and a copy here; `sim.api` is what the learner's function receives."""
    scope = _SCOPE.get("scope")
    if scope is None:
        raise RuntimeError("simulation.start is for exercise tests (the scenario is not bound to a test)")
    scope["use_code"](install_code(globals()[SOURCE_NAME], seed))
    handle = scope[PROGRAM_NAME]
    return Simulation(globals()["build"](seed), handle, seed)


# ---- the browser's Simulate button -----------------------------------------------------------------------
def simulate(harness: Any, code: str, seed: int, call: str, args: Any, listener: Any = None) -> str:
    """Run the program as grading does (harness.ProgramSide), build the model beside it (as `use_code` does
    in a test), call `call` with it, and answer JSON: {error} or {answer, transcript, clock, tasks} (tasks:
    the event loop's lanes, see task_lanes). What the program prints streams as in Run."""
    import sys

    side = harness.ProgramSide(code)
    ran = side.run("", True, sys.stdout)
    if ran.get("error"):
        return json.dumps({"error": ran["error"]})
    installed = side.patch(install_code(globals()[SOURCE_NAME], seed))  # what use_code does in a test
    if installed.get("kind") != "ok":
        return json.dumps({"error": "the scenario could not be built: " + str(installed.get("error"))})
    model = side.namespace.get(PROGRAM_NAME)
    if model is None:
        return json.dumps({"error": "the scenario could not be built"})
    model.listener = listener
    number = side.handles.add(model)
    plain = harness.encode(list(args or []))
    events: list[list[Any]] = []
    record = getattr(harness, "set_loop_recorder", None)  # the event loop's task events, for the timeline
    if record is not None:
        record(lambda moment, name, event: events.append([_r(moment), str(name), str(event)]))
    try:
        answer = side.call(call, [{"$object": number, "type": type(model).__name__}, *plain], harness.encode({}))
    finally:
        if record is not None:
            record(None)
    if answer.get("kind") == "missing":
        answer = {"kind": "error", "error": {"type": "NameError", "message": f"name '{call}' is not defined",
                                             "traceback": f"NameError: your program has no function {call}()"}}
    model.listener = None
    return json.dumps({"answer": answer, "transcript": model.transcript(), "clock": side.clock.now,
                       "tasks": task_lanes(events)})


def task_lanes(events: list[list[Any]]) -> list[dict[str, Any]]:
    """The loop recorder's events (time, task, event) as one lane per task of the program's run: when it
    was created and finished, and the spans it spent suspended on an await. asyncio.run's shutdown tasks,
    created after the first (main) task finished, are left out."""
    lanes: dict[str, dict[str, Any]] = {}
    main: str | None = None
    for moment, name, event in events:
        if event == "created":
            if main is not None and lanes[main]["done"] is not None:
                continue  # the Runner's own clean-up tasks
            main = main or name
            lanes[name] = {"name": name, "created": moment, "done": None, "awaits": []}
            continue
        lane = lanes.get(name)
        if lane is None:
            continue
        if event == "awaiting":
            lane["awaits"].append([moment, None])
        elif event == "resumed" and lane["awaits"] and lane["awaits"][-1][1] is None:
            lane["awaits"][-1][1] = moment
        elif event == "done":
            lane["done"] = moment
    return list(lanes.values())
