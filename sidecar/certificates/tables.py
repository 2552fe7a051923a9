"""Certificates, the issuer's keys and the transparency log.

A certificate row keeps everything it certified as issued (the holder's name, the course's and
tier's titles, the scores and the evidence) and the signed credential itself, so it stays
verifiable exactly as issued when content moves on or the holder deletes their account: then
`user_id` becomes NULL (ON DELETE SET NULL) and the verification page says "holder removed".

The transparency log is append-only: `log_entries` are its leaves in order, `tree_heads` the
signed heads published after each append.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class IssuerKey(Base):
    """One Ed25519 signing key of the issuer. Retired keys stay published so old credentials verify."""

    __tablename__ = "issuer_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "key-<n>", the fragment of its method id
    public_multibase: Mapped[str] = mapped_column(String(128))
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)  # PKCS#8, encrypted with the key passphrase
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL: the key that signs now


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "tier", name="uq_certificates_user_course_tier"),
        UniqueConstraint("status_index", name="uq_certificates_status_index"),
        Index("ix_certificates_user_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the credential id (urn:uuid:<id>)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    course_id: Mapped[str] = mapped_column(String(36))
    tier: Mapped[str] = mapped_column(String(16))
    holder_name: Mapped[str] = mapped_column(String(120))
    course_title: Mapped[str] = mapped_column(String(200))
    track_title: Mapped[str | None] = mapped_column(String(200))
    tier_title: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scores: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    demo_url: Mapped[str | None] = mapped_column(String(2048))
    org_name: Mapped[str | None] = mapped_column(String(200))
    status_index: Mapped[int] = mapped_column(Integer)
    credential: Mapped[dict[str, Any]] = mapped_column(JSON)  # the signed OpenBadgeCredential
    credential_sha256: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(Integer)
    xp_awarded: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(36))


class LogEntry(Base):
    """A leaf of the transparency log: the canonical JSON of an issuance or a revocation."""

    __tablename__ = "log_entries"

    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # issue | revoke
    credential_id: Mapped[str] = mapped_column(String(36), index=True)
    leaf: Mapped[str] = mapped_column(Text)  # canonical JSON; its bytes are the leaf's data
    leaf_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256(0x00 || leaf), RFC 9162
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TreeHead(Base):
    """A signed tree head after an append (and its RFC 3161 timestamp when anchoring is on)."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    head: Mapped[dict[str, Any]] = mapped_column(JSON)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
