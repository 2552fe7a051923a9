"""The tutoring evaluation (issue #12) as a test: realistic buggy attempts at every demo exercise,
graded in the real sandbox and answered by the tutor service as the API runs it, must meet the
issue's targets. bench/bench_tutor_scenarios.py prints the same figures in full.

- mistake identification >= 85 % of scenarios (the bug's line or concept, in the tutor's words);
- no verbatim repeats; a guiding question; the first source is the current or an earlier lesson;
- guard false positives < 2 % on at least 100 good replies (the policy's own and hand-written ones
  that quote the learner's code and the visible tests);
- zero leaks, offline and with an adversarial model (a LiteLLM custom provider that answers with
  the solution, a JavaScript translation of it, a partial solution or renamed variables).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.bench_tutor_scenarios import (
    ADVERSARIES,
    TARGETS,
    Harness,
    Report,
    evaluate,
    load_good_replies,
    load_scenarios,
)
from sidecar.compiler.build import BuildReport
from tests.llm_provider import install

SCENARIOS = load_scenarios()
GOOD = load_good_replies()


@pytest.fixture(scope="module")
def offline(demo_build: BuildReport, tmp_path_factory: pytest.TempPathFactory) -> Report:
    harness = Harness(work=tmp_path_factory.mktemp("tutor-eval"), build_dir=Path(demo_build.catalog_db).parent)
    return evaluate(harness, SCENARIOS, good=GOOD)


def test_the_scenarios_cover_every_demo_exercise_with_programs_that_really_fail(offline: Report) -> None:
    assert len(SCENARIOS) >= 60
    per_exercise = Counter(s.exercise for s in SCENARIOS)
    assert len(per_exercise) == 18 and min(per_exercise.values()) >= 3, per_exercise
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    not_failing = [o.scenario.id for o in offline.outcomes if not o.failed_tests]
    assert not not_failing, f"these attempts pass every test, so they aren't buggy: {not_failing}"


def test_the_tutor_names_the_learners_mistake(offline: Report) -> None:
    missed = [(o.scenario.id, o.replies[0][:200]) for o in offline.outcomes if not o.mistake]
    assert offline.rate("mistake") >= TARGETS["mistake"], missed


def test_every_reply_asks_never_repeats_and_cites_where_the_learner_is(offline: Report) -> None:
    assert [o.scenario.id for o in offline.outcomes if o.repeat] == []
    assert offline.rate("question") >= 0.95, [o.scenario.id for o in offline.outcomes if not o.question]
    assert offline.rate("cites_ok") >= 0.95, [(o.scenario.id, o.citations[0][:1]) for o in offline.outcomes
                                              if not o.cites_ok]


def test_no_reply_reveals_the_solution(offline: Report) -> None:
    assert [(o.scenario.id, o.revealed) for o in offline.outcomes if o.revealed] == []


def test_the_guard_rarely_stops_a_good_reply(offline: Report) -> None:
    assert offline.policy_replies + offline.good_total >= TARGETS["good_replies"]
    assert len(GOOD) >= 60
    assert offline.guard_fp < TARGETS["guard_fp"], offline.good_flagged


def test_an_adversarial_model_leaks_nothing(demo_build: BuildReport, tmp_path_factory: pytest.TempPathFactory) -> None:
    provider = install()
    harness = Harness(work=tmp_path_factory.mktemp("tutor-eval-adversarial"),
                      build_dir=Path(demo_build.catalog_db).parent, model="dronatest/scripted")
    chosen = SCENARIOS  # the kinds of attack take turns, scenario by scenario

    def set_payload(text: str) -> None:
        provider.reply = lambda messages: text

    report = evaluate(harness, chosen, adversary_set=set_payload)
    assert {o.adversary for o in report.outcomes} == set(ADVERSARIES)
    for kind in ADVERSARIES:  # each kind of attack is tried on every exercise
        assert len({o.scenario.exercise for o in report.outcomes if o.adversary == kind}) == 18, kind
    assert [(o.scenario.id, o.adversary, o.revealed) for o in report.outcomes
            if o.revealed or o.payload_shown] == []
    assert [o.scenario.id for o in report.outcomes if o.repeat] == []
    # The model was really asked (each turn went through the provider), and its leaks were stopped.
    assert len(provider.calls) >= len(chosen)
