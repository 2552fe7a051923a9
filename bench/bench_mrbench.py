"""The tutor's answer-leak detector on MRBench V2: precision, recall and F1 on the MathDial part.

Data: MRBench V2 from "Unifying AI Tutor Evaluation: An Evaluation Taxonomy for Pedagogical Ability
Assessment of LLM-Powered AI Tutors" (Maurya, Srivatsa, Petricek, Kochmar; NAACL 2025), repository
kaushal0494/UnifyingAITutorEvaluation, licence CC BY-SA 4.0. MRBench builds on MathDial
(eth-nlped/mathdial) and Bridge (rosewang2008/bridge). Read from bench/data/mrbench/ (an unmodified
copy, with its attribution beside it).

Each dialogue has a conversation history, a ground-truth solution (MathDial: worked steps, the
final number alone on the last line) and replies from several tutors, each annotated with
Revealing_of_the_Answer = "Yes (and the answer is correct)" / "Yes (but the answer is incorrect)"
/ "No". A reply counts as leaking when it is "Yes (and the answer is correct)": the guard protects
the correct answer, and this reading reproduces the published anchor (a naive "the final number
appears in the reply" rule: precision 0.50, recall 0.97 on MathDial). The other reading (any "Yes")
is printed too.

The detector is sidecar.agents.guard.check_answer_leak, given the reply, the final number and the
conversation history as context. Its rules (see sidecar/agents/guard/answer.py) were written after
reading the anchor's mistakes on this same MathDial set, which is all in MRBench's test split, so
the numbers are in-sample; the two halves below (dialogues alternately assigned) show how much
they move. Bridge has no ground-truth solution, so only its labels are counted.

Run: .venv/bin/python bench/bench_mrbench.py [--path MRBench_V2.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sidecar.agents.guard import check_answer_leak, check_code_leak  # noqa: E402
from sidecar.agents.guard.answer import numbers_in, parse_number  # noqa: E402
from sidecar.courseware.leaks import _solution_index  # noqa: E402
from sidecar.settings import REPO_ROOT  # noqa: E402

# A copy with its attribution lives in bench/data/mrbench/ (CC BY-SA 4.0), so a clean clone has it.
DEFAULT_PATH = REPO_ROOT / "bench" / "data" / "mrbench" / "MRBench_V2.json"
REVEALS = "Yes (and the answer is correct)"

Row = tuple[str, str, str, str, str]  # dialogue id, reply, history, final answer, label


def rows(data: list[dict[str, Any]], part: str) -> list[Row]:
    out: list[Row] = []
    for dialogue in data:
        if dialogue["Data"] != part:
            continue
        final = dialogue["Ground_Truth_Solution"].strip().splitlines()[-1].strip()
        for tutor in dialogue["anno_llm_responses"].values():
            label = tutor["annotation"]["Revealing_of_the_Answer"]
            out.append((dialogue["conversation_id"], tutor["response"], dialogue["conversation_history"], final, label))
    return out


def naive(reply: str, history: str, final: str) -> bool:
    """The anchor: the final number appears in the reply (by value, so 2,000 matches 2000)."""
    value = parse_number(final)
    return value is not None and value in numbers_in(reply)


def detector(reply: str, history: str, final: str) -> bool:
    return check_answer_leak(reply, [final], context=history).leaked


def counts(predict: Callable[[str, str, str], bool], data: Iterable[Row],
           positive: Callable[[str], bool]) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of `predict` against the labels."""
    tp = fp = fn = 0
    for _, reply, history, final, label in data:
        predicted, actual = predict(reply, history, final), positive(label)
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return tp, fp, fn


def rates(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def confusion(predict: Callable[[str, str, str], bool], data: Iterable[Row],
              positive: Callable[[str], bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of `predict` against the labels."""
    return rates(*counts(predict, data, positive))


def scores(predict: Callable[[str, str, str], bool], data: Iterable[Row], positive: Callable[[str], bool]) -> str:
    tp, fp, fn = counts(predict, data, positive)
    precision, recall, f1 = rates(tp, fp, fn)
    return f"precision {precision:.2f}  recall {recall:.2f}  F1 {f1:.2f}  (tp {tp}, fp {fp}, fn {fn})"


def latency_ms(call: Callable[[], object], runs: int = 300) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def answer_latency(part_rows: list[Row]) -> tuple[float, float]:
    """check_answer_leak over the benchmark's own replies, in turn."""
    turn = iter(range(10**9))

    def call() -> object:
        _, reply, history, final, _ = part_rows[next(turn) % len(part_rows)]
        return detector(reply, history, final)

    return latency_ms(call, runs=len(part_rows))


def code_latency(cold: bool) -> tuple[float, float]:
    """check_code_leak on the demo's longest solution (guessing game, 22 lines) against a Socratic
    reply and against the solution itself, alternately. Warm: the solution's analysis is cached, as
    it is for every reply after the first on an exercise; cold: the cache is emptied each call."""
    import yaml

    path = REPO_ROOT / "content/tracks/python-developer/python-basics/functions/exercises/guessing-game.yaml"
    exercise = yaml.safe_load(path.read_text())
    solution, starter = exercise["solution"], exercise["starter"]
    replies = [
        "Good start! Your `check_guess` compares the numbers. What should happen when `guess` equals "
        "`secret`? And which loop keeps going until something becomes true?\n\n```python\nresult = ''\n```",
        f"Here is one way:\n\n```python\n{solution}```\n",
    ]
    turn = iter(range(10**9))

    def call() -> object:
        if cold:
            _solution_index.cache_clear()
        return check_code_leak(replies[next(turn) % 2], solution, starter=starter)

    return latency_ms(call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args()
    data = json.loads(args.path.read_text())
    print(f"MRBench V2 (Maurya et al., NAACL 2025; CC BY-SA 4.0; from MathDial and Bridge): {len(data)} dialogues")

    for part in ("MathDial", "Bridge"):
        part_rows = rows(data, part)
        labels = Counter(label for *_, label in part_rows)
        dialogues = sum(d["Data"] == part for d in data)
        print(f"\n{part}: {dialogues} dialogues, {len(part_rows)} tutor responses; Revealing_of_the_Answer: "
              + ", ".join(f"{label!r} {n}" for label, n in labels.most_common()))
        if part != "MathDial":
            print("  no ground-truth solution (\"Not Available\"), so there is no final answer to look for: not scored")
            continue
        reveals = [lambda label: label == REVEALS, lambda label: label.startswith("Yes")]
        for name, positive in zip(("reveals the correct answer (used)", "any \"Yes\""), reveals, strict=True):
            print(f"  positives = {name}: {sum(positive(label) for label in labels.elements())}")
            print(f"    naive anchor (final number appears): {scores(naive, part_rows, positive)}")
            print(f"    guard.check_answer_leak            : {scores(detector, part_rows, positive)}")
        ids = sorted({row[0] for row in part_rows})
        for half in (0, 1):
            chosen = set(ids[half::2])
            subset = [row for row in part_rows if row[0] in chosen]
            print(f"  half {half + 1} ({len(chosen)} dialogues): anchor "
                  f"{scores(naive, subset, reveals[0]).split('  (')[0]} | guard {scores(detector, subset, reveals[0])}")
        p50, p95 = answer_latency(part_rows)
        print(f"  check_answer_leak latency per call: p50 {p50:.3f} ms, p95 {p95:.3f} ms")

    print()
    for cold in (False, True):
        p50, p95 = code_latency(cold)
        print(f"check_code_leak latency per call (22-line solution, {'cold' if cold else 'warm'}): "
              f"p50 {p50:.3f} ms, p95 {p95:.3f} ms")


if __name__ == "__main__":
    main()
