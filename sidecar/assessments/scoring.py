"""Scores of a Silver attempt, as exact fractions, and the pass rule.

Per section, a fraction of its authored points:
- conceptual: the difficulty of each right answer, over what a perfect run on the staircase
  collects (2 + 3 per later question), so hard questions answered right count most;
- analysis: right answers over questions;
- coding: per problem, the share of its tests passed, weighted by difficulty (easy 1, medium 2,
  hard 3);
- design: rubric points earned over the rubric's points.
A pass needs min_percent (80) of all points and no section below min_section_percent (60).
Exact arithmetic (Fraction), so 79.9 % never rounds up to a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .plan import perfect_run


@dataclass(frozen=True)
class ItemScore:
    difficulty: int
    score: float | None  # 0..1; None when unanswered


@dataclass(frozen=True)
class SectionScore:
    key: str
    title: str
    fraction: Fraction  # of the section's points
    max_points: int

    @property
    def points(self) -> Fraction:
        return self.fraction * self.max_points


@dataclass(frozen=True)
class Decision:
    percent: Fraction
    passed: bool
    below: list[str]  # sections under the minimum


def _exact(value: float | None) -> Fraction:
    return Fraction(str(value)) if value is not None else Fraction(0)


def section_fraction(key: str, items: Sequence[ItemScore], *, planned: int) -> Fraction:
    """The section's score as a fraction (see the module's doc); `planned` is the items it should have."""
    if key == "conceptual":
        best = perfect_run(max(planned, 1))
        earned = sum((_exact(i.score) * i.difficulty for i in items), Fraction(0))
        return min(Fraction(1), earned / best)
    if key == "coding":
        weights = sum(i.difficulty for i in items) or 1
        return sum((_exact(i.score) * i.difficulty for i in items), Fraction(0)) / weights
    count = max(planned, len(items), 1)
    return sum((_exact(i.score) for i in items), Fraction(0)) / count


def decide(sections: Sequence[SectionScore], *, min_percent: float, min_section_percent: float) -> Decision:
    total = sum(s.max_points for s in sections)
    earned = sum((s.points for s in sections), Fraction(0))
    percent = earned * 100 / total if total else Fraction(0)
    below = [s.key for s in sections if s.fraction * 100 < Fraction(str(min_section_percent))]
    passed = bool(sections) and percent >= Fraction(str(min_percent)) and not below
    return Decision(percent=percent, passed=passed, below=below)


def shown(value: Fraction) -> float:
    """A percentage or points for display: one decimal, half up (decisions never use this)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
