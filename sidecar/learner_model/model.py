"""The fitted learner model: a logistic knowledge-tracing model of the PFA/Best-LR family, with recency.

The probability that a learner answers an item on skill k correctly, from what they did before:

    logit p = b0 + b_k                                (how hard the skill is)
            + (a + a_k) log(1 + n)                    (practice on the skill: n prior attempts)
            + w (x + c1 m) / (A(n) + c1)              (recent success on the skill)
            + r (X + c m) / (A + c)                   (the learner's recent success over all skills)
            + q log(1 + N)                            (the learner's overall practice: N prior attempts)

x is the skill's decayed count of successes, x <- d x + y after each attempt (y = 1 when correct),
and A(n) = 1 + d + ... + d^(n-1) the same sum over attempts: their ratio is the success rate on the
skill weighted towards recent attempts (R-PFA; d = 1 gives PFA's plain rate). X and A sum x and A(n)
over the learner's skills. m is the training log's success rate, c1 = 1 and c = 5 pseudo-counts (a
learner with no history has rate m). b_k and a_k are per skill (PFA's difficulty and learning rate),
shrunk to 0 by an L2 penalty, so a rare skill behaves like the average one and a skill never seen
uses the global terms only. The decay d is chosen from a grid by the fit's log-loss.

Every feature is computed online from the learner's earlier rows only, so the model predicts for
learners it never saw: what a tutor needs, and what a held-out test set of users checks. Each
skill's state is one number (x) besides its attempt count, entering the logit linearly, which lets
the tutor store only the estimate and n and read x back exactly (see online.py).

Why this model: logistic models over such counts (PFA, Pavlik et al. 2009; R-PFA, Galyardt and
Goldin 2015; Best-LR, Gervet et al. 2020) beat BKT on public knowledge-tracing logs, fit by a convex
problem (one optimum, no EM restarts), and the learner's overall rate stands for ability without a
per-learner parameter. The fit is Newton's method on the penalised log-loss; the per-skill block of
the Hessian is 2x2 per skill, so each step solves a small global system by its Schur complement:
linear in rows and skills, about a second per million rows and decay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sidecar.learner_model.bkt import opportunity
from sidecar.learner_model.data import FloatArray, IntArray, Log

GLOBALS = ("intercept", "attempts", "recent", "rate", "practice")
KIND = "r-pfa-online"
DECAYS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class Params:
    intercept: float = 0.0  # b0
    attempts: float = 0.0  # a: log(1 + prior attempts on the skill)
    recent: float = 0.0  # w: the skill's recency-weighted success rate
    rate: float = 0.0  # r: the learner's recency-weighted success rate over all skills
    practice: float = 0.0  # q: log(1 + the learner's prior attempts overall)
    decay: float = 0.8  # d
    prior_rate: float = 0.5  # m
    smoothing: float = 5.0  # c
    skill_smoothing: float = 1.0  # c1
    skills: dict[str, tuple[float, float]] = field(default_factory=dict)  # skill -> (b_k, a_k)
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def globals(self) -> FloatArray:
        return np.array([self.intercept, self.attempts, self.recent, self.rate, self.practice])

    def to_json(self) -> dict[str, Any]:
        weights = {name: float(v) for name, v in zip(GLOBALS, self.globals(), strict=True)}
        return {"model": KIND, "version": 1, **weights, "decay": self.decay, "prior_rate": self.prior_rate,
                "smoothing": self.smoothing, "skill_smoothing": self.skill_smoothing, "fitted_on": self.fitted_on,
                "skills": {skill: {"intercept": b, "attempts": a} for skill, (b, a) in sorted(self.skills.items())}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Params:
        if data.get("model") != KIND:
            raise ValueError(f"not a learner-model parameter file (model is {data.get('model')!r}, "
                             f"expected {KIND!r})")
        skills = {str(s): (float(v["intercept"]), float(v["attempts"])) for s, v in data.get("skills", {}).items()}
        return cls(**{name: float(data[name]) for name in GLOBALS}, decay=float(data["decay"]),
                   prior_rate=float(data["prior_rate"]), smoothing=float(data["smoothing"]),
                   skill_smoothing=float(data["skill_smoothing"]), skills=skills,
                   fitted_on=dict(data.get("fitted_on", {})))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Params:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def decayed_attempts(n: FloatArray | float, decay: float) -> Any:
    """A(n) = 1 + d + ... + d^(n-1): the decayed count of n attempts."""
    if decay >= 1.0:
        return n
    return (1.0 - np.power(decay, n)) / (1.0 - decay)


@dataclass(frozen=True)
class State:
    """Before each row: attempts n and decayed successes x on its skill; over all skills, N, X and A."""

    n: FloatArray
    x: FloatArray
    big_n: FloatArray
    big_x: FloatArray
    big_a: FloatArray


def state(log: Log, decay: float) -> State:
    groups, n = opportunity(log.users, log.skills)
    y = log.correct
    x = np.zeros(y.shape[0])
    if y.shape[0]:
        # One vectorised step per opportunity index: x <- d x + y in every (learner, skill) at once.
        current = np.zeros(int(groups.max()) + 1)
        order = np.argsort(n, kind="stable")
        bounds = np.searchsorted(n[order], np.arange(int(n.max()) + 2))
        for step in range(int(n.max()) + 1):
            rows = order[bounds[step]:bounds[step + 1]]
            g = groups[rows]
            x[rows] = current[g]
            current[g] = decay * current[g] + y[rows]
    users, big_n = opportunity(log.users, np.zeros_like(log.skills))
    # Each row moves its learner's sums by its skill's change: x by (d - 1) x + y, A by d^n.
    big_x = _prior_sum(users, (decay - 1.0) * x + y)
    big_a = _prior_sum(users, np.power(decay, n.astype(np.float64)))
    return State(n.astype(np.float64), x, big_n.astype(np.float64), big_x, big_a)


def _prior_sum(groups: IntArray, values: FloatArray) -> FloatArray:
    """Sum of `values` over earlier rows of the same group (rows in time order within a group)."""
    order = np.argsort(groups, kind="stable")
    v = values[order]
    total = np.cumsum(v) - v
    start = np.r_[True, groups[order][1:] != groups[order][:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(v.shape[0]), 0))
    out = np.empty_like(v)
    out[order] = total - total[first]
    return out


@dataclass(frozen=True)
class Features:
    """Per row: the global features (rows x 5) and the per-skill slope feature log(1 + n)."""

    glob: FloatArray
    log_attempts: FloatArray


def features(st: State, *, decay: float, prior_rate: float, smoothing: float, skill_smoothing: float) -> Features:
    recent = (st.x + skill_smoothing * prior_rate) / (decayed_attempts(st.n, decay) + skill_smoothing)
    rate = (st.big_x + smoothing * prior_rate) / (st.big_a + smoothing)
    log_n = np.log1p(st.n)
    glob = np.column_stack([np.ones_like(st.n), log_n, recent, rate, np.log1p(st.big_n)])
    return Features(glob, log_n)


def log_features(log: Log, params: Params) -> Features:
    return features(state(log, params.decay), decay=params.decay, prior_rate=params.prior_rate,
                    smoothing=params.smoothing, skill_smoothing=params.skill_smoothing)


def sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def _loss(y: FloatArray, z: FloatArray) -> float:
    # log(1 + e^z) - y z, stable
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


@dataclass(frozen=True)
class _Fit:
    weights: FloatArray
    per_skill: FloatArray
    objective: float
    iterations: int


def _newton(y: FloatArray, x: FloatArray, f1: FloatArray, k: IntArray, n_skills: int, *, l2_skill: float,
            l2_global: float, start: float, max_iter: int, tol: float) -> _Fit:
    """Minimise log-loss + l2/2 |theta|^2 over global weights g and per-skill (b_k, a_k) by Newton's method."""
    g = np.zeros(x.shape[1])
    g[0] = start
    theta = np.zeros((n_skills, 2))

    def logits(g: FloatArray, theta: FloatArray) -> FloatArray:
        return np.asarray(x @ g + theta[k, 0] + theta[k, 1] * f1, dtype=np.float64)

    def objective(g: FloatArray, theta: FloatArray) -> float:
        return _loss(y, logits(g, theta)) + 0.5 * l2_global * float(g @ g) + 0.5 * l2_skill * float(np.sum(theta ** 2))

    current = objective(g, theta)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        p = sigmoid(logits(g, theta))
        r = p - y
        w = np.maximum(p * (1 - p), 1e-12)
        grad_g = x.T @ r + l2_global * g
        grad_k = np.column_stack([np.bincount(k, r, n_skills), np.bincount(k, r * f1, n_skills)]) + l2_skill * theta
        a = (x * w[:, None]).T @ x + l2_global * np.eye(x.shape[1])
        b = np.empty((n_skills, 2, x.shape[1]))
        for j, fj in enumerate((np.ones_like(f1), f1)):
            for col in range(x.shape[1]):
                b[:, j, col] = np.bincount(k, w * fj * x[:, col], n_skills)
        d = np.empty((n_skills, 2, 2))
        d[:, 0, 0] = np.bincount(k, w, n_skills) + l2_skill
        d[:, 0, 1] = d[:, 1, 0] = np.bincount(k, w * f1, n_skills)
        d[:, 1, 1] = np.bincount(k, w * f1 * f1, n_skills) + l2_skill
        d_inv = np.linalg.inv(d)
        schur = a - np.einsum("kjg,kjl,klh->gh", b, d_inv, b)
        rhs = grad_g - np.einsum("kjg,kjl,kl->g", b, d_inv, grad_k)
        step_g = np.linalg.solve(schur, rhs)
        step_k = np.einsum("kjl,kl->kj", d_inv, grad_k - np.einsum("kjg,g->kj", b, step_g))
        scale = 1.0
        while True:  # backtracking: Newton's full step, halved until the objective does not rise
            g_new, theta_new = g - scale * step_g, theta - scale * step_k
            value = objective(g_new, theta_new)
            if value <= current + 1e-12 * abs(current) or scale < 1e-6:
                break
            scale /= 2
        g, theta = g_new, theta_new
        improvement, current = current - value, value
        size = max(float(np.max(np.abs(step_g))), float(np.max(np.abs(step_k), initial=0.0))) * scale
        if size < tol or improvement < tol * 1e-3:
            break
    return _Fit(g, theta, current, iterations)


def fit(log: Log, *, decay: float | None = None, prior_rate: float | None = None, l2_skill: float = 1.0,
        l2_global: float = 1e-3, smoothing: float = 5.0, skill_smoothing: float = 1.0, max_iter: int = 50,
        tol: float = 1e-7) -> Params:
    """Fit the weights by Newton's method for each decay of DECAYS (or the one given); keep the best.

    The smoothing prior m is the log's success rate unless given (the hyperparameters d, m, c, c1 are
    not weights: a fit with another m finds other intercepts for the same predictions)."""
    y = log.correct
    if y.shape[0] == 0:
        raise ValueError("cannot fit a model on an empty log")
    prior_rate = float(np.clip(y.mean(), 0.01, 0.99)) if prior_rate is None else prior_rate
    n_skills = len(log.skill_ids)
    best: tuple[float, _Fit] | None = None
    losses: dict[str, float] = {}
    for d in (decay,) if decay is not None else DECAYS:
        feats = features(state(log, d), decay=d, prior_rate=prior_rate, smoothing=smoothing,
                         skill_smoothing=skill_smoothing)
        result = _newton(y, feats.glob, feats.log_attempts, log.skills, n_skills, l2_skill=l2_skill,
                         l2_global=l2_global, start=float(np.log(prior_rate / (1 - prior_rate))), max_iter=max_iter,
                         tol=tol)
        losses[str(d)] = result.objective / len(log)
        if best is None or result.objective < best[1].objective:
            best = (d, result)
    assert best is not None
    chosen, result = best
    seen = np.bincount(log.skills, minlength=n_skills) > 0
    skills = {name: (float(result.per_skill[i, 0]), float(result.per_skill[i, 1]))
              for i, name in enumerate(log.skill_ids) if seen[i]}
    intercept, attempts, recent, rate, practice = (float(v) for v in result.weights)
    return Params(intercept, attempts, recent, rate, practice, decay=chosen, prior_rate=prior_rate,
                  smoothing=smoothing, skill_smoothing=skill_smoothing, skills=skills,
                  fitted_on={"rows": len(log), "learners": len(log.user_ids), "skills": len(skills),
                             "iterations": result.iterations, "l2_skill": l2_skill,
                             "log_loss_by_decay": losses})


def predict_features(params: Params, feats: Features, skill_names: list[str], skills: IntArray) -> FloatArray:
    per_skill = np.array([params.skills.get(name, (0.0, 0.0)) for name in skill_names], dtype=np.float64)
    per_skill = per_skill.reshape(len(skill_names), 2)
    z = feats.glob @ params.globals() + per_skill[skills, 0] + per_skill[skills, 1] * feats.log_attempts
    return sigmoid(np.asarray(z, dtype=np.float64))


def predict(params: Params, log: Log) -> FloatArray:
    """P(correct) before each row of `log`, from the learner's earlier rows in it."""
    return predict_features(params, log_features(log, params), log.skill_ids, log.skills)
