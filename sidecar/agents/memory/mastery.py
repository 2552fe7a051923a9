"""Skill mastery by Bayesian knowledge tracing (BKT; Corbett & Anderson, 1995).

Each skill is a hidden known/unknown state. After every graded observation the estimate is the
posterior given the result, then the learner may learn (p_transit). Parameters are the usual
textbook defaults rather than fitted ones: with few observations per learner, fitted values add
noise, and these are easy to explain to authors and learners.

    p(known | correct) = p(1 - slip) / (p(1 - slip) + (1 - p) guess)
    p(known | wrong)   = p slip / (p slip + (1 - p)(1 - guess))
    p_next             = p' + (1 - p') transit
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BktParams:
    p_init: float = 0.2  # before any evidence
    p_transit: float = 0.15  # chance of learning the skill at each practice opportunity
    p_slip: float = 0.1  # knows it, still gets it wrong
    p_guess: float = 0.2  # does not know it, still gets it right (multiple choice: higher)


DEFAULT = BktParams()
MULTIPLE_CHOICE = BktParams(p_guess=0.3)
# The onboarding check showed the skill: start high rather than at p_init.
SHOWN_IN_SKILL_CHECK = 0.8
MASTERED = 0.85  # estimate from which a skill counts as mastered (adaptive depth, mentor)
STRUGGLING = 0.35


def update(p_known: float, correct: bool, params: BktParams = DEFAULT) -> float:
    """The estimate after one graded observation."""
    p = min(max(p_known, 0.001), 0.999)
    if correct:
        evidence = p * (1 - params.p_slip)
        posterior = evidence / (evidence + (1 - p) * params.p_guess)
    else:
        evidence = p * params.p_slip
        posterior = evidence / (evidence + (1 - p) * (1 - params.p_guess))
    return posterior + (1 - posterior) * params.p_transit


def predicted_correct(p_known: float, params: BktParams = DEFAULT) -> float:
    """Probability of a correct answer on the next item: used to pick items near 50-70 % success."""
    return p_known * (1 - params.p_slip) + (1 - p_known) * params.p_guess


def level(p_known: float) -> str:
    if p_known >= MASTERED:
        return "mastered"
    if p_known <= STRUGGLING:
        return "struggling"
    return "learning"
