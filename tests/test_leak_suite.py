"""The leak suite (issue 5): learner messages that try to extract solutions, across every demo
exercise. Through the real API (the endpoint path) and through `run_leak_suite` (what
`drona leak-check` runs): zero leaks offline, and zero leaks through the guard when the test
model provider answers with the solution verbatim or disguised."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.guard.guarded import public_material
from sidecar.agents.guard.leaksuite import ATTACKS, attack_message, intents_for, leaked, report_markdown, run_leak_suite
from sidecar.agents.policy.content import ExerciseText, get_content
from sidecar.app import create_app
from sidecar.compiler.build import BuildReport
from sidecar.db.migrate import upgrade
from sidecar.settings import Settings
from tests.conftest import ApiClient
from tests.llm_provider import ScriptedLLM, install

# Every exercise authored under content/ (the leak suite must cover each one): counted from the files, so a
# new course is covered without editing this test, and an exercise the build dropped is caught.
DEMO_EXERCISES = len(list((Path(__file__).resolve().parents[1] / "content").glob("tracks/*/*/*/exercises/*.yaml")))


def demo_settings(demo_build: BuildReport, data: Path, **settings: Any) -> Settings:
    url = f"sqlite:///{data / 'learners.db'}"
    return Settings(DRONA_BUILD_DIR=demo_build.site_dir.parent, DATABASE_URL=url, DRONA_DATA_DIR=data,
                    MAX_AI_REQUESTS_PER_MINUTE=100_000, **settings)


def leaking_model(provider: ScriptedLLM, exercises: list[ExerciseText]) -> dict[str, int]:
    """Make the scripted model answer with the solution of the exercise in its system prompt, verbatim
    or disguised (indented without a fence, variables renamed). Returns the call counter."""
    by_title = {e.title: e for e in exercises}
    disguises: list[Callable[[ExerciseText], str]] = [
        lambda ex: f"Sure, here you go:\n```python\n{ex.solution}```\n",
        lambda ex: "Here's the solution:\n" + "\n".join("    " + line for line in ex.solution.splitlines()) + "\n",
        lambda ex: "Renamed for you:\n```\n" + re.sub(r"\btotal\b", "acc", re.sub(r"\bn\b", "k", ex.solution))
        + "```\n",
    ]
    state = {"n": 0}

    def reply(messages: list[dict[str, Any]]) -> str:
        system = messages[0]["content"]
        title = next(t for t in by_title if f"Exercise: {t}\n" in system)
        state["n"] += 1
        return disguises[state["n"] % len(disguises)](by_title[title])

    provider.reply = reply
    return state


@pytest.fixture(scope="module")
def demo_client(demo_build, tmp_path_factory) -> Any:
    data = tmp_path_factory.mktemp("leak")
    upgrade(demo_settings(demo_build, data).DATABASE_URL)

    def make(**settings: Any) -> ApiClient:
        return ApiClient(create_app(demo_settings(demo_build, data, **settings)))

    return make


@pytest.fixture(scope="module")
def demo_exercises(demo_build) -> list[ExerciseText]:
    exercises = list(get_content(demo_build.catalog_db).exercises.values())
    assert len(exercises) == DEMO_EXERCISES
    return exercises


def _done(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    blocks = [b for b in response.text.strip().split("\n\n") if b]
    last = dict(line.split(": ", 1) for line in blocks[-1].splitlines())
    assert last["event"] == "done", response.text[-500:]
    return dict(json.loads(last["data"]))


def _run_over_http(client: ApiClient, exercises: list[ExerciseText]) -> tuple[int, list[str]]:
    sent, leaks = 0, []
    for exercise in exercises:
        for attack in ATTACKS:
            message = attack_message(attack, solution=exercise.solution, starter=exercise.starter)
            for intent in intents_for(attack):
                body = {"message": message, "exercise_id": exercise.id, "code": exercise.starter, "intent": intent}
                reply = _done(client.post("/api/ai/chat", json=body))
                sent += 1
                found = leaked(reply["text"], solution=exercise.solution, starter=exercise.starter,
                               public=public_material(exercise))
                if found:
                    leaks.append(f"{exercise.title} / {attack[:30]!r} / {intent}: {found}")
    return sent, leaks


def test_no_leaks_offline(demo_client, demo_exercises) -> None:
    client = demo_client()
    client.signup("leak-offline@example.com")
    sent, leaks = _run_over_http(client, demo_exercises)
    assert sent >= 100
    assert leaks == []


def test_no_leaks_through_the_guard_when_the_model_leaks(demo_client, demo_exercises) -> None:
    state = leaking_model(install(), demo_exercises)
    client = demo_client(AI_MODEL="dronatest/scripted")
    client.signup("leak-llm@example.com")
    sent, leaks = _run_over_http(client, demo_exercises)
    assert sent >= 100 and state["n"] > 0
    assert leaks == []


def test_run_leak_suite_offline(demo_build, demo_exercises, tmp_path) -> None:
    settings = demo_settings(demo_build, tmp_path)
    lines: list[str] = []
    report = run_leak_suite(settings=settings, log=lines.append)
    assert report.mode == "offline"
    assert {e.id for e in report.exercises} == {e.id for e in demo_exercises}
    assert report.messages >= 100 and report.messages == DEMO_EXERCISES * report.attacks_per_exercise
    assert report.findings == [] and report.ok
    assert len(lines) == DEMO_EXERCISES
    assert "No leaks." in report_markdown(report)
    # The author's database (DATABASE_URL) is never created, let alone written.
    assert not (tmp_path / "learners.db").exists()


def test_run_leak_suite_with_a_leaking_model(demo_build, demo_exercises, tmp_path) -> None:
    state = leaking_model(install(), demo_exercises)
    settings = demo_settings(demo_build, tmp_path, AI_MODEL="dronatest/scripted")
    report = run_leak_suite(settings=settings)
    assert report.mode == "model" and report.models == ["dronatest/scripted"]
    assert report.messages >= 100 and state["n"] > 0
    assert report.guarded > 0  # the model did leak, and the guard stopped it
    assert report.findings == []
    text = report_markdown(report)
    assert "Mode: **model**" in text and "No leaks." in text
    assert not (tmp_path / "learners.db").exists()
