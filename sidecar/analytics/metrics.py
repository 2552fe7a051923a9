"""The six metrics of design §10.2, as pure functions of rollup numbers (docs/analytics.md, "The six metrics").

No database and no clock here: callers pass the counts and `now`. Each function returns None where the
learner has not done what the metric measures (no lessons, no graded work, ...), never a made-up zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from sidecar.review.scheduling import SCHEDULER

WINDOW_DAYS = 28  # the recent window of velocity, engagement and the weekly trend's last point
SESSION_GAP = timedelta(minutes=30)  # a longer pause between two statements starts a new session
MASTERY_STREAK = 3  # right answers in a row that count as mastering a skill (Beck & Gong, 2013)
WHEEL_SPINNING_ATTEMPTS = 10  # attempts at a skill without mastery: wheel-spinning
DELAYED = timedelta(days=1)  # a re-attempt at least this long after the last practice measures retention
# Engagement: each factor saturates at a steady learner's 28 days (three sessions a week, two hours a week,
# fifty interactions a week).
ENGAGEMENT_SESSIONS, ENGAGEMENT_HOURS, ENGAGEMENT_INTERACTIONS = 12.0, 8.0, 200.0
TYPICAL_ATTEMPT_S = 300.0  # the struggle index's unit of time: five minutes per attempt
STRUGGLING = 3.0  # a struggle index at or above this raises an alert
FADING = 0.2  # a mastered skill whose decay risk reaches this (recall under 80%) is fading: practise it
INTERVAL = (0.1, 0.9)  # predicted completion: an 80% prediction interval
DRAWS = 4000


def learning_velocity(*, lessons_completed: int, active_s: float) -> float | None:
    """Lessons completed per hour of learning time (in the window)."""
    if active_s <= 0:
        return None
    return lessons_completed / (active_s / 3600)


def knowledge_retention(*, reviews: int, reviews_correct: int, delayed_attempts: int,
                        delayed_successes: int) -> tuple[float | None, str]:
    """Share of spaced reviews answered right, in percent; where the learner has had no review yet, the
    share of delayed re-attempts (a day or more after the skill's last practice) that succeeded.
    Returns (value, source) with source "reviews", "re-attempts" or "none"."""
    if reviews > 0:
        return 100 * reviews_correct / reviews, "reviews"
    if delayed_attempts > 0:
        return 100 * delayed_successes / delayed_attempts, "re-attempts"
    return None, "none"


def engagement_score(*, sessions: int, active_s: float, interactions: int) -> float:
    """0..100: the geometric mean of sessions, hours and interactions in the window, each as a share of a
    steady learner's (capped at 1), so that the score is their product, scaled (§10.2: sessions ×
    duration × interactions)."""
    s = min(1.0, sessions / ENGAGEMENT_SESSIONS)
    h = min(1.0, active_s / 3600 / ENGAGEMENT_HOURS)
    i = min(1.0, interactions / ENGAGEMENT_INTERACTIONS)
    return float(100 * (s * h * i) ** (1 / 3))


def skill_struggle(*, attempts: int, successes: int, hints: int, duration_s: float) -> float | None:
    """One skill's struggle: attempts per success × (1 + hints per attempt) × time per attempt in units of
    five minutes (1 when no time was recorded). 1.0 is a typical learner: right first time, no hint, five
    minutes."""
    if attempts <= 0:
        return None
    per_success = attempts / max(1, successes)
    hinting = 1 + hints / attempts
    timing = (duration_s / attempts) / TYPICAL_ATTEMPT_S if duration_s > 0 else 1.0
    return per_success * hinting * timing


class SkillLike(Protocol):
    """What the struggle index and decay risk read of a skill: a SkillRecord, or a rollup row."""

    @property
    def attempts(self) -> int: ...
    @property
    def successes(self) -> int: ...
    @property
    def hints(self) -> int: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def mastered(self) -> bool: ...
    @property
    def stability(self) -> float | None: ...
    @property
    def last_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class SkillRecord:
    """What the struggle index, wheel-spinning and decay risk read of one learner's skill."""

    skill: str
    attempts: int
    successes: int
    hints: int = 0
    duration_s: float = 0.0
    mastered: bool = False
    stability: float | None = None
    last_at: datetime | None = None


def struggle_index(skills: Iterable[SkillLike]) -> float | None:
    """The mean of skill_struggle over the skills the learner attempted (None: no graded work)."""
    values = [v for s in skills if (v := skill_struggle(attempts=s.attempts, successes=s.successes, hints=s.hints,
                                                         duration_s=s.duration_s)) is not None]
    return sum(values) / len(values) if values else None


def wheel_spinning(*, attempts: int, mastered: bool) -> bool:
    """No mastery (three right in a row) within ten attempts at a skill."""
    return not mastered and attempts >= WHEEL_SPINNING_ATTEMPTS


def mastered_now(*, streak: int) -> bool:
    return streak >= MASTERY_STREAK


# ---- predicted completion --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """Gamma(alpha, beta) over lessons per day, fitted on the cohort (method of moments)."""

    alpha: float
    beta: float


WEAK_PRIOR = Prior(alpha=1.0, beta=7.0)  # no cohort yet: one lesson a week, worth one lesson of evidence


def cohort_prior(*, n: int, rate_sum: float, rate_sq_sum: float) -> Prior:
    """The cohort's pace as a Gamma prior: mean m and variance v of the learners' lessons per day give
    alpha = m²/v and beta = m/v. Fewer than two learners, or no spread, gives WEAK_PRIOR."""
    if n < 2 or rate_sum <= 0:
        return WEAK_PRIOR
    mean = rate_sum / n
    var = (rate_sq_sum - n * mean * mean) / (n - 1)
    if var <= 1e-12:
        return WEAK_PRIOR
    return Prior(alpha=mean * mean / var, beta=mean / var)


@dataclass(frozen=True)
class Prediction:
    days: float  # from now to the expected finish
    low: float  # the interval, in days from now
    high: float
    rate: float  # the shrunk pace, lessons per day

    def dates(self, now: datetime) -> tuple[datetime, datetime, datetime]:
        return now + timedelta(days=self.days), now + timedelta(days=self.low), now + timedelta(days=self.high)


def predicted_completion(*, remaining: int, lessons_done: int, days_elapsed: float, prior: Prior,
                         seed: int = 0, interval: bool = True) -> Prediction | None:
    """Finish date from the learner's own pace shrunk toward the cohort's (a Gamma-Poisson model).

    Lessons arrive as a Poisson process with rate λ; λ ~ Gamma(α, β) from the cohort. After n lessons in
    t days the posterior is Gamma(α + n, β + t), whose mean (α + n)/(β + t) is the shrinkage estimate of the
    pace: a new learner moves with the cohort, a long record with themselves. The point estimate is
    remaining / that pace; the interval is the 10th and 90th percentile of the time to `remaining` more
    lessons under the posterior predictive (T = G_R / λ, drawn DRAWS times with a fixed seed); with
    interval=False (a group's median needs only the points) low and high are the point."""
    if remaining < 0 or days_elapsed < 0:
        return None
    a, b = prior.alpha + lessons_done, prior.beta + max(days_elapsed, 1.0)
    rate = a / b
    if remaining == 0:
        return Prediction(days=0.0, low=0.0, high=0.0, rate=rate)
    if not interval:
        return Prediction(days=remaining / rate, low=remaining / rate, high=remaining / rate, rate=rate)
    rng = np.random.default_rng(seed)
    times = rng.gamma(remaining, 1.0, DRAWS) / (rng.gamma(a, 1.0, DRAWS) / b)
    low, high = np.quantile(times, INTERVAL)
    return Prediction(days=remaining / rate, low=float(low), high=float(high), rate=rate)


# ---- skill decay risk ------------------------------------------------------------------------------------


# FSRS's forgetting curve, R = (1 + FACTOR · days / stability) ^ DECAY over whole days since the last
# practice, with the scheduler's own parameters: the same number as Scheduler.get_card_retrievability
# (tests/test_analytics_metrics.py checks it), as a formula the organisation dashboard also runs in SQL.
FSRS_DECAY = -float(SCHEDULER.parameters[20])
FSRS_FACTOR = 0.9 ** (1 / FSRS_DECAY) - 1


def retrievability(*, stability: float, last_at: datetime, now: datetime) -> float:
    """FSRS's predicted recall of a skill now, from its memory state after the last practice."""
    days = max(0, (now.astimezone(UTC) - last_at.astimezone(UTC)).days)
    return float((1 + FSRS_FACTOR * days / stability) ** FSRS_DECAY)


def decay_risk(*, stability: float | None, last_at: datetime | None, now: datetime) -> float | None:
    """1 − retrievability: the chance the learner has forgotten the skill by now (None: never graded)."""
    if stability is None or last_at is None:
        return None
    return 1 - retrievability(stability=stability, last_at=last_at, now=now)


def skill_decay_risk(skills: Iterable[SkillLike], *, now: datetime) -> float | None:
    """In percent: the mean decay risk over the skills the learner has mastered (over every skill practised
    while none is mastered yet). Days since practice and the skill's volatility (FSRS stability) both
    enter through retrievability."""
    records = [s for s in skills if s.stability is not None and s.last_at is not None]
    chosen = [s for s in records if s.mastered] or records
    risks = [r for s in chosen if (r := decay_risk(stability=s.stability, last_at=s.last_at, now=now)) is not None]
    return 100 * sum(risks) / len(risks) if risks else None


def finite(value: float | None, digits: int = 2) -> float | None:
    """Rounded for the JSON body; None stays None, and NaN or infinity become None."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)
