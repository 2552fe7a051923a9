"""The answer-leak detector on MRBench V2's MathDial part (bench/data/mrbench, CC BY-SA 4.0).

A regression guard for the issue's target: recall at least 0.95 with clearly better precision than
the naive "final number appears" anchor (precision 0.50, recall 0.97). bench/bench_mrbench.py
prints the full report.
"""

from __future__ import annotations

import json

from bench.bench_mrbench import DEFAULT_PATH, REVEALS, confusion, detector, naive, rows


def test_detector_beats_the_naive_anchor_on_mathdial() -> None:
    data = rows(json.loads(DEFAULT_PATH.read_text(encoding="utf-8")), "MathDial")
    assert len(data) > 1000
    positive = lambda label: label == REVEALS  # noqa: E731
    anchor = confusion(naive, data, positive)
    ours = confusion(detector, data, positive)
    assert round(anchor[0], 2) == 0.50 and round(anchor[1], 2) == 0.97  # we read the labels as published
    assert ours[1] >= 0.95, ours
    assert ours[0] >= 0.80, ours
    assert ours[2] > anchor[2] + 0.15, (ours, anchor)
