"""The audit log (issue #16, §4.1): every administrative change to an organisation is recorded with who
did it, in the change's own transaction; an organisation's admins read theirs, super admins all of them.
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.test_org_admin import COURSE, _join
from tests.test_org_admin import org as org  # noqa: F401 - the fixture, used by name
from tests.test_org_settings import LOGO
from tests.test_security_orgs import PASSWORD, _account, _org


def _actions(client: Any, org_id: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/orgs/{org_id}/audit", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_every_change_an_admin_makes_is_recorded_newest_first(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    lea_id = lea.get("/api/me").json()["id"]
    assert boss.patch(f"/api/orgs/{org_id}", json={"name": "Acme Corp", "branding": {"logo": LOGO}}).status_code == 200
    assert boss.patch(f"/api/orgs/{org_id}/members/{lea_id}", json={"role": "team_manager"}).status_code == 200
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Ops"}).json()
    assert boss.post(f"/api/teams/{team['id']}/members", json={"email": "lea@example.com", "role": "manager"}) \
        .status_code == 204
    assigned = boss.post(f"/api/orgs/{org_id}/assignments",
                         json={"course_id": COURSE, "team_id": team["id"], "due_at": "2099-01-01T12:00:00+00:00"})
    assert assigned.status_code == 201, assigned.text
    assert boss.delete(f"/api/orgs/{org_id}/assignments/{assigned.json()['id']}").status_code == 204
    assert boss.delete(f"/api/orgs/{org_id}/members/{lea_id}").status_code == 204

    events = _actions(boss, org_id)
    assert [e["action"] for e in events] == [
        "member.remove", "assignment.delete", "assignment.create", "team.member", "team.create", "member.role",
        "org.update", "member.join", "invitation.create", "member.join", "invitation.create", "org.create"]
    by_action = {e["action"]: e for e in events}
    assert by_action["member.role"]["details"] == {"from": "learner", "to": "team_manager"}
    assert by_action["member.role"]["target_id"] == lea_id
    assert by_action["member.role"]["actor_email"] == "boss@example.com"
    # The logo itself is not copied into the log: which parts of the branding changed.
    assert by_action["org.update"]["details"] == {"name": "Acme Corp", "branding": ["logo"]}
    assert LOGO not in str(events)
    assert by_action["org.create"]["actor_email"] == "root@example.com"
    assert [e["action"] for e in _actions(boss, org_id, action="member.join")] == ["member.join", "member.join"]
    older = _actions(boss, org_id, before=events[4]["at"], limit=2)
    assert [e["id"] for e in older] == [e["id"] for e in events if e["at"] < events[4]["at"]][:2]
    assert {e["organization_id"] for e in root.get("/api/admin/audit").json()} == {org_id}


def test_a_refused_change_leaves_no_entry_and_outsiders_read_nothing(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    before = len(_actions(boss, org_id))
    me = boss.get("/api/me").json()["id"]
    refused = boss.patch(f"/api/orgs/{org_id}/members/{me}", json={"role": "learner"})
    assert refused.status_code == 409
    assert boss.post(f"/api/orgs/{org_id}/invitations", json={"email": "x@example.com", "role": "super_admin"}) \
        .status_code in (403, 422)
    assert len(_actions(boss, org_id)) == before
    other = _org(root, "Globex")
    stranger = _account(make_client, db_url, "admin-b@example.com")
    assert _join(root, stranger, db_url, other, "admin-b@example.com", "enterprise_admin").status_code == 200
    assert stranger.get(f"/api/orgs/{org_id}/audit").status_code == 404
    assert stranger.get("/api/admin/audit").status_code == 403
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    assert lea.get(f"/api/orgs/{org_id}/audit").status_code == 403
    assert make_client(db_url).get(f"/api/orgs/{org_id}/audit").status_code == 401
    # Entries stay when their actor's account is deleted; the actor shows as removed.
    assert stranger.request("DELETE", "/api/me", json={"password": PASSWORD}).status_code == 204
    created = [e for e in root.get("/api/admin/audit", params={"action": "member.join"}).json()
               if e["organization_id"] == other]
    assert created and created[0]["actor_id"] is None and created[0]["actor_email"] is None
