"""The three models side by side on a train/test split: fitted model, constant baseline, today's BKT.

Test rows are predicted from the learner's earlier rows only: the train rows before them (when the
learner is in both files) and the test rows before them. A learner seen only in the test file starts
from nothing, as a new learner does; a skill not in the training file uses the global terms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from sidecar.learner_model import bkt, metrics, model
from sidecar.learner_model.data import Log

NAMES = {"model": "learner model (fitted)", "constant": "constant (training mean)",
         "bkt": "BKT, textbook parameters (today)"}


@dataclass(frozen=True)
class Score:
    model: str
    label: str
    auc: float
    log_loss: float
    rmse: float


@dataclass(frozen=True)
class Evaluation:
    train_rows: int
    test_rows: int
    scores: list[Score]
    params: model.Params

    def to_json(self) -> dict[str, object]:
        # JSON has no NaN: an AUC on a test set with one class only is null.
        scores = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(s).items()}
                  for s in self.scores]
        return {"train_rows": self.train_rows, "test_rows": self.test_rows, "scores": scores,
                "params": self.params.to_json()}


def _combined(train: Log, test: Log) -> tuple[Log, npt.NDArray[np.bool_]]:
    """Test rows with the same learners' train rows in front of them (by time); a mask of the test rows."""
    users = {u: i for i, u in enumerate(test.user_ids)}
    skills = {k: i for i, k in enumerate(test.skill_ids)}
    for name in train.skill_ids:
        skills.setdefault(name, len(skills))
    train_user = np.array([users.get(u, -1) for u in train.user_ids], dtype=np.int64)[train.users]
    train_skill = np.array([skills[k] for k in train.skill_ids], dtype=np.int64)[train.skills]
    keep = train_user >= 0
    u = np.concatenate([train_user[keep], test.users])
    k = np.concatenate([train_skill[keep], test.skills])
    y = np.concatenate([train.correct[keep], test.correct])
    t = np.concatenate([train.times[keep], test.times])
    flag = np.concatenate([np.zeros(int(keep.sum()), dtype=np.int64), np.ones(len(test), dtype=np.int64)])
    order = np.lexsort((flag, t, u))  # by learner, time, train rows first; stable otherwise
    log = Log(u[order], k[order], y[order], t[order], list(test.user_ids), list(skills))
    return log, flag[order] == 1


def evaluate(train: Log, test: Log, *, l2_skill: float = 1.0) -> Evaluation:
    params = model.fit(train, l2_skill=l2_skill)
    both, mask = _combined(train, test)
    y = both.correct[mask]
    predictions = {"model": model.predict(params, both)[mask],
                   "constant": np.full(int(mask.sum()), float(train.correct.mean())),
                   "bkt": bkt.predict_log(both)[mask]}
    scores = [Score(name, NAMES[name], metrics.auc(y, p), metrics.log_loss(y, p), metrics.rmse(y, p))
              for name, p in predictions.items()]
    return Evaluation(len(train), int(mask.sum()), scores, params)


def table(scores: list[Score]) -> str:
    width = max(len(s.label) for s in scores)
    lines = [f"{'model':<{width}}  {'AUC':>7}  {'log-loss':>8}  {'RMSE':>7}"]
    lines += [f"{s.label:<{width}}  {s.auc:7.4f}  {s.log_loss:8.4f}  {s.rmse:7.4f}" for s in scores]
    return "\n".join(lines)
