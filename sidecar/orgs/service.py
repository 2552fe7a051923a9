"""Organisations and their teams, classes and cohorts. Every action checks role and membership.

Accounts join an organisation only by accepting an invitation (README, "Organisation
invitations"), or when the organisation's own identity provider asserts it
(add_member_asserted_by_idp). An invitation answers alike whether or not the address has an account.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import EmailStr, TypeAdapter
from sqlalchemy import ColumnElement, Engine, and_, delete, func, select, update
from sqlalchemy.orm import Session

from sidecar.audit import service as audit
from sidecar.auth import security
from sidecar.auth import service as auth
from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from sidecar.mail import send_email
from sidecar.settings import Settings

from .models import (
    Branding,
    InvitationPublic,
    MemberPublic,
    MyInvitationsPublic,
    MyOrganizationPublic,
    OrganizationPublic,
    TeamPublic,
)
from .tables import Organization, OrgInvitation, Team, TeamMember

INVITATION_DAYS = 14
INVITATIONS_PER_ORG_PER_DAY = 1000  # a CSV import fits; a typo loop or a compromised admin cannot mail-bomb
# The roles an organisation grants; super_admin (the platform's) and reviewer (#11's) never come from one.
ORG_ROLES = (Role.LEARNER, Role.TEAM_MANAGER, Role.ANALYTICS_VIEWER, Role.CONTENT_CREATOR, Role.REVIEWER,
             Role.ENTERPRISE_ADMIN)
ROLE_NAMES = {Role.LEARNER: "learner", Role.TEAM_MANAGER: "team manager", Role.ANALYTICS_VIEWER: "analytics viewer",
              Role.CONTENT_CREATOR: "content creator", Role.REVIEWER: "reviewer",
              Role.ENTERPRISE_ADMIN: "administrator"}


def _org_admin(actor: User, org_id: str) -> None:
    if has_role(actor.role, Role.SUPER_ADMIN):
        return
    if not (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id):
        raise Forbidden("Only this organisation's admins may do that.")


def _seats_used(session: Session, org_id: str) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.organization_id == org_id, User.is_active.is_(True))) or 0


def _org_public(session: Session, org: Organization) -> OrganizationPublic:
    return OrganizationPublic(id=org.id, name=org.name, gamification_mode=org.gamification_mode,
                              seat_limit=org.seat_limit, seats_used=_seats_used(session, org.id),
                              branding=Branding(**(org.branding or {})), ai_tone=org.ai_tone,
                              allowed_models=org.allowed_models, retention_days=org.retention_days)


def _seats_full(org: Organization, used: int) -> Conflict:
    return Conflict(f"{_one_line(org.name)} has no free seat: all {org.seat_limit} are taken. An administrator "
                    "can free one (remove a member) or ask for more.",
                    {"seat_limit": org.seat_limit, "seats_used": used})


def create_org(*, engine: Engine, actor: User, name: str, gamification_mode: str | None,
               seat_limit: int | None = None) -> OrganizationPublic:
    if not has_role(actor.role, Role.SUPER_ADMIN):
        raise Forbidden("Only a super admin creates organisations.")
    with write_session(engine) as session:
        org = Organization(id=str(uuid.uuid4()), name=name.strip(), gamification_mode=gamification_mode,
                           seat_limit=seat_limit)
        session.add(org)
        session.flush()
        audit.record(session, actor_id=actor.id, organization_id=org.id, action="org.create",
                     target_type="organization", target_id=org.id, details={"name": org.name, "seat_limit": seat_limit})
        return _org_public(session, org)


def update_org(*, engine: Engine, actor: User, org_id: str, changes: dict[str, Any]) -> OrganizationPublic:
    """Change the fields in `changes` (name, gamification_mode, seat_limit). A seat limit is the super
    admin's; it may be set below the seats in use (nobody is removed, nobody new joins until seats free)."""
    _org_admin(actor, org_id)
    if "seat_limit" in changes and not has_role(actor.role, Role.SUPER_ADMIN):
        raise Forbidden("Only a super admin changes an organisation's seats.")
    with write_session(engine) as session:
        org = session.get(Organization, org_id, with_for_update=True)
        if org is None:
            raise NotFound("No such organisation.")
        if "name" in changes:
            if changes["name"] is None or not str(changes["name"]).strip():
                raise InvalidInput("An organisation needs a name.")
            org.name = str(changes["name"]).strip()
        if "gamification_mode" in changes:
            org.gamification_mode = changes["gamification_mode"]
        if "seat_limit" in changes:
            org.seat_limit = changes["seat_limit"]
        if "branding" in changes:
            kept = {k: v for k, v in (changes["branding"] or {}).items() if v is not None}
            org.branding = kept or None
        for name in ("ai_tone", "allowed_models", "retention_days"):
            if name in changes:
                setattr(org, name, changes[name])
        # The new values, except branding's (an inline logo is large): which parts of it changed.
        shown = {k: v for k, v in changes.items() if k != "branding"}
        if "branding" in changes:
            shown["branding"] = sorted(org.branding or {})
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="org.update",
                     target_type="organization", target_id=org_id, details=shown)
        return _org_public(session, org)


@dataclass(frozen=True)
class LearnerPolicy:
    """What an organisation decides for its members' AI requests (None: the platform's default)."""

    ai_tone: str | None = None
    allowed_models: tuple[str, ...] | None = None


def learner_policy(*, engine: Engine, user: User) -> LearnerPolicy:
    if user.organization_id is None:
        return LearnerPolicy()
    with read_session(engine) as session:
        org = session.get(Organization, user.organization_id)
        if org is None:
            return LearnerPolicy()
        allowed = tuple(org.allowed_models) if org.allowed_models is not None else None
        return LearnerPolicy(ai_tone=org.ai_tone, allowed_models=allowed)


def my_organization(*, engine: Engine, user: User) -> MyOrganizationPublic | None:
    if user.organization_id is None:
        return None
    with read_session(engine) as session:
        org = session.get(Organization, user.organization_id)
        if org is None:
            return None
        return MyOrganizationPublic(id=org.id, name=org.name, branding=Branding(**(org.branding or {})))


def retention_rules(*, engine: Engine) -> list[tuple[str, int, list[str]]]:
    """(organisation id, days, member ids) for every organisation with a retention period."""
    with read_session(engine) as session:
        orgs = session.execute(select(Organization.id, Organization.retention_days)
                               .where(Organization.retention_days.is_not(None))).all()
        return [(org_id, int(days or 0), list(session.scalars(select(User.id).where(User.organization_id == org_id))))
                for org_id, days in orgs]


def get_org(*, engine: Engine, actor: User, org_id: str) -> OrganizationPublic:
    """The organisation, for its admins and super admins; a foreign one answers as missing."""
    if not (has_role(actor.role, Role.SUPER_ADMIN)
            or (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id)):
        raise NotFound("No such organisation.")
    with read_session(engine) as session:
        org = session.get(Organization, org_id)
        if org is None:
            raise NotFound("No such organisation.")
        return _org_public(session, org)


def list_orgs(*, engine: Engine, actor: User) -> list[OrganizationPublic]:
    """Every organisation for a super admin; an enterprise admin's own; nothing for anyone else."""
    with read_session(engine) as session:
        query = select(Organization).order_by(Organization.name)
        if not has_role(actor.role, Role.SUPER_ADMIN):
            if not (has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id):
                return []
            query = query.where(Organization.id == actor.organization_id)
        return [_org_public(session, org) for org in session.scalars(query).all()]


def list_members(*, engine: Engine, actor: User, org_id: str) -> list[MemberPublic]:
    _org_admin(actor, org_id)
    with read_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        users = session.scalars(select(User).where(User.organization_id == org_id).order_by(User.email)).all()
        teams: dict[str, list[str]] = {}
        for user_id, name in session.execute(
                select(TeamMember.user_id, Team.name).join(Team, Team.id == TeamMember.team_id)
                .where(Team.organization_id == org_id).order_by(Team.name)):
            teams.setdefault(user_id, []).append(name)
        return [MemberPublic(id=u.id, email=u.email, display_name=u.display_name, role=u.role, active=u.is_active,
                             teams=teams.get(u.id, [])) for u in users]


def _member(session: Session, actor: User, org_id: str, user_id: str) -> User:
    _org_admin(actor, org_id)
    member = session.get(User, user_id, with_for_update=True)
    if member is None or member.organization_id != org_id:
        raise NotFound("No such member of this organisation.")
    known = member.role in {r.value for r in Role}
    if not known or not _outranks(actor, Role(member.role)):
        raise Forbidden("You cannot change a member whose role is above your own.")
    return member


def update_member(*, engine: Engine, actor: User, org_id: str, user_id: str, role: str) -> MemberPublic:
    """Change a member's role, up to the admin's own, or reviewer (never super admin: not an org's)."""
    if not _may_grant(actor, org_id, role):
        raise Forbidden("You cannot grant a role above your own.")
    with write_session(engine) as session:
        member = _member(session, actor, org_id, user_id)
        if member.id == actor.id and role != member.role:
            raise Conflict("You cannot change your own role; ask another administrator.")
        if role != member.role:
            audit.record(session, actor_id=actor.id, organization_id=org_id, action="member.role", target_type="user",
                         target_id=member.id, details={"from": member.role, "to": role})
        member.role = role
        names = session.scalars(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(
            TeamMember.user_id == member.id, Team.organization_id == org_id).order_by(Team.name)).all()
        return MemberPublic(id=member.id, email=member.email, display_name=member.display_name, role=member.role,
                            active=member.is_active, teams=list(names))


def remove_member(*, engine: Engine, actor: User, org_id: str, user_id: str) -> None:
    """Take an account out of the organisation: its seat frees, its teams here drop it, its role goes
    back to learner. The account and its learning stay (they are the learner's)."""
    with write_session(engine) as session:
        member = _member(session, actor, org_id, user_id)
        if member.id == actor.id:
            raise Conflict("You cannot remove yourself; ask another administrator.")
        team_ids = select(Team.id).where(Team.organization_id == org_id)
        session.execute(delete(TeamMember).where(TeamMember.user_id == member.id, TeamMember.team_id.in_(team_ids)))
        member.organization_id = None
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="member.remove", target_type="user",
                     target_id=member.id, details={"role": member.role})
        member.role = Role.LEARNER


def _outranks(actor: User, role: Role) -> bool:
    """Whether the actor's role holds `role`'s powers; an admin also stands over their reviewers."""
    return has_role(actor.role, role) or (role is Role.REVIEWER and has_role(actor.role, Role.ENTERPRISE_ADMIN))


def _may_grant(actor: User, org_id: str, role: str) -> bool:
    """An organisation's admin (or a super admin) may grant roles up to their own, never above; and the
    reviewer role, whose scope is the organisation's own learners (sidecar/projects/reviews.py), though an
    admin does not review projects themselves."""
    try:
        wanted = Role(role)
    except ValueError:
        return False
    if wanted not in ORG_ROLES or not _outranks(actor, wanted):
        return False
    return has_role(actor.role, Role.SUPER_ADMIN) or (
        has_role(actor.role, Role.ENTERPRISE_ADMIN) and actor.organization_id == org_id)


def _status(invitation: OrgInvitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.declined_at is not None:
        return "declined"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "pending"


def _invitation_public(invitation: OrgInvitation, org: Organization) -> InvitationPublic:
    return InvitationPublic(id=invitation.id, organization_id=org.id, organization_name=org.name,
                            email=invitation.email, role=invitation.role, status=_status(invitation),
                            expires_at=invitation.expires_at)


def _pending() -> ColumnElement[bool]:
    return and_(OrgInvitation.accepted_at.is_(None), OrgInvitation.declined_at.is_(None),
                OrgInvitation.revoked_at.is_(None), OrgInvitation.expires_at > utcnow())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _send_invitation(session: Session, *, settings: Settings, actor: User, org: Organization, email: str, role: str,
                     now: datetime) -> OrgInvitation:
    # One live invitation per address and organisation: a new one replaces (revokes) the last.
    session.execute(update(OrgInvitation).where(OrgInvitation.organization_id == org.id,
                                                OrgInvitation.email == email, _pending()).values(revoked_at=now))
    token = security.new_token()
    invitation = OrgInvitation(id=str(uuid.uuid4()), organization_id=org.id, email=email, role=role,
                               token_hash=security.token_hash(token), invited_by=actor.id, created_at=now,
                               expires_at=now + timedelta(days=INVITATION_DAYS))
    session.add(invitation)
    audit.record(session, actor_id=actor.id, organization_id=org.id, action="invitation.create",
                 target_type="invitation", target_id=invitation.id, details={"email": email, "role": role})
    # In the fragment (#), which browsers never send to a server: the token stays out of access logs.
    link = f"{settings.APP_URL.rstrip('/')}/account/invitations/#invitation={invitation.id}&token={token}"
    name = _one_line(org.name)
    send_email(settings=settings, session=session, to=email,
               subject=f"You are invited to join {name} on Dronacharya",
               body=f"Hello,\n\n{_one_line(actor.display_name)} invited you to join {name} on Dronacharya "
                    f"as {ROLE_NAMES[Role(role)]}.\n\nTo accept or decline, sign in (or create an account) "
                    f"with this address, {email}, and open this link:\n\n{link}\n\n"
                    f"The invitation expires on {invitation.expires_at:%Y-%m-%d}. If you do not want to "
                    "join, ignore this email: nothing changes until you accept.\n")
    return invitation


def _room_for(session: Session, org: Organization, emails: list[str], now: datetime) -> None:
    """Refuse, before anything is sent, invitations the seats or today's allowance cannot take."""
    if org.seat_limit is not None:
        used = _seats_used(session, org.id)
        members = set(session.scalars(select(User.email).where(User.email.in_(emails),
                                                               User.organization_id == org.id)).all())
        newcomers = len(set(emails) - members)
        if newcomers and used + newcomers > org.seat_limit:
            if used >= org.seat_limit:
                raise _seats_full(org, used)
            raise Conflict(f"{_one_line(org.name)} has {org.seat_limit - used} free seat(s) for "
                           f"{newcomers} new member(s): nothing was sent.",
                           {"seat_limit": org.seat_limit, "seats_used": used, "newcomers": newcomers})
    recent = session.scalar(select(func.count()).select_from(OrgInvitation).where(
        OrgInvitation.organization_id == org.id, OrgInvitation.created_at >= now - timedelta(days=1))) or 0
    if recent + len(emails) > INVITATIONS_PER_ORG_PER_DAY:
        raise RateLimited(f"This organisation may send {INVITATIONS_PER_ORG_PER_DAY} invitations a day and has sent "
                          f"{recent} today: nothing was sent.", retry_after=3600)


def invite_member(*, engine: Engine, settings: Settings, actor: User, org_id: str, email: str,
                  role: str) -> InvitationPublic:
    """Invite an address to the organisation. The answer and the email sent are the same whether
    or not the address has an account, so invitations cannot be used to find accounts."""
    _org_admin(actor, org_id)
    if not _may_grant(actor, org_id, role):
        raise Forbidden("You cannot invite with a role above your own.")
    email = email.strip().lower()
    now = utcnow()
    with write_session(engine) as session:
        org = session.get(Organization, org_id, with_for_update=True)
        if org is None:
            raise NotFound("No such organisation.")
        _room_for(session, org, [email], now)
        invitation = _send_invitation(session, settings=settings, actor=actor, org=org, email=email, role=role,
                                      now=now)
        return _invitation_public(invitation, org)


MAX_IMPORT_ROWS = 500
_EMAIL = TypeAdapter(EmailStr)


def import_invitations(*, engine: Engine, settings: Settings, actor: User, org_id: str,
                       text: str) -> list[InvitationPublic]:
    """Invite every address of a CSV (columns `email` and optionally `role`; a header row is optional).
    All or nothing: any bad row, too few seats or too many invitations for today, and nothing is sent;
    the error lists every bad row as `line N: what is wrong`."""
    _org_admin(actor, org_id)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    problems: list[str] = []
    wanted: dict[str, str] = {}
    first = True
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first and cells[0].lower() in ("email", "e-mail", "email address"):
            first = False
            continue
        first = False
        if len(cells) > 2:
            problems.append(f"line {number}: expected `email` or `email,role`, got {len(cells)} columns")
            continue
        address, role = cells[0].lower(), (cells[1] if len(cells) == 2 and cells[1] else "learner")
        try:
            _EMAIL.validate_python(address)
        except ValueError:
            problems.append(f"line {number}: '{address[:80]}' is not an email address")
            continue
        if role not in {r.value for r in ORG_ROLES}:
            problems.append(f"line {number}: unknown role '{role[:40]}' (one of {', '.join(ORG_ROLES)})")
        elif not _may_grant(actor, org_id, role):
            problems.append(f"line {number}: you cannot invite as {role}, a role above your own")
        elif address in wanted:
            problems.append(f"line {number}: {address} is listed twice")
        else:
            wanted[address] = role
    if not wanted and not problems:
        problems.append("line 1: the file has no addresses")
    if len(wanted) > MAX_IMPORT_ROWS:
        problems.append(f"line {len(rows)}: at most {MAX_IMPORT_ROWS} addresses per import")
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s) in the file; nothing was sent.", {"problems": problems})
    now = utcnow()
    with write_session(engine) as session:
        org = session.get(Organization, org_id, with_for_update=True)
        if org is None:
            raise NotFound("No such organisation.")
        _room_for(session, org, list(wanted), now)
        sent = [_send_invitation(session, settings=settings, actor=actor, org=org, email=email, role=role, now=now)
                for email, role in wanted.items()]
        return [_invitation_public(invitation, org) for invitation in sent]


def list_invitations(*, engine: Engine, actor: User, org_id: str) -> list[InvitationPublic]:
    """The organisation's pending invitations, for its admins (to see and revoke them)."""
    _org_admin(actor, org_id)
    with read_session(engine) as session:
        org = session.get(Organization, org_id)
        if org is None:
            raise NotFound("No such organisation.")
        rows = session.scalars(select(OrgInvitation).where(OrgInvitation.organization_id == org_id, _pending())
                               .order_by(OrgInvitation.created_at.desc())).all()
        return [_invitation_public(row, org) for row in rows]


def revoke_invitation(*, engine: Engine, actor: User, org_id: str, invitation_id: str) -> None:
    _org_admin(actor, org_id)
    with write_session(engine) as session:
        invitation = session.get(OrgInvitation, invitation_id, with_for_update=True)
        if invitation is None or invitation.organization_id != org_id:
            raise NotFound("No such invitation.")
        if _status(invitation) != "pending":
            raise Conflict(f"This invitation is {_status(invitation)}; only a pending one can be revoked.")
        invitation.revoked_at = utcnow()
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="invitation.revoke",
                     target_type="invitation", target_id=invitation.id, details={"email": invitation.email})


def my_invitations(*, engine: Engine, user: User) -> MyInvitationsPublic:
    """Pending invitations to the signed-in account's address, also those sent before it signed up."""
    with read_session(engine) as session:
        me = session.get(User, user.id)
        if me is None:
            raise NotFound("No such account.")
        rows = session.execute(select(OrgInvitation, Organization)
                               .join(Organization, Organization.id == OrgInvitation.organization_id)
                               .where(OrgInvitation.email == me.email, _pending())
                               .order_by(OrgInvitation.created_at.desc())).all()
        return MyInvitationsPublic(email_verified=me.email_verified_at is not None,
                                   invitations=[_invitation_public(inv, org) for inv, org in rows])


def _answerable(session: Session, *, user_id: str, invitation_id: str,
                token: str | None) -> tuple[User, OrgInvitation]:
    """The invitation, if it is pending, to this account's address, and the account has shown that it
    reads that address's mail: a verified address, or the emailed token itself. (Sign-up does not
    verify addresses: without this, whoever signed up first with an address would get its invitations.)"""
    me = session.get(User, user_id, with_for_update=True)
    invitation = session.get(OrgInvitation, invitation_id, with_for_update=True)
    if me is None or invitation is None or invitation.email != me.email:
        raise NotFound("No such invitation for your address.")
    state = _status(invitation)
    if state != "pending":
        raise Conflict(f"This invitation is {state}. Ask the organisation for a new one if you still want to join.")
    if token is not None:
        if not security.same(security.token_hash(token), invitation.token_hash):
            raise Forbidden("That link does not belong to this invitation.")
        if me.email_verified_at is None:
            me.email_verified_at = utcnow()  # the token came to this address: its owner reads its mail
    elif me.email_verified_at is None:
        raise Forbidden("Open the link in the invitation email to answer it: it shows this address is yours.")
    return me, invitation


def _join(session: Session, user: User, org_id: str, role: str) -> None:
    """Every way into an organisation ends here, so the seat limit holds for all of them. The
    organisation's row is locked first (PostgreSQL; SQLite serialises writers already), so that of
    many joins racing for the last seat exactly one gets it."""
    if user.organization_id not in (None, org_id):
        raise Conflict("This account belongs to another organisation.")
    org = session.get(Organization, org_id, with_for_update=True)
    if org is None:
        raise NotFound("No such organisation.")
    if user.organization_id != org_id and org.seat_limit is not None:
        used = _seats_used(session, org_id)
        if used >= org.seat_limit:
            raise _seats_full(org, used)
    user.organization_id = org_id
    # The role is raised to the one granted, never lowered (a super admin joining stays one).
    if role != Role.LEARNER and not has_role(user.role, Role(role)):
        user.role = role


def accept_invitation(*, engine: Engine, user: User, invitation_id: str, token: str | None) -> InvitationPublic:
    now = utcnow()
    with write_session(engine) as session:
        me, invitation = _answerable(session, user_id=user.id, invitation_id=invitation_id, token=token)
        inviter = session.get(User, invitation.invited_by) if invitation.invited_by else None
        # Checked again now: an inviter who has since lost the right to grant this role cannot grant it.
        if inviter is None or not inviter.is_active or not _may_grant(inviter, invitation.organization_id,
                                                                     invitation.role):
            raise Conflict("This invitation is no longer valid. Ask the organisation for a new one.")
        _join(session, me, invitation.organization_id, invitation.role)
        invitation.accepted_at, invitation.accepted_by = now, me.id
        audit.record(session, actor_id=me.id, organization_id=invitation.organization_id, action="member.join",
                     target_type="user", target_id=me.id, details={"role": invitation.role, "by": "invitation"})
        org = session.get(Organization, invitation.organization_id)
        assert org is not None  # the invitation cascades with its organisation
        return _invitation_public(invitation, org)


def decline_invitation(*, engine: Engine, user: User, invitation_id: str, token: str | None) -> None:
    with write_session(engine) as session:
        _, invitation = _answerable(session, user_id=user.id, invitation_id=invitation_id, token=token)
        invitation.declined_at = utcnow()


def add_member_asserted_by_idp(*, engine: Engine, org_id: str, email: str, role: str = "learner") -> str:
    """Make an existing account a member because the organisation's own identity provider asserts it
    (SSO sign-in, SCIM provisioning, a verified email domain): that assertion is the acceptance.

    For those integrations only: no public API endpoint reaches it, and it trusts its caller to have
    verified the assertion. Roles are the organisation's (learner, team_manager, enterprise_admin),
    never super_admin. Pending invitations of the address to this organisation are settled as
    accepted. Returns the account's id."""
    email = email.strip().lower()
    with write_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        user = session.scalar(select(User).where(User.email == email).with_for_update())
        if user is None:
            raise NotFound("No account has that address.")
        join_asserted_by_idp(session, org_id=org_id, user=user, role=role)
        return user.id


def join_asserted_by_idp(session: Session, *, org_id: str, user: User, role: str = "learner",
                         by: str = "identity_provider") -> None:
    """add_member_asserted_by_idp inside the caller's transaction, for callers that create or link the
    account in that same transaction (SSO's just-in-time accounts): a refusal (no free seat) then leaves
    nothing half-done. The caller has locked or created `user`. Seats are checked in _join, as for all."""
    try:
        wanted = Role(role)
    except ValueError:
        wanted = None
    if wanted not in ORG_ROLES:
        raise InvalidInput(f"An identity provider can grant {', '.join(ORG_ROLES)}, not {role}.")
    _join(session, user, org_id, role)
    audit.record(session, actor_id=None, organization_id=org_id, action="member.join", target_type="user",
                 target_id=user.id, details={"role": role, "by": by})
    session.execute(update(OrgInvitation).where(OrgInvitation.organization_id == org_id,
                                                OrgInvitation.email == user.email, _pending())
                    .values(accepted_at=utcnow(), accepted_by=user.id))


def create_team(*, engine: Engine, actor: User, org_id: str, name: str, kind: str) -> TeamPublic:
    _org_admin(actor, org_id)
    with write_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        team = Team(id=str(uuid.uuid4()), organization_id=org_id, name=name.strip(), kind=kind)
        session.add(team)
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="team.create", target_type="team",
                     target_id=team.id, details={"name": team.name, "kind": kind})
        return TeamPublic(id=team.id, organization_id=org_id, name=team.name, kind=team.kind)


def add_team_member(*, engine: Engine, actor: User, team_id: str, email: str, role: str) -> None:
    with write_session(engine) as session:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFound("No such team.")
        manages = session.get(TeamMember, (team_id, actor.id))
        # A team's manager acts for it only while still in its organisation.
        is_manager = (manages is not None and manages.role == "manager"
                      and actor.organization_id == team.organization_id)
        if not is_manager:
            _org_admin(actor, team.organization_id)
        user = session.scalar(select(User).where(User.email == email.strip().lower(),
                                                 User.organization_id == team.organization_id))
        if user is None:
            # One answer for "no account" and "not a member": only members (who accepted) can be found here.
            raise InvalidInput("No member of this organisation has that email. Invite them to the organisation "
                               "first; they join when they accept.")
        if not insert_ignore(session, TeamMember, {"team_id": team_id, "user_id": user.id, "role": role},
                             ["team_id", "user_id"]):
            member = session.get(TeamMember, (team_id, user.id))
            assert member is not None
            member.role = role
        audit.record(session, actor_id=actor.id, organization_id=team.organization_id, action="team.member",
                     target_type="team", target_id=team_id, details={"user_id": user.id, "role": role})


def my_teams(*, engine: Engine, user_id: str) -> list[TeamPublic]:
    with read_session(engine) as session:
        rows = session.execute(select(Team, TeamMember.role).join(TeamMember, TeamMember.team_id == Team.id)
                               .where(TeamMember.user_id == user_id).order_by(Team.name)).all()
        return [TeamPublic(id=t.id, organization_id=t.organization_id, name=t.name, kind=t.kind,
                           my_role="manager" if role == "manager" else "member") for t, role in rows]


def list_teams(*, engine: Engine, actor: User, org_id: str) -> list[TeamPublic]:
    """Every team of the organisation with its size, for its admins."""
    _org_admin(actor, org_id)
    with read_session(engine) as session:
        if session.get(Organization, org_id) is None:
            raise NotFound("No such organisation.")
        rows = session.execute(select(Team, func.count(TeamMember.user_id)).outerjoin(
            TeamMember, TeamMember.team_id == Team.id).where(Team.organization_id == org_id)
            .group_by(Team.id).order_by(Team.name)).all()
        return [TeamPublic(id=t.id, organization_id=t.organization_id, name=t.name, kind=t.kind, members=n)
                for t, n in rows]


# ---- for the domains above (assignments): facts about teams and members, read in one place ----------------


def team(*, engine: Engine, team_id: str) -> TeamPublic | None:
    with read_session(engine) as session:
        row = session.get(Team, team_id)
        return TeamPublic(id=row.id, organization_id=row.organization_id, name=row.name, kind=row.kind) if row else None


def teams_of_org(*, engine: Engine, org_id: str) -> dict[str, str]:
    """Team id → name, for every team of the organisation."""
    with read_session(engine) as session:
        return {row[0]: row[1] for row in session.execute(select(Team.id, Team.name).where(
            Team.organization_id == org_id))}


def managed_team_ids(*, engine: Engine, user: User) -> set[str]:
    """The teams `user` manages, in the organisation they belong to now (a manager who left manages none)."""
    if user.organization_id is None:
        return set()
    with read_session(engine) as session:
        return set(session.scalars(select(TeamMember.team_id).join(Team, Team.id == TeamMember.team_id).where(
            TeamMember.user_id == user.id, TeamMember.role == "manager",
            Team.organization_id == user.organization_id)).all())


def team_ids_of(*, engine: Engine, user_id: str, org_id: str) -> set[str]:
    """The teams of the organisation that `user_id` belongs to (as member or manager)."""
    with read_session(engine) as session:
        return set(session.scalars(select(TeamMember.team_id).join(Team, Team.id == TeamMember.team_id).where(
            TeamMember.user_id == user_id, Team.organization_id == org_id)).all())


def team_member_ids(*, engine: Engine, team_id: str) -> set[str]:
    with read_session(engine) as session:
        return set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)).all())


def member_by_email(*, engine: Engine, org_id: str, email: str) -> tuple[str, str] | None:
    """(id, email) of the organisation's member with that address, or None."""
    with read_session(engine) as session:
        row = session.execute(select(User.id, User.email).where(
            User.email == email.strip().lower(), User.organization_id == org_id)).first()
        return (row[0], row[1]) if row else None


def member_emails(*, engine: Engine, user_ids: set[str]) -> dict[str, str]:
    with read_session(engine) as session:
        return auth.emails_of(session=session, user_ids=user_ids)


def team_roster(*, engine: Engine, team_id: str) -> list[tuple[str, str, str, str]]:
    """(user id, email, display name, team role) of the team's members, by name."""
    with read_session(engine) as session:
        rows = session.execute(select(User.id, User.email, User.display_name, TeamMember.role)
                               .join(TeamMember, TeamMember.user_id == User.id)
                               .where(TeamMember.team_id == team_id).order_by(User.display_name, User.email))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def org_roster(*, engine: Engine, org_id: str) -> list[tuple[str, str, str, str]]:
    """(user id, email, display name, role) of the organisation's active members, by email."""
    with read_session(engine) as session:
        rows = session.execute(select(User.id, User.email, User.display_name, User.role).where(
            User.organization_id == org_id, User.is_active.is_(True)).order_by(User.email))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


# ---- for provisioning (scim): what an organisation's identity provider asserts, in the caller's transaction ----
# The caller has authenticated the identity provider (a SCIM token picks the organisation) and passes its
# session, so that the SCIM side of a change commits or rolls back with it. Every change is audited with no
# actor and `by` (e.g. "scim") in its details.


def provision_member(session: Session, *, org_id: str, email: str, display_name: str, by: str,
                     join: bool = True) -> str:
    """The account with this address joined to the organisation (seat-checked by _join, the one place
    that checks seats); created when there is none, with a random password nobody knows (the person signs
    in by an emailed link, a password reset or single sign-on). With join=False (provisioned inactive)
    the account is found or created but takes no seat. Returns the account's id."""
    email = auth.normalize_email(email)
    user = session.scalar(select(User).where(User.email == email).with_for_update())
    if user is None:
        name = " ".join(display_name.split())[:80] or email.split("@", 1)[0][:80] or "Learner"
        user = auth.create_user(session=session, email=email, password=security.new_token(), display_name=name)
    if join and user.organization_id != org_id:
        join_asserted_by_idp(session, org_id=org_id, user=user, by=by)
    return user.id


def withdraw_member(session: Session, *, org_id: str, user_id: str, by: str) -> bool:
    """Take the account out of the organisation (as remove_member: its seat frees, its teams here drop
    it, an organisation's role goes back to learner; the account and its learning stay). False when it
    was not a member."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.organization_id != org_id:
        return False
    team_ids = select(Team.id).where(Team.organization_id == org_id)
    session.execute(delete(TeamMember).where(TeamMember.user_id == user.id, TeamMember.team_id.in_(team_ids)))
    user.organization_id = None
    audit.record(session, actor_id=None, organization_id=org_id, action="member.remove", target_type="user",
                 target_id=user.id, details={"role": user.role, "by": by})
    if user.role in {r.value for r in ORG_ROLES}:  # a platform role (super admin) is not the organisation's
        user.role = Role.LEARNER
    return True


def provision_team(session: Session, *, org_id: str, name: str, by: str) -> str:
    name = " ".join(name.split())[:120]
    if not name:
        raise InvalidInput("A team needs a name.")
    team = Team(id=str(uuid.uuid4()), organization_id=org_id, name=name, kind="team")
    session.add(team)
    session.flush()
    audit.record(session, actor_id=None, organization_id=org_id, action="team.create", target_type="team",
                 target_id=team.id, details={"name": name, "kind": "team", "by": by})
    return team.id


def _org_team(session: Session, org_id: str, team_id: str) -> Team:
    team = session.get(Team, team_id, with_for_update=True)
    if team is None or team.organization_id != org_id:
        raise NotFound("No such team.")
    return team


def rename_team(session: Session, *, org_id: str, team_id: str, name: str, by: str) -> None:
    team = _org_team(session, org_id, team_id)
    name = " ".join(name.split())[:120]
    if not name:
        raise InvalidInput("A team needs a name.")
    if name != team.name:
        audit.record(session, actor_id=None, organization_id=org_id, action="team.rename", target_type="team",
                     target_id=team_id, details={"from": team.name, "to": name, "by": by})
        team.name = name


def delete_team(session: Session, *, org_id: str, team_id: str, by: str) -> None:
    """The team and its memberships (and assignments to it, which cascade); its members stay in the organisation."""
    team = _org_team(session, org_id, team_id)
    audit.record(session, actor_id=None, organization_id=org_id, action="team.delete", target_type="team",
                 target_id=team_id, details={"name": team.name, "by": by})
    session.delete(team)


def change_team_members(session: Session, *, org_id: str, team_id: str, add: set[str], remove: set[str],
                        by: str) -> None:
    """Add and remove members of a team by account id; those added must be members of the organisation."""
    _org_team(session, org_id, team_id)
    if add:
        members = set(session.scalars(select(User.id).where(User.id.in_(add), User.organization_id == org_id)))
        if members != add:
            raise InvalidInput("Only members of this organisation can join its teams.",
                               {"not_members": sorted(add - members)})
    have = set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
    for user_id in sorted(add - have):
        session.add(TeamMember(team_id=team_id, user_id=user_id, role="member"))
    gone = remove & have - add
    if gone:
        session.execute(delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id.in_(gone)))
    if add - have or gone:
        audit.record(session, actor_id=None, organization_id=org_id, action="team.members", target_type="team",
                     target_id=team_id, details={"added": sorted(add - have), "removed": sorted(gone), "by": by})


def team_names(session: Session, *, org_id: str, team_ids: set[str]) -> dict[str, str]:
    """Team id → name, for those of `team_ids` that are the organisation's."""
    if not team_ids:
        return {}
    return {row[0]: row[1] for row in session.execute(select(Team.id, Team.name).where(
        Team.organization_id == org_id, Team.id.in_(team_ids)))}


def team_members_of(session: Session, *, team_ids: set[str]) -> dict[str, set[str]]:
    """Team id → the account ids of its members (managers included)."""
    found: dict[str, set[str]] = {team_id: set() for team_id in team_ids}
    if team_ids:
        for team_id, user_id in session.execute(select(TeamMember.team_id, TeamMember.user_id).where(
                TeamMember.team_id.in_(team_ids))):
            found[team_id].add(user_id)
    return found


def slug(name: str) -> str:
    """An organisation's name as typed in a URL or a sign-in form ("Acme Labs" -> "acme-labs")."""
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def find_org(session: Session, key: str) -> tuple[str, str] | None:
    """(id, name) of the organisation whose id or name slug is `key` (a sign-in form's answer); None if none
    or if the slug is ambiguous (two organisations' names give it: then only the id finds one)."""
    key = key.strip()
    org = session.get(Organization, key[:36]) if key else None
    if org is not None:
        return org.id, org.name
    wanted = slug(key)
    if not wanted:
        return None
    found = [(o.id, o.name) for o in session.scalars(select(Organization)) if slug(o.name) == wanted]
    return found[0] if len(found) == 1 else None


def org_name(session: Session, org_id: str) -> str | None:
    org = session.get(Organization, org_id)
    return org.name if org is not None else None


def org_names(*, engine: Engine, org_ids: set[str]) -> dict[str, str]:
    """Organisations' names by id (the ones that exist)."""
    if not org_ids:
        return {}
    with read_session(engine) as session:
        rows = session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(org_ids)))
        return {str(org_id): str(name) for org_id, name in rows}


def org_overview(*, engine: Engine, org_id: str) -> tuple[str, int | None, int]:
    """(name, seat limit, number of teams): for callers that checked who asks (the analytics dashboard)."""
    with read_session(engine) as session:
        org = session.get(Organization, org_id)
        if org is None:
            raise NotFound("No such organisation.")
        teams = session.scalar(select(func.count()).select_from(Team).where(Team.organization_id == org_id))
        return org.name, org.seat_limit, int(teams or 0)


def org_ids(*, engine: Engine) -> list[str]:
    """Every organisation's id: for the scheduled reports (sidecar/jobs), which check nobody's role."""
    with read_session(engine) as session:
        return [str(i) for i in session.scalars(select(Organization.id).order_by(Organization.created_at))]
