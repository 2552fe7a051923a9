"""A learner downloads everything stored about their account (issue #16, privacy), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sidecar.privacy.service import owned_tables

DOUBLE = "00000000-0000-4000-8000-000000000015"  # the minimal fixture's randomized exercise
READING = "00000000-0000-4000-8000-000000000031"


def test_the_export_holds_every_row_of_the_account_and_no_secret(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com", name="Ada")
    assert client.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING,
                                                      "kind": "completed"}).status_code == 200
    code = "def double(n):\n    return n + n  # mine\n"
    assert client.post(f"/api/exercises/{DOUBLE}/submissions",
                       json={"code": code, "submission_id": uuid.uuid4().hex}).status_code == 200
    other = make_client(db_url)
    other.signup("bob@example.com", name="Bob")
    other.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING, "kind": "completed"})

    response = client.get("/api/me/export")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    data = json.loads(response.text)
    assert data["format"] == "dronacharya-account-export/1"
    assert data["account"]["email"] == "ada@example.com" and "password_hash" not in data["account"]
    tables = data["tables"]
    assert {"progress", "progress_events", "submissions", "user_profiles", "xp_transactions"} <= set(tables)
    assert any(row["code"] == code for row in tables["submissions"]), "the learner's own code is in it"
    me = data["account"]["id"]
    assert all(row["user_id"] == me for rows in tables.values() for row in rows), "only this account's rows"
    assert "bob@example.com" not in response.text
    assert "auth_sessions" in tables and all("token_hash" not in row for row in tables["auth_sessions"])
    assert not any("hash" in key for rows in tables.values() for row in rows for key in row)
    assert client.get("/api/me/export").status_code == 200
    anonymous = make_client(db_url)
    assert anonymous.get("/api/me/export").status_code == 401


def test_every_table_that_holds_a_user_id_is_exported() -> None:
    """Read from the schema: a new domain's table is exported without being listed anywhere."""
    names = {t.name for t in owned_tables()}
    assert {"submissions", "ai_messages", "review_cards", "assignment_notices", "certificates"} <= names
    assert "users" not in names and "organizations" not in names
