"""The achievement metrics grading owns, counted from its own tables for one learner.

Registered with gamification (gamification/metrics.py) when this module is imported (grading's
service imports it), so an achievement's rule is checked against what was really graded:

- exercises_first_try: exercises whose first graded submission passed;
- quizzes_perfect: quizzes with an attempt at 100 %;
- bugs_found: find-the-bug questions answered right, each question once;
- challenges_completed: timed challenges passed inside an attempt's clock (deadline plus grace);
- challenges_no_hints: those passed with no hint revealed before the passing submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.catalog import readers
from sidecar.db.engine import Tx
from sidecar.gamification.metrics import register_metric_source

from . import challenges
from .tables import ChallengeAttempt, QuizAttempt, Submission

_SUB = Submission.__table__.c
_QUIZ = QuizAttempt.__table__.c
_CHALLENGE = ChallengeAttempt.__table__.c
METRICS = ("exercises_first_try", "quizzes_perfect", "bugs_found", "challenges_completed", "challenges_no_hints")


def _first_try(tx: Tx, user_id: str) -> int:
    rows = tx.rows("SELECT exercise_id, passed, created_at, id FROM submissions WHERE user_id = :user_id",
                   {"user_id": user_id})
    first: dict[str, tuple[Any, str, bool]] = {}
    for exercise_id, passed, created_at, row_id in rows:
        key = (tx.from_db(_SUB.created_at, created_at), str(row_id))
        if exercise_id not in first or key < first[exercise_id][:2]:
            first[exercise_id] = (*key, bool(passed))
    return sum(1 for entry in first.values() if entry[2])


def _bugs_found(tx: Tx, user_id: str, catalog_db: Path | None) -> int:
    if catalog_db is None:
        return 0
    keys = readers.find_the_bug_keys(catalog_db)  # item id -> (quiz id, buggy line)
    quizzes = {quiz_id for quiz_id, _ in keys.values()}
    if not quizzes:
        return 0
    found: set[str] = set()
    for quiz_id, answers in tx.rows("SELECT quiz_id, answers FROM quiz_attempts WHERE user_id = :user_id",
                                    {"user_id": user_id}):
        if quiz_id not in quizzes:
            continue
        given = tx.from_db(_QUIZ.answers, answers) or {}
        for item_id, answer in given.items() if isinstance(given, Mapping) else ():
            key = keys.get(item_id)
            if key is None or key[0] != quiz_id:
                continue
            try:
                if int(answer) == key[1]:
                    found.add(item_id)
            except (TypeError, ValueError):
                continue
    return len(found)


def _challenges(tx: Tx, user_id: str) -> tuple[int, int]:
    windows: dict[str, list[tuple[Any, Any]]] = {}
    for lesson_id, started_at, deadline in tx.rows(
            "SELECT lesson_id, started_at, deadline FROM challenge_attempts WHERE user_id = :user_id",
            {"user_id": user_id}):
        windows.setdefault(lesson_id, []).append((tx.from_db(_CHALLENGE.started_at, started_at),
                                                  tx.from_db(_CHALLENGE.deadline, deadline)))
    if not windows:
        return 0, 0
    done: set[str] = set()
    clean: set[str] = set()
    for lesson_id, created_at, hints_used in tx.rows(
            "SELECT lesson_id, created_at, hints_used FROM submissions WHERE user_id = :user_id AND passed = :yes "
            "AND lesson_id IS NOT NULL", {"user_id": user_id, "yes": True}):
        at = tx.from_db(_SUB.created_at, created_at)
        if any(start <= at <= deadline + challenges.GRACE for start, deadline in windows.get(lesson_id, ())):
            done.add(lesson_id)
            if not hints_used:
                clean.add(lesson_id)
    return len(done), len(clean)


def _perfect(tx: Tx, user_id: str) -> int:
    return int(tx.row("SELECT count(DISTINCT quiz_id) FROM quiz_attempts WHERE user_id = :user_id "
                      "AND score_percent >= 100", {"user_id": user_id})[0] or 0)


def count(tx: Tx, user_id: str, catalog_db: Path | None,
          needed: frozenset[str] = frozenset(METRICS)) -> dict[str, int]:
    """The needed metrics (default: all of grading's), each read only when asked for."""
    found: dict[str, int] = {}
    if "exercises_first_try" in needed:
        found["exercises_first_try"] = _first_try(tx, user_id)
    if "quizzes_perfect" in needed:
        found["quizzes_perfect"] = _perfect(tx, user_id)
    if "bugs_found" in needed:
        found["bugs_found"] = _bugs_found(tx, user_id, catalog_db)
    if needed & {"challenges_completed", "challenges_no_hints"}:
        found["challenges_completed"], found["challenges_no_hints"] = _challenges(tx, user_id)
    return found


register_metric_source(metrics=METRICS, source=count)
