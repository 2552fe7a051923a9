"""Exercises with a scenario (the Simulation canvas): checking the authored model and wiring it into tests.

An exercise's ``scenario.model`` is authored Python run after sidecar/courseware/simulation.py (the
engine) in one module; it must define ``build(seed)``. At load time every test of the exercise gets a
one-line prelude (simulation.test_prelude) that makes that module available as ``simulation``, so the
browser, `drona validate`, catalog.db and the trusted judge all run the very same test text.
"""

from __future__ import annotations

import contextlib
import io
from functools import cache
from pathlib import Path
from typing import Any

from . import simulation
from .model import Exercise
from .problems import Problems

PRELUDE_MARK = "simulation.bind(globals())"


@cache
def engine_source() -> str:
    return Path(simulation.__file__).read_text(encoding="utf-8")


def source(model: str) -> str:
    """The module both sides run: the engine, then the authored model."""
    return engine_source() + "\n\n# ---- the exercise's scenario model (authored) ----\n" + model


def _check_model(exercise: Exercise, problems: Problems) -> bool:
    scenario = exercise.data["scenario"]
    path, line = exercise.source.path, exercise.source.line("scenario", "model")
    model = str(scenario["model"])
    try:
        compile(model, "scenario.py", "exec")
    except SyntaxError as exc:
        problems.add(path, line + (exc.lineno or 1), f"scenario.model: {exc.msg}")
        return False
    namespace: dict[str, Any] = {"__name__": "drona_sim", simulation.SOURCE_NAME: source(model)}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source(model), "scenario.py", "exec"), namespace)  # noqa: S102 - authored content
            build = namespace.get("build")
            if not callable(build):
                problems.add(path, line, "scenario.model must define build(seed), which returns the model")
                return False
            model_object = build(int(scenario.get("seed", 1)))
    except Exception as exc:  # noqa: BLE001 - any authoring error, reported with its place
        problems.add(path, line, f"scenario.model failed to build: {type(exc).__name__}: {exc}")
        return False
    if not callable(getattr(model_object, "transcript", None)):
        problems.add(path, line, "scenario.model's build(seed) must return a scenario model (e.g. WebAPI(seed, ...))")
        return False
    return True


def attach(exercise: Exercise, problems: Problems) -> None:
    """Check an exercise's scenario and put the `simulation` prelude before each of its tests."""
    scenario = exercise.data.get("scenario")
    if not isinstance(scenario, dict) or not _check_model(exercise, problems):
        return
    prelude = simulation.test_prelude(source(str(scenario["model"])))
    for group in ("visible", "hidden"):
        for test in exercise.data["tests"][group]:
            if PRELUDE_MARK not in str(test["code"]).split("\n", 1)[0]:
                test["code"] = prelude + str(test["code"])


def strip_prelude(code: str) -> str:
    """A test's own text, without the prelude (for showing it to a learner)."""
    first, _, rest = code.partition("\n")
    return rest if PRELUDE_MARK in first else code


def page_config(exercise: Exercise) -> dict[str, Any] | None:
    """What the exercise's page needs for the Simulate button and the canvas."""
    scenario = exercise.data.get("scenario")
    if not isinstance(scenario, dict):
        return None
    return {"kind": scenario["kind"], "call": scenario["call"], "args": list(scenario.get("args", [])),
            "seed": int(scenario.get("seed", 1)), "source": source(str(scenario["model"]))}
