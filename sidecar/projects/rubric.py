"""Gold's rubric and pass rule (§9.3), as content/certifications.yaml defines them.

Passing needs `pass_percent` (75 %) of all points and no category below `min_category_percent`
(60 %). Points are Decimals and nothing is rounded before the comparison, so 74.9 % fails and a
category at 59 % fails however high the total is (display rounds elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sidecar.catalog import readers
from sidecar.errors import InvalidInput, NotFound

LABELS = {"code_quality": "Code quality", "functionality": "Functionality", "testing": "Testing",
          "documentation": "Documentation", "deployment": "Deployment"}
EXCEPTIONAL_PERCENT = Decimal(95)  # the "exceptional" XP bonus (§8.2)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    max_points: Decimal


@dataclass(frozen=True)
class Rubric:
    categories: tuple[Category, ...]
    pass_percent: Decimal
    min_category_percent: Decimal

    @property
    def max_points(self) -> Decimal:
        return sum((c.max_points for c in self.categories), Decimal(0))


@dataclass(frozen=True)
class Verdict:
    passed: bool
    overall_percent: Decimal
    category_percent: dict[str, Decimal]
    reasons: list[str]  # why it does not pass (empty when it does)

    @property
    def exceptional(self) -> bool:
        return self.passed and self.overall_percent >= EXCEPTIONAL_PERCENT


def load(catalog_db: Path) -> Rubric:
    tier = readers.certification_tiers(catalog_db).get("gold")
    if tier is None or not isinstance(tier.rules.get("rubric"), dict):
        raise NotFound("This catalog defines no Gold tier with a rubric (content/certifications.yaml).")
    categories = tuple(Category(key=str(key), label=LABELS.get(str(key), str(key).replace("_", " ").capitalize()),
                                max_points=Decimal(str(points)))
                       for key, points in tier.rules["rubric"].items())
    return Rubric(categories=categories, pass_percent=Decimal(str(tier.rules.get("pass_percent", 75))),
                  min_category_percent=Decimal(str(tier.rules.get("min_category_percent", 60))))


def check_points(rubric: Rubric, points: Mapping[str, Decimal], *, complete: bool) -> dict[str, Decimal]:
    """Each score within 0..its category's maximum; `complete`: every category scored, no unknown ones."""
    known = {c.key: c for c in rubric.categories}
    unknown = sorted(set(points) - set(known))
    if unknown:
        raise InvalidInput(f"Unknown rubric categories: {', '.join(unknown)}.", {"categories": list(known)})
    missing = [key for key in known if key not in points]
    if complete and missing:
        raise InvalidInput(f"Score every category; missing: {', '.join(missing)}.", {"missing": missing})
    checked: dict[str, Decimal] = {}
    for key, value in points.items():
        category = known[key]
        if not Decimal(0) <= value <= category.max_points:
            raise InvalidInput(f"{category.label} is scored out of {category.max_points}; {value} is outside 0.."
                               f"{category.max_points}.", {"category": key})
        checked[key] = value
    return checked


def percent(points: Decimal, max_points: Decimal) -> Decimal:
    return points * HUNDRED / max_points if max_points > 0 else Decimal(0)


def decide(rubric: Rubric, points: Mapping[str, Decimal]) -> Verdict:
    """Whether a complete set of scores passes, with the reasons when it does not."""
    checked = check_points(rubric, points, complete=True)
    overall = percent(sum(checked.values(), Decimal(0)), rubric.max_points)
    reasons: list[str] = []
    if overall < rubric.pass_percent:
        reasons.append(f"the overall score is {_show(overall)} %, below the {_show(rubric.pass_percent)} % needed")
    by_category = {c.key: percent(checked[c.key], c.max_points) for c in rubric.categories}
    for category in rubric.categories:
        share = by_category[category.key]
        if share < rubric.min_category_percent:
            reasons.append(f"{category.label} is at {_show(share)} %, below the {_show(rubric.min_category_percent)} "
                           "% every category needs")
    return Verdict(passed=not reasons, overall_percent=overall, category_percent=by_category, reasons=reasons)


def _show(value: Decimal) -> str:
    """A percent for people: at most two decimals, no trailing zeros (59.0 → 59, 74.9 stays)."""
    text = f"{value.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
    return text or "0"
