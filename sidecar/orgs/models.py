from __future__ import annotations

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


class OrgMemberAdd(BaseModel):
    email: EmailStr
    role: Literal["learner", "team_manager", "enterprise_admin"] = "learner"


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
