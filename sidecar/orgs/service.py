"""Organisations and their teams, classes and cohorts. Every action checks role and membership."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Forbidden, InvalidInput, NotFound

from .models import OrganizationPublic, TeamPublic
from .tables import Organization, Team, TeamMember


def _org_admin(actor: User, org_id: str) -> None:
    if has_role(actor.role, Role.SUPER_ADMIN):
        return
    if not (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id):
        raise Forbidden("Only this organisation's admins may do that.")


def create_org(*, engine: Engine, actor: User, name: str, gamification_mode: str | None) -> OrganizationPublic:
    if not has_role(actor.role, Role.SUPER_ADMIN):
        raise Forbidden("Only a super admin creates organisations.")
    with write_session(engine) as session:
        org = Organization(id=str(uuid.uuid4()), name=name.strip(), gamification_mode=gamification_mode)
        session.add(org)
        return OrganizationPublic(id=org.id, name=org.name, gamification_mode=org.gamification_mode)


def update_org(*, engine: Engine, actor: User, org_id: str, gamification_mode: str | None) -> OrganizationPublic:
    _org_admin(actor, org_id)
    with write_session(engine) as session:
        org = session.get(Organization, org_id)
        if org is None:
            raise NotFound("No such organisation.")
        org.gamification_mode = gamification_mode
        return OrganizationPublic(id=org.id, name=org.name, gamification_mode=org.gamification_mode)


def _user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No account for {email}.")
    return user


def add_org_member(*, engine: Engine, actor: User, org_id: str, email: str, role: str) -> None:
    _org_admin(actor, org_id)
    with write_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        user = _user_by_email(session, email)
        if user.organization_id not in (None, org_id):
            raise InvalidInput("That account belongs to another organisation.")
        user.organization_id = org_id
        if role != "learner" and not has_role(user.role, Role(role)):
            user.role = role


def create_team(*, engine: Engine, actor: User, org_id: str, name: str, kind: str) -> TeamPublic:
    _org_admin(actor, org_id)
    with write_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        team = Team(id=str(uuid.uuid4()), organization_id=org_id, name=name.strip(), kind=kind)
        session.add(team)
        return TeamPublic(id=team.id, organization_id=org_id, name=team.name, kind=team.kind)


def add_team_member(*, engine: Engine, actor: User, team_id: str, email: str, role: str) -> None:
    with write_session(engine) as session:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFound("No such team.")
        manages = session.get(TeamMember, (team_id, actor.id))
        is_manager = manages is not None and manages.role == "manager"
        if not is_manager:
            _org_admin(actor, team.organization_id)
        user = _user_by_email(session, email)
        if user.organization_id != team.organization_id:
            raise InvalidInput("Add the account to the organisation first.")
        if not insert_ignore(session, TeamMember, {"team_id": team_id, "user_id": user.id, "role": role},
                             ["team_id", "user_id"]):
            member = session.get(TeamMember, (team_id, user.id))
            assert member is not None
            member.role = role


def my_teams(*, engine: Engine, user_id: str) -> list[TeamPublic]:
    with read_session(engine) as session:
        teams = session.scalars(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                                .where(TeamMember.user_id == user_id).order_by(Team.name)).all()
        return [TeamPublic(id=t.id, organization_id=t.organization_id, name=t.name, kind=t.kind) for t in teams]
