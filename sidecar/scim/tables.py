"""SCIM 2.0 provisioning: the organisation's bearer tokens and what its identity provider knows of
its users and groups (RFC 7643). The accounts, memberships and teams themselves are orgs' and auth's;
these rows only remember the SCIM side of them (ids, userName, externalId, active)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class ScimToken(Base):
    """A bearer token an identity provider uses for one organisation. Only its SHA-256 is stored."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScimUser(Base):
    """A SCIM User: one account as one organisation's identity provider describes it. The id is SCIM's
    (stable for the IdP); the account may have existed before (linked by its email)."""

    __tablename__ = "scim_users"
    __table_args__ = (UniqueConstraint("organization_id", "user_name_key"),
                      UniqueConstraint("organization_id", "user_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(320))
    # userName is case-insensitive (RFC 7643 §4.1.1): uniqueness and filters compare this lower-cased copy.
    user_name_key: Mapped[str] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    # {givenName, familyName, formatted, ...} as sent; [{value, type, primary}] as sent.
    name: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    emails: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # As the IdP last said; None (left out): active, RFC 7643's default. False: not a member (no seat).
    active: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScimGroup(Base):
    """A SCIM Group: one of the organisation's teams, created by its identity provider (the SCIM id is
    the team's id). Teams made on the organisation page are not the IdP's and stay out of its sight."""

    __tablename__ = "scim_groups"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
