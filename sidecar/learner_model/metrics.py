"""AUC, log-loss and RMSE of predicted probabilities against 0/1 outcomes."""

from __future__ import annotations

import numpy as np

from sidecar.learner_model.data import FloatArray

EPS = 1e-15


def auc(y: FloatArray, p: FloatArray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); NaN when only one class occurs."""
    positives = float(np.sum(y == 1))
    negatives = float(y.shape[0]) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranked = p[order]
    ranks = np.empty(p.shape[0], dtype=np.float64)
    # Average ranks over ties.
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]
    ends = np.r_[starts[1:], ranked.shape[0]]
    average = (starts + ends + 1) / 2.0  # 1-based ranks: mean of start+1 .. end
    ranks[order] = np.repeat(average, ends - starts)
    return float((np.sum(ranks[y == 1]) - positives * (positives + 1) / 2) / (positives * negatives))


def log_loss(y: FloatArray, p: FloatArray) -> float:
    q = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))


def rmse(y: FloatArray, p: FloatArray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))
