"""The learner model: its fit recovers known parameters, it beats textbook BKT, its CLI, FSRS's check,
and the tutor's stored estimates (skill_mastery) kept by it."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import select

from sidecar.agents.memory import mastery
from sidecar.agents.memory import state as learner_state
from sidecar.agents.quiz import assessor
from sidecar.agents.tables import SkillMastery
from sidecar.auth.tables import User
from sidecar.cli import main
from sidecar.db.engine import get_engine, read_session
from sidecar.learner_model import bkt, data, evaluate, fsrs_check, generate, metrics, model, online
from sidecar.settings import Settings

FSRS_LOG = Path(__file__).parent / "fixtures" / "fsrs" / "review_logs_josh.csv"

TRUE = model.Params(
    intercept=-1.0, attempts=0.3, recent=2.0, rate=1.5, practice=-0.05, decay=0.7, prior_rate=0.6, smoothing=5.0,
    skills={f"skill{k}": (float(b), float(a))
            for k, (b, a) in enumerate(zip(np.linspace(-1.2, 1.2, 8), np.linspace(-0.25, 0.25, 8), strict=True))})


@pytest.fixture(scope="module")
def from_model() -> tuple[data.Log, model.Params]:
    log = generate.from_model(TRUE, n_users=4000, n_skills=8, attempts=6, seed=11, curricular=False)
    return log, model.fit(log, prior_rate=TRUE.prior_rate)


def test_the_fit_recovers_the_parameters_it_was_generated_with(from_model: tuple[data.Log, model.Params]) -> None:
    log, fitted = from_model
    assert len(log) == 4000 * 8 * 6
    assert fitted.decay == TRUE.decay  # chosen from the grid by the fit's log-loss
    assert abs(fitted.recent - TRUE.recent) < 0.15
    assert abs(fitted.rate - TRUE.rate) < 0.25
    # The intercept, practice on the skill and practice overall are nearly collinear when every learner
    # practises at the same pace: what is identified is their sum, checked where the data lie.
    def base(p: model.Params, n: int, big_n: int) -> float:
        return p.intercept + p.attempts * math.log1p(n) + p.practice * math.log1p(big_n)

    for n, big_n in ((0, 0), (1, 10), (3, 25), (5, 47)):
        assert abs(base(fitted, n, big_n) - base(TRUE, n, big_n)) < 0.15, (n, big_n)
    for skill, (b, a) in TRUE.skills.items():
        got_b, got_a = fitted.skills[skill]
        assert abs(got_b - b) < 0.15, skill
        assert abs(got_a - a) < 0.1, skill
    # Skill difficulties come back in order.
    assert [s for s, _ in sorted(fitted.skills.items(), key=lambda kv: kv[1][0])] == \
        [f"skill{k}" for k in range(8)]
    # And the predictions on new learners are the true model's.
    fresh = generate.from_model(TRUE, n_users=500, n_skills=8, attempts=6, seed=12, user_prefix="new",
                                curricular=False)
    assert float(np.mean(np.abs(model.predict(fitted, fresh) - model.predict(TRUE, fresh)))) < 0.02


def test_on_learners_drawn_from_bkt_the_fitted_model_beats_textbook_bkt_which_beats_chance() -> None:
    world = generate.bkt_world(30, seed=5)
    train = generate.from_bkt(world, n_users=1500, attempts=5, seed=6)
    test = generate.from_bkt(world, n_users=500, attempts=5, seed=7, user_prefix="t")
    result = evaluate.evaluate(train, test)
    scores = {s.model: s for s in result.scores}
    assert scores["model"].auc > scores["bkt"].auc + 0.01
    assert scores["bkt"].auc > 0.55
    assert scores["constant"].auc == 0.5
    assert scores["model"].log_loss < scores["bkt"].log_loss < scores["constant"].log_loss
    assert scores["model"].rmse < scores["constant"].rmse
    # The fit on BKT learners: recent success raises the estimate, so does the learner's overall rate.
    assert result.params.recent > 0 and result.params.rate > 0


def test_metrics_on_hand_computed_cases() -> None:
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert metrics.auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert metrics.auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert metrics.auc(y, np.array([0.1, 0.5, 0.5, 0.9])) == 0.875  # one tie across classes counts half
    assert math.isnan(metrics.auc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert metrics.log_loss(np.array([1.0, 0.0]), np.array([0.8, 0.4])) == pytest.approx(
        -(math.log(0.8) + math.log(0.6)) / 2)
    assert metrics.rmse(np.array([1.0, 0.0]), np.array([0.8, 0.4])) == pytest.approx(math.sqrt((0.04 + 0.16) / 2))


def test_vectorised_bkt_is_the_tutors_former_update_rule() -> None:
    rng = random.Random(3)
    rows = [(f"u{rng.randrange(5)}", f"s{rng.randrange(3)}", rng.random() < 0.6, float(t)) for t in range(300)]
    log = data.from_rows(rows)
    predicted = bkt.predict_log(log)
    state: dict[tuple[int, int], float] = {}
    for i, (u, k, y) in enumerate(zip(log.users.tolist(), log.skills.tolist(), log.correct.tolist(), strict=True)):
        p = state.get((u, k), mastery.DEFAULT.p_init)
        assert predicted[i] == pytest.approx(mastery.predicted_correct(p))
        state[(u, k)] = mastery.update(p, bool(y))


def test_unknown_skills_and_new_learners_use_the_global_terms() -> None:
    log = data.from_rows([("new", "never-seen", True, 0.0)])
    p = float(model.predict(TRUE, log)[0])
    expected = 1 / (1 + math.exp(-(TRUE.intercept + (TRUE.recent + TRUE.rate) * TRUE.prior_rate)))
    assert p == pytest.approx(expected)
    assert online.Tracker(TRUE).estimate("never-seen") == pytest.approx(expected)


def test_the_online_tracker_agrees_with_the_batch_model_and_reads_back_its_state() -> None:
    rng = random.Random(8)
    skills = ["skill0", "skill3", "skill7", "other"]
    tracker = online.Tracker(TRUE)
    rows = []
    for t in range(80):
        skill, correct = rng.choice(skills), rng.random() < 0.55
        rows.append(("me", skill, correct, float(t)))
        expected = float(model.predict(TRUE, data.from_rows(rows))[-1])
        assert tracker.estimate(skill) == pytest.approx(expected, abs=1e-12)
        tracker.observe(skill, correct)
        stored = {s: (p, tracker.state[s][0]) for s, p in tracker.estimates().items()}
        recovered = online.Tracker.recover(TRUE, stored)
        for s, (n, x) in tracker.state.items():
            assert recovered.state[s][0] == n and recovered.state[s][1] == pytest.approx(x, abs=1e-9)
    # Estimates from another model (textbook BKT) read back as a state within 0..A(n).
    recovered = online.Tracker.recover(TRUE, {"skill0": (0.2, 3), "skill3": (0.999, 2), "new": (0.5, 0)})
    assert recovered.state["new"] == (0, 0.0)
    assert all(0 <= x <= model.decayed_attempts(float(n), TRUE.decay) for n, x in recovered.state.values())


def test_parameters_round_trip_and_the_bundled_defaults_load() -> None:
    assert model.Params.from_json(json.loads(json.dumps(TRUE.to_json()))) == TRUE
    defaults = online.params()
    assert defaults.recent > 0 and defaults.rate > 0 and not defaults.skills
    # The bundled file is what platform_defaults() fits (regenerate it when the generator changes).
    regenerated = generate.platform_defaults()
    assert np.allclose(regenerated.globals(), defaults.globals(), atol=1e-6)
    # With the defaults, three passes in a row after three misses reach mastery; misses alone, struggling.
    tracker = online.Tracker(defaults)
    for correct in (False, False, False):
        tracker.observe("s", correct)
    assert mastery.level(tracker.estimate("s")) == "struggling"
    for _ in range(4):
        tracker.observe("s", True)
    assert mastery.level(tracker.estimate("s")) == "mastered"
    with pytest.raises(ValueError, match="not a learner-model parameter file"):
        model.Params.from_json({"model": "bkt"})


def test_the_setting_must_name_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="LEARNER_MODEL_PARAMS"):
        Settings(LEARNER_MODEL_PARAMS=tmp_path / "missing.json")
    TRUE.save(tmp_path / "params.json")
    settings = Settings(LEARNER_MODEL_PARAMS=tmp_path / "params.json")
    assert online.params(settings.LEARNER_MODEL_PARAMS) == TRUE


def _write_split(tmp_path: Path) -> tuple[Path, Path]:
    world = generate.bkt_world(12, seed=2)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    data.write_csv(train, data.rows_of(generate.from_bkt(world, n_users=300, attempts=4, seed=3)))
    data.write_csv(test, data.rows_of(generate.from_bkt(world, n_users=100, attempts=4, seed=4, user_prefix="t")))
    return train, test


def test_cli_evaluate_prints_the_three_models(tmp_path: Path) -> None:
    train, test = _write_split(tmp_path)
    result = CliRunner().invoke(main, ["learner-model", "evaluate", "--train", str(train), "--test", str(test)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("train: 14400 rows; test: 4800 rows; fitted decay ")
    assert lines[1].split() == ["model", "AUC", "log-loss", "RMSE"]
    for line, label in zip(lines[2:], evaluate.NAMES.values(), strict=True):
        assert line.startswith(label)
        auc, loss, rmse = (float(v) for v in line[len(label):].split())
        assert 0.5 <= auc <= 1 and 0 < loss < 1 and 0 < rmse < 0.6
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns
    as_json = CliRunner().invoke(main, ["learner-model", "evaluate", "--train", str(train), "--test", str(test),
                                        "--json"])
    body = json.loads(as_json.output)
    assert [s["model"] for s in body["scores"]] == ["model", "constant", "bkt"] and body["decay"] in model.DECAYS
    assert body["scores"][0]["auc"] > body["scores"][2]["auc"] > 0.5


def test_cli_fit_writes_parameters_the_setting_reads(tmp_path: Path) -> None:
    train, _ = _write_split(tmp_path)
    out = tmp_path / "params.json"
    result = CliRunner().invoke(main, ["learner-model", "fit", "--train", str(train), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "14400 rows, 300 learners, 12 skills" in result.output
    params = online.params(out)
    assert set(params.skills) == {f"skill{k}" for k in range(12)} and params.recent > 0


def test_cli_lists_every_bad_row_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,skill_id,correct,timestamp\n"
                   "a,s1,1,2024-01-01T10:00:00Z\n"
                   "a,s1,2,2024-01-01T10:01:00Z\n"
                   ",s1,1,yesterday\n"
                   "b,,0,5\n"
                   "c\n", encoding="utf-8")
    headless = tmp_path / "headless.csv"
    headless.write_text("a,s1,1,5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["learner-model", "evaluate", "--train", str(bad), "--test", str(headless)])
    assert result.exit_code == 1
    assert f"{bad}:3: correct must be 0 or 1, not '2'" in result.output
    assert f"{bad}:4: user_id is empty; timestamp must be a number or ISO 8601, not 'yesterday'" in result.output
    assert f"{bad}:5: skill_id is empty" in result.output
    assert f"{bad}:6: 1 columns, expected at least 4" in result.output
    assert f"{headless}:1: the header lacks user_id, skill_id, correct, timestamp" in result.output
    assert f"{bad}:2" not in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("user_id,skill_id,correct,timestamp\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["learner-model", "fit", "--train", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and f"{empty}:2: no rows after the header" in result.output
    assert not (tmp_path / "o").exists()


def test_fsrs_beats_a_constant_on_real_review_logs() -> None:
    replay = fsrs_check.replay(FSRS_LOG)
    assert replay.cards == 1205 and replay.reviews == 12580
    assert len(replay.recalled) > 5000
    scores = fsrs_check.scores(replay)
    assert scores["fsrs"]["log_loss"] < scores["constant"]["log_loss"]
    assert scores["fsrs"]["rmse"] < scores["constant"]["rmse"]
    assert scores["fsrs"]["auc"] > 0.65


def _user_id(db_url: str) -> str:
    with read_session(get_engine(db_url)) as session:
        return str(session.scalars(select(User.id)).one())


def test_the_tutor_stores_the_learner_models_estimates(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    user_id, engine = _user_id(db_url), get_engine(db_url)
    params = online.params()
    expected = online.Tracker(params)
    results = [(["s.types"], False), (["s.types", "s.loops"], False), (["s.types"], True), (["s.loops"], True),
               (["s.types"], True), (["s.types"], True)]
    for i, (skills, correct) in enumerate(results):
        learner_state.record_result(engine=engine, user_id=user_id, skills=skills, correct=correct,
                                    source_key=f"practice:{i}")
        for skill in skills:
            expected.observe(skill, correct)
    learner_state.record_result(engine=engine, user_id=user_id, skills=["s.types"], correct=False,
                                source_key="practice:0")  # counted already: ignored
    with read_session(engine) as session:
        rows = {r.skill: r for r in session.scalars(select(SkillMastery))}
    assert {s: r.observations for s, r in rows.items()} == {"s.types": 5, "s.loops": 2}
    for skill, p in expected.estimates().items():
        assert rows[skill].p_known == pytest.approx(p)
    state = learner_state.tracker(engine=engine, user_id=user_id).state
    assert set(state) == {"s.types", "s.loops"}
    for skill, (n, x) in expected.state.items():
        assert state[skill][0] == n and state[skill][1] == pytest.approx(x, abs=1e-9)
    # The Assessor folds unstored answers into the same state and picks from its estimates.
    items = [{"id": "q1", "module_id": "m", "kind": "multiple-choice", "skills": json.dumps(["s.loops"]),
              "prompt": "?", "code": None, "choices": json.dumps(["a", "b"]), "answer": json.dumps(1),
              "accept": "[]", "explanation": ""}]
    tracker = learner_state.tracker(engine=engine, user_id=user_id)
    step = assessor.adaptive_step(items, {"q1": 1}, onboarding=False, prior={}, tracker=tracker)
    expected.observe("s.loops", True)
    assert step.estimates == pytest.approx(expected.estimates())
