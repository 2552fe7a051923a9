"""Trusted grading through the API, in the real sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select, update

from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.grading.tables import ChallengeAttempt, Submission

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing (code-along, 50 XP), randomized
TRIPLE = "00000000-0000-4000-8000-000000000042"  # third-steps/speed-run (challenge, 150 XP, 10 min)
PRINTING = "00000000-0000-4000-8000-000000000013"
SPEED_RUN = "00000000-0000-4000-8000-000000000041"
QUIZ = "00000000-0000-4000-8000-000000000016"
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))
GOOD = "def double(n):\n    return n * 2\n"
HARDCODED = "def double(n):\n    return 8 if n == 4 else 0\n"


def _submit(client, exercise: str, code: str, submission_id: str | None = None):
    body = {"code": code, "submission_id": submission_id or uuid.uuid4().hex}
    return client.post(f"/api/exercises/{exercise}/submissions", json=body)


def _state(client, lesson: str) -> str:
    states = {item["lesson_id"]: item["state"] for item in client.get("/api/progress").json()["lessons"]}
    return states.get(lesson, "not_started")


def test_first_pass_completes_the_lesson_with_first_attempt_bonus(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("solver@example.com")
    body = _submit(client, DOUBLE, GOOD).json()
    assert body["passed"] is True and body["status"] == "ok"
    assert [r["name"] for r in body["results"]] == ["doubles 4", "doubles a random number"]
    assert body["xp_awarded"] == 63 and body["lesson_state"] == "completed"  # 50 +25% first attempt
    assert _state(client, PRINTING) == "completed"
    again = _submit(client, DOUBLE, GOOD).json()
    assert again["passed"] is True and again["xp_awarded"] == 0, "a lesson completes and pays once"


def test_hardcoded_answer_fails_the_randomized_hidden_test(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("cheat@example.com")
    body = _submit(client, DOUBLE, HARDCODED).json()
    assert body["passed"] is False and body["xp_awarded"] == 0
    visible, hidden = body["results"]
    assert visible["passed"] is True
    assert hidden == {"name": "doubles a random number", "passed": False, "hidden": True,
                      "message": "Make sure it works for any number, negative ones too."}
    assert _state(client, PRINTING) == "not_started"
    later = _submit(client, DOUBLE, GOOD).json()
    assert later["xp_awarded"] == 50, "no first-attempt bonus after a failed submission"


def test_retried_submission_is_graded_once(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("retry@example.com")
    first = _submit(client, DOUBLE, GOOD, "retry-0000001").json()
    second = _submit(client, DOUBLE, GOOD, "retry-0000001").json()
    assert first["duplicate"] is False and second["duplicate"] is True and second["id"] == first["id"]
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
    profile = client.get("/api/gamification/profile").json()
    assert profile["xp"] == 63


def test_submissions_need_a_session_and_a_real_exercise(make_client, db_url: str) -> None:
    client = make_client(db_url)
    assert _submit(client, DOUBLE, GOOD).status_code == 401
    client.signup("who@example.com")
    assert _submit(client, str(uuid.uuid4()), GOOD).status_code == 404
    assert _submit(client, DOUBLE, "x" * 60_000).status_code == 422


def test_hint_ladder_is_recorded_and_bottom_out_needs_attempts_and_time(make_client, db_url: str,
                                                                       monkeypatch) -> None:
    from sidecar.grading import hints

    client = make_client(db_url)
    client.signup("hints@example.com")
    first = client.post(f"/api/exercises/{DOUBLE}/hints").json()
    second = client.post(f"/api/exercises/{DOUBLE}/hints").json()
    assert (first["rung"], second["rung"], second["remaining"]) == (1, 2, 1)
    blocked = client.post(f"/api/exercises/{DOUBLE}/hints")
    assert blocked.status_code == 409 and "3 more different attempts" in blocked.json()["error"]["message"]
    _submit(client, DOUBLE, "def double(n):\n    return n\n")
    still = client.post(f"/api/exercises/{DOUBLE}/hints")
    assert still.status_code == 409 and still.json()["error"]["details"]["attempts_needed"] == 2
    for code in ("def double(n):\n    return n + 1\n", "def double(n):\n    return -n\n"):
        _submit(client, DOUBLE, code)
    moved = utcnow() + timedelta(minutes=6)  # the server's clock, moved instead of waiting
    monkeypatch.setattr(hints, "now", lambda: moved)
    last = client.post(f"/api/exercises/{DOUBLE}/hints").json()
    assert last["bottom_out"] is True and last["remaining"] == 0
    assert _submit(client, DOUBLE, GOOD).json()["passed"] is True


def test_timed_challenge(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("speed@example.com")
    code = "def triple(n):\n    return n * 3\n"
    assert client.get(f"/api/challenges/{SPEED_RUN}").json()["status"] == "not_started", "opening starts nothing"
    start = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    assert 590 < start["seconds_left"] <= 600
    again = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    assert again["deadline"] == start["deadline"], "reopening does not restart the clock"
    body = _submit(client, TRIPLE, code).json()
    # Challenge 150 +100% no hints = 300, and the one-lesson module completes under par: 300 +25% = 375.
    assert body["passed"] is True and body["xp_awarded"] == 300 + 375 and body["challenge_mode"] == "timed"


def test_late_challenge_submission_is_graded_as_practice(make_client, db_url: str) -> None:
    client = make_client(db_url)
    user = client.signup("late@example.com")
    client.post(f"/api/challenges/{SPEED_RUN}/start")
    with write_session(get_engine(db_url)) as session:
        session.execute(update(ChallengeAttempt).where(ChallengeAttempt.user_id == user["id"])
                        .values(deadline=utcnow() - timedelta(minutes=1)))
    late = _submit(client, TRIPLE, "def triple(n):\n    return n * 3\n").json()
    # The default policy: practice after expiry, the ordinary lesson's 50 XP instead of the timed 300.
    assert late["passed"] is True and late["challenge_mode"] == "practice" and late["xp_awarded"] == 50 + 375
    assert _state(client, SPEED_RUN) == "completed"


def test_challenge_with_hints_earns_no_bonus(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("hinted@example.com")
    client.post(f"/api/challenges/{SPEED_RUN}/start")
    client.post(f"/api/exercises/{TRIPLE}/hints")
    body = _submit(client, TRIPLE, "def triple(n):\n    return n * 3\n").json()
    assert body["xp_awarded"] == 150 + 375, "no bonus with a hint used (the module XP still comes)"


def test_signed_in_quiz_attempts_earn_xp_once_and_keep_the_best(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("quiz@example.com")
    url = f"/api/quizzes/{QUIZ}/attempts"
    failed = client.post(url, json={"answers": {MC: 0, PREDICT: "20"}}).json()
    assert failed["saved"] is True and failed["passed"] is False and failed["xp_awarded"] == 0
    perfect = client.post(url, json={"answers": {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}}).json()
    # Quiz 100 +50% perfect = 150; the quiz lesson completes: 50, no first-attempt bonus = 50.
    assert perfect["xp_awarded"] == 200 and perfect["best_score_percent"] == 100.0
    again = client.post(url, json={"answers": {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}}).json()
    assert again["xp_awarded"] == 0 and again["best_score_percent"] == 100.0
    assert _state(client, "00000000-0000-4000-8000-000000000014") == "completed"


def test_concurrent_submitters_each_graded_once(make_client, db_url: str) -> None:
    clients = [make_client(db_url) for _ in range(8)]
    for i, client in enumerate(clients):
        client.signup(f"c{i}@example.com")

    def work(i: int) -> dict:
        code = GOOD if i % 2 == 0 else HARDCODED
        return dict(_submit(clients[i], DOUBLE, code, f"concurrent-{i:04d}").json())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert [r["passed"] for r in results] == [i % 2 == 0 for i in range(8)]
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 8
