"""Where each achievement metric comes from, and how far the published catalog lets it go.

An achievement's rule counts one metric (rules.METRICS). Gamification counts what it owns (lessons
completed, the streak); the domains that own the other facts register a *source* here at import
time (grading: first-try exercises, perfect quizzes, bugs found, challenges; progress: lessons
under their estimate, early sessions), so imports keep pointing down and each fact is counted by
the one domain that stores it.

*Capacity* is the most a learner could reach with the content and features that exist today: a
rule whose threshold is above it cannot be earned yet, and the profile marks that achievement as
coming, with the reason, instead of showing a badge nobody can win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sidecar.catalog import readers
from sidecar.db.engine import Tx

from . import rules

# source(tx, user_id, catalog_db, needed): counts of the `needed` metrics (a subset of its own).
MetricSource = Callable[[Tx, str, "Path | None", frozenset[str]], Mapping[str, int]]


@dataclass(frozen=True)
class _Registered:
    metrics: frozenset[str]
    source: MetricSource


# Keyed by the source's module and name: a module imported again replaces its own entry.
_sources: dict[str, _Registered] = {}


def register_metric_source(*, metrics: Iterable[str], source: MetricSource) -> None:
    """A domain above gamification counts these metrics for one learner: source(tx, user_id, catalog_db, needed)."""
    names = frozenset(metrics)
    unknown = names - rules.METRICS
    if unknown:
        raise ValueError(f"unknown achievement metrics: {sorted(unknown)}")
    key = f"{source.__module__}.{getattr(source, '__qualname__', repr(source))}"
    taken = {name for other, entry in _sources.items() if other != key for name in entry.metrics} & names
    if taken:
        raise ValueError(f"metrics already have a source: {sorted(taken)}")
    _sources[key] = _Registered(names, source)


def counted(tx: Tx, *, user_id: str, needed: set[str], catalog_db: Path | None) -> dict[str, int]:
    """The needed metrics that registered sources count (each source asked once, for its needed ones only:
    this runs on every request that can move a metric, and most rules are earned or not in question)."""
    found: dict[str, int] = {}
    for entry in _sources.values():
        wanted = entry.metrics & needed
        if wanted:
            found.update({k: int(v) for k, v in entry.source(tx, user_id, catalog_db, wanted).items() if k in wanted})
    return found


# Metrics no feature produces yet: what is coming, in the learner's words.
NOT_BUILT = {
    "code_reviews": "Reviewing other learners' solutions is coming.",
    "helpful_answers": "Answering other learners' questions is coming.",
}
# Metrics that grow with time alone (days, sessions): any threshold can be reached.
UNBOUNDED = frozenset({"streak_days", "early_sessions"})
# What the catalog holds of each countable thing: (metric, the noun in the reason).
_NOUNS = {
    "lessons_completed": "lessons", "fast_lessons": "lessons", "exercises_first_try": "exercises",
    "quizzes_perfect": "quizzes", "bugs_found": "find-the-bug questions", "challenges_completed": "timed challenges",
    "challenges_no_hints": "timed challenges", "courses_completed": "courses", "certificates_earned": "certificates",
    "gold_certificates": "Gold projects",
}


def capacities(catalog_db: Path) -> dict[str, int]:
    """metric -> the most the published catalog allows (metrics missing here are unbounded or not built)."""
    have = readers.counts(catalog_db)
    return {
        "lessons_completed": have["lessons"], "fast_lessons": have["lessons"],
        "exercises_first_try": have["exercises"], "quizzes_perfect": have["quizzes"],
        "bugs_found": have["find_the_bug"],
        "challenges_completed": have["challenges"], "challenges_no_hints": have["challenges"],
        "courses_completed": have["courses"],
        # Bronze needs only the course; Silver and Gold need their material.
        "certificates_earned": have["bronze_courses"] + have["silver_courses"] + have["gold_courses"],
        "gold_certificates": have["gold_courses"],
    }


def coming_reason(metric: str, threshold: int, capacity: Mapping[str, int]) -> str | None:
    """Why an achievement cannot be earned yet, or None when it can."""
    if metric in NOT_BUILT:
        return NOT_BUILT[metric]
    if metric in UNBOUNDED or metric not in capacity:
        return None
    have = capacity[metric]
    if have >= threshold:
        return None
    noun = _NOUNS.get(metric, "items")
    return f"Needs {threshold} {noun}; the catalog has {have} so far. More courses are coming."
