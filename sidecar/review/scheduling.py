"""The FSRS scheduler as the review queue uses it: whole days, no same-day learning steps, no fuzz.

Reviews happen once a day, from the dashboard, so the scheduler works in days: a card answered
right on first meeting comes back after FSRS's first interval (about two days), a card answered
wrong comes back tomorrow, not in ten minutes. Fuzzing is off so that a schedule can be tested
and explained ("due on the 7th" stays true).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import fsrs

DESIRED_RETENTION = 0.9
SCHEDULER = fsrs.Scheduler(desired_retention=DESIRED_RETENTION, learning_steps=(), relearning_steps=(),
                           enable_fuzzing=False)


def rating(*, correct: bool) -> fsrs.Rating:
    """A review's outcome as an FSRS rating: right is Good, wrong is Again (we never ask learners to grade
    themselves: the answer is checked)."""
    return fsrs.Rating.Good if correct else fsrs.Rating.Again


def new_card() -> fsrs.Card:
    return fsrs.Card()


def load(state: dict[str, Any]) -> fsrs.Card:
    return fsrs.Card.from_dict(state)  # type: ignore[arg-type]


def _utc(at: datetime) -> datetime:
    """FSRS takes UTC only; a naive time is read as UTC (the database's convention)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def review(card: fsrs.Card, *, correct: bool, at: datetime) -> tuple[fsrs.Card, float | None, float | None]:
    """(the card after the review, the predicted recall just before it, days since the last review)."""
    at = _utc(at)
    recall = SCHEDULER.get_card_retrievability(card, at) if card.last_review is not None else None
    elapsed = (at - card.last_review).total_seconds() / 86400 if card.last_review is not None else None
    after, _ = SCHEDULER.review_card(card, rating(correct=correct), at)
    return after, recall, elapsed


def retrievability(card: fsrs.Card, at: datetime) -> float | None:
    return SCHEDULER.get_card_retrievability(card, _utc(at)) if card.last_review is not None else None
