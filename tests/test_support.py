"""Super admins' support views (issue 16): find an account, read its state; read-only, audited, never an
impersonation, and nobody else reaches them."""

from __future__ import annotations

from typing import Any

from sidecar.auth.roles import Role
from tests.test_org_admin import _join
from tests.test_progress import CONCEPT, _event
from tests.test_security_orgs import _account, _me, _org

SECRETS = ("password_hash", "token", "hash", "argon2")


def test_a_super_admin_finds_accounts_and_reads_one_read_only(make_client, db_url: str) -> None:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    ada = _account(make_client, db_url, "ada.lovelace@example.com")
    assert _join(root, ada, db_url, org_id, "ada.lovelace@example.com").status_code == 200
    _account(make_client, db_url, "grace_hopper@example.com")
    _account(make_client, db_url, "graceXhopper@example.com")
    assert _event(ada, CONCEPT).status_code == 200
    ada_id = _me(ada)["id"]

    found = root.get("/api/admin/users", params={"q": "LOVELACE"}).json()
    assert [(a["email"], a["organization_name"], a["role"]) for a in found] == [
        ("ada.lovelace@example.com", "Acme", "learner")]
    # LIKE's wildcards are literal: "_" finds only the address with an underscore.
    assert [a["email"] for a in root.get("/api/admin/users", params={"q": "grace_"}).json()] == [
        "grace_hopper@example.com"]
    assert len(root.get("/api/admin/users", params={"limit": 2}).json()) == 2
    everyone = {a["email"] for a in root.get("/api/admin/users").json()}
    assert {"root@example.com", "ada.lovelace@example.com"} <= everyone
    assert root.get("/api/admin/users", params={"limit": 1000}).status_code == 422

    view = root.get(f"/api/admin/users/{ada_id}")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["account"]["email"] == "ada.lovelace@example.com" and body["sessions"]["active"] == 1
    assert [c["completed_lessons"] for c in body["courses"]] == [1] and body["gamification"]["xp"] > 0
    assert not any(secret in view.text for secret in SECRETS), "no secrets in a support view"
    # Reading changed nothing and signed nobody in as Ada: her sessions and progress are as they were.
    again = root.get(f"/api/admin/users/{ada_id}").json()
    assert again["sessions"] == body["sessions"] and again["courses"] == body["courses"]
    assert _me(root)["email"] == "root@example.com"
    looks = [e for e in root.get("/api/admin/audit", params={"action": "support.view"}).json()]
    assert len(looks) == 2 and looks[0]["target_id"] == ada_id
    # Ada's organisation sees that support looked.
    assert any(e["action"] == "support.view" for e in root.get(f"/api/orgs/{org_id}/audit").json())
    assert root.get("/api/admin/users/no-such-id").status_code == 404
    # Read-only by construction: the support paths answer no writing method.
    for method in ("post", "put", "patch", "delete"):
        assert getattr(root, method)(f"/api/admin/users/{ada_id}").status_code == 405


def test_nobody_but_a_super_admin_reaches_support_views(make_client, db_url: str) -> None:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    boss = _account(make_client, db_url, "boss@example.com")
    assert _join(root, boss, db_url, org_id, "boss@example.com", "enterprise_admin").status_code == 200
    learner = _account(make_client, db_url, "lea@example.com")
    reviewer = _account(make_client, db_url, "rev@example.com", Role.REVIEWER)
    target = _me(learner)["id"]
    for client in (boss, learner, reviewer):
        assert client.get("/api/admin/users").status_code == 403
        assert client.get(f"/api/admin/users/{target}").status_code == 403
    anonymous: Any = make_client(db_url)
    assert anonymous.get("/api/admin/users").status_code == 401
    assert anonymous.get(f"/api/admin/users/{target}").status_code == 401
    assert root.get("/api/admin/audit", params={"action": "support.view"}).json() == [], "refusals read nothing"
