"""GET /api/progress for a course page: each lesson's address, the course's XP and quizzes passed
(course-progress.js draws the ticks, the resume card and the completion summary from it)."""

from __future__ import annotations

import uuid

CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code (concept, 50 XP)
REFLECTION = "00000000-0000-4000-8000-000000000032"  # second-steps/naming-things (reflection, 40 XP)
QUIZ_LESSON = "00000000-0000-4000-8000-000000000014"  # first-steps/check-yourself
QUIZ = "00000000-0000-4000-8000-000000000016"
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))


def _event(client, lesson: str, kind: str = "completed"):
    body = {"event_id": str(uuid.uuid4()), "lesson_id": lesson, "kind": kind}
    response = client.post("/api/progress/events", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_lesson_state_carries_its_address_and_title(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("urls@example.com")
    _event(client, CONCEPT, "started")
    _event(client, REFLECTION)
    lessons = {s["lesson_id"]: s for s in client.get("/api/progress").json()["lessons"]}
    assert lessons[CONCEPT]["state"] == "started"
    assert lessons[CONCEPT]["url"] == "demo-track/demo-course/second-steps/reading-code/"
    assert lessons[CONCEPT]["title"] == "Reading code"
    assert lessons[REFLECTION]["state"] == "completed"
    assert lessons[REFLECTION]["url"] == "demo-track/demo-course/second-steps/naming-things/"


def test_course_xp_is_the_ledgers_and_counts_once(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("xp@example.com")
    earned = _event(client, CONCEPT)["xp_awarded"] + _event(client, REFLECTION)["xp_awarded"]
    _event(client, REFLECTION)  # a second completion pays nothing, and must not show twice
    (course,) = client.get("/api/progress").json()["courses"]
    # Lessons 63 + 50, and the module's 375 (test_progress.py): what the ledger holds, all of it.
    assert earned == 63 + 50 + 375
    assert course["xp_earned"] == earned
    assert (course["quizzes_passed"], course["quizzes_total"]) == (0, 1)
    assert course["completed"] is False


def test_a_passed_quiz_counts_and_its_xp_is_the_courses(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("quizpass@example.com")
    url = f"/api/quizzes/{QUIZ}/attempts"
    failed = client.post(url, json={"answers": {MC: 0, PREDICT: "20"}}).json()
    assert failed["passed"] is False
    assert all(c["quizzes_passed"] == 0 for c in client.get("/api/progress").json()["courses"])
    passed = client.post(url, json={"answers": {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}}).json()
    assert passed["passed"] is True
    body = client.get("/api/progress").json()
    (course,) = body["courses"]
    assert (course["quizzes_passed"], course["quizzes_total"]) == (1, 1)
    assert course["xp_earned"] == passed["xp_awarded"] == 200
    assert any(s["lesson_id"] == QUIZ_LESSON and s["state"] == "completed" for s in body["lessons"])


def test_without_gamification_the_course_earned_no_xp(make_client, db_url: str) -> None:
    client = make_client(db_url, ENABLE_GAMIFICATION=False)
    client.signup("noxp@example.com")
    _event(client, CONCEPT)
    (course,) = client.get("/api/progress").json()["courses"]
    assert course["xp_earned"] == 0 and course["completed_lessons"] == 1


def test_progress_needs_a_signed_in_learner(make_client, db_url: str) -> None:
    client = make_client(db_url)
    response = client.get("/api/progress")
    assert response.status_code == 401
    assert "error" in response.json()
