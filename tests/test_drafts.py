"""Server-stored drafts (issue #13): save/load, limits, auth, conflicts kept, concurrency, migration 0006.

Every test runs on SQLite and PostgreSQL (the db_url fixture).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import inspect

from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, write_session
from sidecar.db.migrate import alembic_config, current_revision, upgrade
from sidecar.drafts import service
from sidecar.drafts.service import MAX_KEPT_VERSIONS
from sidecar.grading.tables import Submission
from sidecar.web.limits import CODE_LIMIT

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing: an exercise of the minimal course
PRINTING = "00000000-0000-4000-8000-000000000013"  # its lesson
UNKNOWN = "00000000-0000-4000-8000-00000000dead"
URL = f"/api/exercises/{DOUBLE}/draft"


def _put(client, code: str, base: int | None = None, edited_at=None, exercise: str = DOUBLE):
    body: dict[str, object] = {"code": code, "base_revision": base}
    if edited_at is not None:
        body["edited_at"] = edited_at.isoformat()
    return client.put(f"/api/exercises/{exercise}/draft", json=body)


def _error(response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


def test_save_and_load_follow_the_learner_to_another_browser(make_client, db_url: str) -> None:
    first = make_client(db_url)
    first.signup("ada@example.com")
    empty = first.get(URL)
    assert empty.status_code == 200
    assert empty.json() == {"exercise_id": DOUBLE, "draft": None, "others": [], "last_submission": None}

    saved = _put(first, "def double(n):\n    return n + n\n")
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["accepted"] is True and body["conflict"] is False
    assert body["draft"]["revision"] == 1

    second = make_client(db_url)  # another browser: its own cookies
    signin = second.post("/api/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"})
    assert signin.status_code == 200, signin.text
    loaded = second.get(URL).json()
    assert loaded["draft"]["code"] == "def double(n):\n    return n + n\n"
    assert loaded["draft"]["revision"] == 1

    moved = _put(second, "def double(n):\n    return 2 * n\n", base=1).json()
    assert moved["draft"]["revision"] == 2 and moved["conflict"] is False and moved["others"] == []
    again = _put(second, "def double(n):\n    return 2 * n\n", base=1).json()
    assert again["draft"]["revision"] == 2 and again["conflict"] is False, "a retried save changes nothing"
    assert first.get(URL).json()["draft"]["code"] == "def double(n):\n    return 2 * n\n"

    bulk = first.get("/api/drafts", params={"lesson_id": PRINTING})
    assert bulk.status_code == 200
    assert [s["exercise_id"] for s in bulk.json()] == [DOUBLE]
    assert bulk.json()[0]["draft"]["revision"] == 2


def test_drafts_are_per_learner(make_client, db_url: str) -> None:
    ada = make_client(db_url)
    ada.signup("ada2@example.com")
    _put(ada, "print('ada')")
    bob = make_client(db_url)
    bob.signup("bob@example.com", name="Bob")
    assert bob.get(URL).json()["draft"] is None
    version_bob_cannot_see = _put(ada, "print('offline')", base=0).json()["others"]
    assert version_bob_cannot_see  # ada now has a kept version
    vid = version_bob_cannot_see[0]["id"]
    _error(bob.post(f"{URL}/versions/{vid}/restore"), 404, "not_found")
    _error(bob.delete(f"{URL}/versions/{vid}"), 404, "not_found")
    assert len(ada.get(URL).json()["others"]) == 1


def test_signed_out_requests_are_refused(make_client, db_url: str) -> None:
    client = make_client(db_url)
    _error(client.get(URL), 401, "unauthorized")
    _error(_put(client, "print(1)"), 401, "unauthorized")
    _error(client.get("/api/drafts", params={"lesson_id": PRINTING}), 401, "unauthorized")


def test_unknown_exercise_or_lesson_is_404(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("lost@example.com")
    _error(client.get(f"/api/exercises/{UNKNOWN}/draft"), 404, "not_found")
    _error(_put(client, "print(1)", exercise=UNKNOWN), 404, "not_found")
    _error(client.get("/api/drafts", params={"lesson_id": UNKNOWN}), 404, "not_found")


def test_size_limit_is_the_grading_limit(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("big@example.com")
    assert _put(client, "x" * 50_000).status_code == 200
    error = _error(_put(client, "x" * 50_001, base=1), 422, "invalid_input")
    assert error["details"], "says which field"
    assert client.get(URL).json()["draft"]["code"] == "x" * 50_000, "the refused save changed nothing"
    # A body far beyond any valid one is refused before it is read, in the same error shape.
    huge = client.put(URL, content=b'{"code": "' + b"y" * (CODE_LIMIT + 1) + b'"}',
                      headers={"Content-Type": "application/json"})
    _error(huge, 413, "too_large")
    _error(client.put(URL, json={"code": "x", "base_revision": -1}), 422, "invalid_input")


def test_stale_revision_keeps_both_versions_newer_edit_wins(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("twice@example.com")
    now = utcnow()
    _put(client, "print('v1')", edited_at=now - timedelta(minutes=10))  # revision 1
    _put(client, "print('browser A')", base=1, edited_at=now - timedelta(minutes=5))  # revision 2

    # Browser B was offline on revision 1 and edited later than A: B wins, A's code is kept.
    later = _put(client, "print('offline B')", base=1, edited_at=now - timedelta(minutes=1)).json()
    assert later["conflict"] is True and later["accepted"] is True
    assert later["draft"]["code"] == "print('offline B')" and later["draft"]["revision"] == 3
    assert [o["code"] for o in later["others"]] == ["print('browser A')"]
    assert later["others"][0]["reason"] == "conflict"

    # An older offline edit (made before the current draft) loses, and is kept.
    older = _put(client, "print('old C')", base=1, edited_at=now - timedelta(minutes=8)).json()
    assert older["conflict"] is True and older["accepted"] is False
    assert older["draft"]["code"] == "print('offline B')" and older["draft"]["revision"] == 3
    assert [o["code"] for o in older["others"]] == ["print('old C')", "print('browser A')"]

    # A clock far ahead does not win for ever: the edit time is clamped to the server's now.
    future = _put(client, "print('future')", base=1, edited_at=now + timedelta(days=365)).json()
    assert future["accepted"] is True
    assert datetime.fromisoformat(future["draft"]["edited_at"].replace("Z", "+00:00")) <= utcnow()
    state = client.get(URL).json()
    assert state["draft"]["code"] == "print('future')"
    codes = {o["code"] for o in state["others"]}
    assert codes == {"print('browser A')", "print('old C')", "print('offline B')"}, "nothing was lost"


def test_restore_and_discard_a_kept_version(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("restore@example.com")
    _put(client, "print('mine')")
    conflict = _put(client, "print('other device')", base=0, edited_at=utcnow() - timedelta(days=1)).json()
    assert conflict["accepted"] is False
    kept = conflict["others"][0]
    restored = client.post(f"{URL}/versions/{kept['id']}/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["draft"]["code"] == "print('other device')" and body["draft"]["revision"] == 2
    assert [(o["code"], o["reason"]) for o in body["others"]] == [("print('mine')", "restored")], \
        "the replaced draft is kept, so a restore can be undone"
    gone = client.delete(f"{URL}/versions/{body['others'][0]['id']}")
    assert gone.status_code == 204
    assert client.get(URL).json()["others"] == []
    _error(client.post(f"{URL}/versions/{kept['id']}/restore"), 404, "not_found")


def test_kept_versions_are_bounded_newest_kept(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("many@example.com")
    _put(client, "print('current')")
    base = utcnow() - timedelta(days=2)
    for i in range(MAX_KEPT_VERSIONS + 3):
        _put(client, f"print({i})", base=0, edited_at=base + timedelta(seconds=i))
    others = client.get(URL).json()["others"]
    assert len(others) == MAX_KEPT_VERSIONS
    assert others[0]["code"] == f"print({MAX_KEPT_VERSIONS + 2})"


def test_last_submission_is_the_fallback(make_client, db_url: str) -> None:
    client = make_client(db_url)
    me = client.signup("graded@example.com")
    user_id = me["id"]
    with write_session(get_engine(db_url)) as session:
        for minutes, code, passed in ((5, "print('first')", False), (1, "print('latest')", True)):
            session.add(Submission(id=str(uuid.uuid4()), user_id=user_id, client_id=uuid.uuid4().hex,
                                   exercise_id=DOUBLE, lesson_id=PRINTING, code=code, passed=passed, status="ok",
                                   results=[], created_at=utcnow() - timedelta(minutes=minutes)))
    last = client.get(URL).json()["last_submission"]
    assert last["code"] == "print('latest')" and last["passed"] is True


def test_concurrent_saves_lose_nothing(make_client, db_url: str) -> None:
    """Many browsers saving on the same old revision at once: one draft, every other edit kept."""
    client = make_client(db_url)
    me = client.signup("racer@example.com")
    user_id = me["id"]
    engine = get_engine(db_url)
    catalog_db = client.app.state.settings.catalog_db  # type: ignore[attr-defined]
    start = utcnow() - timedelta(minutes=1)
    writers = 6

    def save(i: int) -> bool:
        result = service.save(engine=engine, catalog_db=catalog_db, user_id=user_id, exercise_id=DOUBLE,
                              code=f"print('writer {i}')", base_revision=None, edited_at=start + timedelta(seconds=i))
        return result.accepted

    with ThreadPoolExecutor(max_workers=writers) as pool:
        accepted = list(pool.map(save, range(writers)))
    state = client.get(URL).json()
    seen = {state["draft"]["code"], *(o["code"] for o in state["others"])}
    assert seen == {f"print('writer {i}')" for i in range(writers)}, "every edit is the draft or kept"
    assert state["draft"]["code"] == f"print('writer {writers - 1}')", "the latest edit wins"
    assert state["draft"]["revision"] == sum(accepted), "one revision per accepted save, none skipped or doubled"


def test_migration_0006_upgrades_and_downgrades(db_url: str) -> None:
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006-1")
    assert current_revision(db_url) != "0006"
    assert not {"drafts", "draft_versions"} & set(inspect(engine).get_table_names())
    upgrade(db_url)
    assert current_revision(db_url) is not None
    assert {"drafts", "draft_versions"} <= set(inspect(engine).get_table_names())
    assert "ix_draft_versions_user_exercise" in {i["name"] for i in inspect(engine).get_indexes("draft_versions")}
