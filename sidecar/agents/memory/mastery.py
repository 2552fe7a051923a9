"""Skill mastery: the thresholds read on the learner model's estimates, and textbook BKT for comparison.

The estimate per learner and skill is the fitted learner model's probability of a correct answer on
the skill's next attempt (sidecar/learner_model; docs/analytics.md, "Learner model"), kept in
`skill_mastery` by sidecar/agents/memory/state.py. It replaced Bayesian knowledge tracing with
textbook parameters, which scored lower on every log it was checked on (`drona learner-model
evaluate` prints both); BKT stays importable here for that comparison and for old callers.
"""

from __future__ import annotations

from sidecar.learner_model.bkt import BktParams, predicted_correct, update

__all__ = ["DEFAULT", "MASTERED", "MULTIPLE_CHOICE", "SHOWN_IN_SKILL_CHECK", "STRUGGLING", "BktParams", "level",
           "predicted_correct", "update"]

DEFAULT = BktParams()
MULTIPLE_CHOICE = BktParams(p_guess=0.3)
# The onboarding check showed the skill: start high rather than at p_init.
SHOWN_IN_SKILL_CHECK = 0.8
MASTERED = 0.85  # estimate from which a skill counts as mastered (adaptive depth, mentor)
STRUGGLING = 0.35


def level(p_known: float) -> str:
    if p_known >= MASTERED:
        return "mastered"
    if p_known <= STRUGGLING:
        return "struggling"
    return "learning"
