"""One completion-and-reward path: submissions, quiz attempts and progress events answer with one `reward`.

Through the API on SQLite and PostgreSQL: the reward says what the request earned and where the
learner stands right after it (the same numbers GET /api/gamification/profile gives), a replay
earns nothing and reports the same totals, and with gamification off the reward has no game
fields. Plus a check of the code: the XP of a completed lesson is decided in one function.
"""

from __future__ import annotations

import ast
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from sidecar.auth.tables import UserProfile
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, write_session
from sidecar.gamification import levels
from sidecar.gamification.streaks import local_day

CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code (concept, 50 XP, completes on reading)
DOUBLE = "00000000-0000-4000-8000-000000000015"  # the exercise of first-steps/printing (50 XP)
PRINTING = "00000000-0000-4000-8000-000000000013"
QUIZ = "00000000-0000-4000-8000-000000000016"  # the quiz of first-steps/quiz lesson (50 XP)
QUIZ_LESSON = "00000000-0000-4000-8000-000000000014"
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))
PERFECT = {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}
GOOD = "def double(n):\n    return n * 2\n"
WRONG = "def double(n):\n    return n\n"
REWARD_FIELDS = {"enabled", "lesson_id", "lesson_state", "xp_awarded", "total_xp", "level", "level_title",
                 "level_floor_xp", "next_level_xp", "level_progress", "streak", "new_achievements",
                 "new_certificates"}


def _event(client: Any, lesson: str, kind: str = "completed", event_id: str | None = None) -> Any:
    body = {"event_id": event_id or str(uuid.uuid4()), "lesson_id": lesson, "kind": kind}
    response = client.post("/api/progress/events", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _submit(client: Any, code: str, submission_id: str | None = None) -> Any:
    response = client.post(f"/api/exercises/{DOUBLE}/submissions",
                           json={"code": code, "submission_id": submission_id or uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()


def _quiz(client: Any, answers: dict[str, Any]) -> Any:
    response = client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": answers})
    assert response.status_code == 200, response.text
    return response.json()


def _assert_matches_profile(client: Any, reward: dict[str, Any]) -> None:
    """The reward's totals are what the profile says right after: the browser needs no second GET."""
    assert set(reward) == REWARD_FIELDS
    # One lesson of a multi-module course never completes it: no certificate rides on these rewards.
    assert reward["new_certificates"] == []
    profile = client.get("/api/gamification/profile").json()
    assert reward["enabled"] is True
    assert reward["total_xp"] == profile["xp"]
    assert (reward["level"], reward["level_title"]) == (profile["level"], profile["level_title"])
    assert (reward["level_floor_xp"], reward["next_level_xp"]) == (profile["level_floor_xp"], profile["next_level_xp"])
    assert reward["level_progress"] == pytest.approx(profile["level_progress"])
    assert reward["streak"]["current"] == profile["streak"]["current"]
    assert reward["streak"]["longest"] == profile["streak"]["longest"]
    assert reward["streak"]["today_counted"] is (profile["streak"]["today"] in profile["streak"]["calendar"])
    if reward["lesson_id"]:
        states = {s["lesson_id"]: s["state"] for s in client.get("/api/progress").json()["lessons"]}
        assert reward["lesson_state"] == states.get(reward["lesson_id"], "not_started")


def test_a_reading_completion_returns_the_reward(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("reader@example.com")
    event_id = str(uuid.uuid4())
    body = _event(client, CONCEPT, event_id=event_id)
    reward = body["reward"]
    # §8.2: 50 +25% first attempt = 62.5 → 63; the first lesson earns the first-steps badge.
    assert reward["xp_awarded"] == 63 and reward["total_xp"] == 63
    assert reward["level"] == 1 and reward["level_title"] == "Novice"
    assert reward["lesson_id"] == CONCEPT and reward["lesson_state"] == "completed"
    assert reward["streak"] == {"current": 1, "longest": 1, "today_counted": True}
    assert [a["slug"] for a in reward["new_achievements"]] == ["first-steps"]
    # The old fields stay, and say the same.
    assert (body["xp_awarded"], body["total_xp"], body["state"]) == (63, 63, "completed")
    assert body["new_achievements"] == reward["new_achievements"]
    _assert_matches_profile(client, reward)

    replay = _event(client, CONCEPT, event_id=event_id)
    assert replay["duplicate"] is True
    assert replay["reward"] == {**reward, "xp_awarded": 0, "new_achievements": []}
    again = _event(client, CONCEPT)  # a new id for a lesson already completed: the shortcut path
    assert again["duplicate"] is False and again["reward"] == replay["reward"]
    started = _event(client, CONCEPT, "started")
    assert started["reward"] == replay["reward"]


def test_a_started_event_returns_the_reward_too(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("starter@example.com")
    reward = _event(client, CONCEPT, "started")["reward"]
    assert reward["xp_awarded"] == 0 and reward["total_xp"] == 0 and reward["lesson_state"] == "started"
    assert reward["streak"] == {"current": 1, "longest": 1, "today_counted": True}
    _assert_matches_profile(client, reward)


def test_a_passing_submission_returns_the_reward(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("coder@example.com")
    failed = _submit(client, WRONG)
    assert failed["passed"] is False
    assert failed["reward"]["xp_awarded"] == 0 and failed["reward"]["total_xp"] == 0
    assert failed["reward"]["lesson_state"] == "not_started" and failed["reward"]["lesson_id"] == PRINTING
    assert failed["reward"]["streak"] == {"current": 0, "longest": 0, "today_counted": False}
    _assert_matches_profile(client, failed["reward"])

    body = _submit(client, GOOD, "reward-submission-1")
    reward = body["reward"]
    assert body["passed"] is True
    assert reward["xp_awarded"] == 50 and reward["total_xp"] == 50, "no first-try bonus after a failed submission"
    assert reward["lesson_id"] == PRINTING and reward["lesson_state"] == "completed"
    assert [a["slug"] for a in reward["new_achievements"]] == ["first-steps"]
    assert reward["streak"] == {"current": 1, "longest": 1, "today_counted": True}
    assert (body["xp_awarded"], body["lesson_state"]) == (50, "completed")
    assert body["new_achievements"] == reward["new_achievements"]
    _assert_matches_profile(client, reward)

    replay = _submit(client, GOOD, "reward-submission-1")
    assert replay["duplicate"] is True and replay["id"] == body["id"]
    assert replay["xp_awarded"] == 50, "a retry reports the submission's stored XP, as before"
    assert replay["reward"] == {**reward, "xp_awarded": 0, "new_achievements": []}
    again = _submit(client, GOOD)
    assert again["duplicate"] is False and again["xp_awarded"] == 0 and again["reward"] == replay["reward"]
    listed = client.get(f"/api/exercises/{DOUBLE}/submissions").json()
    assert all(item["reward"] is None for item in listed)


def test_a_passing_quiz_attempt_returns_the_reward(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("quizzer@example.com")
    perfect = _quiz(client, PERFECT)
    reward = perfect["reward"]
    # Quiz 100 +50% perfect = 150, and its lesson: 50 +25% first attempt = 63.
    assert perfect["xp_awarded"] == reward["xp_awarded"] == 150 + 63 and reward["total_xp"] == 213
    assert reward["lesson_id"] == QUIZ_LESSON and reward["lesson_state"] == "completed"
    assert [a["slug"] for a in reward["new_achievements"]] == ["first-steps"]
    assert perfect["new_achievements"] == reward["new_achievements"]
    assert reward["level"] == levels.level_for_xp(213)
    _assert_matches_profile(client, reward)

    again = _quiz(client, PERFECT)
    assert again["xp_awarded"] == 0 and again["reward"] == {**reward, "xp_awarded": 0, "new_achievements": []}
    failed = _quiz(client, {MC: 1})
    assert failed["passed"] is False and failed["reward"] == again["reward"]
    anonymous = make_client(db_url).post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": PERFECT}).json()
    assert anonymous["saved"] is False and anonymous["reward"] is None


def test_with_gamification_off_the_reward_has_no_game_fields(make_client: Any, db_url: str) -> None:
    client = make_client(db_url, ENABLE_GAMIFICATION=False)
    client.signup("nogame@example.com")
    off = {"enabled": False, "xp_awarded": 0, "total_xp": None, "level": None, "level_title": None,
           "level_floor_xp": None, "next_level_xp": None, "level_progress": None, "streak": None,
           "new_achievements": [], "new_certificates": []}
    event = _event(client, CONCEPT)
    assert event["reward"] == {**off, "lesson_id": CONCEPT, "lesson_state": "completed"}
    assert (event["xp_awarded"], event["total_xp"], event["new_achievements"]) == (0, 0, [])
    submission = _submit(client, GOOD)
    assert submission["reward"] == {**off, "lesson_id": PRINTING, "lesson_state": "completed"}
    quiz = _quiz(client, PERFECT)
    assert quiz["reward"] == {**off, "lesson_id": QUIZ_LESSON, "lesson_state": "completed"}
    assert client.get("/api/gamification/profile").json()["xp"] == 0


def _make_yesterday_day_one(db_url: str, user_id: str) -> None:
    """The learner practised yesterday, for the first time: today is the streak's second day."""
    yesterday = local_day(instant=utcnow(), tz="UTC") - timedelta(days=1)
    with write_session(get_engine(db_url)) as session:
        session.execute(update(UserProfile).where(UserProfile.user_id == user_id).values(
            timezone="UTC", streak_current=1, streak_longest=1, streak_last_day=yesterday))


@pytest.mark.parametrize("how", ["reading", "exercise"])
def test_the_streak_bonus_counts_today_for_every_kind_of_completion(make_client: Any, db_url: str,
                                                                     how: str) -> None:
    # The one rule (docs/gamification.md): record today's activity, then ask whether the streak is
    # active. On the streak's second day a first completion earns +10%, read or graded alike.
    client = make_client(db_url)
    user_id = client.signup(f"streak-{how}@example.com")["id"]
    _make_yesterday_day_one(db_url, user_id)
    reward = _event(client, CONCEPT)["reward"] if how == "reading" else _submit(client, GOOD)["reward"]
    assert reward["xp_awarded"] == 68, "50 × (1 + 0.25 first try + 0.10 streak) = 67.5 → 68"
    assert reward["streak"] == {"current": 2, "longest": 2, "today_counted": True}
    _assert_matches_profile(client, reward)


# ---------------------------------------------------------------------------------------------
# The code: one function decides the XP of a completed lesson.

SIDECAR = Path(__file__).resolve().parent.parent / "sidecar"
DECIDING = ("progress/completion.py", "lesson_awards")
AWARD_FUNCTIONS = {"lesson_xp", "challenge_xp", "quiz_xp"}
SOURCE_PREFIXES = ("lesson:", "quiz:")


def _places(predicate: Any) -> set[tuple[str, str]]:
    """(file under sidecar/, innermost enclosing function) of every node the predicate accepts."""
    found: set[tuple[str, str]] = set()
    for path in SIDECAR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(SIDECAR).as_posix()

        def visit(node: ast.AST, function: str, relative: str = relative) -> None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                function = node.name
            if predicate(node):
                found.add((relative, function))
            for child in ast.iter_child_nodes(node):
                visit(child, function)

        visit(tree, "<module>")
    return found


def _calls_award_function(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in AWARD_FUNCTIONS


def _names_a_lesson_source_key(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and str(first.value).startswith(SOURCE_PREFIXES)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(SOURCE_PREFIXES)


def test_the_xp_of_a_completed_lesson_is_decided_in_one_function() -> None:
    assert _places(_calls_award_function) == {DECIDING}, "lesson, challenge and quiz XP: only lesson_awards"
    assert _places(_names_a_lesson_source_key) == {DECIDING}, "lesson:/quiz: ledger keys: only lesson_awards"


def test_the_entry_points_complete_lessons_through_the_one_path() -> None:
    def calls(name: str) -> Any:
        def predicate(node: ast.AST) -> bool:
            return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                    and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == name)
        return predicate

    entry_points = {("grading/exercises.py", "_record"), ("grading/service.py", "record_quiz_attempt")}
    assert _places(calls("complete_graded_lesson")) == entry_points
    assert _places(calls("complete_lesson")) == {("progress/events.py", "record_event"),
                                                 ("progress/completion.py", "complete_graded_lesson")}
    # Besides lessons, only achievements, certificates (§8.2: a certificate's own XP) and the day's spaced
    # review (paid as the lesson row, in progress.completion too) pay XP.
    assert _places(calls("award_xp")) <= {("progress/completion.py", "complete_lesson"),
                                          ("progress/completion.py", "complete_review"),
                                          ("progress/completion.py", "_after_completion"),
                                          ("gamification/service.py", "evaluate_achievements"),
                                          ("certificates/service.py", "issue_in_tx")}
