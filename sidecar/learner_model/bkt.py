"""Bayesian knowledge tracing (BKT; Corbett & Anderson, 1995) with textbook parameters.

Each skill is a hidden known/unknown state. After every graded observation the estimate is the
posterior given the result, then the learner may learn (p_transit):

    p(known | correct) = p(1 - slip) / (p(1 - slip) + (1 - p) guess)
    p(known | wrong)   = p slip / (p slip + (1 - p)(1 - guess))
    p_next             = p' + (1 - p') transit
    p(correct)         = p (1 - slip) + (1 - p) guess

This was the tutor's model before the fitted one (sidecar/learner_model/model.py); it stays as the
baseline that `drona learner-model evaluate` prints as "the model used today".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidecar.learner_model.data import FloatArray, IntArray, Log


@dataclass(frozen=True)
class BktParams:
    p_init: float = 0.2  # before any evidence
    p_transit: float = 0.15  # chance of learning the skill at each practice opportunity
    p_slip: float = 0.1  # knows it, still gets it wrong
    p_guess: float = 0.2  # does not know it, still gets it right (multiple choice: higher)


TEXTBOOK = BktParams()


def update(p_known: float, correct: bool, params: BktParams = TEXTBOOK) -> float:
    """The estimate after one graded observation."""
    p = min(max(p_known, 0.001), 0.999)
    if correct:
        evidence = p * (1 - params.p_slip)
        posterior = evidence / (evidence + (1 - p) * params.p_guess)
    else:
        evidence = p * params.p_slip
        posterior = evidence / (evidence + (1 - p) * (1 - params.p_guess))
    return posterior + (1 - posterior) * params.p_transit


def predicted_correct(p_known: float, params: BktParams = TEXTBOOK) -> float:
    return p_known * (1 - params.p_slip) + (1 - p_known) * params.p_guess


def opportunity(users: IntArray, skills: IntArray) -> tuple[IntArray, IntArray]:
    """For rows sorted by learner then time: each row's (learner, skill) group and prior attempts in it."""
    key = users * (int(skills.max(initial=0)) + 1) + skills
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    start = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    index = np.arange(sorted_key.shape[0])
    first = np.maximum.accumulate(np.where(start, index, 0))
    group = np.cumsum(start) - 1
    prior = np.empty_like(index)
    prior[order] = index - first
    groups = np.empty_like(index)
    groups[order] = group
    return groups.astype(np.int64), prior.astype(np.int64)


def predict(users: IntArray, skills: IntArray, correct: FloatArray, params: BktParams = TEXTBOOK) -> FloatArray:
    """P(correct) before each row, tracing every (learner, skill) from p_init; vectorised by opportunity."""
    n = correct.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    groups, prior = opportunity(users, skills)
    state = np.full(int(groups.max()) + 1, params.p_init)
    order = np.argsort(prior, kind="stable")
    bounds = np.searchsorted(prior[order], np.arange(int(prior.max()) + 2))
    for step in range(int(prior.max()) + 1):
        rows = order[bounds[step]:bounds[step + 1]]
        g = groups[rows]
        known = state[g]
        out[rows] = known * (1 - params.p_slip) + (1 - known) * params.p_guess
        p = np.clip(known, 0.001, 0.999)
        right = correct[rows] == 1
        evidence_right = p * (1 - params.p_slip)
        evidence_wrong = p * params.p_slip
        posterior = np.where(right, evidence_right / (evidence_right + (1 - p) * params.p_guess),
                             evidence_wrong / (evidence_wrong + (1 - p) * (1 - params.p_guess)))
        state[g] = posterior + (1 - posterior) * params.p_transit
    return out


def predict_log(log: Log, params: BktParams = TEXTBOOK) -> FloatArray:
    return predict(log.users, log.skills, log.correct, params)
