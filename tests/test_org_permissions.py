"""Every organisation-scoped endpoint, asked by every role that may not use it (issue #16), on SQLite and
PostgreSQL: another organisation's admin and manager, a team manager outside their team, a plain learner
of the same organisation, and nobody signed in. Each gets 401, 403 or 404, never data and never a change.

ENDPOINTS is the table: one row per endpoint, with a valid body (so that the answer is about who asks,
not about what was sent) and the roles that may use it. A test checks that the table lists every route
under /api/orgs and /api/teams, so a new endpoint cannot be added without saying who may use it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from sidecar.auth.roles import Role
from tests.test_org_admin import COURSE, _join
from tests.test_security_orgs import _account, _me, _org

DUE = "2099-01-01T12:00:00+00:00"
LTI_PLATFORM = {"issuer": "https://lms.example.com", "client_id": "tool", "deployment_ids": ["1"],
                "auth_login_url": "https://lms.example.com/auth", "auth_token_url": "https://lms.example.com/token",
                "key_set_url": "https://lms.example.com/jwks"}
# Who may use it: "admin" (the organisation's enterprise admin, and super admins), "manager" (a manager
# of the team in the path, or of the teams the body names), "member" (any member: their own data),
# "viewer" (the organisation's analytics viewers: read-only dashboards).
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/orgs/{org_id}", None, {"admin"}),
    ("PATCH", "/api/orgs/{org_id}", {"name": "Taken over"}, {"admin"}),
    ("GET", "/api/orgs/{org_id}/members", None, {"admin"}),
    ("PATCH", "/api/orgs/{org_id}/members/{user_id}", {"role": "enterprise_admin"}, {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/members/{user_id}", None, {"admin"}),
    ("POST", "/api/orgs/{org_id}/invitations", {"email": "new@example.com", "role": "learner"}, {"admin"}),
    ("POST", "/api/orgs/{org_id}/invitations/import", {"csv": "new@example.com,learner\n"}, {"admin"}),
    ("GET", "/api/orgs/{org_id}/invitations", None, {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/invitations/{invitation_id}", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/teams", None, {"admin"}),
    ("POST", "/api/orgs/{org_id}/teams", {"name": "Intruders"}, {"admin"}),
    ("POST", "/api/teams/{team_id}/members", {"email": "lea@example.com", "role": "manager"}, {"admin", "manager"}),
    ("GET", "/api/teams/{team_id}/progress", None, {"admin", "manager"}),
    ("POST", "/api/teams/{team_id}/nudges", {"user_id": "{user_id}", "assignment_id": "{assignment_id}"},
     {"admin", "manager"}),
    ("POST", "/api/orgs/{org_id}/assignments", {"course_id": COURSE, "team_id": "{team_id}", "due_at": DUE},
     {"admin", "manager"}),
    ("GET", "/api/orgs/{org_id}/assignments", None, {"admin", "manager"}),
    ("DELETE", "/api/orgs/{org_id}/assignments/{assignment_id}", None, {"admin", "manager"}),
    ("GET", "/api/orgs/{org_id}/progress.csv", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/audit", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/sso", None, {"admin"}),
    ("PUT", "/api/orgs/{org_id}/sso", {"issuer": "https://idp.example.com", "client_id": "x", "client_secret": "y"},
     {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/sso", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/domains", None, {"admin"}),
    ("POST", "/api/orgs/{org_id}/domains", {"domain": "taken-over.example.com"}, {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/domains/{domain}", None, {"admin"}),
    ("POST", "/api/orgs/{org_id}/scim/tokens", {"name": "Intruder IdP"}, {"admin"}),
    ("GET", "/api/orgs/{org_id}/scim/tokens", None, {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/scim/tokens/{token_id}", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/lti/platforms", None, {"admin"}),
    ("POST", "/api/orgs/{org_id}/lti/platforms", {**LTI_PLATFORM, "client_id": "taken-over"}, {"admin"}),
    ("DELETE", "/api/orgs/{org_id}/lti/platforms/{platform_id}", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/dashboard", None, {"admin", "viewer"}),
    ("GET", "/api/orgs/{org_id}/reports/compliance", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/reports/skills", None, {"admin"}),
    ("GET", "/api/orgs/{org_id}/reports/executive", None, {"admin"}),
]
# Not scoped to one organisation: each answers only with the caller's own (or, for POST /api/orgs, a
# super admin's) data; tests/test_org_admin.py checks what they answer.
UNSCOPED = {("POST", "/api/orgs"), ("GET", "/api/orgs"), ("GET", "/api/teams")}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def test_the_table_lists_every_organisation_endpoint(make_client: Any, db_url: str) -> None:
    app = make_client(db_url).app
    routes = {(method, context.path_format) for context in iter_route_contexts(app.routes)
              if isinstance(context.original_route, APIRoute)
              and context.path_format.startswith(("/api/orgs", "/api/teams"))
              for method in (context.methods or ()) if method != "HEAD"}
    listed = {(method, path) for method, path, _, _ in ENDPOINTS}
    assert routes - UNSCOPED == listed, f"missing from the table: {routes - UNSCOPED - listed}; " \
                                        f"gone from the app: {listed - routes}"


@pytest.fixture
def world(make_client: Any, db_url: str) -> dict[str, Any]:
    """Two organisations, each with an admin, a team with its manager and a learner; an assignment and a
    pending invitation in the first."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    people: dict[str, Any] = {"root": root, "anonymous": make_client(db_url)}
    ids: dict[str, str] = {}
    for tag in ("a", "b"):
        org_id = _org(root, f"Org {tag}")
        admin = _account(make_client, db_url, f"admin-{tag}@example.com")
        assert _join(root, admin, db_url, org_id, f"admin-{tag}@example.com", "enterprise_admin").status_code == 200
        manager = _account(make_client, db_url, f"manager-{tag}@example.com")
        learner = _account(make_client, db_url, f"learner-{tag}@example.com")
        for who, client in (("manager", manager), ("learner", learner)):
            assert _join(admin, client, db_url, org_id, f"{who}-{tag}@example.com").status_code == 200
        team = admin.post(f"/api/orgs/{org_id}/teams", json={"name": f"Team {tag}"}).json()
        other_team = admin.post(f"/api/orgs/{org_id}/teams", json={"name": f"Other {tag}"}).json()
        admin.post(f"/api/teams/{team['id']}/members", json={"email": f"manager-{tag}@example.com", "role": "manager"})
        admin.post(f"/api/teams/{team['id']}/members", json={"email": f"learner-{tag}@example.com"})
        people.update({f"admin_{tag}": admin, f"manager_{tag}": manager, f"learner_{tag}": learner})
        ids[f"org_{tag}"], ids[f"team_{tag}"], ids[f"other_team_{tag}"] = org_id, team["id"], other_team["id"]
        ids[f"learner_{tag}"] = _me(learner)["id"]
    admin_a = people["admin_a"]
    viewer = _account(make_client, db_url, "viewer-a@example.com")
    assert _join(admin_a, viewer, db_url, ids["org_a"], "viewer-a@example.com", "analytics_viewer").status_code == 200
    people["viewer_a"] = viewer
    assignment = admin_a.post(f"/api/orgs/{ids['org_a']}/assignments",
                              json={"course_id": COURSE, "team_id": ids["team_a"], "due_at": DUE}).json()
    invitation = admin_a.post(f"/api/orgs/{ids['org_a']}/invitations",
                              json={"email": "pending@example.com"}).json()
    ids.update(assignment=assignment["id"], invitation=invitation["id"])
    ids["scim_token"] = admin_a.post(f"/api/orgs/{ids['org_a']}/scim/tokens", json={"name": "Okta"}).json()["id"]
    ids["lti_platform"] = admin_a.post(f"/api/orgs/{ids['org_a']}/lti/platforms", json=LTI_PLATFORM).json()["id"]
    return {"people": people, "ids": ids}


def _ask(client: Any, method: str, path: str, body: dict[str, Any] | None, ids: dict[str, str]) -> Any:
    url = _fill(path, ids)
    return client.request(method, url, json=_fill(body, ids) if body is not None else None)


def test_nobody_outside_the_role_and_organisation_gets_through(world: dict[str, Any]) -> None:
    people, ids = world["people"], world["ids"]
    # The first organisation's objects, asked about by each outsider.
    target = {"org_id": ids["org_a"], "team_id": ids["team_a"], "user_id": ids["learner_a"],
              "assignment_id": ids["assignment"], "invitation_id": ids["invitation"],
              "domain": "org-a.example.com", "token_id": ids["scim_token"],
              "platform_id": ids["lti_platform"]}
    # A manager of another team of the same organisation is an outsider to team_a.
    foreign = {"admin_b": "another organisation's admin", "manager_b": "another organisation's manager",
               "learner_a": "a learner of this organisation"}
    checked = 0
    for method, path, body, allowed in ENDPOINTS:
        for who, what in foreign.items():
            answer = _ask(people[who], method, path, body, target)
            assert answer.status_code in (403, 404), (method, path, what, answer.status_code, answer.text)
            assert answer.json()["error"]["code"] in ("forbidden", "not_found")
            checked += 1
        answer = _ask(people["anonymous"], method, path, body, target)
        assert answer.status_code == 401, (method, path, "signed out", answer.status_code)
        if "manager" not in allowed:  # the team's own manager may not use an admin's endpoint either
            answer = _ask(people["manager_a"], method, path, body, target)
            assert answer.status_code in (403, 404), (method, path, "manager", answer.status_code, answer.text)
            checked += 1
        if "viewer" not in allowed:  # nor the organisation's analytics viewer (read-only dashboards only)
            answer = _ask(people["viewer_a"], method, path, body, target)
            assert answer.status_code in (403, 404), (method, path, "viewer", answer.status_code, answer.text)
            checked += 1
    assert checked > 3 * len(ENDPOINTS)
    # A manager acting for their own team may not reach another team of their organisation.
    other = {**target, "team_id": ids["other_team_a"]}
    for method, path, body, _allowed in ENDPOINTS:
        if "{team_id}" in path or (body and "{team_id}" in str(body)):
            answer = _ask(people["manager_a"], method, path, body, other)
            assert answer.status_code in (403, 404), (method, path, "manager of another team", answer.text)
    # Nothing changed: the organisation, its members and its assignment are as they were.
    admin_a = people["admin_a"]
    assert admin_a.get(f"/api/orgs/{ids['org_a']}").json()["name"] == "Org a"
    roles = {m["email"]: m["role"] for m in admin_a.get(f"/api/orgs/{ids['org_a']}/members").json()}
    assert roles == {"admin-a@example.com": "enterprise_admin", "manager-a@example.com": "learner",
                     "learner-a@example.com": "learner", "viewer-a@example.com": "analytics_viewer"}
    assert [a["id"] for a in admin_a.get(f"/api/orgs/{ids['org_a']}/assignments").json()] == [ids["assignment"]]
    assert [i["id"] for i in admin_a.get(f"/api/orgs/{ids['org_a']}/invitations").json()] == [ids["invitation"]]
    assert [t["name"] for t in admin_a.get(f"/api/orgs/{ids['org_a']}/teams").json()] == ["Other a", "Team a"]
    assert [p["id"] for p in admin_a.get(f"/api/orgs/{ids['org_a']}/lti/platforms").json()] == [ids["lti_platform"]]
    assert [t["id"] for t in admin_a.get(f"/api/orgs/{ids['org_a']}/scim/tokens").json()] == [ids["scim_token"]]


def test_the_roles_allowed_do_get_through(world: dict[str, Any]) -> None:
    """The other side of the table: the admin, the super admin and (where listed) the team's manager."""
    people, ids = world["people"], world["ids"]
    target = {"org_id": ids["org_a"], "team_id": ids["team_a"], "user_id": ids["learner_a"],
              "assignment_id": ids["assignment"], "invitation_id": ids["invitation"],
              "domain": "org-a.example.com", "token_id": ids["scim_token"],
              "platform_id": ids["lti_platform"]}
    for method, path, body, allowed in ENDPOINTS:
        if method != "GET":
            continue  # the changes are each tested in tests/test_org_admin.py; reads here
        for who in ["admin_a", "root"] + (["manager_a"] if "manager" in allowed else []) + (
                ["viewer_a"] if "viewer" in allowed else []):
            answer = _ask(people[who], method, path, body, target)
            assert answer.status_code == 200, (method, path, who, answer.status_code, answer.text)
