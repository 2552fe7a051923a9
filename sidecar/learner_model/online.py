"""The fitted model one learner at a time: what the tutor and the Assessor keep per learner and skill.

A learner's state is, per skill, the attempts n and the decayed successes x (x <- d x + y); the
overall sums follow from them. The database keeps per skill only the estimate
(`skill_mastery.p_known`, the model's P(correct) on the next attempt) and n (`observations`). x is
read back by solving the model for it: every logit is linear in the x's (its own skill's, and their
sum through the overall rate), so the stored estimates give a linear system with a closed-form
solution (Sherman-Morrison), exact as long as every row of a learner was written with the same
parameters and the same overall rate. `Tracker.estimates()` therefore gives every skill's estimate
after each observation (the overall rate moves them all), and the caller rewrites them all. Rows
written under other parameters (the BKT estimates of earlier releases, or a new
`LEARNER_MODEL_PARAMS`) read back as the nearest state the model allows, clipped to 0..A(n).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from sidecar.learner_model.model import Params, decayed_attempts

DEFAULTS = Path(__file__).with_name("defaults.json")


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Params:
    return Params.load(Path(path))


def params(path: Path | None = None) -> Params:
    """The parameters in `path` (a file written by `drona learner-model fit`), else the bundled defaults."""
    target = path or DEFAULTS
    return _load(str(target), target.stat().st_mtime)


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


class Tracker:
    """One learner's state per skill, (attempts n, decayed successes x), and the model's estimates."""

    def __init__(self, params: Params, state: Mapping[str, tuple[int, float]] | None = None) -> None:
        self.params = params
        self.state: dict[str, tuple[int, float]] = {k: (int(n), float(x)) for k, (n, x) in (state or {}).items()}

    @property
    def counts(self) -> dict[str, int]:
        """Attempts per skill (every skill the learner has an estimate for)."""
        return {skill: n for skill, (n, _) in self.state.items()}

    def _a(self, n: int) -> float:
        return float(decayed_attempts(float(n), self.params.decay))

    def _base(self, skill: str, n: int) -> float:
        """The logit's terms that do not depend on any x."""
        p = self.params
        b, a = p.skills.get(skill, (0.0, 0.0))
        return p.intercept + b + (p.attempts + a) * math.log1p(n) + \
            p.recent * p.skill_smoothing * p.prior_rate / (self._a(n) + p.skill_smoothing)

    def _overall(self) -> tuple[float, float, int]:
        big_x = sum(x for _, x in self.state.values())
        big_a = sum(self._a(n) for n, _ in self.state.values())
        return big_x, big_a, sum(n for n, _ in self.state.values())

    def estimate(self, skill: str) -> float:
        """P(correct) on the skill's next attempt: the mastery estimate (0..1)."""
        p = self.params
        n, x = self.state.get(skill, (0, 0.0))
        big_x, big_a, big_n = self._overall()
        z = (self._base(skill, n) + p.recent * x / (self._a(n) + p.skill_smoothing)
             + p.rate * (big_x + p.smoothing * p.prior_rate) / (big_a + p.smoothing) + p.practice * math.log1p(big_n))
        return 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))

    def estimates(self) -> dict[str, float]:
        return {skill: self.estimate(skill) for skill in self.state}

    def observe(self, skill: str, correct: bool) -> None:
        n, x = self.state.get(skill, (0, 0.0))
        self.state[skill] = (n + 1, self.params.decay * x + (1.0 if correct else 0.0))

    @classmethod
    def recover(cls, params: Params, rows: Mapping[str, tuple[float, int]]) -> Tracker:
        """The state from stored (estimate, attempts) per skill: the inverse of `estimates()`.

        With a_i = w / (A(n_i) + c1) and B = r / (A + c): a_i x_i + B X = t_i, where t_i is the stored
        logit less the terms free of x and X is the sum of the x_i; so X = sum(t_i / a_i) / (1 + B
        sum(1 / a_i)) and x_i = (t_i - B X) / a_i. Skills never attempted have x = 0.
        """
        tracker = cls(params, {skill: (max(int(n), 0), 0.0) for skill, (_, n) in rows.items()})
        _, big_a, big_n = tracker._overall()
        beta = params.rate / (big_a + params.smoothing)
        user = params.rate * params.smoothing * params.prior_rate / (big_a + params.smoothing) + \
            params.practice * math.log1p(big_n)
        tried = {skill: (p, max(int(n), 0)) for skill, (p, n) in rows.items() if int(n) > 0}
        alpha = {skill: params.recent / (tracker._a(n) + params.skill_smoothing) for skill, (_, n) in tried.items()}
        t = {skill: _logit(p) - tracker._base(skill, n) - user for skill, (p, n) in tried.items()}
        denominator = 1.0 + beta * sum(1.0 / a for a in alpha.values()) if alpha else 1.0
        if abs(params.recent) < 1e-9 or denominator <= 1e-9:
            # A model without the recency term: the estimate itself as the success rate.
            solved = {skill: min(max(p, 0.0), 1.0) * tracker._a(n) for skill, (p, n) in tried.items()}
        else:
            big_x = sum(t[s] / alpha[s] for s in tried) / denominator
            solved = {s: (t[s] - beta * big_x) / alpha[s] for s in tried}
        for skill, (_, n) in tried.items():
            tracker.state[skill] = (n, min(max(solved[skill], 0.0), tracker._a(n)))
        return tracker
