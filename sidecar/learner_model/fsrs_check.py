"""FSRS checked on real review logs: replay each card's reviews, predict recall before each one.

The log is py-fsrs's format (`card_id,review_rating,review_time,...`; ratings 1-4, 1 = Again). Every
review updates the card (FSRS's default parameters, no fuzzing). Scored are the reviews a whole day
or more after the card's previous one, as in the FSRS benchmark: FSRS counts elapsed time in whole
days, so within a day its retrievability is 1 and same-day learning steps are not recall tests. The
prediction is the retrievability at that moment; the outcome is recalled when the rating is above 1.
The constant baseline predicts the log's own recall rate for every review (the best a constant can
do, in hindsight).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsrs
import numpy as np

from sidecar.learner_model import metrics
from sidecar.learner_model.data import FloatArray


@dataclass(frozen=True)
class Replay:
    recalled: FloatArray
    retrievability: FloatArray
    cards: int
    reviews: int


def replay(path: Path) -> Replay:
    reviews: dict[str, list[tuple[datetime, int]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            when = datetime.fromisoformat(row["review_time"])
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            reviews.setdefault(row["card_id"], []).append((when, int(row["review_rating"])))
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    total = sum(len(h) for h in reviews.values())
    y: list[float] = []
    p: list[float] = []
    for history in reviews.values():
        card = fsrs.Card()
        for when, rating in sorted(history, key=lambda r: r[0]):
            if card.last_review is not None and (when - card.last_review).days >= 1:
                p.append(scheduler.get_card_retrievability(card, when))
                y.append(1.0 if rating > 1 else 0.0)
            card, _ = scheduler.review_card(card, fsrs.Rating(rating), review_datetime=when)
    return Replay(np.asarray(y), np.asarray(p), len(reviews), total)


def scores(result: Replay) -> dict[str, dict[str, float]]:
    y, p = result.recalled, result.retrievability
    constant = np.full(y.shape[0], float(y.mean()))
    return {name: {"auc": metrics.auc(y, q), "log_loss": metrics.log_loss(y, q), "rmse": metrics.rmse(y, q)}
            for name, q in (("fsrs", p), ("constant", constant))}
