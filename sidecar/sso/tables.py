from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class SsoConfig(Base):
    """An organisation's OpenID Connect provider. The client secret is kept encrypted (Fernet, a key derived
    from SECRET_KEY) and never returned; `metadata` is the provider's discovery document as fetched when
    the configuration was saved (endpoints, JWKS address, the exact issuer string)."""

    __tablename__ = "sso_configs"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    default_role: Mapped[str] = mapped_column(String(32), default="learner")  # the role JIT members get
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    provider_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoDomain(Base):
    """An email domain an organisation claims. Until a super admin marks it verified (having seen the TXT
    record) it does nothing. `verified_domain` repeats `domain` once verified and is unique: a domain is
    verified for one organisation only (NULLs, the unverified claims, do not collide)."""

    __tablename__ = "sso_domains"
    __table_args__ = (UniqueConstraint("organization_id", "domain", name="uq_sso_domains_org_domain"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))  # lower-cased, IDNA (xn--) form
    txt_value: Mapped[str] = mapped_column(String(100))
    verified_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoLink(Base):
    """An account's identity at an organisation's provider: (issuer, sub) is the provider's stable name for
    the person, so a later change of their email address at the provider still finds the same account. Per
    organisation: two organisations may use one provider (a shared cloud tenant's issuer)."""

    __tablename__ = "sso_links"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoState(Base):
    """One sign-in under way: kept server side, single use, short-lived, and bound to the browser that
    started it (the SHA-256 of a random cookie), so a callback URL replayed or planted in another browser
    signs nobody in. Only the SHA-256 of the state sent to the provider is stored."""

    __tablename__ = "sso_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500), default="/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
