"""Achievement rules and the leaderboard's "neighbours only" window.

Definitions come from content/achievements.yaml: each has a `rule: {metric, threshold}`. A learner
earns an achievement when their counter for the metric reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

METRICS = frozenset(
    {
        "lessons_completed",
        "exercises_first_try",
        "streak_days",
        "quizzes_perfect",
        "certificates_earned",
        "gold_certificates",
        "challenges_completed",
        "challenges_no_hints",
        "bugs_found",
        "code_reviews",
        "courses_completed",
        "early_sessions",
        "helpful_answers",
        "fast_lessons",
    }
)


def newly_earned(
    *, definitions: Sequence[Mapping[str, Any]], metrics: Mapping[str, int], earned_ids: Collection[str]
) -> list[Mapping[str, Any]]:
    """Definitions not yet earned whose metric has reached its threshold, in definition order.

    A metric missing from `metrics` counts as 0: a learner who never did the thing has done it 0 times.
    """
    earned: list[Mapping[str, Any]] = []
    for definition in definitions:
        if definition["id"] in earned_ids:
            continue
        rule = definition["rule"]
        if metrics.get(rule["metric"], 0) >= rule["threshold"]:
            earned.append(definition)
    return earned


def neighbours(*, ranking: Sequence[T], index: int, radius: int = 2) -> list[T]:
    """The entries around ranking[index]: the learner plus `radius` either side.

    Near the top or bottom the window shifts rather than shrinks, so the view always shows
    2 * radius + 1 entries when there are that many.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if not 0 <= index < len(ranking):
        raise ValueError(f"index {index} is outside a ranking of {len(ranking)}")
    size = 2 * radius + 1
    if len(ranking) <= size:
        return list(ranking)
    start = min(max(index - radius, 0), len(ranking) - size)
    return list(ranking[start : start + size])
