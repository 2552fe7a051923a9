"""Simulated learners with known parameters, for tests, the benchmark and the bundled defaults.

`from_model` draws answers from the fitted model itself (so a fit must recover its parameters);
`from_bkt` draws them from BKT with per-skill parameters and per-learner ability, closer to how
learners behave on the platform: each learner works through the skills roughly in order, a few
attempts each (more when they fail), skills interleaved the way lessons revisit earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidecar.learner_model.data import Log, from_rows
from sidecar.learner_model.model import Params, decayed_attempts, sigmoid

DAY = 86400.0


def _schedule(rng: np.random.Generator, n_users: int, n_skills: int, attempts: int,
              curricular: bool = True) -> np.ndarray:
    """Per learner, the skill of each step: every skill `attempts` times, in a roughly curricular order
    (or a random one, which keeps a skill's place apart from the learner's overall practice)."""
    base = np.repeat(np.arange(n_skills), attempts).astype(np.float64)
    jitter = rng.normal(0.0, 2.0 if curricular else 1e6, size=(n_users, base.shape[0]))
    return np.asarray(np.argsort(base[None, :] + jitter, axis=1, kind="stable") // attempts, dtype=np.int64)


def _log(users: np.ndarray, skills: np.ndarray, correct: np.ndarray, prefix: str, start: float) -> Log:
    steps = users.shape[1] if users.ndim == 2 else 0
    rows = []
    for u in range(skills.shape[0]):
        for t in range(steps):
            rows.append((f"{prefix}{u}", f"skill{skills[u, t]}", bool(correct[u, t]), start + u * DAY + t * 60.0))
    return from_rows(rows)


def from_model(params: Params, *, n_users: int, n_skills: int, attempts: int, seed: int = 0,
               user_prefix: str = "u", start: float = 1.7e9, curricular: bool = True) -> Log:
    """Learners answering as `params` predicts (skills named skill0, skill1, ... as in params.skills)."""
    rng = np.random.default_rng(seed)
    schedule = _schedule(rng, n_users, n_skills, attempts, curricular)
    per_skill = np.array([params.skills.get(f"skill{k}", (0.0, 0.0)) for k in range(n_skills)]).reshape(n_skills, 2)
    n = np.zeros((n_users, n_skills))
    x = np.zeros((n_users, n_skills))
    big_n = np.zeros(n_users)
    big_x = np.zeros(n_users)
    big_a = np.zeros(n_users)
    correct = np.zeros(schedule.shape)
    rows = np.arange(n_users)
    g = params.globals()
    for t in range(schedule.shape[1]):
        k = schedule[:, t]
        nk, xk = n[rows, k], x[rows, k]
        recent = (xk + params.skill_smoothing * params.prior_rate) / \
            (decayed_attempts(nk, params.decay) + params.skill_smoothing)
        rate = (big_x + params.smoothing * params.prior_rate) / (big_a + params.smoothing)
        z = (g[0] + per_skill[k, 0] + (g[1] + per_skill[k, 1]) * np.log1p(nk) + g[2] * recent + g[3] * rate
             + g[4] * np.log1p(big_n))
        y = (rng.random(n_users) < sigmoid(z)).astype(np.float64)
        correct[:, t] = y
        big_x += (params.decay - 1.0) * xk + y
        big_a += np.power(params.decay, nk)
        x[rows, k] = params.decay * xk + y
        n[rows, k] += 1
        big_n += 1
    return _log(np.broadcast_to(rows[:, None], schedule.shape), schedule, correct, user_prefix, start)


@dataclass(frozen=True)
class BktWorld:
    """Per-skill BKT parameters and the spread of learner ability (a logit shift of p_init and p_transit)."""

    p_init: np.ndarray
    p_transit: np.ndarray
    p_slip: np.ndarray
    p_guess: np.ndarray
    ability_sd: float


def bkt_world(n_skills: int, seed: int = 0, ability_sd: float = 1.0) -> BktWorld:
    rng = np.random.default_rng(seed + 1_000_003)
    return BktWorld(p_init=rng.uniform(0.05, 0.6, n_skills), p_transit=rng.uniform(0.05, 0.35, n_skills),
                    p_slip=rng.uniform(0.05, 0.2, n_skills), p_guess=rng.uniform(0.1, 0.35, n_skills),
                    ability_sd=ability_sd)


def from_bkt(world: BktWorld, *, n_users: int, attempts: int, seed: int = 0, user_prefix: str = "u",
             start: float = 1.7e9) -> Log:
    """Learners with hidden known/unknown states per skill, abler learners starting and learning faster."""
    rng = np.random.default_rng(seed)
    n_skills = world.p_init.shape[0]
    schedule = _schedule(rng, n_users, n_skills, attempts)
    ability = rng.normal(0.0, world.ability_sd, n_users)

    def shifted(p: np.ndarray) -> np.ndarray:
        return np.asarray(sigmoid(np.log(p / (1 - p))[None, :] + ability[:, None]), dtype=np.float64)

    p_init, p_transit = shifted(world.p_init), shifted(world.p_transit)
    known = rng.random((n_users, n_skills)) < p_init
    correct = np.zeros(schedule.shape)
    rows = np.arange(n_users)
    for t in range(schedule.shape[1]):
        k = schedule[:, t]
        knows = known[rows, k]
        p = np.where(knows, 1 - world.p_slip[k], world.p_guess[k])
        correct[:, t] = rng.random(n_users) < p
        learns = rng.random(n_users) < p_transit[rows, k]
        known[rows, k] = knows | learns
    return _log(np.broadcast_to(rows[:, None], schedule.shape), schedule, correct, user_prefix, start)


def platform_defaults(seed: int = 17) -> Params:
    """The bundled defaults (defaults.json): fitted on 3,000 simulated learners x 40 skills x 4 attempts
    from `from_bkt`, keeping only the global terms (the platform's own skills are not the simulated ones)."""
    from dataclasses import replace

    from sidecar.learner_model.model import fit

    world = bkt_world(40, seed=seed)
    fitted = fit(from_bkt(world, n_users=3000, attempts=4, seed=seed))
    return replace(fitted, skills={}, fitted_on={**fitted.fitted_on, "skills": 0,
                                                 "source": "sidecar.learner_model.generate.platform_defaults"})
