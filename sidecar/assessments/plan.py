"""What one Silver attempt contains: its sections (from the silver tier in content/certifications.yaml)
and the items it draws from the course's bank (certification/silver.yaml).

Each attempt draws its own random selection with the attempt's seed. Conceptual questions are
adaptive: they are drawn one at a time on a staircase (start at medium; a right answer moves one
level harder, a wrong one one level easier), so the next question depends on the last answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.catalog.readers import SilverItem
from sidecar.courseware.certification import DEFAULT_DRAW

SECTIONS = ("conceptual", "analysis", "coding", "design")
DEFAULT_ITEMS = DEFAULT_DRAW  # one source: the bank's size checks use the same draw
DEFAULT_MINUTES = {"conceptual": 25, "analysis": 20, "coding": 45, "design": 15}
DEFAULT_POINTS = {"conceptual": 30, "analysis": 20, "coding": 35, "design": 15}
TITLES = {"conceptual": "Conceptual", "analysis": "Code analysis", "coding": "Coding challenges",
          "design": "System design"}
START_DIFFICULTY = 2


@dataclass(frozen=True)
class SectionPlan:
    key: str
    title: str
    minutes: int
    items: int
    max_points: int


def sections(rules: dict[str, Any], points: dict[str, int]) -> list[SectionPlan]:
    """The exam's sections in order: those the silver tier lists (by `key`, else by position)."""
    authored = [s for s in rules.get("sections") or [] if isinstance(s, dict)]
    found: list[SectionPlan] = []
    for position, section in enumerate(authored):
        key = str(section.get("key") or (SECTIONS[position] if position < len(SECTIONS) else ""))
        if key not in SECTIONS or any(p.key == key for p in found):
            continue
        found.append(SectionPlan(key=key, title=str(section.get("name") or TITLES[key]),
                                 minutes=int(section.get("minutes") or DEFAULT_MINUTES[key]),
                                 items=int(section.get("items") or DEFAULT_ITEMS[key]),
                                 max_points=int(points.get(key, DEFAULT_POINTS[key]))))
    return found


def _pick(rng: random.Random, pool: Sequence[SilverItem], count: int) -> list[SilverItem]:
    return rng.sample(list(pool), min(count, len(pool)))


def draw_fixed(bank: Sequence[SilverItem], plan: SectionPlan, rng: random.Random) -> list[SilverItem]:
    """The items of a non-adaptive section, in the order shown."""
    pool = [item for item in bank if item.section == plan.key]
    if plan.key == "analysis":
        predict = [i for i in pool if i.kind == "predict_output"]
        bugs = [i for i in pool if i.kind == "find_bug"]
        half = plan.items // 2
        chosen = _pick(rng, predict, plan.items - half) + _pick(rng, bugs, half)
        return chosen
    if plan.key == "coding":
        chosen = []
        for n in range(plan.items):  # easy, medium, hard, then round again
            level = n % 3 + 1
            candidates = [i for i in pool if i.difficulty == level and i not in chosen]
            if not candidates:
                candidates = [i for i in pool if i not in chosen]
            if candidates:
                chosen.append(rng.choice(candidates))
        return chosen
    return _pick(rng, pool, plan.items)


def next_difficulty(history: Sequence[tuple[int, bool]]) -> int:
    """The staircase: medium first, then one level up after a right answer, one down after a wrong one."""
    if not history:
        return START_DIFFICULTY
    level, correct = history[-1]
    return max(1, min(3, level + (1 if correct else -1)))


def draw_conceptual(bank: Sequence[SilverItem], used: set[str], history: Sequence[tuple[int, bool]],
                    rng: random.Random) -> SilverItem | None:
    """The next adaptive question: an unused one at the staircase's level (else the nearest level)."""
    target = next_difficulty(history)
    pool = [item for item in bank if item.section == "conceptual" and item.id not in used]
    if not pool:
        return None
    nearest = min(abs(item.difficulty - target) for item in pool)
    return rng.choice([item for item in pool if abs(item.difficulty - target) == nearest])


def perfect_run(count: int) -> int:
    """Difficulty points a learner answering everything right collects: 2, then 3 for each after."""
    return 0 if count <= 0 else START_DIFFICULTY + 3 * (count - 1)
