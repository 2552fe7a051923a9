"""Timed challenges: the learner starts them, attempts with a retake policy, practice mode, the test clock.

Through the API on SQLite and PostgreSQL, over the minimal course (speed-run: a 10-minute challenge,
150 XP, no policy: the defaults) and over a copy of it whose speed-run declares a strict policy.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import func, inspect, select, text, update

from sidecar.catalog import readers
from sidecar.catalog.service import LessonInfo
from sidecar.compiler.build import BuildReport, build
from sidecar.courseware.schemas import validator
from sidecar.courseware.validate import validate
from sidecar.db.base import set_clock_offset, utcnow
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.db.migrate import alembic_config, current_revision, upgrade
from sidecar.gamification.tables import XpTransaction
from sidecar.grading import challenges
from sidecar.grading.tables import ChallengeAttempt
from sidecar.progress import completion
from sidecar.settings import REPO_ROOT, Settings
from tests.conftest import MINIMAL, client_factory

TRIPLE = "00000000-0000-4000-8000-000000000042"  # the exercise of third-steps/speed-run
SPEED_RUN = "00000000-0000-4000-8000-000000000041"  # challenge, 150 XP, 10 minutes, the module's only lesson
SOLUTION = "def triple(n):\n    return n * 3\n"
WRONG = "def triple(n):\n    return n\n"
STRICT = "attempt_policy:\n  max_attempts: 2\n  cooldown_minutes: 30\n  after_expiry: locked\n"
MODULE_XP = 375  # the one-lesson module completes under par: 300 +25%


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    """The server's clock is process-wide: every test starts and ends on real time."""
    set_clock_offset(timedelta(0))
    yield
    set_clock_offset(timedelta(0))


@pytest.fixture(scope="module")
def strict_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The minimal course with speed-run declaring: 2 attempts, 30 minutes apart, locked after expiry."""
    root = tmp_path_factory.mktemp("strict")
    shutil.copytree(MINIMAL, root, dirs_exist_ok=True)
    lesson = root / "content/tracks/demo-track/demo-course/third-steps/speed-run.md"
    lesson.write_text(lesson.read_text().replace("time_limit_minutes: 10\n", "time_limit_minutes: 10\n" + STRICT))
    return build(repo=REPO_ROOT, content_dir=root / "content", build_dir=root / "build", log=lambda _: None)


@pytest.fixture
def strict_client(strict_build: BuildReport) -> Iterator[Any]:
    yield from client_factory(strict_build, serve_site=False)


def _submit(client: Any, code: str = SOLUTION) -> Any:
    return client.post(f"/api/exercises/{TRIPLE}/submissions", json={"code": code, "submission_id": uuid.uuid4().hex})


def _state(client: Any) -> dict[str, Any]:
    response = client.get(f"/api/challenges/{SPEED_RUN}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _move_clock(client: Any, **delta: float) -> None:
    seconds = timedelta(**delta).total_seconds()
    response = client.post("/api/test/clock", json={"offset_seconds": seconds})
    assert response.status_code == 200, response.text


def _expire(db_url: str, user_id: str) -> None:
    with write_session(get_engine(db_url)) as session:
        session.execute(update(ChallengeAttempt).where(ChallengeAttempt.user_id == user_id)
                        .values(deadline=utcnow() - timedelta(minutes=1)))


def _lesson_xp(db_url: str, user_id: str) -> list[int]:
    with read_session(get_engine(db_url)) as session:
        return list(session.scalars(select(XpTransaction.amount).where(
            XpTransaction.user_id == user_id, XpTransaction.source_key == f"lesson:{SPEED_RUN}")))


def _attempts(db_url: str) -> int:
    with read_session(get_engine(db_url)) as session:
        return int(session.scalar(select(func.count()).select_from(ChallengeAttempt)) or 0)


def test_reading_the_state_starts_nothing(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("peek@example.com")
    for _ in range(2):
        state = _state(client)
        assert state["status"] == "not_started" and state["attempt"] == 0 and state["can_start"] is True
        assert state["seconds_left"] == 0 and state["deadline"] is None and state["time_limit_minutes"] == 10
        assert state["submission_mode"] == "practice"
        assert state["policy"] == {"max_attempts": None, "cooldown_minutes": 60, "after_expiry": "practice",
                                   "practice_xp": True}
    assert _attempts(db_url) == 0


def test_state_needs_a_learner_and_a_challenge(make_client, db_url: str) -> None:
    client = make_client(db_url)
    assert client.get(f"/api/challenges/{SPEED_RUN}").status_code == 401
    assert client.post(f"/api/challenges/{SPEED_RUN}/start").status_code in (401, 403)
    client.signup("lost@example.com")
    printing = "00000000-0000-4000-8000-000000000013"  # a code-along lesson, not a challenge
    for lesson in (printing, str(uuid.uuid4())):
        missing = client.get(f"/api/challenges/{lesson}")
        assert missing.status_code == 404 and missing.json()["error"]["code"]
        assert client.post(f"/api/challenges/{lesson}/start").status_code == 404


def test_start_is_idempotent_and_reload_rejoins_the_clock(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("starter@example.com")
    started = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    assert started["status"] == "running" and started["attempt"] == 1 and 590 < started["seconds_left"] <= 600
    again = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    reread = _state(client)
    assert again["deadline"] == started["deadline"] == reread["deadline"] and reread["attempt"] == 1
    assert reread["submission_mode"] == "timed" and reread["can_start"] is False
    assert _attempts(db_url) == 1


def test_concurrent_starts_make_one_attempt(make_client, db_url: str, minimal_build: BuildReport) -> None:
    client = make_client(db_url)
    user = client.signup("racer@example.com")
    engine = get_engine(db_url)

    def start(_: int) -> tuple[int, Any]:
        state = challenges.start(engine=engine, catalog_db=minimal_build.catalog_db, user_id=user["id"],
                                 lesson_id=SPEED_RUN)
        assert state.latest is not None
        return state.latest.attempt, state.latest.deadline

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = set(pool.map(start, range(12)))
    assert len(results) == 1 and next(iter(results))[0] == 1
    assert _attempts(db_url) == 1


def test_timed_pass_earns_the_challenge_xp_once(make_client, db_url: str) -> None:
    client = make_client(db_url)
    user = client.signup("fast@example.com")
    client.post(f"/api/challenges/{SPEED_RUN}/start")
    assert _submit(client, WRONG).json()["challenge_mode"] == "timed"
    body = _submit(client).json()
    # 150 +100% no hints, plus the module.
    assert body["passed"] is True and body["challenge_mode"] == "timed" and body["xp_awarded"] == 300 + MODULE_XP
    assert _state(client)["status"] == "passed"
    _expire(db_url, user["id"])
    practice = _submit(client).json()
    assert practice["challenge_mode"] == "practice" and practice["xp_awarded"] == 0, "a later practice pays nothing"
    assert _lesson_xp(db_url, user["id"]) == [300]
    passed = client.post(f"/api/challenges/{SPEED_RUN}/start")
    assert passed.status_code == 409 and passed.json()["error"]["details"]["status"] == "passed"


def test_expiry_then_practice_pass_completes_without_the_timed_xp(make_client, db_url: str) -> None:
    client = make_client(db_url)
    user = client.signup("slow@example.com")
    client.post(f"/api/challenges/{SPEED_RUN}/start")
    _expire(db_url, user["id"])
    state = _state(client)
    assert state["status"] == "expired" and state["submission_mode"] == "practice" and state["seconds_left"] == 0
    assert state["can_start"] is False and state["retake_at"] is not None, "the 60-minute cool-down runs"
    body = _submit(client).json()
    assert body["passed"] is True and body["challenge_mode"] == "practice" and body["lesson_state"] == "completed"
    assert body["xp_awarded"] == 50 + MODULE_XP, "the ordinary lesson's 50 XP, never the timed 300"
    assert _submit(client).json()["xp_awarded"] == 0
    assert _lesson_xp(db_url, user["id"]) == [50]
    assert _state(client)["status"] == "passed"
    retake = client.post(f"/api/challenges/{SPEED_RUN}/start")
    assert retake.status_code == 409, "passed: no timed attempt can pay a second time"
    assert _lesson_xp(db_url, user["id"]) == [50]


def test_submitting_before_any_start_is_practice(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("never@example.com")
    body = _submit(client).json()
    assert body["challenge_mode"] == "practice" and body["lesson_state"] == "completed"
    assert _attempts(db_url) == 0, "grading starts no clock"


def test_cooldown_then_retake_on_the_moved_server_clock(make_client, db_url: str) -> None:
    client = make_client(db_url, DRONA_TEST_CLOCK=True)
    client.signup("again@example.com")
    first = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    _move_clock(client, minutes=15)  # the 10 minutes are up; the cool-down ends 60 minutes after
    assert _state(client)["status"] == "expired"
    early = client.post(f"/api/challenges/{SPEED_RUN}/start")
    assert early.status_code == 409
    retake_at = early.json()["error"]["details"]["retake_at"]
    assert datetime.fromisoformat(retake_at) == datetime.fromisoformat(_state(client)["retake_at"])
    _move_clock(client, days=1)  # come back a day later
    second = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    assert second["status"] == "running" and second["attempt"] == 2 and second["deadline"] > first["deadline"]
    body = _submit(client).json()
    assert body["challenge_mode"] == "timed" and body["xp_awarded"] == 300 + MODULE_XP
    # The grading path and progress read the moved clock too.
    assert body["created_at"] >= (utcnow() - timedelta(minutes=1)).isoformat()[:16]
    assert _attempts(db_url) == 2


def test_strict_policy_limits_attempts_and_locks_after_expiry(strict_client, db_url: str) -> None:
    client = strict_client(db_url, DRONA_TEST_CLOCK=True)
    client.signup("strict@example.com")
    state = _state(client)
    assert state["policy"] == {"max_attempts": 2, "cooldown_minutes": 30, "after_expiry": "locked",
                               "practice_xp": True}
    assert state["attempts_left"] == 2 and state["submission_mode"] == "locked"
    before = _submit(client)
    assert before.status_code == 409 and "Press Start" in before.json()["error"]["message"]
    client.post(f"/api/challenges/{SPEED_RUN}/start")
    _move_clock(client, minutes=11)
    late = _submit(client)
    assert late.status_code == 409 and late.json()["error"]["details"]["deadline"]
    _move_clock(client, minutes=20)
    assert client.post(f"/api/challenges/{SPEED_RUN}/start").status_code == 409, "the cool-down still runs"
    _move_clock(client, minutes=41)  # 30 minutes after the deadline
    second = client.post(f"/api/challenges/{SPEED_RUN}/start").json()
    assert second["attempt"] == 2 and second["attempts_left"] == 0
    assert _submit(client, WRONG).status_code == 200
    _move_clock(client, days=2)
    last = _state(client)
    assert last["status"] == "expired" and last["can_start"] is False and last["retake_at"] is None
    over = client.post(f"/api/challenges/{SPEED_RUN}/start")
    assert over.status_code == 409 and over.json()["error"]["details"]["attempts_left"] == 0
    assert _attempts(db_url) == 2


def test_practice_xp_off_pays_no_lesson_xp() -> None:
    info = LessonInfo(id=SPEED_RUN, slug="speed-run", title="Speed run", type="challenge", xp=150,
                                 url="/", module_id="m", course_id="c", track_id="t", completes_on_reading=False)
    off = completion.Attempt.exercise(first_try=True, hints_used=0, practice=True, practice_xp=False)
    on = completion.Attempt.exercise(first_try=True, hints_used=0, practice=True, practice_xp=True)
    timed = completion.Attempt.exercise(first_try=True, hints_used=0)
    assert completion.lesson_awards(info, off, streak_active=True) == []
    [(key, award)] = completion.lesson_awards(info, on, streak_active=False)
    assert key == f"lesson:{SPEED_RUN}" and award.amount == 50, "the ordinary lesson XP, no first-try bonus"
    assert completion.lesson_awards(info, timed, streak_active=False)[0][1].amount == 300


def test_policy_reaches_the_catalog(strict_build: BuildReport, minimal_build: BuildReport) -> None:
    assert readers.lesson(strict_build.catalog_db, SPEED_RUN).attempt_policy == {
        "max_attempts": 2, "cooldown_minutes": 30, "after_expiry": "locked"}
    assert readers.lesson(minimal_build.catalog_db, SPEED_RUN).attempt_policy is None
    assert challenges.AttemptPolicy.of(None) == challenges.AttemptPolicy(
        max_attempts=None, cooldown_minutes=60, after_expiry="practice", practice_xp=True)


LESSON = {"id": "ff9c6f85-e300-40e8-a0f1-522774bb249a", "title": "FizzBuzz", "type": "challenge",
          "objectives": ["Solve it."], "skills": ["python.loops"], "minutes": 20, "time_limit_minutes": 15}


@pytest.mark.parametrize("policy", [{}, {"max_attempts": "unlimited"}, {"max_attempts": 3, "cooldown_minutes": 0,
                                                                       "after_expiry": "locked", "practice_xp": False}])
def test_good_policies_validate(policy: dict[str, Any]) -> None:
    assert list(validator("lesson").iter_errors({**LESSON, "attempt_policy": policy})) == []


@pytest.mark.parametrize("policy", [{"max_attempts": 0}, {"max_attempts": "lots"}, {"cooldown_minutes": -1},
                                    {"after_expiry": "retry"}, {"practice_xp": "yes"}, {"retakes": 2}, [1]])
def test_bad_policies_are_rejected(policy: Any) -> None:
    assert list(validator("lesson").iter_errors({**LESSON, "attempt_policy": policy}))


def test_policy_only_on_challenges_and_optional_on_silver() -> None:
    concept = {**LESSON, "type": "concept", "attempt_policy": {"max_attempts": 2}}
    del concept["time_limit_minutes"]
    assert list(validator("lesson").iter_errors(concept))
    certifications = (REPO_ROOT / "tests/schema_examples/certifications/valid/silver-attempt-policy.yaml")
    assert "attempt_policy" in certifications.read_text()


def test_test_clock_is_refused_outside_local(make_client, sqlite_url: str) -> None:
    with pytest.raises(ValidationError, match="DRONA_TEST_CLOCK"):
        Settings(DRONA_ENV="production", SECRET_KEY="x" * 40, DRONA_TEST_CLOCK=True)
    off = make_client(sqlite_url)
    off.signup("clock@example.com")
    assert off.post("/api/test/clock", json={"offset_seconds": 60}).status_code == 404
    assert abs((utcnow() - real_now()).total_seconds()) < 5, "the clock did not move"
    on = make_client(sqlite_url, DRONA_TEST_CLOCK=True)
    assert on.post("/api/test/clock", json={"offset_seconds": 60}).status_code == 401, "a learner must sign in"
    on.signup("clock2@example.com")
    assert on.post("/api/test/clock", json={"offset_seconds": 1e12}).status_code == 422
    moved = on.post("/api/test/clock", json={"offset_seconds": 86400}).json()
    assert moved["offset_seconds"] == 86400 and (utcnow() - real_now()).total_seconds() > 86000


def real_now() -> datetime:
    return datetime.now(UTC)


def test_migration_0005_upgrades_and_downgrades(db_url: str) -> None:
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert current_revision(db_url) == "0004"
    assert "challenge_attempts" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, email, password_hash, display_name, role, is_active, "
                                "created_at, password_changed_at) VALUES ('u1', 'old@example.com', 'x', 'Old', "
                                "'learner', :yes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"yes": True})
        connection.execute(text("INSERT INTO challenge_starts (user_id, lesson_id, started_at, deadline) VALUES "
                                "('u1', 'l1', :start, :deadline)"),
                           {"start": "2026-01-01 10:00:00", "deadline": "2026-01-01 10:15:00"})
    upgrade(db_url)
    assert "challenge_starts" not in inspect(engine).get_table_names()
    with read_session(engine) as session:
        [old] = session.scalars(select(ChallengeAttempt)).all()
    assert (old.user_id, old.lesson_id, old.attempt) == ("u1", "l1", 1), "an old clock is attempt 1"
    assert old.deadline - old.started_at == timedelta(minutes=15)
    with write_session(engine) as session:
        session.add(ChallengeAttempt(user_id="u1", lesson_id="l1", attempt=2, started_at=old.started_at
                                     + timedelta(days=1), deadline=old.deadline + timedelta(days=1)))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT user_id, lesson_id FROM challenge_starts")).all()
    assert [tuple(r) for r in rows] == [("u1", "l1")], "the latest attempt is kept as the one clock"
    upgrade(db_url)
    assert "challenge_attempts" in inspect(engine).get_table_names() and current_revision(db_url) != "0004"


def test_validate_reports_a_bad_policy_with_its_line(content_tree: Path) -> None:
    lesson = content_tree / "content/tracks/demo-track/demo-course/third-steps/speed-run.md"
    text_ = lesson.read_text()
    lesson.write_text(text_.replace("time_limit_minutes: 10\n", "time_limit_minutes: 10\nattempt_policy:\n"
                                    "  max_attempts: 0\n  after_expiry: sometimes\n"))
    result = validate(content_tree / "content", content_tree, run_code=False)
    reported = [(p.line, p.message) for p in result.problems.sorted() if p.path.endswith("speed-run.md")]
    assert any("attempt_policy.after_expiry" in message and line == 12 for line, message in reported), reported
    lesson.write_text(text_.replace("time_limit_minutes: 10\n", "time_limit_minutes: 10\n" + STRICT))
    assert [str(p) for p in validate(content_tree / "content", content_tree, run_code=False).problems.sorted()] == []
