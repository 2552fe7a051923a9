"""The learning record: every learning event becomes one valid xAPI statement, in the event's transaction.

On SQLite and PostgreSQL, through the API: a lesson viewed and completed, an exercise submission, a
hint, a tutor turn, quiz answers, assessment items and a spaced review each store their statement
(validated with Ralph's models, actor an account and never an email, skills and course attached); a
replayed event stores nothing more; a rolled-back transaction leaves none; the LRS outbox fills only
when an LRS is configured. Forwarding to a real LRS is tests/test_xapi_lrs.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from sidecar.catalog import readers
from sidecar.db.base import set_clock_offset
from sidecar.db.engine import get_engine, read_session, write_session, write_tx
from sidecar.grading import exercises as grading_exercises
from sidecar.progress import completion
from sidecar.sandbox import GradeResult
from sidecar.settings import Settings
from sidecar.xapi import forward, verbs
from sidecar.xapi import service as xapi
from sidecar.xapi.tables import LrsOutbox, XapiStatement

CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code: completes on reading
DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing's exercise (hints)
QUIZ = "00000000-0000-4000-8000-000000000016"
MCQ, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in (17, 18, 19, 20))
RIGHT = {MCQ: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}
COURSE = "00000000-0000-4000-8000-000000000011"


@pytest.fixture(autouse=True)
def _fresh_config() -> Any:
    """Each app sets the record's configuration; put it back so no later test inherits an LRS."""
    yield
    xapi.configure(xapi.RecordConfig(home_page=xapi.FALLBACK_HOME_PAGE, forward=False))
    xapi._config = None
    set_clock_offset(timedelta(0))


class PassingSandbox:
    """Grades every program as passing every test (the grading path, not the sandbox, is under test)."""

    def grade(self, code: str, tests: Any, seed: int, time_limit: float | None = None,
              memory_mb: int | None = None) -> GradeResult:
        return GradeResult(passed=True, results=[{"name": t["name"], "passed": True, "message": "", "hidden": False}
                                                 for t in tests], status="ok", message="", duration_ms=1.0,
                           worker_restarts=0)


def _rows(url: str) -> list[XapiStatement]:
    with read_session(get_engine(url)) as session:
        rows = list(session.scalars(select(XapiStatement).order_by(XapiStatement.seq)))
        session.expunge_all()
    return rows


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


# ---- the statement itself ------------------------------------------------------------------------------


def test_a_statement_is_full_xapi_and_ralph_validates_it() -> None:
    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    sid = xapi.statement_id(key="k1", user_id="u1", verb="attempted", object_type="exercise", object_id="ex 1")
    assert sid == xapi.statement_id(key="k1", user_id="u1", verb="attempted", object_type="exercise",
                                    object_id="ex 1")  # deterministic
    assert str(uuid.UUID(sid)) == sid and uuid.UUID(sid).version == 5
    statement = xapi.build_statement(sid=sid, home_page="https://learn.example.com", user_id="u1", verb="attempted",
                                     object_type="exercise", object_id="ex 1", course_id="c1", skills=["loops.for"],
                                     success=False, score=0.25, duration_s=90.5, timestamp=at,
                                     extensions={"attempt": 2, "nothing": None})
    xapi.validate(statement)
    assert statement["actor"] == {"objectType": "Agent",
                                  "account": {"homePage": "https://learn.example.com", "name": "u1"}}
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/attempted"
    assert statement["object"]["id"] == "https://learn.example.com/xapi/activities/exercise/ex%201"
    assert statement["result"] == {"success": False, "score": {"scaled": 0.25}, "duration": "PT90.5S"}
    assert statement["context"]["contextActivities"]["grouping"][0]["id"].endswith("/course/c1")
    assert statement["context"]["contextActivities"]["other"][0]["id"].endswith("/skill/loops.for")
    assert statement["context"]["extensions"] == {"https://learn.example.com/xapi/extensions/attempt": 2}
    assert statement["timestamp"] == "2026-12-06T09:30:00+00:00" and statement["version"] == "1.0.3"
    # Every verb and activity type makes a valid statement.
    for verb in verbs.VERBS:
        for object_type in verbs.ACTIVITY_TYPES:
            xapi.validate(xapi.build_statement(
                sid=sid, home_page=xapi.FALLBACK_HOME_PAGE, user_id="u1", verb=verb, object_type=object_type,
                object_id="x", course_id=None, skills=[], success=None, score=None, duration_s=None, timestamp=at,
                extensions=None))
    # Ralph's models refuse what xAPI refuses: an object id that is no IRI, an empty value, a bad score.
    for broken in ({**statement, "object": {"id": "not an iri"}},
                   {**statement, "verb": {"id": statement["verb"]["id"], "display": {}}},
                   {**statement, "result": {"score": {"scaled": 1.5}}},
                   {**statement, "actor": {"mbox": "ada@example.com"}}):
        with pytest.raises(ValidationError):
            xapi.validate(broken)
    with pytest.raises(ValueError, match="verb"):
        xapi.prepare(key="k", user_id="u", verb="liked", object_type="lesson", object_id="l", timestamp=at)


# ---- every learning event, through the API ----------------------------------------------------------------


def test_every_learning_event_records_one_statement(make_client: Any, db_url: str, minimal_build: Any) -> None:
    client = make_client(db_url, DRONA_TEST_CLOCK=True)
    user = client.signup("ada@example.com", name="Ada Lovelace")
    user_id = user["id"]
    catalog = minimal_build.catalog_db
    lessons = readers.lessons(catalog)

    # Lesson viewed, then completed on reading; the same events replayed add nothing.
    viewed_id, completed_id = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        _ok(client.post("/api/progress/events", json={"event_id": viewed_id, "lesson_id": CONCEPT, "kind": "started"}))
        _ok(client.post("/api/progress/events", json={"event_id": completed_id, "lesson_id": CONCEPT,
                                                      "kind": "completed"}))
    # Another "completed" event for a completed lesson completes nothing: no second statement.
    _ok(client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": CONCEPT,
                                                  "kind": "completed"}))

    # A hint, then a submission (graded as passing), the submission retried.
    _ok(client.post(f"/api/exercises/{DOUBLE}/hints"))
    client.app.state.sandbox = PassingSandbox
    submission_id = uuid.uuid4().hex
    for _ in range(2):
        _ok(client.post(f"/api/exercises/{DOUBLE}/submissions",
                        json={"code": "def double(n):\n    return n * 2\n", "submission_id": submission_id}))

    # A tutor turn (the offline policy), retried with the same client id.
    turn_key = uuid.uuid4().hex
    for _ in range(2):
        response = client.post("/api/ai/chat", json={"message": "What is a variable?", "lesson_id": CONCEPT,
                                                     "client_id": turn_key})
        assert response.status_code == 200 and "event: done" in response.text, response.text

    # A quiz attempt: one statement per item.
    _ok(client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": {**RIGHT, PREDICT: "22"}}))

    # A spaced review, once its card is due (the server's test clock moves two weeks on).
    _ok(client.post("/api/test/clock", json={"offset_seconds": timedelta(days=15).total_seconds()}))
    card = next(c for c in _ok(client.get("/api/review"))["session"] if c["item_key"] == f"quiz-item:{MCQ}")
    review_id = uuid.uuid4().hex
    _ok(client.post("/api/review/answers", json={"item_key": card["item_key"], "review_id": review_id, "answer": 0}))
    _ok(client.post("/api/test/clock", json={"offset_seconds": 0}))

    # A Silver attempt's conceptual section, answered and submitted: one statement per item.
    bank = {item.id: item.data for item in readers.silver_bank(catalog, COURSE)}
    state = _ok(client.post(f"/api/assessments/{COURSE}/attempts", json={}), 201)
    attempt = state["id"]
    state = _ok(client.post(f"/api/assessments/attempts/{attempt}/sections/conceptual/start"))
    while pending := [i for i in next(s for s in state["sections"] if s["key"] == "conceptual")["items"]
                      if not i["answered"]]:
        state = _ok(client.put(f"/api/assessments/attempts/{attempt}/sections/conceptual/items/"
                               f"{pending[0]['position']}",
                               json={"answer": bank[pending[0]["item_id"]]["answer"], "active_ms": 1500}))
    state = _ok(client.post(f"/api/assessments/attempts/{attempt}/sections/conceptual/submit"))
    conceptual = next(s for s in state["sections"] if s["key"] == "conceptual")["items"]

    rows = _rows(db_url)
    by_verb = Counter(row.verb for row in rows)
    assert by_verb == {"viewed": 1, "completed": 2, "asked": 1, "attempted": 1, "interacted": 1, "answered": 4,
                       "reviewed": 1, "responded": len(conceptual)}, by_verb
    assert len({row.id for row in rows}) == len(rows)
    for row in rows:
        xapi.validate(row.statement)  # as stored
        assert row.user_id == user_id and row.statement["actor"]["account"]["name"] == user_id
        assert user["email"] not in json.dumps(row.statement) and "mbox" not in json.dumps(row.statement)
        assert row.statement["id"] == row.id and row.statement["verb"]["id"] == verbs.verb_iri(row.verb)
        assert row.statement["object"]["id"].startswith("http://127.0.0.1:8000/xapi/activities/")

    def one(verb: str, object_id: str | None = None) -> XapiStatement:
        found = [r for r in rows if r.verb == verb and (object_id is None or r.object_id == object_id)]
        assert len(found) == 1, (verb, object_id, found)
        return found[0]

    concept = lessons[CONCEPT]
    viewed = one("viewed")
    assert (viewed.object_type, viewed.object_id, viewed.course_id) == ("lesson", CONCEPT, concept.course_id)
    assert viewed.skills == concept.skills and viewed.skills  # the lesson's skills, from the catalog
    assert viewed.id == xapi.statement_id(key=viewed_id, user_id=user_id, verb="viewed", object_type="lesson",
                                          object_id=CONCEPT)
    done = one("completed", CONCEPT)
    assert done.success is True and done.statement["result"]["completion"] is True
    exercise = readers.exercise(catalog, DOUBLE)
    double_lesson = lessons[exercise.lesson_id or ""]
    # The passing submission completed its lesson too (one "completed", whatever the path).
    assert one("completed", double_lesson.id).statement["context"]["extensions"][
        "http://127.0.0.1:8000/xapi/extensions/via"] == "exercise"
    attempted = one("attempted")
    assert (attempted.object_type, attempted.object_id, attempted.success, attempted.score) == (
        "exercise", DOUBLE, True, 1.0)
    assert attempted.skills == exercise.skills and attempted.course_id == double_lesson.course_id
    hint = one("asked")
    assert (hint.object_type, hint.object_id, hint.skills) == ("exercise", DOUBLE, exercise.skills)
    turn = one("interacted")
    assert turn.object_type == "conversation" and turn.course_id == concept.course_id
    assert set(concept.skills) <= set(turn.skills)
    answered = {r.object_id: r for r in rows if r.verb == "answered"}
    assert set(answered) == set(RIGHT) and answered[PREDICT].success is False and answered[MCQ].success is True
    assert answered[MCQ].skills and answered[MCQ].score == 1.0 and answered[PREDICT].score == 0.0
    reviewed = one("reviewed")
    assert (reviewed.object_type, reviewed.object_id, reviewed.success) == ("review_card", f"quiz-item:{MCQ}", True)
    assert reviewed.skills == answered[MCQ].skills
    assert reviewed.timestamp > answered[MCQ].timestamp + timedelta(days=14)  # the server's (test) clock
    responded = [r for r in rows if r.verb == "responded"]
    assert {r.object_id for r in responded} == {i["item_id"] for i in conceptual}
    assert all(r.course_id == COURSE and r.success is True and r.score == 1.0 and r.duration_s == 1.5
               for r in responded)
    # No LRS configured: nothing queued.
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(func.count()).select_from(LrsOutbox)) == 0


# ---- transactions, replays, the outbox ---------------------------------------------------------------------


def _user(client: Any) -> str:
    client.signup(f"u{uuid.uuid4().hex[:8]}@example.com")
    return str(client.get("/api/me").json()["id"])


def test_a_rolled_back_event_leaves_no_statement(make_client: Any, db_url: str, minimal_build: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    user_id = _user(client)
    engine = get_engine(db_url)
    at = datetime.now(UTC)

    class Boom(Exception):
        pass

    # Directly, on a Session and on a driver-level Tx.
    with pytest.raises(Boom), write_session(engine) as session:
        xapi.record(db=session, key="s", user_id=user_id, verb="viewed", object_type="lesson", object_id=CONCEPT,
                    timestamp=at)
        raise Boom
    with pytest.raises(Boom), write_tx(engine) as tx:
        xapi.record(db=tx, key="t", user_id=user_id, verb="viewed", object_type="lesson", object_id=CONCEPT,
                    timestamp=at)
        raise Boom
    assert _rows(db_url) == []

    # A submission whose transaction fails after the statement was written: neither is kept.
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Boom

    monkeypatch.setattr(completion, "complete_graded_lesson", fail)
    exercise = readers.exercise(minimal_build.catalog_db, DOUBLE)
    pending = grading_exercises.Pending(exercise=exercise, code="x", client_id="c-1", seed=0, tests=exercise.tests,
                                        at=at)
    graded = PassingSandbox().grade("x", exercise.tests, 0)
    with pytest.raises(Boom):
        grading_exercises.record_submission(engine=engine, catalog_db=minimal_build.catalog_db, user_id=user_id,
                                            pending=pending, graded=graded, gamification_enabled=True)
    assert _rows(db_url) == []
    monkeypatch.undo()
    grading_exercises.record_submission(engine=engine, catalog_db=minimal_build.catalog_db, user_id=user_id,
                                        pending=pending, graded=graded, gamification_enabled=True)
    assert Counter(r.verb for r in _rows(db_url)) == {"attempted": 1, "completed": 1}


def test_a_replay_stores_nothing_more_and_the_outbox_fills_only_for_an_lrs(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    user_id = _user(client)
    engine = get_engine(db_url)
    at = datetime.now(UTC)

    def record(key: str) -> str:
        with write_session(engine) as session:
            return xapi.record(db=session, key=key, user_id=user_id, verb="answered", object_type="quiz_item",
                               object_id=MCQ, skills=["a", "a", "b"], success=True, score=1.0, timestamp=at)

    first = record("attempt-1")
    assert record("attempt-1") == first
    assert [r.id for r in _rows(db_url)] == [first] and _rows(db_url)[0].skills == ["a", "b"]
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LrsOutbox)) == 0

    xapi.configure(Settings(APP_URL="https://learn.example.com/", LRS_URL="http://127.0.0.1:9"))
    second = record("attempt-2")
    assert record("attempt-2") == second
    with write_tx(engine) as tx:  # the driver-level path queues too
        xapi.record(db=tx, key="attempt-3", user_id=user_id, verb="answered", object_type="quiz_item",
                    object_id=MCQ, timestamp=at)
    rows = _rows(db_url)
    assert len(rows) == 3 and rows[1].statement["actor"]["account"]["homePage"] == "https://learn.example.com"
    with read_session(engine) as session:
        queued = list(session.scalars(select(LrsOutbox.statement_id)))
    assert sorted(queued) == sorted([rows[1].id, rows[2].id])  # only what was recorded with an LRS set
    assert forward.pending(engine=engine) == 2


def test_the_back_off_doubles_up_to_an_hour() -> None:
    assert [forward.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert forward.backoff(30).total_seconds() == 3600
    lrs = forward.Lrs(url="https://lrs.example.com", username="u", password="s3cret-pass")
    assert lrs.endpoint == "https://lrs.example.com/xAPI/statements" and "s3cret-pass" not in repr(lrs)
    settings = Settings(LRS_URL="https://lrs.example.com/", LRS_USERNAME="u", LRS_PASSWORD="s3cret-pass")
    assert "s3cret-pass" not in repr(settings) and "s3cret-pass" not in str(settings.model_dump())
    assert forward.Lrs.from_settings(settings).endpoint == "https://lrs.example.com/xAPI/statements"


def test_recording_is_cheap(sqlite_url: str, make_client: Any) -> None:
    """The cost a domain pays per event: build, validate, insert (SQLite, one transaction per event)."""
    client = make_client(sqlite_url)
    user_id = _user(client)
    engine = get_engine(sqlite_url)
    at = datetime.now(UTC)
    n = 300
    started = time.perf_counter()
    for i in range(n):
        with write_tx(engine) as tx:
            xapi.record(db=tx, key=f"e{i}", user_id=user_id, verb="viewed", object_type="lesson", object_id=CONCEPT,
                        course_id=COURSE, skills=["variables", "printing"], timestamp=at)
    per_event_ms = (time.perf_counter() - started) / n * 1000
    prepared = [xapi.prepare(key=f"p{i}", user_id=user_id, verb="viewed", object_type="lesson", object_id=CONCEPT,
                             course_id=COURSE, skills=["variables", "printing"], timestamp=at) for i in range(n)]
    started = time.perf_counter()
    with write_tx(engine) as tx:
        for statement in prepared:
            xapi.store(tx, statement)
    store_ms = (time.perf_counter() - started) / n * 1000
    print(f"\nxAPI record: {per_event_ms:.3f} ms per event in its own transaction; "
          f"{store_ms:.3f} ms per insert under the lock (prepared before it)")
    assert len(_rows(sqlite_url)) == 2 * n
    assert store_ms < 2.0 and per_event_ms < 10.0


# ---- the migration ------------------------------------------------------------------------------------------


def test_the_migration_matches_the_tables_and_goes_down_and_up(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from sidecar.db.migrate import alembic_config, current_revision, upgrade
    from sidecar.db.registry import metadata

    engine = get_engine(db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in diff if "xapi_" in repr(d)] == []
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
    assert current_revision(db_url) == "0014"
    assert not {"xapi_statements", "xapi_lrs_outbox"} & set(inspect(engine).get_table_names())
    upgrade(db_url)
    assert {"xapi_statements", "xapi_lrs_outbox"} <= set(inspect(engine).get_table_names())
