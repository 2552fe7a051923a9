"""The security review's organisation finding (issue #10, part 5), on SQLite and PostgreSQL.

Accounts join an organisation only by accepting an invitation bound to their address (or by the
organisation's identity provider asserting it), with roles up to the inviter's own; invitations do
not reveal which addresses have accounts, expire, can be revoked, and are single-use.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sidecar.auth.roles import Role
from sidecar.auth.service import create_user
from sidecar.auth.tables import User
from sidecar.db.engine import get_engine, read_session, write_session
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.mail.tables import OutboxEmail
from sidecar.orgs.service import add_member_asserted_by_idp
from sidecar.orgs.tables import OrgInvitation

PASSWORD = "correct horse battery"


def _account(make_client, db_url: str, email: str, role: Role = Role.LEARNER) -> Any:
    with write_session(get_engine(db_url)) as session:
        create_user(session=session, email=email, password=PASSWORD, display_name=email.split("@")[0], role=role)
    client = make_client(db_url)
    assert client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    return client


def _org(root: Any, name: str = "Acme") -> str:
    created = root.post("/api/orgs", json={"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _invite(admin: Any, org_id: str, email: str, role: str = "learner") -> Any:
    return admin.post(f"/api/orgs/{org_id}/invitations", json={"email": email, "role": role})


def _emailed(db_url: str, email: str) -> tuple[str, str]:
    """(invitation id, token) from the latest invitation email to the address."""
    with read_session(get_engine(db_url)) as session:
        body = session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == email)
                               .order_by(OutboxEmail.id.desc())).first()
    found = re.search(r"/account/invitations/#invitation=([\w-]+)&token=([\w-]+)", body or "")
    assert found, body
    return found.group(1), found.group(2)


def _me(client: Any) -> dict[str, Any]:
    return dict(client.get("/api/me").json())


@pytest.fixture
def acme(make_client, db_url: str) -> dict[str, Any]:
    """A super admin, an organisation and its enterprise admin (who joined by invitation)."""
    root = _account(make_client, db_url, "root@example.com", Role.SUPER_ADMIN)
    org_id = _org(root)
    boss = _account(make_client, db_url, "boss@example.com")
    assert _invite(root, org_id, "boss@example.com", "enterprise_admin").status_code == 201
    invitation, token = _emailed(db_url, "boss@example.com")
    assert boss.post(f"/api/me/invitations/{invitation}/accept", json={"token": token}).status_code == 200
    return {"root": root, "org": org_id, "boss": boss}


def test_an_admin_cannot_pull_an_account_in(make_client, db_url: str, acme) -> None:
    root, boss, org_id = acme["root"], acme["boss"], acme["org"]
    direct = boss.post(f"/api/orgs/{org_id}/members", json={"email": "root@example.com", "role": "enterprise_admin"})
    # The members list exists (GET), but nothing adds a member directly: 405, and the Allow header says so.
    assert direct.status_code == 405 and "POST" not in direct.headers["allow"], "no direct adding any more"
    invited = _invite(boss, org_id, "root@example.com", "enterprise_admin")
    assert invited.status_code == 201 and invited.json()["status"] == "pending"
    assert _me(root)["organization_id"] is None and _me(root)["role"] == "super_admin", "nothing until accepted"
    over = _invite(boss, org_id, "someone@example.com", "super_admin")
    assert over.status_code == 422, "an organisation never grants super_admin"
    learner = _account(make_client, db_url, "lea@example.com")
    assert _invite(learner, org_id, "x@example.com").status_code == 403
    other_org = _org(root, "Other")
    assert _invite(boss, other_org, "x@example.com").status_code == 403, "only this organisation's admins"


def test_an_invitation_answers_alike_for_any_address(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    _account(make_client, db_url, "has-account@example.com")
    known = _invite(boss, org_id, "has-account@example.com")
    unknown = _invite(boss, org_id, "no-account@example.com")
    assert known.status_code == unknown.status_code == 201

    def shape(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ("id", "email", "expires_at")}

    assert shape(known.json()) == shape(unknown.json())
    assert set(known.json()) == set(unknown.json()) and "token" not in known.text
    for email in ("has-account@example.com", "no-account@example.com"):
        _emailed(db_url, email)  # both addresses get the same kind of email
    listed = boss.get(f"/api/orgs/{org_id}/invitations").json()
    assert {i["email"] for i in listed} == {"has-account@example.com", "no-account@example.com"}
    assert all("token" not in i for i in listed)


def test_the_invitee_accepts_with_the_emailed_token(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    ada = _account(make_client, db_url, "ada@example.com")
    _invite(boss, org_id, "ada@example.com", "team_manager")
    invitation, token = _emailed(db_url, "ada@example.com")
    mine = ada.get("/api/me/invitations").json()
    assert mine["email_verified"] is False
    assert [(i["id"], i["organization_name"], i["role"]) for i in mine["invitations"]] == \
        [(invitation, "Acme", "team_manager")]
    no_proof = ada.post(f"/api/me/invitations/{invitation}/accept", json={})
    assert no_proof.status_code == 403, "an unverified address needs the emailed token"
    wrong = ada.post(f"/api/me/invitations/{invitation}/accept", json={"token": "x" * 43})
    assert wrong.status_code == 403 and _me(ada)["organization_id"] is None
    accepted = ada.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert _me(ada)["organization_id"] == org_id and _me(ada)["role"] == "team_manager"
    again = ada.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert again.status_code == 409, "single use"
    assert ada.get("/api/me/invitations").json() == {"email_verified": True, "invitations": []}


def test_an_invitation_is_bound_to_its_address(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    _invite(boss, org_id, "bob@example.com")
    invitation, token = _emailed(db_url, "bob@example.com")
    eve = _account(make_client, db_url, "eve@example.com")
    assert eve.get("/api/me/invitations").json()["invitations"] == []
    stolen = eve.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert stolen.status_code == 404 and _me(eve)["organization_id"] is None


def test_someone_who_signs_up_later_sees_and_accepts(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    _invite(boss, org_id, "later@example.com")
    invitation, token = _emailed(db_url, "later@example.com")
    later = make_client(db_url)
    later.signup("later@example.com")
    assert [i["id"] for i in later.get("/api/me/invitations").json()["invitations"]] == [invitation]
    assert later.post(f"/api/me/invitations/{invitation}/accept", json={"token": token}).status_code == 200
    assert _me(later)["organization_id"] == org_id and _me(later)["role"] == "learner"


def test_a_verified_address_accepts_from_the_list(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    cy = _account(make_client, db_url, "cy@example.com")
    cy.post("/api/auth/signin-link", json={"email": "cy@example.com"})
    with read_session(get_engine(db_url)) as session:
        link_mail = session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == "cy@example.com")).one()
    link = re.search(r"#link=([\w-]+)", link_mail).group(1)  # type: ignore[union-attr]
    assert cy.post("/api/auth/signin-link/confirm", json={"token": link}).status_code == 200
    _invite(boss, org_id, "cy@example.com")
    (pending,) = cy.get("/api/me/invitations").json()["invitations"]
    assert cy.get("/api/me/invitations").json()["email_verified"] is True
    assert cy.post(f"/api/me/invitations/{pending['id']}/accept", json={}).status_code == 200
    assert _me(cy)["organization_id"] == org_id


def test_invitations_expire_can_be_revoked_declined_and_replaced(make_client, db_url: str, acme) -> None:
    root, boss, org_id = acme["root"], acme["boss"], acme["org"]
    dee = _account(make_client, db_url, "dee@example.com")
    _invite(boss, org_id, "dee@example.com")
    first, first_token = _emailed(db_url, "dee@example.com")
    _invite(boss, org_id, "dee@example.com", "team_manager")
    second, second_token = _emailed(db_url, "dee@example.com")
    assert dee.post(f"/api/me/invitations/{first}/accept", json={"token": first_token}).status_code == 409, \
        "a new invitation replaces the pending one"
    outsider = _account(make_client, db_url, "out@example.com", Role.ENTERPRISE_ADMIN)
    assert outsider.delete(f"/api/orgs/{org_id}/invitations/{second}").status_code == 403
    assert dee.get(f"/api/orgs/{org_id}/invitations").status_code == 403
    assert boss.delete(f"/api/orgs/{org_id}/invitations/{second}").status_code == 204
    assert boss.delete(f"/api/orgs/{org_id}/invitations/{second}").status_code == 409
    assert dee.post(f"/api/me/invitations/{second}/accept", json={"token": second_token}).status_code == 409
    assert dee.get("/api/me/invitations").json()["invitations"] == []
    _invite(root, org_id, "dee@example.com")
    third, third_token = _emailed(db_url, "dee@example.com")
    with write_session(get_engine(db_url)) as session:
        row = session.get(OrgInvitation, third)
        assert row is not None and row.expires_at - row.created_at == timedelta(days=14)
        row.expires_at = row.created_at - timedelta(seconds=1)
    assert dee.get("/api/me/invitations").json()["invitations"] == []
    assert dee.post(f"/api/me/invitations/{third}/accept", json={"token": third_token}).status_code == 409
    _invite(boss, org_id, "dee@example.com")
    fourth, fourth_token = _emailed(db_url, "dee@example.com")
    assert dee.post(f"/api/me/invitations/{fourth}/decline", json={"token": fourth_token}).status_code == 204
    assert dee.post(f"/api/me/invitations/{fourth}/accept", json={"token": fourth_token}).status_code == 409
    assert _me(dee)["organization_id"] is None


def test_an_inviter_who_lost_the_role_cannot_grant_it(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    fay = _account(make_client, db_url, "fay@example.com")
    _invite(boss, org_id, "fay@example.com", "enterprise_admin")
    invitation, token = _emailed(db_url, "fay@example.com")
    with write_session(get_engine(db_url)) as session:
        demoted = session.scalar(select(User).where(User.email == "boss@example.com"))
        assert demoted is not None
        demoted.role = "learner"
    refused = fay.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert refused.status_code == 409 and _me(fay)["role"] == "learner" and _me(fay)["organization_id"] is None


def test_team_managers_add_only_members_who_accepted(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    team = boss.post(f"/api/orgs/{org_id}/teams", json={"name": "Platform"}).json()
    gus = _account(make_client, db_url, "gus@example.com")
    _invite(boss, org_id, "gus@example.com")
    invited_only = boss.post(f"/api/teams/{team['id']}/members", json={"email": "gus@example.com"})
    no_account = boss.post(f"/api/teams/{team['id']}/members", json={"email": "ghost@example.com"})
    assert invited_only.status_code == no_account.status_code == 422
    assert invited_only.json() == no_account.json(), "the same answer: it does not tell who has an account"
    invitation, token = _emailed(db_url, "gus@example.com")
    gus.post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert boss.post(f"/api/teams/{team['id']}/members", json={"email": "gus@example.com",
                                                               "role": "manager"}).status_code == 204
    _account(make_client, db_url, "hal@example.com")
    assert gus.post(f"/api/teams/{team['id']}/members", json={"email": "hal@example.com"}).status_code == 422
    # A manager moved out of the organisation no longer manages its teams.
    with write_session(get_engine(db_url)) as session:
        moved = session.scalar(select(User).where(User.email == "gus@example.com"))
        assert moved is not None
        moved.organization_id = None
    assert gus.post(f"/api/teams/{team['id']}/members", json={"email": "boss@example.com"}).status_code == 403


def test_membership_asserted_by_the_identity_provider(make_client, db_url: str, acme) -> None:
    boss, org_id = acme["boss"], acme["org"]
    engine = get_engine(db_url)
    ivy = _account(make_client, db_url, "ivy@example.com")
    _invite(boss, org_id, "ivy@example.com")
    invitation, token = _emailed(db_url, "ivy@example.com")
    user_id = add_member_asserted_by_idp(engine=engine, org_id=org_id, email="IVY@example.com", role="team_manager")
    assert user_id == _me(ivy)["id"] and _me(ivy)["organization_id"] == org_id and _me(ivy)["role"] == "team_manager"
    assert ivy.post(f"/api/me/invitations/{invitation}/accept", json={"token": token}).status_code == 409, \
        "the assertion settled the pending invitation"
    with pytest.raises(InvalidInput):
        add_member_asserted_by_idp(engine=engine, org_id=org_id, email="ivy@example.com", role="super_admin")
    with pytest.raises(NotFound):
        add_member_asserted_by_idp(engine=engine, org_id=org_id, email="nobody@example.com")
    other = _org(acme["root"], "Other")
    with pytest.raises(Conflict):
        add_member_asserted_by_idp(engine=engine, org_id=other, email="ivy@example.com")
    adding = {route.path for route in boss.app.routes
              if hasattr(route, "path") and "POST" in (getattr(route, "methods", None) or ())}
    assert not any("idp" in p or p.endswith("/members") and "{org_id}" in p for p in adding), \
        "no public endpoint reaches it"


def test_an_accepted_member_of_another_organisation_cannot_join_a_second(make_client, db_url: str, acme) -> None:
    root, org_id = acme["root"], acme["org"]
    other = _org(root, "Other")
    _invite(root, other, "boss@example.com")
    invitation, token = _emailed(db_url, "boss@example.com")
    answer = acme["boss"].post(f"/api/me/invitations/{invitation}/accept", json={"token": token})
    assert answer.status_code == 409 and _me(acme["boss"])["organization_id"] == org_id
