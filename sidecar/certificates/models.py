"""API shapes of certificates: verification, eligibility, the learner's list, issuer documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from sidecar.gamification.models import AchievementPublic

Tier = Literal["bronze", "silver", "gold"]
TIERS: tuple[Tier, ...] = ("bronze", "silver", "gold")


class ScorePublic(BaseModel):
    key: str
    label: str
    points: float
    max_points: float
    percent: float = Field(description="points / max_points × 100, rounded to one decimal.")


class EvidencePublic(BaseModel):
    content_commit: str = Field(description="The content repository's git commit the certificate was earned on.")
    tests_sha256: str = Field(description="SHA-256 of the grader's tests (hidden ones included) that decided it.")
    assessment_attempt_id: str | None = None
    project_submission_id: str | None = None


class SignatureCheckPublic(BaseModel):
    ok: bool
    reason: str
    verification_method: str | None
    cryptosuite: str = "eddsa-rdfc-2022"


class LogProofPublic(BaseModel):
    leaf_index: int
    tree_size: int
    root_hash: str
    inclusion_proof: list[str] = Field(description="Hex SHA-256 audit path (RFC 9162 §2.1.3).")
    verified: bool = Field(description="The proof was checked against the signed tree head before it was shown.")
    tree_head: dict[str, Any]


class IssuerPublic(BaseModel):
    id: str
    name: str
    url: str


class OrgPublic(BaseModel):
    """The holder's organisation at issue time; its logo and colour while the holder is still a member."""

    name: str
    logo_url: str | None = None
    color: str | None = Field(None, description="The organisation's main colour, #RRGGBB.")


class VerificationPublic(BaseModel):
    """Everything the public verification page shows; no sign-in needed."""

    credential_id: str
    status: Literal["valid", "revoked", "invalid"]
    holder_name: str = Field(description="The holder's name as chosen when the certificate was issued.")
    holder_removed: bool = Field(description="The holder deleted their account; the credential stays as issued.")
    course_id: str
    course_title: str
    track_title: str | None
    tier: Tier
    tier_title: str
    issued_at: datetime
    scores: list[ScorePublic]
    percent_overall: float | None
    evidence: EvidencePublic
    demo_url: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
    verify_url: str
    credential_url: str
    pdf_url: str
    bundle_url: str
    linkedin_url: str
    signature: SignatureCheckPublic
    log: LogProofPublic | None
    issuer: IssuerPublic
    org: OrgPublic | None


class CertificatePublic(BaseModel):
    """One of the learner's certificates, as listed on their Certificates page."""

    credential_id: str
    course_id: str
    course_title: str
    tier: Tier
    tier_title: str
    issued_at: datetime
    status: Literal["valid", "revoked"]
    percent_overall: float | None
    verify_url: str
    print_url: str
    pdf_url: str
    credential_url: str
    bundle_url: str
    linkedin_url: str


class IssuedPublic(BaseModel):
    credential_id: str
    tier: Tier
    verify_url: str
    created: bool = Field(description="False when the certificate had been issued before (nothing changed).")
    xp_awarded: int
    new_achievements: list[AchievementPublic]


class RequirementPublic(BaseModel):
    key: str
    label: str
    done: bool
    detail: str | None = None


class TierStatusPublic(BaseModel):
    tier: Tier
    title: str
    description: str
    xp: int
    earned: bool
    credential_id: str | None
    verify_url: str | None
    available: bool = Field(description="The course offers this tier (Silver: an item bank; Gold: options).")
    eligible: bool = Field(description="Every requirement is met (Bronze: it is then issued at once).")
    requirements: list[RequirementPublic]
    state: dict[str, Any] = Field(default_factory=dict,
                                  description="Tier-specific state: Silver's cool-down and open attempt, Gold's "
                                  "submission status.")
    action_url: str | None = None


class CourseCertificationPublic(BaseModel):
    course_id: str
    course_title: str
    tiers: list[TierStatusPublic]


class CertificationTierPublic(BaseModel):
    id: str
    tier: Tier
    title: str
    description: str
    xp: int
    rules: dict[str, Any]


class RevocationCreate(BaseModel):
    reason: str = Field(min_length=3, max_length=500)
