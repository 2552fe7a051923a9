"""Organisations, team leaderboards, opt-in global boards and onboarding, on both databases."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.mail.tables import OutboxEmail

CONCEPT = "00000000-0000-4000-8000-000000000031"
REFLECTION = "00000000-0000-4000-8000-000000000032"
TRACK = "00000000-0000-4000-8000-000000000010"
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))


def _admin(make_client, db_url: str, email: str, role: Role):
    with write_session(get_engine(db_url)) as session:
        create_user(session=session, email=email, password="admin password", display_name=email, role=role)
    client = make_client(db_url)
    assert client.post("/api/auth/login", json={"email": email, "password": "admin password"}).status_code == 200
    return client


def _join(admin, member, db_url: str, org_id: str, email: str, role: str = "learner") -> None:
    """Membership by invitation: the admin invites, the member accepts with the emailed link's token."""
    invited = admin.post(f"/api/orgs/{org_id}/invitations", json={"email": email, "role": role})
    assert invited.status_code == 201, invited.text
    with read_session(get_engine(db_url)) as session:
        body = session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == email)
                               .order_by(OutboxEmail.id.desc())).first()
    token = re.search(r"token=([\w-]+)", body or "").group(1)  # type: ignore[union-attr]
    accepted = member.post(f"/api/me/invitations/{invited.json()['id']}/accept", json={"token": token})
    assert accepted.status_code == 200, accepted.text


def _learner(make_client, db_url: str, name: str, lessons: tuple[str, ...] = ()):
    client = make_client(db_url)
    client.signup(f"{name}@example.com", name=name.capitalize())
    for lesson in lessons:
        response = client.post("/api/progress/events", json={"event_id": str(uuid.uuid4()), "lesson_id": lesson,
                                                             "kind": "completed"})
        assert response.status_code == 200
    return client


def test_global_board_is_opt_in_with_anonymous_display(make_client, db_url: str) -> None:
    ada = _learner(make_client, db_url, "ada", (CONCEPT, REFLECTION))
    bob = _learner(make_client, db_url, "bob", (CONCEPT,))
    cy = _learner(make_client, db_url, "cy")
    board = ada.get("/api/gamification/leaderboard?scope=global&period=all_time").json()
    assert board["entries"] == [] and board["opted_in"] is False, "nobody opted in yet"
    ada.patch("/api/me/settings", json={"leaderboard_opt_in": True})
    bob.patch("/api/me/settings", json={"leaderboard_opt_in": True, "leaderboard_anonymous": True})
    board = cy.get("/api/gamification/leaderboard?scope=global&period=all_time").json()
    assert [(e["rank"], e["xp"]) for e in board["entries"]] == [(1, 488), (2, 63)]
    assert board["entries"][0]["display_name"] == "Ada"
    assert board["entries"][1]["display_name"].startswith("Anonymous learner")
    assert board["your_rank"] is None, "cy did not opt in and is not listed"
    mine = bob.get("/api/gamification/leaderboard?scope=global&period=weekly").json()
    assert mine["your_rank"] == 2 and mine["entries"][1]["display_name"] == "Bob", "you always see your own name"


def test_team_board_needs_membership(make_client, db_url: str) -> None:
    root = _admin(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org = root.post("/api/orgs", json={"name": "Acme"}).json()
    boss = _admin(make_client, db_url, "boss@example.com", Role.LEARNER)
    _join(root, boss, db_url, org["id"], "boss@example.com", "enterprise_admin")
    team = boss.post(f"/api/orgs/{org['id']}/teams", json={"name": "Platform", "kind": "team"}).json()
    ada = _learner(make_client, db_url, "ada", (CONCEPT,))
    outsider = _learner(make_client, db_url, "eve", (CONCEPT, REFLECTION))
    assert outsider.post(f"/api/orgs/{org['id']}/teams", json={"name": "Mine"}).status_code == 403
    assert boss.post(f"/api/teams/{team['id']}/members", json={"email": "ada@example.com"}).status_code == 422
    _join(boss, ada, db_url, org["id"], "ada@example.com")
    assert boss.post(f"/api/teams/{team['id']}/members", json={"email": "ada@example.com"}).status_code == 204
    board = ada.get("/api/gamification/leaderboard?scope=team&period=all_time").json()
    assert [(e["display_name"], e["xp"]) for e in board["entries"]] == [("Ada", 63)]
    denied = outsider.get("/api/gamification/leaderboard?scope=team")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert ada.get(f"/api/gamification/leaderboard?scope=team&team_id={uuid.uuid4()}").status_code == 403
    assert [t["name"] for t in ada.get("/api/teams").json()] == ["Platform"]


def test_neighbours_view(make_client, db_url: str) -> None:
    clients = [_learner(make_client, db_url, f"n{i}", (CONCEPT,) if i % 2 else ()) for i in range(7)]
    for client in clients:
        client.patch("/api/me/settings", json={"leaderboard_opt_in": True})
    board = clients[6].get("/api/gamification/leaderboard?scope=global&view=neighbours").json()
    assert board["total"] == 7 and len(board["entries"]) == 5
    assert any(e["is_you"] for e in board["entries"])


def test_organisation_sets_default_gamification_mode(make_client, db_url: str) -> None:
    root = _admin(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org = root.post("/api/orgs", json={"name": "Bank", "gamification_mode": "minimal"}).json()
    ada = _learner(make_client, db_url, "ada")
    assert ada.get("/api/gamification/profile").json()["mode"] == "full"
    _join(root, ada, db_url, org["id"], "ada@example.com")
    assert ada.get("/api/gamification/profile").json()["mode"] == "minimal"
    ada.patch("/api/me/settings", json={"gamification_mode": "moderate"})
    assert ada.get("/api/gamification/profile").json()["mode"] == "moderate"


def test_mode_defaults_by_learner_kind(make_client, db_url: str) -> None:
    ada = _learner(make_client, db_url, "ada")
    ada.post("/api/onboarding/role", json={"learner_kind": "professional"})
    assert ada.get("/api/gamification/profile").json()["mode"] == "moderate"
    ada.post("/api/onboarding/role", json={"learner_kind": "student"})
    assert ada.get("/api/gamification/profile").json()["mode"] == "full"


def test_onboarding_flow_builds_a_personal_path(make_client, db_url: str) -> None:
    ada = _learner(make_client, db_url, "ada")
    assert ada.get("/api/onboarding").json()["step"] == "role"
    assert ada.post("/api/onboarding/complete", json={"track_id": TRACK}).status_code == 422
    assert ada.post("/api/onboarding/role", json={"learner_kind": "self_learner"}).json()["step"] == "skill-check"
    check = ada.get(f"/api/onboarding/skill-check?track_id={TRACK}").json()
    assert [i["id"] for i in check["items"]] == [MC, PREDICT]
    assert all("answer" not in i and "explanation" not in i for i in check["items"])
    graded = ada.post("/api/onboarding/skill-check", json={"track_id": TRACK,
                                                           "answers": {MC: 0, PREDICT: "21"}}).json()
    assert graded == {"known_skills": ["python.print"], "correct": 2, "total": 2}
    assert ada.post("/api/onboarding/goals", json={"goals": ["Automate my reports"],
                                                   "minutes_per_week": 120}).json()["step"] == "learning-style"
    assert ada.post("/api/onboarding/learning-style", json={"learning_style": "hands-on"}).json()["step"] == "path"
    path = ada.post("/api/onboarding/complete", json={"track_id": TRACK, "timezone": "Europe/Berlin"}).json()
    optional = {m["title"]: m["optional"] for m in path["modules"]}
    assert optional == {"First steps": True, "Second steps": False, "Third steps": False}, \
        "the quiz showed print is known"
    assert path["start_url"] == "demo-track/demo-course/second-steps/reading-code/"
    me = ada.get("/api/me").json()
    assert me["onboarded"] is True and me["timezone"] == "Europe/Berlin" and me["learner_kind"] == "self_learner"
    assert ada.get("/api/onboarding").json()["step"] == "done"
    assert ada.get("/api/progress/path").json()["modules"] == path["modules"]


def test_roles_are_enforced(make_client, db_url: str) -> None:
    creator = _admin(make_client, db_url, "author@example.com", Role.CONTENT_CREATOR)
    assert creator.post("/api/orgs", json={"name": "Nope"}).status_code == 403
    manager = _admin(make_client, db_url, "lead@example.com", Role.ENTERPRISE_ADMIN)
    root = _admin(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    other = root.post("/api/orgs", json={"name": "Other"}).json()
    assert manager.post(f"/api/orgs/{other['id']}/teams", json={"name": "X"}).status_code == 403
    assert manager.patch(f"/api/orgs/{other['id']}", json={"gamification_mode": "off"}).status_code == 403
