"""Organisations run by their admins (issue #16): reading the organisation, members and roles, seats
enforced at every way in (also under a race for the last seat), and course assignments with due
dates that learners see. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from sidecar.assignments import service as assignments
from sidecar.assignments.tables import Assignment
from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine, write_session
from sidecar.errors import Conflict
from sidecar.orgs.service import add_member_asserted_by_idp
from sidecar.settings import Settings
from tests.test_security_orgs import _account, _emailed, _invite, _me, _org

COURSE = "00000000-0000-4000-8000-000000000011"  # the minimal fixture's Demo Course
READING = "00000000-0000-4000-8000-000000000031"  # one of its lessons that completes on reading


def _join(admin: Any, client: Any, db_url: str, org_id: str, email: str, role: str = "learner") -> Any:
    answer = _invite(admin, org_id, email, role)
    assert answer.status_code == 201, answer.text
    invitation, token = _emailed(db_url, email)
    return client.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})


@pytest.fixture
def org(make_client, db_url: str) -> dict[str, Any]:
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root, "Acme")
    boss = _account(make_client, db_url, "boss@example.com")
    assert _join(root, boss, db_url, org_id, "boss@example.com", "enterprise_admin").status_code == 200
    return {"root": root, "org": org_id, "boss": boss}


def test_an_admin_reads_their_organisation_and_only_theirs(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    mine = boss.get(f"/api/orgs/{org_id}")
    assert mine.status_code == 200 and mine.json() == {
        "id": org_id, "name": "Acme", "gamification_mode": None, "seat_limit": None, "seats_used": 1,
        "branding": {"logo": None, "primary_color": None, "accent_color": None}, "ai_tone": None,
        "allowed_models": None, "retention_days": None}
    assert [o["id"] for o in boss.get("/api/orgs").json()] == [org_id]
    other = _org(root, "Globex")
    assert {o["name"] for o in root.get("/api/orgs").json()} == {"Acme", "Globex"}
    assert boss.get(f"/api/orgs/{other}").status_code == 404, "a foreign organisation answers as missing"
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    assert lea.get(f"/api/orgs/{org_id}").status_code == 404 and lea.get("/api/orgs").json() == []
    renamed = boss.patch(f"/api/orgs/{org_id}", json={"name": "Acme Corp"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Corp"
    assert renamed.json()["gamification_mode"] is None, "fields not sent stay as they were"
    assert boss.patch(f"/api/orgs/{org_id}", json={"seat_limit": 500}).status_code == 403, "seats are bought"
    assert boss.patch(f"/api/orgs/{other}", json={"name": "Mine now"}).status_code == 403


def test_members_and_roles(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    lea = _account(make_client, db_url, "lea@example.com")
    assert _join(boss, lea, db_url, org_id, "lea@example.com").status_code == 200
    members = {m["email"]: m for m in boss.get(f"/api/orgs/{org_id}/members").json()}
    assert set(members) == {"boss@example.com", "lea@example.com"} and members["lea@example.com"]["role"] == "learner"
    lea_id = members["lea@example.com"]["id"]
    viewer = boss.patch(f"/api/orgs/{org_id}/members/{lea_id}", json={"role": "analytics_viewer"})
    assert viewer.status_code == 200 and viewer.json()["role"] == "analytics_viewer"
    assert _me(lea)["role"] == "analytics_viewer"
    assert boss.patch(f"/api/orgs/{org_id}/members/{lea_id}", json={"role": "super_admin"}).status_code == 422
    boss_id = members["boss@example.com"]["id"]
    assert boss.patch(f"/api/orgs/{org_id}/members/{boss_id}", json={"role": "learner"}).status_code == 409
    assert lea.get(f"/api/orgs/{org_id}/members").status_code == 403, "a viewer is no admin"
    other = _org(root, "Globex")
    assert boss.get(f"/api/orgs/{other}/members").status_code == 403
    assert boss.delete(f"/api/orgs/{org_id}/members/{uuid.uuid4()}").status_code == 404
    assert boss.delete(f"/api/orgs/{org_id}/members/{lea_id}").status_code == 204
    assert _me(lea)["organization_id"] is None and _me(lea)["role"] == "learner", "out, and back to learner"
    assert [m["email"] for m in boss.get(f"/api/orgs/{org_id}/members").json()] == ["boss@example.com"]


def test_the_seat_limit_holds_at_every_way_in(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": 2}).json()["seat_limit"] == 2
    ana, bo = _account(make_client, db_url, "ana@example.com"), _account(make_client, db_url, "bo@example.com")
    # Two invitations while a seat is free; the first to accept takes it, the second is refused.
    assert _invite(boss, org_id, "ana@example.com").status_code == 201
    ana_invitation = _emailed(db_url, "ana@example.com")
    assert _invite(boss, org_id, "bo@example.com").status_code == 201
    bo_invitation = _emailed(db_url, "bo@example.com")
    accepted = ana.post(f"/api/me/invitations/{ana_invitation[0]}/accept", json={"token": ana_invitation[1]})
    assert accepted.status_code == 200
    refused = bo.post(f"/api/me/invitations/{bo_invitation[0]}/accept", json={"token": bo_invitation[1]})
    assert refused.status_code == 409 and "no free seat" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"] == {"seat_limit": 2, "seats_used": 2}
    assert _me(bo)["organization_id"] is None
    full = _invite(boss, org_id, "cy@example.com")
    assert full.status_code == 409 and full.json()["error"]["code"] == "conflict", "no invitation while full"
    with pytest.raises(Conflict, match="no free seat"):
        add_member_asserted_by_idp(engine=get_engine(db_url), org_id=org_id, email="bo@example.com")
    assert boss.get(f"/api/orgs/{org_id}").json()["seats_used"] == 2
    ana_id = _me(ana)["id"]
    assert boss.delete(f"/api/orgs/{org_id}/members/{ana_id}").status_code == 204, "removing frees a seat"
    again = bo.post(f"/api/me/invitations/{bo_invitation[0]}/accept", json={"token": bo_invitation[1]})
    assert again.status_code == 200, again.text
    assert boss.get(f"/api/orgs/{org_id}").json()["seats_used"] == 2


def test_fifty_joins_racing_for_the_last_seat_admit_exactly_one(make_client, db_url: str, org) -> None:
    root, org_id = org["root"], org["org"]
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": 2}).status_code == 200  # the admin and one more
    engine = get_engine(db_url)
    emails = [f"racer{n}@example.com" for n in range(50)]
    with write_session(engine) as session:
        for email in emails:
            create_user(session=session, email=email, password="racer password", display_name="Racer")
    start = threading.Barrier(len(emails))
    outcomes: list[str] = []

    def join(email: str) -> None:
        start.wait()
        try:
            add_member_asserted_by_idp(engine=engine, org_id=org_id, email=email)
            outcomes.append("joined")
        except Conflict:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - any other failure is a finding of this test
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=join, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(outcomes)) == ["joined", "refused"] and outcomes.count("joined") == 1, outcomes
    assert root.get(f"/api/orgs/{org_id}").json()["seats_used"] == 2


def test_assignments_reach_the_learner_with_their_due_state(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    lea, max_ = _account(make_client, db_url, "lea@example.com"), _account(make_client, db_url, "max@example.com")
    for email, client in (("lea@example.com", lea), ("max@example.com", max_)):
        assert _join(boss, client, db_url, org_id, email).status_code == 200
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Support"}).json()
    other_team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Sales"}).json()
    assert boss.post(f"/api/teams/{team['id']}/members", json={"email": "lea@example.com"}).status_code == 204
    assert boss.post(f"/api/teams/{team['id']}/members",
                     json={"email": "max@example.com", "role": "manager"}).status_code == 204
    due = utcnow() + timedelta(days=10)
    made = boss.post(f"/api/orgs/{org_id}/assignments",
                     json={"course_id": COURSE, "team_id": team["id"], "due_at": due.isoformat()})
    assert made.status_code == 201, made.text
    assert made.json()["course_title"] == "Demo Course" and made.json()["team_name"] == "Support"
    mine = lea.get("/api/me/assignments").json()
    assert [(a["course_title"], a["state"], a["percent"], a["team_name"]) for a in mine] == \
        [("Demo Course", "open", 0.0, "Support")]
    assert lea.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING,
                                                  "kind": "completed"}).status_code == 200
    assert lea.get("/api/me/assignments").json()[0]["percent"] > 0
    # Overdue once the date passes; due soon within three days.
    with write_session(get_engine(db_url)) as session:
        session.execute(update(Assignment).values(due_at=utcnow() - timedelta(hours=1)))
    assert lea.get("/api/me/assignments").json()[0]["state"] == "overdue"
    assert assignments.state(completed=False, due_at=utcnow() + timedelta(days=2), now=utcnow()) == "due_soon"
    assert assignments.state(completed=True, due_at=utcnow() - timedelta(days=2), now=utcnow()) == "done"
    # A manager assigns their own team and its members, nothing else; a learner nothing at all.
    ok = max_.post(f"/api/orgs/{org_id}/assignments",
                   json={"course_id": COURSE, "email": "lea@example.com", "due_at": due.isoformat()})
    assert ok.status_code == 201, ok.text
    assert max_.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": other_team["id"], "due_at": due.isoformat()}).status_code == 403
    assert lea.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": due.isoformat()}).status_code == 403
    assert len(max_.get(f"/api/orgs/{org_id}/assignments").json()) == 2
    assert len(lea.get("/api/me/assignments").json()) == 1, "a course assigned twice shows once"
    # Bad input: a past date, an unknown course, both or neither assignee, a foreign organisation.
    past = boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": (utcnow() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and "past" in past.json()["error"]["message"]
    assert boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": "nope", "team_id": team["id"], "due_at": due.isoformat()}).status_code == 422
    assert boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "email": "lea@example.com", "due_at": due.isoformat()}
    ).status_code == 422
    assert boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": "2030-01-01T10:00:00"}).status_code == 422, "no offset"
    other = _org(root, "Globex")
    assert boss.get(f"/api/orgs/{other}/assignments").status_code == 403
    assert boss.post(f"/api/orgs/{other}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": due.isoformat()}).status_code == 403
    # Removing: the manager may remove the one they made; the team's goes with the admin.
    assert max_.delete(f"/api/orgs/{org_id}/assignments/{ok.json()['id']}").status_code == 204
    assert boss.delete(f"/api/orgs/{org_id}/assignments/{made.json()['id']}").status_code == 204
    assert lea.get("/api/me/assignments").json() == []


def _outbox(db_url: str, to: str) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from sidecar.db.engine import read_session
    from sidecar.mail.tables import OutboxEmail

    with read_session(get_engine(db_url)) as session:
        return [(r[0], r[1]) for r in session.execute(select(OutboxEmail.subject, OutboxEmail.body)
                                                     .where(OutboxEmail.to_address == to).order_by(OutboxEmail.id))]


def test_managers_see_their_team_nudge_and_admins_export(make_client, db_url: str, org, minimal_build) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    lea, max_ = _account(make_client, db_url, "lea@example.com"), _account(make_client, db_url, "max@example.com")
    eve = _account(make_client, db_url, "=cmd@example.com")  # a formula-looking address must stay text in CSV
    for email, client in (("lea@example.com", lea), ("max@example.com", max_), ("=cmd@example.com", eve)):
        assert _join(boss, client, db_url, org_id, email).status_code == 200
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Support"}).json()
    sales = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Sales"}).json()
    boss.post(f"/api/teams/{team['id']}/members", json={"email": "lea@example.com"})
    boss.post(f"/api/teams/{team['id']}/members", json={"email": "max@example.com", "role": "manager"})
    boss.post(f"/api/teams/{sales['id']}/members", json={"email": "=cmd@example.com"})
    made = boss.post(f"/api/orgs/{org_id}/assignments", json={
        "course_id": COURSE, "team_id": team["id"], "due_at": (utcnow() + timedelta(days=2)).isoformat()}).json()
    lea.post("/api/progress/events", json={"event_id": uuid.uuid4().hex, "lesson_id": READING, "kind": "completed"})

    seen = max_.get(f"/api/teams/{team['id']}/progress")
    assert seen.status_code == 200, seen.text
    by_email = {m["email"]: m for m in seen.json()["members"]}
    assert set(by_email) == {"lea@example.com", "max@example.com"}
    lea_row = by_email["lea@example.com"]["courses"][0]
    assert (lea_row["course_id"], lea_row["state"], lea_row["completed_lessons"]) == (COURSE, "due_soon", 1)
    assert max_.get(f"/api/teams/{sales['id']}/progress").status_code == 403, "not a team they manage"
    assert lea.get(f"/api/teams/{team['id']}/progress").status_code == 403
    assert boss.get(f"/api/teams/{sales['id']}/progress").status_code == 200, "admins see every team"
    assert root.get(f"/api/teams/{uuid.uuid4()}/progress").status_code == 404

    lea_id = by_email["lea@example.com"]["user_id"]
    nudged = max_.post(f"/api/teams/{team['id']}/nudges",
                       json={"user_id": lea_id, "assignment_id": made["id"], "message": "Two days left!"})
    assert nudged.status_code == 204, nudged.text
    assert max_.post(f"/api/teams/{team['id']}/nudges",
                     json={"user_id": lea_id, "assignment_id": made["id"]}).status_code == 409, "once a day"
    subject, body = _outbox(db_url, "lea@example.com")[-1]
    assert subject == "A reminder about Demo Course" and "Two days left!" in body
    assert max_.post(f"/api/teams/{sales['id']}/nudges",
                     json={"user_id": lea_id, "assignment_id": made["id"]}).status_code == 403

    exported = boss.get(f"/api/orgs/{org_id}/progress.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0] == "email,name,role,course,percent,completed_lessons,total_lessons,due_at,state"
    assert any(line.startswith("lea@example.com,lea,learner,Demo Course,") and line.endswith(",due_soon")
               for line in lines), lines
    assert any(line.startswith("'=cmd@example.com,") for line in lines), "no formula injection"
    assert max_.get(f"/api/orgs/{org_id}/progress.csv").status_code == 403, "managers see their team, not the org"

    # Reminders: due within 3 days and not done → one email each, never twice; max (the manager) too.
    config = Settings(DRONA_BUILD_DIR=minimal_build.site_dir.parent, DATABASE_URL=db_url,
                      DRONA_DATA_DIR=minimal_build.site_dir.parent / "data")
    engine = get_engine(db_url)
    first = assignments.send_due_reminders(engine=engine, settings=config, catalog_db=minimal_build.catalog_db,
                                           now=utcnow())
    assert (first.due_soon, first.overdue) == (2, 0)
    again = assignments.send_due_reminders(engine=engine, settings=config, catalog_db=minimal_build.catalog_db,
                                           now=utcnow())
    assert (again.due_soon, again.overdue) == (0, 0), "each notice once"
    assert _outbox(db_url, "lea@example.com")[-1][0] == "Due soon: Demo Course"
    late = assignments.send_due_reminders(engine=engine, settings=config, catalog_db=minimal_build.catalog_db,
                                          now=utcnow() + timedelta(days=3))
    assert (late.due_soon, late.overdue) == (0, 2)
    assert _outbox(db_url, "lea@example.com")[-1][0] == "Overdue: Demo Course"


def test_a_csv_import_invites_everyone_or_nobody(make_client, db_url: str, org) -> None:
    root, boss, org_id = org["root"], org["boss"], org["org"]
    bad = boss.post(f"/api/orgs/{org_id}/invitations/import", json={"csv": (
        "email,role\nann@example.com,learner\nnot-an-address\nbo@example.com,super_admin\n"
        "ann@example.com\ncy@example.com,team_manager,extra\n")})
    assert bad.status_code == 422 and "nothing was sent" in bad.json()["error"]["message"]
    assert bad.json()["error"]["details"]["problems"] == [
        "line 3: 'not-an-address' is not an email address",
        "line 4: unknown role 'super_admin' (one of learner, team_manager, analytics_viewer, content_creator, "
        "reviewer, enterprise_admin)",
        "line 5: ann@example.com is listed twice",
        "line 6: expected `email` or `email,role`, got 3 columns"]
    assert boss.get(f"/api/orgs/{org_id}/invitations").json() == [], "nothing sent"
    good = boss.post(f"/api/orgs/{org_id}/invitations/import", json={
        "csv": "\ufeffAnn@Example.com , team_manager\n\nbo@example.com\n"})
    assert good.status_code == 201, good.text
    assert [(i["email"], i["role"]) for i in good.json()] == [("ann@example.com", "team_manager"),
                                                               ("bo@example.com", "learner")]
    assert {i["email"] for i in boss.get(f"/api/orgs/{org_id}/invitations").json()} == {"ann@example.com",
                                                                                         "bo@example.com"}
    assert _emailed(db_url, "bo@example.com")
    # Seats: one free seat cannot take two newcomers, and nothing is sent.
    assert root.patch(f"/api/orgs/{org_id}", json={"seat_limit": 2}).status_code == 200
    short = boss.post(f"/api/orgs/{org_id}/invitations/import", json={"csv": "cy@example.com\ndi@example.com\n"})
    assert short.status_code == 409 and short.json()["error"]["details"]["newcomers"] == 2
    assert boss.post(f"/api/orgs/{org_id}/invitations/import", json={"csv": "\n"}).status_code == 422
    lea = _account(make_client, db_url, "lea@example.com")
    assert lea.post(f"/api/orgs/{org_id}/invitations/import", json={"csv": "x@example.com"}).status_code == 403


def test_an_admin_makes_a_member_their_organisations_reviewer(make_client, db_url: str, org) -> None:
    """The reviewer role is the organisation's to grant: its reviewer sees its own learners' Gold work only,
    and leaving the organisation leaves no platform-wide reviewer behind."""
    root, boss, org_id = org["root"], org["boss"], org["org"]
    rev = _account(make_client, db_url, "rev@example.com")
    assert _join(boss, rev, db_url, org_id, "rev@example.com").status_code == 200
    rev_id = _me(rev)["id"]
    assert rev.get("/api/reviews/queue").status_code == 403
    made = boss.patch(f"/api/orgs/{org_id}/members/{rev_id}", json={"role": "reviewer"})
    assert made.status_code == 200 and made.json()["role"] == "reviewer"
    assert rev.get("/api/reviews/queue").status_code == 200
    # An admin grants it without reviewing themselves; a reviewer grants nothing.
    assert boss.get("/api/reviews/queue").status_code == 403
    mate = _account(make_client, db_url, "mate@example.com")
    assert _join(boss, mate, db_url, org_id, "mate@example.com").status_code == 200
    assert rev.patch(f"/api/orgs/{org_id}/members/{_me(mate)['id']}", json={"role": "reviewer"}).status_code == 403
    # Invited as reviewer straight away, too; another organisation's admin cannot.
    fresh = _account(make_client, db_url, "fresh@example.com")
    assert _join(boss, fresh, db_url, org_id, "fresh@example.com", "reviewer").status_code == 200
    assert _me(fresh)["role"] == "reviewer" and _me(fresh)["organization_id"] == org_id
    other = _org(root, "Globex")
    assert boss.patch(f"/api/orgs/{other}/members/{rev_id}", json={"role": "reviewer"}).status_code in {403, 404}
    assert boss.delete(f"/api/orgs/{org_id}/members/{rev_id}").status_code == 204
    assert _me(rev)["role"] == "learner" and _me(rev)["organization_id"] is None
    assert rev.get("/api/reviews/queue").status_code == 403, "out of the organisation: no reviewer anywhere"


def test_an_analytics_viewer_reads_the_dashboard_and_nothing_else(make_client, db_url: str, org) -> None:
    """Counts per course over the members, read-only; nobody named; the viewer changes and lists nothing."""
    from tests.test_progress import CONCEPT, _event

    root, boss, org_id = org["root"], org["boss"], org["org"]
    people = {}
    for name in ("lea", "max", "vic"):
        people[name] = _account(make_client, db_url, f"{name}@example.com")
        role = "analytics_viewer" if name == "vic" else "learner"
        assert _join(boss, people[name], db_url, org_id, f"{name}@example.com", role).status_code == 200
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Platform"}).json()
    for name in ("lea", "max"):
        assert boss.post(f"/api/teams/{team['id']}/members", json={"email": f"{name}@example.com"}).status_code == 204
    due = (utcnow() + timedelta(days=30)).isoformat()
    assert boss.post(f"/api/orgs/{org_id}/assignments",
                     json={"course_id": COURSE, "team_id": team["id"], "due_at": due}).status_code == 201
    assert _event(people["lea"], CONCEPT).status_code == 200  # one lesson of five

    vic = people["vic"]
    board = vic.get(f"/api/orgs/{org_id}/dashboard")
    assert board.status_code == 200, board.text
    body = board.json()
    assert (body["name"], body["members"], body["teams"]) == ("Acme", 4, 1)
    [course] = body["courses"]
    assert course["course_id"] == COURSE
    counts = (course["learners"], course["assigned"], course["open"], course["done"], course["overdue"])
    assert counts == (2, 2, 2, 0, 0)
    assert course["average_percent"] == 10.0  # (20 % + 0 %) / 2
    assert "@" not in board.text, "names nobody"
    assert boss.get(f"/api/orgs/{org_id}/dashboard").json() == body, "admins see the same"
    assert root.get(f"/api/orgs/{org_id}/dashboard").status_code == 200
    # Read-only, and only the dashboard: no members, no progress export, no changes.
    assert vic.get(f"/api/orgs/{org_id}/members").status_code == 403
    assert vic.get(f"/api/orgs/{org_id}/progress.csv").status_code == 403
    assert vic.patch(f"/api/orgs/{org_id}", json={"name": "Mine"}).status_code in (403, 404)
    assert people["lea"].get(f"/api/orgs/{org_id}/dashboard").status_code == 403
    other = _org(root, "Globex")
    assert vic.get(f"/api/orgs/{other}/dashboard").status_code == 403
