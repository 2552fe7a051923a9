from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sidecar.certificates.models import CertificatePublic
from sidecar.progress.models import CourseProgressPublic


class AccountRowPublic(BaseModel):
    """One account in the super admin's search."""

    id: str
    email: str
    display_name: str
    role: str
    organization_id: str | None
    organization_name: str | None
    is_active: bool
    email_verified: bool
    created_at: datetime


class SessionsPublic(BaseModel):
    active: int = Field(description="Signed-in browsers now (not expired, not signed out).")
    last_sign_in_at: datetime | None


class GamificationSummaryPublic(BaseModel):
    xp: int
    level: int
    streak_days: int
    achievements_earned: int


class SupportViewPublic(BaseModel):
    """What support sees of an account: enough to answer "where am I stuck, what did I earn", never its secrets,
    its code, its tutor conversations or a way to act as it. Each look is written to the audit log."""

    account: AccountRowPublic
    sessions: SessionsPublic
    courses: list[CourseProgressPublic] = Field(description="Courses the learner has started, with progress.")
    gamification: GamificationSummaryPublic
    certificates: list[CertificatePublic]
