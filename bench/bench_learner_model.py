"""The learner model against a constant and textbook BKT, and FSRS against a constant on real reviews (§10).

Measures, on this machine:
  - on generated learners (default 2,000 learners x 50 skills x 5 attempts, drawn from BKT with
    per-skill parameters and per-learner ability, split by learner 80/20): AUC, log-loss and RMSE of
    the fitted learner model, the constant baseline (training success rate) and BKT with textbook
    parameters (the tutor's model before), plus the fit's time;
  - the same on learners drawn from the model itself (its own ceiling);
  - the command's path at scale: --rows rows (default 1,000,000) written as CSV, then read, checked,
    fitted and scored as `drona learner-model evaluate` does, timed per stage;
  - FSRS (default parameters) replayed on tests/fixtures/fsrs/review_logs_josh.csv (py-fsrs, MIT):
    retrievability before each review a day or more after the card's previous one, against a constant.

Run: .venv/bin/python bench/bench_learner_model.py [--learners 2000] [--skills 50] [--attempts 5] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.learner_model import data, evaluate, fsrs_check, generate, model  # noqa: E402

FSRS_LOG = REPO / "tests" / "fixtures" / "fsrs" / "review_logs_josh.csv"


def split(log: data.Log, test_share: float = 0.2) -> tuple[data.Log, data.Log]:
    """By learner: the last share of learners is the test set (new learners to the model)."""
    cut = int(len(log.user_ids) * (1 - test_share))
    rows = data.rows_of(log)
    test_users = set(log.user_ids[cut:])
    return (data.from_rows(r for r in rows if r[0] not in test_users),
            data.from_rows(r for r in rows if r[0] in test_users))


def report(title: str, train: data.Log, test: data.Log) -> None:
    started = time.perf_counter()
    result = evaluate.evaluate(train, test)
    seconds = time.perf_counter() - started
    print(f"\n{title}: train {len(train):,} rows ({len(train.user_ids):,} learners), "
          f"test {len(test):,} rows ({len(test.user_ids):,} new learners); fit (decay {result.params.decay} "
          f"of {len(model.DECAYS)} tried) and score {seconds:.2f} s")
    print(evaluate.table(result.scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    world = generate.bkt_world(args.skills, seed=1)
    log = generate.from_bkt(world, n_users=args.learners, attempts=args.attempts, seed=2)
    report(f"Generated learners (BKT world, {args.learners:,} x {args.skills} skills x {args.attempts})", *split(log))

    truth = model.Params(intercept=-1.0, attempts=0.2, recent=2.0, rate=1.5, practice=-0.05, decay=0.7, prior_rate=0.6,
                         skills={f"skill{k}": (float(b), 0.0)
                                 for k, b in enumerate(np.linspace(-1.5, 1.5, args.skills))})
    log = generate.from_model(truth, n_users=args.learners, n_skills=args.skills, attempts=args.attempts, seed=3)
    report(f"Generated learners (the model itself, {args.learners:,} x {args.skills} skills x {args.attempts})",
           *split(log))

    per_learner = args.skills * args.attempts
    learners = max(args.rows // per_learner, 10)
    with tempfile.TemporaryDirectory() as folder:
        big = generate.from_bkt(world, n_users=learners, attempts=args.attempts, seed=4)
        train, test = split(big)
        train_csv, test_csv = Path(folder) / "train.csv", Path(folder) / "test.csv"
        data.write_csv(train_csv, data.rows_of(train))
        data.write_csv(test_csv, data.rows_of(test))
        started = time.perf_counter()
        train, test = data.read_csv(train_csv), data.read_csv(test_csv)
        read = time.perf_counter() - started
        started = time.perf_counter()
        fitted = model.fit(train)
        fit = time.perf_counter() - started
        started = time.perf_counter()
        result = evaluate.evaluate(train, test)
        total = time.perf_counter() - started
    print(f"\nAt scale: {len(train) + len(test):,} rows in CSV ({learners:,} learners): read and check {read:.1f} s, "
          f"fit {fit:.1f} s ({len(model.DECAYS)} decays, {fitted.fitted_on['iterations']} Newton steps at "
          f"the best), evaluate (fit again and score all three) {total:.1f} s")
    print(evaluate.table(result.scores))

    replay = fsrs_check.replay(FSRS_LOG)
    scores = fsrs_check.scores(replay)
    print(f"\nFSRS on {FSRS_LOG.relative_to(REPO)}: {replay.cards:,} cards, {replay.reviews:,} reviews, "
          f"{len(replay.recalled):,} scored (a day or more after the previous review), "
          f"recall rate {float(replay.recalled.mean()):.3f}")
    print(f"{'model':<24}  {'AUC':>7}  {'log-loss':>8}  {'RMSE':>7}")
    for name, label in (("fsrs", "FSRS-6 (default params)"), ("constant", "constant (recall rate)")):
        s = scores[name]
        print(f"{label:<24}  {s['auc']:7.4f}  {s['log_loss']:8.4f}  {s['rmse']:7.4f}")


if __name__ == "__main__":
    main()
