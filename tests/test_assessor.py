"""The Assessor's adaptive selection (pure functions over authored items) and BKT updates."""

from __future__ import annotations

import json

from sidecar.agents.memory import mastery
from sidecar.agents.quiz import assessor


def item(item_id: str, module: str, skills: list[str], answer: int = 1, kind: str = "multiple-choice") -> dict:
    return {"id": item_id, "module_id": module, "kind": kind, "skills": json.dumps(skills), "prompt": "?",
            "code": None, "choices": json.dumps(["a", "b", "c"]), "answer": json.dumps(answer), "accept": "[]",
            "explanation": "because"}


ITEMS = [item("a1", "m1", ["s.types"]), item("a2", "m1", ["s.types"]), item("b1", "m2", ["s.loops"]),
         item("b2", "m2", ["s.loops"]), item("c1", "m3", ["s.functions"])]


def test_bkt_moves_towards_the_evidence_and_stays_a_probability() -> None:
    p = mastery.DEFAULT.p_init
    for _ in range(6):
        p = mastery.update(p, True)
    assert p > mastery.MASTERED
    for _ in range(6):
        p = mastery.update(p, False)
    assert p < 0.5
    assert 0 < mastery.update(0.0, False) < 1 and 0 < mastery.update(1.0, True) <= 1


def test_onboarding_skips_a_module_after_a_right_first_answer() -> None:
    step = assessor.adaptive_step(ITEMS, {}, onboarding=True)
    assert step.item is not None and step.item["id"] == "a1" and "answer" not in step.item
    step = assessor.adaptive_step(ITEMS, {"a1": 1}, onboarding=True)
    assert step.item is not None and step.item["id"] == "b1"  # a2 skipped
    step = assessor.adaptive_step(ITEMS, {"a1": 1, "b1": 0}, onboarding=True)
    assert step.item is not None and step.item["id"] == "b2"  # a miss: the module's second question
    step = assessor.adaptive_step(ITEMS, {"a1": 1, "b1": 0, "b2": 1, "c1": 1}, onboarding=True)
    assert step.done and step.known_skills == ["s.functions", "s.types"]


def test_onboarding_stops_after_two_misses_in_a_module() -> None:
    step = assessor.adaptive_step(ITEMS, {"a1": 0, "a2": None}, onboarding=True)
    assert step.done and step.item is None and step.known_skills == []
    assert [f["correct"] for f in step.feedback] == [False, False]


def test_practice_prefers_items_near_sixty_percent_and_skips_mastered_skills() -> None:
    prior = {"s.types": 0.95, "s.loops": 0.5, "s.functions": 0.05}
    step = assessor.adaptive_step(ITEMS, {}, onboarding=False, prior=prior)
    assert step.item is not None and step.item["id"] in ("b1", "b2")
    everything = {"s.types": 0.95, "s.loops": 0.95, "s.functions": 0.95}
    assert assessor.adaptive_step(ITEMS, {}, onboarding=False, prior=everything).done
