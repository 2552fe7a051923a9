"""Progress, XP, streaks and achievements through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from sidecar.db.engine import get_engine, read_session
from sidecar.gamification.tables import XpTransaction
from sidecar.progress import service as progress
from sidecar.progress.tables import ProgressEvent

CONCEPT = "00000000-0000-4000-8000-000000000031"  # second-steps/reading-code (concept, 50 XP)
REFLECTION = "00000000-0000-4000-8000-000000000032"  # second-steps/naming-things (reflection, 40 XP)
EXERCISE_LESSON = "00000000-0000-4000-8000-000000000013"  # first-steps/printing (has an exercise)
SECOND_MODULE = "00000000-0000-4000-8000-000000000030"


def _event(client, lesson: str, kind: str = "completed", event_id: str | None = None, **extra):
    body = {"event_id": event_id or str(uuid.uuid4()), "lesson_id": lesson, "kind": kind, **extra}
    return client.post("/api/progress/events", json=body)


def test_concept_lesson_completes_on_reading_and_awards_xp(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("p@example.com")
    started = _event(client, CONCEPT, "started").json()
    assert started["state"] == "started" and started["xp_awarded"] == 0
    done = _event(client, CONCEPT).json()
    # §8.2: lesson 50 XP, +25% first attempt = 62.5 → 63 (no streak bonus on day one).
    assert done["state"] == "completed" and done["xp_awarded"] == 63 and done["total_xp"] == 63
    assert [a["slug"] for a in done["new_achievements"]] == ["first-steps"]
    again = _event(client, CONCEPT).json()
    assert again["xp_awarded"] == 0 and again["total_xp"] == 63 and again["new_achievements"] == []
    profile = client.get("/api/gamification/profile").json()
    assert profile["xp"] == 63 and profile["level"] == 1 and profile["streak"]["current"] == 1
    assert [a["slug"] for a in profile["achievements"]] == ["first-steps"]


def test_module_completion_awards_module_xp_once(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("m@example.com")
    _event(client, CONCEPT, "started")
    first = _event(client, CONCEPT).json()["xp_awarded"]
    last = _event(client, REFLECTION).json()
    # Reflection: base 40 +25% = 50; the module (300, finished well under its 20-minute par) +25% = 375.
    assert first == 63 and last["xp_awarded"] == 50 + 375
    progress_body = client.get("/api/progress").json()
    (course,) = progress_body["courses"]
    second = next(m for m in course["modules"] if m["module_id"] == SECOND_MODULE)
    assert second == {"module_id": SECOND_MODULE, "title": "Second steps", "completed_lessons": 2,
                      "total_lessons": 2, "completed": True}
    assert course["completed_lessons"] == 2 and course["total_lessons"] == 5 and course["percent"] == 40.0
    assert _event(client, REFLECTION).json()["xp_awarded"] == 0


def test_lessons_with_graded_work_do_not_complete_on_reading(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("g@example.com")
    response = _event(client, EXERCISE_LESSON)
    assert response.status_code == 409 and "server" in response.json()["error"]["message"]
    assert _event(client, EXERCISE_LESSON, "started").status_code == 200
    assert _event(client, "00000000-0000-4000-8000-00000000dead").status_code == 404


def test_replayed_event_ids_change_nothing(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("r@example.com")
    event_id = str(uuid.uuid4())
    first = _event(client, CONCEPT, event_id=event_id).json()
    replay = _event(client, CONCEPT, event_id=event_id).json()
    assert first["duplicate"] is False and replay["duplicate"] is True
    assert replay["total_xp"] == first["total_xp"] == 63


def test_continue_where_you_left_off(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("c@example.com")
    assert client.get("/api/progress").json()["continue_lesson"] is None
    _event(client, EXERCISE_LESSON, "started")
    body = client.get("/api/progress").json()
    assert body["continue_lesson"]["lesson_id"] == EXERCISE_LESSON
    assert body["continue_lesson"]["url"] == "demo-track/demo-course/first-steps/printing/"


def test_queued_events_keep_their_time(make_client, db_url: str) -> None:
    # An event queued offline yesterday records the lesson with yesterday's time (history), but its
    # rewards count today, when the server received it: a client's clock cannot back-date a streak.
    client = make_client(db_url)
    client.signup("q@example.com")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    done = _event(client, CONCEPT, occurred_at=yesterday.isoformat()).json()
    _event(client, REFLECTION)
    assert done["state"] == "completed" and done["xp_awarded"] > 0
    (lesson,) = [s for s in client.get("/api/progress").json()["lessons"] if s["lesson_id"] == CONCEPT]
    assert abs(datetime.fromisoformat(lesson["completed_at"]) - yesterday) < timedelta(seconds=1)
    streak = client.get("/api/gamification/profile").json()["streak"]
    assert streak["current"] == 1, "yesterday's queued event counts on the day it arrived"
    assert list(streak["calendar"]) == [streak["today"]]


def test_gamification_can_be_turned_off(make_client, db_url: str) -> None:
    client = make_client(db_url, ENABLE_GAMIFICATION=False)
    client.signup("off@example.com")
    done = _event(client, CONCEPT).json()
    assert done["state"] == "completed" and done["xp_awarded"] == 0
    profile = client.get("/api/gamification/profile").json()
    assert profile["enabled"] is False and profile["mode"] == "off"
    assert client.get("/api/gamification/leaderboard").status_code == 403


def test_200_concurrent_duplicate_completions_award_once(make_client, db_url: str, minimal_build) -> None:
    client = make_client(db_url)
    user_id = client.signup("race@example.com")["id"]
    engine = get_engine(db_url)

    def submit(i: int) -> int:
        # Half replay one event id, half send fresh ids for the same completion.
        event_id = "same-event-id-0001" if i % 2 else f"fresh-{i:04d}-{uuid.uuid4().hex[:8]}"
        result = progress.record_event(engine=engine, catalog_db=minimal_build.catalog_db, user_id=user_id,
                                       event_id=event_id, lesson_id=CONCEPT, kind="completed", occurred_at=None,
                                       gamification_enabled=True)
        return result.xp_awarded

    with ThreadPoolExecutor(max_workers=32) as pool:
        awarded = list(pool.map(submit, range(200)))
    assert sum(awarded) == 63 and awarded.count(63) == 1
    with read_session(engine) as session:
        ledger = session.scalars(select(XpTransaction.amount).where(XpTransaction.user_id == user_id)).all()
        events = session.scalar(select(func.count()).select_from(ProgressEvent).where(ProgressEvent.user_id == user_id))
    assert sorted(ledger) == [63], "exactly one lesson award (no achievement XP in the fixture)"
    assert events == 101, "100 fresh ids + 1 shared id, each stored once"


def test_level_titles_in_profile(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("lvl@example.com")
    profile = client.get("/api/gamification/profile").json()
    assert profile["level"] == 1 and profile["level_title"] == "Novice" and profile["next_level_xp"] > 0


def test_events_that_change_nothing_are_still_recorded_once(make_client, db_url: str) -> None:
    # After the first completion, started/completed events for the lesson only go to the event log
    # (the shortcut in progress/events.py): they must be stored, idempotent, and award nothing.
    client = make_client(db_url)
    user_id = client.signup("noop@example.com")["id"]
    assert _event(client, CONCEPT).json()["xp_awarded"] == 63
    ids = [str(uuid.uuid4()) for _ in range(6)]
    bodies = [_event(client, CONCEPT, "started" if i % 2 else "completed", event_id=e).json()
              for i, e in enumerate(ids)]
    assert all(b["state"] == "completed" and b["xp_awarded"] == 0 and b["total_xp"] == 63 and not b["duplicate"]
               for b in bodies)
    replays = [_event(client, CONCEPT, event_id=e).json() for e in ids]
    assert all(r["duplicate"] and r["total_xp"] == 63 and r["state"] == "completed" for r in replays)
    with read_session(get_engine(db_url)) as session:
        events = session.scalars(select(ProgressEvent).where(ProgressEvent.user_id == user_id)).all()
    assert len(events) == 7 and {e.event_id for e in events} >= set(ids)
    assert all(e.occurred_at.tzinfo is not None and e.received_at >= e.occurred_at for e in events)
    profile = client.get("/api/gamification/profile").json()
    assert profile["xp"] == 63 and profile["streak"]["current"] == 1 and len(profile["streak"]["calendar"]) == 1


def test_a_late_event_for_an_earlier_day_is_recorded_but_counts_today(make_client, db_url: str) -> None:
    # Today first, then an event queued offline yesterday: it is stored with yesterday's time, and
    # today is the only day of practice (rewards use the server's clock).
    client = make_client(db_url)
    user_id = client.signup("late@example.com")["id"]
    _event(client, CONCEPT, "started")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    late = _event(client, CONCEPT, "started", occurred_at=yesterday.isoformat()).json()
    assert late["duplicate"] is False and late["state"] == "started"
    with read_session(get_engine(db_url)) as session:
        stored = session.scalars(select(ProgressEvent.occurred_at).where(ProgressEvent.user_id == user_id)).all()
    assert any(abs(at - yesterday) < timedelta(seconds=1) for at in stored)
    streak = client.get("/api/gamification/profile").json()["streak"]
    assert len(streak["calendar"]) == 1 and streak["current"] == 1


def test_concurrent_events_of_many_learners_are_each_counted_once(make_client, db_url: str, minimal_build) -> None:
    # Started and completed events for two lessons from several learners at once, each sent twice:
    # every event stored once, every lesson completed once, XP awarded once per lesson and module.
    engine = get_engine(db_url)
    users = [make_client(db_url).signup(f"many{i}@example.com")["id"] for i in range(4)]
    jobs = [(user, f"{user[:8]}-{lesson[-2:]}-{kind}-{n}", lesson, kind)
            for user in users for lesson in (CONCEPT, REFLECTION) for kind in ("started", "completed")
            for n in range(5)] * 2

    def submit(job: tuple[str, str, str, str]) -> int:
        user, event_id, lesson, kind = job
        return progress.record_event(engine=engine, catalog_db=minimal_build.catalog_db, user_id=user,
                                     event_id=event_id, lesson_id=lesson, kind=kind, occurred_at=None,
                                     gamification_enabled=True).xp_awarded

    with ThreadPoolExecutor(max_workers=16) as pool:
        awarded = list(pool.map(submit, jobs))
    # Per learner: concept 63 + reflection 50 + module 375 (whichever lesson completes second gets
    # the module award, with its own lesson XP: the sum is the same).
    assert sum(awarded) == len(users) * (63 + 50 + 375)
    with read_session(engine) as session:
        events = session.scalar(select(func.count()).select_from(ProgressEvent)) or 0
        ledger = session.scalars(select(XpTransaction.source_key).where(XpTransaction.user_id.in_(users))).all()
    assert events == len(jobs) // 2
    assert sorted(ledger) == sorted(f"{kind}:{key}" for _ in users
                                    for kind, key in (("lesson", CONCEPT), ("lesson", REFLECTION),
                                                      ("module", SECOND_MODULE)))
