"""Spaced review: cards from what a learner met, FSRS schedules, the day's session and its XP, retention.

Through the API on SQLite and PostgreSQL, with the real sandbox for exercise reviews. Days pass with
the server's test clock (DRONA_TEST_CLOCK), as in the end-to-end tests.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sidecar.db.base import set_clock_offset
from sidecar.db.engine import get_engine, read_session
from sidecar.gamification import xp
from sidecar.gamification.tables import XpTransaction
from sidecar.review import scheduling
from sidecar.review.models import DAILY_LIMIT
from sidecar.review.tables import ReviewLog

QUIZ = "00000000-0000-4000-8000-000000000016"
MCQ, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in (17, 18, 19, 20))
DOUBLE = "00000000-0000-4000-8000-000000000015"
RIGHT = {MCQ: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}


@pytest.fixture(autouse=True)
def _real_time_after() -> Any:
    """The test clock is the process's: set it back, so no later test runs days ahead."""
    yield
    set_clock_offset(timedelta(0))


def _client(make_client: Any, db_url: str) -> Any:
    client = make_client(db_url, DRONA_TEST_CLOCK=True)
    client.signup(f"r{uuid.uuid4().hex[:8]}@example.com")
    client.days_ahead = 0.0
    _days(client, 0)  # the server's clock is the process's: start from today
    return client


def _days(client: Any, days: float) -> None:
    """Move the server's clock `days` further on (the endpoint takes the whole offset)."""
    client.days_ahead += days
    response = client.post("/api/test/clock",
                           json={"offset_seconds": timedelta(days=client.days_ahead).total_seconds()})
    assert response.status_code == 200, response.text


def _queue(client: Any) -> dict[str, Any]:
    response = client.get("/api/review")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _answer(client: Any, item_key: str, review_id: str | None = None, **given: Any) -> Any:
    return client.post("/api/review/answers", json={"item_key": item_key, "review_id": review_id or uuid.uuid4().hex,
                                                    **given})


def _quiz(client: Any, answers: dict[str, Any]) -> None:
    response = client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": answers})
    assert response.status_code == 200, response.text


def test_the_queue_is_empty_until_the_learner_meets_something(make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    queue = _queue(client)
    assert queue["cards"] == 0 and queue["session"] == [] and queue["done_today"] is False
    assert queue["retention"] == {"reviews": 0, "recalled": 0, "recall_rate": None, "predicted_recall": None}


def test_quiz_items_come_back_on_fsrs_schedule_and_a_wrong_one_sooner(make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    # Everything right but the predict-output item.
    _quiz(client, {**RIGHT, PREDICT: "22"})
    queue = _queue(client)
    assert queue["cards"] == 4 and queue["due_count"] == 0, "nothing is due on the day it was met"
    first = datetime.fromisoformat(queue["next_due"])
    _days(client, 1)
    due = _queue(client)["session"]
    assert [item["item_key"] for item in due] == [f"quiz-item:{PREDICT}"], "a wrong answer comes back tomorrow"
    assert "answer" not in due[0] and due[0]["code"].strip() == "print(3 * 7)" and due[0]["origin"] == "quiz"
    assert datetime.fromisoformat(due[0]["due"]) == first
    _days(client, 2)
    keys = {item["item_key"] for item in _queue(client)["session"]}
    assert keys == {f"quiz-item:{i}" for i in (MCQ, PREDICT, BUG, COMPLETE)}, "the right ones after FSRS's ~2 days"


def test_a_review_is_graded_on_the_server_and_rescheduled(make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    _quiz(client, {MCQ: 1, PREDICT: "21", BUG: 2, COMPLETE: "+"})  # 75 %: failed (the pass mark is 80)
    _days(client, 1)
    assert [i["item_key"] for i in _queue(client)["session"]] == [f"quiz-item:{MCQ}"]
    wrong = _answer(client, f"quiz-item:{MCQ}", answer=1)
    assert wrong.status_code == 200, wrong.text
    body = wrong.json()
    # The quiz was never passed, so its key stays private; the learner is sent back to the lesson.
    assert body["correct"] is False and body["answer"] is None and body["explanation_html"] is None
    assert body["nudge"].startswith("Not quite.")
    assert body["done_today"] is True, "the day's only due item answered: today's review is done"
    assert body["reward"]["xp_awarded"] == xp.review_xp(all_right=False, streak_active=False).amount
    again = datetime.fromisoformat(body["next_due"])
    assert timedelta(hours=23) < again - datetime.fromisoformat(_queue(client)["today"] + "T00:00:00+00:00") \
        < timedelta(days=3)
    # Not due any more: a second answer is refused, not counted twice.
    refused = _answer(client, f"quiz-item:{MCQ}", answer=0)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    queue = _queue(client)
    assert queue["answered_today"] == 1 and queue["correct_today"] == 0
    assert queue["xp_awarded_today"] == body["reward"]["xp_awarded"] == 50
    assert queue["retention"]["reviews"] == 1 and queue["retention"]["recall_rate"] == 0.0
    assert 0 < queue["retention"]["predicted_recall"] < 1


def test_a_passed_quiz_reveals_the_key_in_review_and_right_answers_pay_the_first_attempt_bonus(
        make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    _quiz(client, RIGHT)
    _days(client, 2)
    session = _queue(client)["session"]
    assert len(session) == 4
    rewards = []
    for item in session:
        ref = item["item_key"].split(":", 1)[1]
        response = _answer(client, item["item_key"], answer=RIGHT[ref])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["correct"] is True and body["answer"] == RIGHT[ref] and body["explanation_html"]
        rewards.append(body["reward"])
    assert rewards[:3] == [None, None, None] and rewards[3] is not None, "the day pays when its last item is answered"
    expected = xp.review_xp(all_right=True, streak_active=False).amount
    assert rewards[3]["xp_awarded"] == expected == 63
    with read_session(get_engine(db_url)) as session_:
        paid = list(session_.scalars(select(XpTransaction.amount).where(XpTransaction.source_key.like("review:%"))))
    assert paid == [expected], "once per day"
    # Right answers push the items out: the next is days away, further than the first interval.
    queue = _queue(client)
    assert queue["due_count"] == 0 and queue["done_today"] is True
    assert queue["retention"] == {"reviews": 4, "recalled": 4, "recall_rate": 1.0,
                                  "predicted_recall": queue["retention"]["predicted_recall"]}
    assert datetime.fromisoformat(queue["next_due"]) - datetime.fromisoformat(session[0]["due"]) > timedelta(days=5)


def test_a_retried_answer_counts_once(make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    _quiz(client, {**RIGHT, BUG: 1})
    _days(client, 1)
    review_id = uuid.uuid4().hex
    first = _answer(client, f"quiz-item:{BUG}", review_id=review_id, answer=2).json()
    again = _answer(client, f"quiz-item:{BUG}", review_id=review_id, answer=2)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["correct"] == first["correct"] is True
    other = _answer(client, f"quiz-item:{MCQ}", review_id=review_id, answer=0)
    assert other.status_code == 409, "a review id belongs to one item"
    with read_session(get_engine(db_url)) as session:
        logs = list(session.scalars(select(ReviewLog).where(ReviewLog.kind == "review")))
    assert len(logs) == 1 and logs[0].retrievability is not None and logs[0].rating == 3


def test_exercises_enter_the_queue_when_passed_or_tripped_on_and_are_regraded_in_the_sandbox(
        make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    trip = client.post(f"/api/exercises/{DOUBLE}/submissions",
                       json={"code": "def double(n):\n    print(n * 2)\n", "submission_id": uuid.uuid4().hex})
    assert trip.status_code == 200 and trip.json()["passed"] is False
    plain_fail = _queue(client)
    assert plain_fail["cards"] == 1, "a failure that matches an authored misconception is something to recall"
    _days(client, 1)
    item = _queue(client)["session"][0]
    assert item["item_key"] == f"exercise:{DOUBLE}" and item["origin"] == "misconception"
    assert item["starter"].startswith("def double") and "return n * 2" not in str(item)
    wrong = _answer(client, item["item_key"], code="def double(n):\n    return n + 2\n")
    assert wrong.status_code == 200, wrong.text
    assert wrong.json()["correct"] is False and wrong.json()["results"], "the sandbox's test results come back"
    _days(client, 2)
    right = _answer(client, item["item_key"], code="def double(n):\n    return n * 2\n")
    assert right.status_code == 200 and right.json()["correct"] is True
    missing = _answer(client, f"exercise:{DOUBLE}", code=None)
    assert missing.status_code in (409, 422)


def test_bad_answers_get_clear_errors(make_client: Any, db_url: str) -> None:
    client = _client(make_client, db_url)
    assert _answer(client, "quiz-item:nope", answer=0).status_code == 404
    assert _answer(client, "x" * 81, answer=0).status_code == 422
    assert client.post("/api/review/answers", json={"item_key": f"quiz-item:{MCQ}", "review_id": "bad id!"}
                       ).status_code == 422
    _quiz(client, {**RIGHT, MCQ: 1})
    _days(client, 1)
    assert _answer(client, f"quiz-item:{PREDICT}", answer="21").status_code == 409, "not due yet"
    too_long = _answer(client, f"quiz-item:{MCQ}", answer="x" * 10_001)
    assert too_long.status_code == 422
    anonymous = make_client(db_url)
    assert anonymous.get("/api/review").status_code == 401


def test_the_scheduler_works_in_days() -> None:
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    right, recall, _ = scheduling.review(scheduling.new_card(), correct=True, at=at)
    wrong, _, _ = scheduling.review(scheduling.new_card(), correct=False, at=at)
    assert recall is None and right.due - at == timedelta(days=2) and wrong.due - at == timedelta(days=1)
    later, recall, elapsed = scheduling.review(right, correct=True, at=right.due)
    assert elapsed == 2.0 and recall is not None and 0.85 < recall < 0.95
    assert later.due - right.due > timedelta(days=5)
    assert DAILY_LIMIT >= 10


@pytest.mark.parametrize("correct", [True, False])
def test_the_daily_limit_closes_the_day(make_client: Any, sqlite_url: str, correct: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from sidecar.review import models, service
    monkeypatch.setattr(models, "DAILY_LIMIT", 2)
    monkeypatch.setattr(service, "DAILY_LIMIT", 2)
    client = _client(make_client, sqlite_url)
    _quiz(client, {MCQ: 1, PREDICT: "0", BUG: 0, COMPLETE: "-"} if not correct else RIGHT)
    _days(client, 3)
    queue = _queue(client)
    assert queue["due_count"] == 4 and len(queue["session"]) == 2
    for item in queue["session"]:
        ref = item["item_key"].split(":", 1)[1]
        body = _answer(client, item["item_key"], answer=RIGHT[ref]).json()
    assert body["done_today"] is True and body["reward"]["xp_awarded"] > 0
    assert _queue(client)["session"] == []
    refused = _answer(client, f"quiz-item:{BUG}", answer=2)
    assert refused.status_code == 409 and "today" in refused.json()["error"]["message"]
