from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field


class OrganizationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    gamification_mode: Literal["full", "moderate", "minimal", "off"] | None = None


class OrganizationUpdate(BaseModel):
    gamification_mode: Literal["full", "moderate", "minimal", "off"] | None = Field(
        None, description="The default for the organisation's learners (each may still choose their own).")


class OrganizationPublic(BaseModel):
    id: str
    name: str
    gamification_mode: str | None


OrgRole = Literal["learner", "team_manager", "enterprise_admin"]


class InvitationBase(BaseModel):
    email: EmailStr
    role: OrgRole = "learner"


class InvitationCreate(InvitationBase):
    """Invite an address; nobody may invite with a role above their own."""


class InvitationPublic(InvitationBase):
    id: str
    organization_id: str
    organization_name: str
    status: Literal["pending", "accepted", "declined", "revoked", "expired"]
    expires_at: datetime


class MyInvitationsPublic(BaseModel):
    email_verified: bool = Field(description="False: accepting needs the token from the invitation email, which "
                                 "shows that this account's owner reads the address's mail.")
    invitations: list[InvitationPublic]


class InvitationAnswer(BaseModel):
    token: str | None = Field(None, min_length=10, max_length=200,
                              description="The token of the emailed link; needed while the address is not verified.")


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["team", "class", "cohort"] = "team"


class TeamPublic(BaseModel):
    id: str
    organization_id: str
    name: str
    kind: str


class TeamMemberAdd(BaseModel):
    email: EmailStr
    role: Literal["member", "manager"] = "member"
