from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    gamification_mode: Mapped[str | None] = mapped_column(String(16))  # overrides learners' defaults
    # The most active members at once (None: no limit). Set by a super admin (it is what was bought);
    # every way in (invitation, identity provider, SCIM, CSV import) takes a seat through orgs.service._join.
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    # Settings (§4.2), each None for the platform's default: {logo, primary_color, accent_color}; the tutor's
    # tone (encouraging | balanced | direct); the AI models its learners' requests may use; how many days
    # tutor conversations and kept draft versions of its members are kept.
    branding: Mapped[dict[str, str] | None] = mapped_column(JSON)
    ai_tone: Mapped[str | None] = mapped_column(String(16))
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Team(Base):
    """A team (workplace), class (school) or cohort: the scopes of non-global leaderboards."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="team")  # team | class | cohort
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | manager


class OrgInvitation(Base):
    """An invitation to join an organisation, bound to one email address, single-use and expiring.

    Membership starts only when the invitee accepts (or the organisation's identity provider asserts
    it: orgs.service.add_member_asserted_by_idp). Only the SHA-256 of the emailed token is stored."""

    __tablename__ = "org_invitations"
    __table_args__ = (Index("ix_org_invitations_email_org", "email", "organization_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    role: Mapped[str] = mapped_column(String(32))  # learner | team_manager | enterprise_admin
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
