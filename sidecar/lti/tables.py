"""LTI 1.3: the tool's key, platform registrations, the OIDC state, accounts by (platform, sub),
the resource links a learner launched (where their grade goes) and the grade outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class LtiToolKey(Base):
    """The tool's RSA key pair (one row): every process signs with the same key. The private half is an
    encrypted PKCS#8 PEM (a passphrase derived from SECRET_KEY, as the certificate issuer's key)."""

    __tablename__ = "lti_tool_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "tool"
    kid: Mapped[str] = mapped_column(String(64))
    public_pem: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiPlatform(Base):
    """A platform (Canvas, Moodle...) registered by an organisation: launches from it sign learners into
    that organisation. (issuer, client_id) names a registration, so it is unique across organisations."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_ids: Mapped[list[str]] = mapped_column(JSON)
    auth_login_url: Mapped[str] = mapped_column(String(2000))
    auth_token_url: Mapped[str] = mapped_column(String(2000))
    key_set_url: Mapped[str] = mapped_column(String(2000))
    auth_audience: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiState(Base):
    """pylti1p3's server-side "session": nonces, state and launch data, with an expiry. In the database
    because several processes may serve the login and the launch that follows it."""

    __tablename__ = "lti_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LtiAccount(Base):
    """Who a platform's user (its `sub`) is here."""

    __tablename__ = "lti_accounts"

    platform_id: Mapped[str] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True)
    sub: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiGrant(Base):
    """A resource link a learner launched that has a line item: completing its lesson posts a score there."""

    __tablename__ = "lti_grants"
    __table_args__ = (UniqueConstraint("platform_id", "user_id", "resource_link_id"),
                      Index("ix_lti_grants_user_id_course_id", "user_id", "course_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    lesson_id: Mapped[str] = mapped_column(String(36))
    course_id: Mapped[str] = mapped_column(String(36))
    lineitem_url: Mapped[str] = mapped_column(String(2000))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiScoreOutbox(Base):
    """A score to post, written in the completion's transaction and sent after commit by a sender that
    retries. One row per grant (the primary key): a completion is never queued, so never sent, twice."""

    __tablename__ = "lti_score_outbox"

    grant_id: Mapped[str] = mapped_column(ForeignKey("lti_grants.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A sender claims a row until this time, so that two processes never post it at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
