"""The six metrics of design §10.2 on hand-computed fixtures (docs/analytics.md, "The six metrics")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sidecar.analytics import metrics as m

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_learning_velocity_is_lessons_per_hour_of_learning_time() -> None:
    assert m.learning_velocity(lessons_completed=6, active_s=7200) == 3.0
    assert m.learning_velocity(lessons_completed=0, active_s=1800) == 0.0
    assert m.learning_velocity(lessons_completed=2, active_s=0) is None  # no time measured: nothing to say


def test_knowledge_retention_reads_reviews_first_then_delayed_re_attempts() -> None:
    assert m.knowledge_retention(reviews=8, reviews_correct=6, delayed_attempts=4, delayed_successes=0) == (
        75.0, "reviews")
    assert m.knowledge_retention(reviews=0, reviews_correct=0, delayed_attempts=4, delayed_successes=1) == (
        25.0, "re-attempts")
    assert m.knowledge_retention(reviews=0, reviews_correct=0, delayed_attempts=0, delayed_successes=0) == (
        None, "none")


def test_engagement_is_the_scaled_product_of_sessions_hours_and_interactions() -> None:
    # Half of a steady learner's sessions (6/12), hours (4/8) and interactions (100/200): (1/8)^(1/3) = 1/2.
    assert m.engagement_score(sessions=6, active_s=4 * 3600, interactions=100) == pytest.approx(50.0)
    assert m.engagement_score(sessions=24, active_s=16 * 3600, interactions=400) == pytest.approx(100.0)  # capped
    assert m.engagement_score(sessions=3, active_s=3600, interactions=0) == 0.0  # a product: no interaction, 0
    # 12 sessions, 1 hour of 8, 25 of 200 interactions: (1 × 1/8 × 1/8)^(1/3) = 1/4.
    assert m.engagement_score(sessions=12, active_s=3600, interactions=25) == pytest.approx(25.0)


def test_struggle_index_multiplies_attempts_hints_and_time_per_skill() -> None:
    # 6 attempts for 2 successes = 3 per success; 3 hints in 6 attempts = ×1.5; 600 s per attempt = ×2.
    assert m.skill_struggle(attempts=6, successes=2, hints=3, duration_s=3600) == pytest.approx(9.0)
    assert m.skill_struggle(attempts=6, successes=2, hints=3, duration_s=0) == pytest.approx(4.5)  # no time: ×1
    assert m.skill_struggle(attempts=4, successes=0, hints=0, duration_s=1200) == pytest.approx(4.0)  # 4 per none
    assert m.skill_struggle(attempts=0, successes=0, hints=2, duration_s=0) is None
    skills = [m.SkillRecord("loops", attempts=6, successes=2, hints=3, duration_s=3600),
              m.SkillRecord("strings", attempts=1, successes=1, hints=0, duration_s=300),  # typical: 1.0
              m.SkillRecord("never-tried", attempts=0, successes=0, hints=1)]
    assert m.struggle_index(skills) == pytest.approx(5.0)
    assert m.struggle_index([]) is None


def test_wheel_spinning_is_ten_attempts_without_mastery() -> None:
    assert m.wheel_spinning(attempts=10, mastered=False)
    assert not m.wheel_spinning(attempts=9, mastered=False)
    assert not m.wheel_spinning(attempts=30, mastered=True)
    assert m.mastered_now(streak=3) and not m.mastered_now(streak=2)


def test_the_cohort_prior_is_fitted_by_moments() -> None:
    # Paces 0.5, 1.0 and 1.5 lessons a day: mean 1, sample variance 0.25 → Gamma(4, 4).
    prior = m.cohort_prior(n=3, rate_sum=3.0, rate_sq_sum=0.25 + 1.0 + 2.25)
    assert (prior.alpha, prior.beta) == pytest.approx((4.0, 4.0))
    assert m.cohort_prior(n=1, rate_sum=1.0, rate_sq_sum=1.0) == m.WEAK_PRIOR
    assert m.cohort_prior(n=4, rate_sum=4.0, rate_sq_sum=4.0) == m.WEAK_PRIOR  # no spread


def test_predicted_completion_shrinks_the_learners_pace_toward_the_cohorts() -> None:
    prior = m.Prior(alpha=4.0, beta=4.0)  # the cohort: a lesson a day
    # 6 lessons in 8 days: posterior Gamma(10, 12), pace 10/12; 10 lessons left → 12 days.
    p = m.predicted_completion(remaining=10, lessons_done=6, days_elapsed=8, prior=prior)
    assert p is not None
    assert p.rate == pytest.approx(10 / 12)
    assert p.days == pytest.approx(12.0)
    assert p.low < p.days < p.high
    assert p.low > 5 and p.high < 30  # an 80% interval around 12 days, not a wild one
    # A newcomer moves with the cohort; a long record with themselves.
    newcomer = m.predicted_completion(remaining=10, lessons_done=0, days_elapsed=0, prior=prior)
    veteran = m.predicted_completion(remaining=10, lessons_done=100, days_elapsed=200, prior=prior)
    assert newcomer is not None and veteran is not None
    assert newcomer.rate == pytest.approx(4 / 5)
    assert veteran.rate == pytest.approx(104 / 204)
    assert veteran.high - veteran.low < newcomer.high - newcomer.low  # more evidence, a narrower interval
    done = m.predicted_completion(remaining=0, lessons_done=12, days_elapsed=9, prior=prior)
    assert done is not None and (done.days, done.low, done.high) == (0.0, 0.0, 0.0)
    # The same inputs give the same interval (a fixed seed): the dashboard does not flicker.
    again = m.predicted_completion(remaining=10, lessons_done=6, days_elapsed=8, prior=prior)
    assert again == p


def test_the_interval_covers_the_truth_about_80_percent_of_the_time() -> None:
    """Learners drawn from the prior with their true pace: the 80% interval holds the true finish time in
    about 80% of them."""
    import numpy as np

    rng = np.random.default_rng(7)
    prior, hits, trials = m.Prior(alpha=6.0, beta=6.0), 0, 300
    for seed in range(trials):
        rate = rng.gamma(prior.alpha, 1 / prior.beta)
        days = 10.0
        done = int(rng.poisson(rate * days))
        truth = rng.gamma(8, 1 / rate)  # the time to 8 more lessons
        p = m.predicted_completion(remaining=8, lessons_done=done, days_elapsed=days, prior=prior, seed=seed)
        assert p is not None
        hits += p.low <= truth <= p.high
    assert 0.72 <= hits / trials <= 0.88


def test_skill_decay_risk_is_one_minus_fsrs_retrievability() -> None:
    # FSRS defines stability as the days until recall falls to 90%: at t = S the risk is 0.1.
    assert m.decay_risk(stability=10.0, last_at=NOW - timedelta(days=10), now=NOW) == pytest.approx(0.1)
    assert m.decay_risk(stability=10.0, last_at=NOW, now=NOW) == pytest.approx(0.0)
    assert m.decay_risk(stability=None, last_at=NOW, now=NOW) is None
    later = m.decay_risk(stability=10.0, last_at=NOW - timedelta(days=60), now=NOW)
    volatile = m.decay_risk(stability=1.0, last_at=NOW - timedelta(days=10), now=NOW)  # t/S 10 against 6
    assert later is not None and volatile is not None and later > 0.1 and volatile > later
    skills = [m.SkillRecord("a", 5, 5, mastered=True, stability=10.0, last_at=NOW - timedelta(days=10)),
              m.SkillRecord("b", 5, 5, mastered=True, stability=5.0, last_at=NOW - timedelta(days=5)),
              m.SkillRecord("c", 5, 1, mastered=False, stability=0.5, last_at=NOW - timedelta(days=50))]
    assert m.skill_decay_risk(skills, now=NOW) == pytest.approx(10.0)  # the mastered ones: 0.1 and 0.1
    assert m.skill_decay_risk(skills[2:], now=NOW) == pytest.approx(
        100 * m.decay_risk(stability=0.5, last_at=NOW - timedelta(days=50), now=NOW))  # none mastered: all
    assert m.skill_decay_risk([], now=NOW) is None


def test_retrievability_is_fsrs_own_number() -> None:
    """The closed form (also run in SQL by the organisation dashboard) against fsrs's Scheduler."""
    import fsrs

    from sidecar.review.scheduling import SCHEDULER

    for stability in (0.3, 1.0, 4.2, 10.0, 250.0):
        for elapsed in (timedelta(0), timedelta(hours=23), timedelta(days=1, hours=5), timedelta(days=40)):
            last = NOW - elapsed
            card = fsrs.Card(card_id=1, state=fsrs.State.Review, stability=stability, difficulty=5.0, due=last,
                             last_review=last)
            assert m.retrievability(stability=stability, last_at=last, now=NOW) == pytest.approx(
                SCHEDULER.get_card_retrievability(card, NOW), rel=1e-12)


def test_finite_rounds_and_drops_what_json_cannot_hold() -> None:
    assert m.finite(1.23456) == 1.23
    assert m.finite(float("nan")) is None and m.finite(float("inf")) is None and m.finite(None) is None
