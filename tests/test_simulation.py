"""The Simulation canvas's scenario models (sidecar/courseware/simulation.py) and how they are graded.

The model runs beside the learner's code; the trusted judge replays the recorded transcript through
its own copy, so a forged record fails (#7). Unit tests of the model, of the replay, of the two authored
simulation exercises through the harness (in-process, as the browser and `drona validate` run them)
and through the real sandbox (program in a Pyodide isolate, tests in the judge process).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import types
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from sidecar.courseware import harness, loader, scenarios, simulation
from sidecar.courseware.problems import Problems
from sidecar.settings import REPO_ROOT
from tests.conftest import needs_node


def authored(slug: str) -> Path:
    """An authored exercise file, wherever its module sits in content/."""
    found = sorted((REPO_ROOT / "content").glob(f"tracks/*/*/*/exercises/{slug}.yaml"))
    assert len(found) == 1, found
    return found[0]


RETRY = authored("retry-with-backoff")  # the web-API simulation
CONCURRENT = authored("fetch-concurrently")  # the event-loop timeline


def api(seed: int = 1, **options: Any) -> simulation.WebAPI:
    settings: dict[str, Any] = {"latency": (0.1, 0.4), "error_rate": 0.3, "slow_rate": 0.2, "slow_latency": 5.0}
    settings.update(options)
    return simulation.WebAPI(seed, {"/a": [1, 2], "/b": {"x": 1}}, **settings)


def sequence(model: simulation.WebAPI, requests: Sequence[tuple[str, float | None]]) -> list[dict[str, Any]]:
    for path, timeout in requests:
        with contextlib.suppress(TimeoutError):
            model.get(path, timeout=timeout)
    return model.transcript()


def exercise(path: Path) -> Any:
    problems = Problems(REPO_ROOT)
    items = loader._load_items(path.parent, "exercise", problems, set())
    assert not problems, problems.sorted()
    return items[path.stem]


# ---- the model --------------------------------------------------------------------------------------
def test_the_model_is_deterministic_for_a_seed() -> None:
    requests = [("/a", 1.0)] * 6 + [("/missing", None), ("/b", None)]
    first, second = sequence(api(7), requests), sequence(api(7), requests)
    assert first == second
    assert first != sequence(api(8), requests)
    assert [entry["n"] for entry in first] == list(range(8))
    assert first[6]["status"] == 404 and first[6]["outcome"] == "response"
    for before, after in zip(first, first[1:], strict=False):
        assert after["start"] == before["end"]  # a synchronous client: no sleeping, no gaps


def test_timeouts_errors_and_the_rate_limit() -> None:
    model = api(3, error_rate=0.0, slow_rate=1.0, slow_latency=5.0)
    with pytest.raises(TimeoutError):
        model.get("/a", timeout=1.0)
    timed_out = model.transcript()[0]
    assert (timed_out["outcome"], timed_out["end"], timed_out["status"]) == ("timeout", 1.0, None)
    assert model.now() == 1.0
    limited = api(3, error_rate=0.0, slow_rate=0.0, rate_limit=(2, 1.0), latency=(0.1, 0.1))
    statuses = [limited.get("/a").status for _ in range(3)]
    assert statuses == [200, 200, 429]
    entry = limited.transcript()[2]
    assert entry["retry_after"] == pytest.approx(0.8) and entry["end"] == pytest.approx(0.21)
    response = simulation.WebAPI(1, {"/a": 1})._answer(entry)
    assert response.headers["Retry-After"] == "0.8" and response.status == 429 and not response.ok
    scripted = simulation.WebAPI(1, {"/a": 1}, script={0: "503", 1: "slow", 2: "ok"})
    assert scripted.get("/a").status == 503
    with pytest.raises(TimeoutError):
        scripted.get("/a", timeout=2)
    ok = scripted.get("/a")
    assert ok.status == 200 and ok.json() == 1


def test_virtual_sleeps_move_the_clock_and_real_time_does_not() -> None:
    code = "import time\ndef client(api):\n    api.get('/a')\n    time.sleep(1.5)\n    api.get('/a')\n"
    side = harness.ProgramSide(code)
    assert side.run("", True, io.StringIO())["error"] is None
    model = api(2, error_rate=0.0, slow_rate=0.0)
    number = side.handles.add(model)
    answer = side.call("client", [{"$object": number, "type": "WebAPI"}], harness.encode({}))
    assert answer["kind"] == "value", answer
    first, second = model.transcript()
    assert second["start"] == pytest.approx(first["end"] + 1.5)
    assert side.clock.now == pytest.approx(second["end"])  # the program's own clock saw the latency too
    outside = api(2, error_rate=0.0, slow_rate=0.0)  # called outside any virtual clock: real time not counted
    outside.get("/a")
    outside.get("/a")
    assert outside.transcript()[1]["start"] == outside.transcript()[0]["end"]


def test_async_requests_run_on_the_loop_clock_and_draw_lanes() -> None:
    model = api(5, error_rate=0.0, slow_rate=0.0, latency=(1.0, 2.0))

    async def main() -> Any:
        import asyncio

        async def one(path: str) -> Any:
            return (await model.fetch(path)).json()

        return await asyncio.gather(one("/a"), one("/b"), one("/a"))

    loop = harness.virtual_loop()
    try:
        assert loop.run_until_complete(main()) == [[1, 2], {"x": 1}, [1, 2]]
    finally:
        loop.close()
    log = model.transcript()
    assert [entry["start"] for entry in log] == [0.0, 0.0, 0.0]
    picture = simulation.timeline(simulation.replay(api(5, error_rate=0.0, slow_rate=0.0, latency=(1.0, 2.0)), log))
    assert picture["max_in_flight"] == 3 and len(picture["lanes"]) == 3
    assert picture["finished"] == max(entry["end"] for entry in log) < 2.0 + 1e-9


# ---- the judge's replay: forged records fail -----------------------------------------------------------
def test_a_genuine_record_replays() -> None:
    log = sequence(api(11), [("/a", 1.0)] * 5)
    assert simulation.replay(api(11), log, sequential=True) == log


@pytest.mark.parametrize("forge", [
    "status", "end", "drop", "reorder", "overlap", "invent", "not-a-list", "cancelled-late"])
def test_a_forged_record_fails(forge: str) -> None:
    model = api(11, error_rate=0.5, slow_rate=0.0)
    log = sequence(model, [("/a", 1.0)] * 4)
    forged: Any = copy.deepcopy(log)
    if forge == "status":
        wrong = next(i for i, entry in enumerate(log) if entry["status"] == 503)
        forged[wrong]["status"] = 200  # "the server said yes"
    elif forge == "end":
        forged[0]["end"] = round(forged[0]["end"] - 0.05, 6)
    elif forge == "drop":
        del forged[1]
    elif forge == "reorder":
        forged[0], forged[1] = forged[1], forged[0]
    elif forge == "overlap":
        forged[1]["start"] = round(forged[0]["end"] - 0.01, 6)
    elif forge == "invent":
        forged = [{**forged[0], "status": 200, "end": 0.2}]
    elif forge == "not-a-list":
        forged = {"requests": log}
    elif forge == "cancelled-late":
        forged[0].update(outcome="cancelled", status=None, cancelled_at=forged[0]["end"] + 1)
    with pytest.raises(simulation.Forged):
        simulation.replay(api(11, error_rate=0.5, slow_rate=0.0), forged, sequential=True)


# ---- the authored exercises, as the browser and validation grade them -----------------------------------
def test_the_exercises_get_the_prelude_and_the_page_gets_the_scenario() -> None:
    retry = exercise(RETRY)
    for test in retry.all_tests():
        first, _, rest = test["code"].partition("\n")
        assert scenarios.PRELUDE_MARK in first and scenarios.PRELUDE_MARK not in rest
        assert scenarios.strip_prelude(test["code"]) == rest
    config = scenarios.page_config(retry)
    assert config is not None and config["kind"] == "web-api" and config["call"] == "get_json"
    assert "def build(seed)" in config["source"] and "class WebAPI" in config["source"]


def test_scenario_authoring_errors_have_a_place(tmp_path: Path) -> None:
    folder = tmp_path / "exercises"
    folder.mkdir()
    text = RETRY.read_text(encoding="utf-8")
    broken = text.replace("    def build(seed):\n", "    def build(seed)\n", 1)
    (folder / "broken.yaml").write_text(broken, encoding="utf-8")
    (folder / "nobuild.yaml").write_text(text.replace("    def build(seed):\n", "    def make(seed):\n", 1),
                                         encoding="utf-8")
    problems = Problems(tmp_path)
    loader._load_items(folder, "exercise", problems, set())
    found = {(p.path, p.message.split(":")[0]) for p in problems.sorted()}
    assert ("exercises/broken.yaml", "scenario.model") in found
    line = next(p.line for p in problems.sorted() if p.path == "exercises/broken.yaml")
    assert broken.splitlines()[line - 1].strip() == "def build(seed)"
    assert any(p.path == "exercises/nobuild.yaml" and "build(seed)" in p.message for p in problems.sorted())


FORGER = '''
def get_json(api, path):
    """Never asks the service: claims one quick 200 and returns data it guessed."""
    api.transcript = lambda: [{"n": 0, "path": path, "start": 0.0, "timeout": 2.0, "status": 200,
                               "outcome": "response", "end": 0.1, "retry_after": None, "task": None}]
    return {"city": "Pune", "temp_c": 31, "sky": "clear"}
'''


def test_the_reference_passes_and_a_forged_record_fails_in_process() -> None:
    retry = exercise(RETRY)
    assert harness.run_tests(retry.data["solution"], retry.all_tests(), seed=3)["passed"]
    forged = harness.run_tests(FORGER, retry.visible_tests(), seed=3)
    messages = [r["message"] for r in forged["results"] if not r["passed"]]
    assert messages and any("not made by the scenario" in m or "scenario answers" in m for m in messages), messages
    concurrent = exercise(CONCURRENT)
    assert harness.run_tests(concurrent.data["solution"], concurrent.all_tests(), seed=3)["passed"]
    assert not harness.run_tests(concurrent.data["starter"], concurrent.all_tests(), seed=3)["passed"]


def test_the_simulate_button_runs_what_grading_runs() -> None:
    retry = exercise(RETRY)
    config = scenarios.page_config(retry)
    assert config is not None
    module = types.ModuleType("drona_simulation")
    module.__dict__[simulation.SOURCE_NAME] = config["source"]
    exec(compile(config["source"], "scenario.py", "exec"), module.__dict__)  # noqa: S102 - our own engine
    events: list[str] = []
    with redirect_stdout(io.StringIO()):
        result = json.loads(module.simulate(harness, retry.data["solution"], config["seed"], config["call"],
                                            config["args"], events.append))
    assert result["answer"]["kind"] == "value"
    assert [json.loads(e)["n"] for e in events] == [entry["n"] for entry in result["transcript"]]
    assert len(result["transcript"]) > 1  # the authored seed shows a retry
    with redirect_stdout(io.StringIO()):
        broken = json.loads(module.simulate(harness, "def get_json(:\n", 1, "get_json", []))
    assert "SyntaxError" in broken["error"]


def test_the_event_loop_timeline_has_a_lane_per_task() -> None:
    concurrent = exercise(CONCURRENT)
    config = scenarios.page_config(concurrent)
    assert config is not None and config["kind"] == "event-loop"
    module = types.ModuleType("drona_simulation")
    module.__dict__[simulation.SOURCE_NAME] = config["source"]
    exec(compile(config["source"], "scenario.py", "exec"), module.__dict__)  # noqa: S102 - our own engine
    with redirect_stdout(io.StringIO()):
        result = json.loads(module.simulate(harness, concurrent.data["solution"], config["seed"], config["call"],
                                            config["args"]))
    lanes = result["tasks"]
    main, *others = lanes
    requests = {entry["task"] for entry in result["transcript"]}
    assert requests <= {lane["name"] for lane in others}, "every request sits on a task's lane"
    assert main["done"] == max(lane["done"] for lane in lanes) == 2.0  # the page waits for the 2-second limit
    assert all(lane["created"] == 0.0 and lane["awaits"] for lane in lanes)
    with redirect_stdout(io.StringIO()):
        starter = json.loads(module.simulate(harness, concurrent.data["starter"], config["seed"], config["call"],
                                             config["args"]))
    assert len(starter["tasks"]) == 1 and len(starter["tasks"][0]["awaits"]) == 4  # one task, four awaits in turn


# ---- the real sandbox: program in an isolate, tests in the trusted judge --------------------------------

@needs_node
def test_the_sandbox_grades_simulations_and_rejects_a_forged_record(sandbox: Any) -> None:
    retry = exercise(RETRY)
    graded = sandbox.grade(retry.data["solution"], retry.all_tests(), seed=5, time_limit=20.0)
    assert graded.passed and graded.status == "ok", graded.results
    forged = sandbox.grade(FORGER, retry.all_tests(), seed=5, time_limit=20.0)
    assert not forged.passed and forged.status == "ok"
    concurrent = exercise(CONCURRENT)
    graded = sandbox.grade(concurrent.data["solution"], concurrent.all_tests(), seed=5, time_limit=20.0)
    assert graded.passed and graded.status == "ok", graded.results
    sequential = concurrent.data["misconceptions"][0]["wrong_code"]
    graded = sandbox.grade(sequential, concurrent.all_tests(), seed=5, time_limit=20.0)
    assert not graded.passed and "in flight at once" in graded.results[0]["message"]
