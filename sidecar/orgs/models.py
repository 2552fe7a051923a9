from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from sidecar.text import JsonInt

GamificationMode = Literal["full", "moderate", "minimal", "off"]
AiTone = Literal["encouraging", "balanced", "direct"]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#RRGGBB")]
# A logo is an https address or a small image inline (data: URL), never script: SVG is left out.
Logo = Annotated[str, Field(max_length=140_000, pattern=r"^(https://[^\s\"'<>]+|data:image/(png|jpeg|webp);base64,"
                                                         r"[A-Za-z0-9+/=]+)$")]


class Branding(BaseModel):
    logo: Logo | None = None
    primary_color: Colour | None = None
    accent_color: Colour | None = None
OrgRole = Literal["learner", "team_manager", "analytics_viewer", "content_creator", "reviewer", "enterprise_admin"]


class OrganizationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    gamification_mode: GamificationMode | None = None
    seat_limit: JsonInt | None = Field(None, ge=1, le=1_000_000, description="The most active members; none: no limit.")


class OrganizationUpdate(BaseModel):
    """Only the fields sent change. `seat_limit` is a super admin's (it is what the organisation bought)."""

    name: str | None = Field(None, min_length=1, max_length=120)
    gamification_mode: GamificationMode | None = Field(
        None, description="The default for the organisation's learners (each may still choose their own).")
    seat_limit: JsonInt | None = Field(None, ge=1, le=1_000_000, description="The most active members; null: no limit.")
    branding: Branding | None = Field(None, description="Logo and colours on the site for the organisation's members.")
    ai_tone: AiTone | None = Field(None, description="The tutor's tone for every member (null: by learner kind).")
    allowed_models: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, max_length=50, description="The AI models members' requests may use (null: any the platform offers; "
        "[]: none, the offline teaching policy).")
    retention_days: JsonInt | None = Field(None, ge=1, le=3650, description="Days members' tutor conversations and "
                                           "kept draft versions are kept (null: until they delete them).")


class OrganizationPublic(BaseModel):
    id: str
    name: str
    gamification_mode: str | None
    seat_limit: int | None = Field(None, description="The most active members at once; null: no limit.")
    seats_used: int = Field(0, description="Active members now.")
    branding: Branding = Field(default_factory=Branding)
    ai_tone: AiTone | None = None
    allowed_models: list[str] | None = None
    retention_days: int | None = None


class MyOrganizationPublic(BaseModel):
    """What a member's pages show: the organisation's name and branding."""

    id: str
    name: str
    branding: Branding


class MemberPublic(BaseModel):
    id: str
    email: str
    display_name: str
    role: str
    active: bool
    teams: list[str] = Field(description="The names of the member's teams, classes and cohorts here.")


class MemberUpdate(BaseModel):
    role: OrgRole = Field(description="Up to the admin's own role (and reviewer, of the organisation's learners); "
                                      "never super admin.")


class InvitationBase(BaseModel):
    email: EmailStr
    role: OrgRole = "learner"


class InvitationCreate(InvitationBase):
    """Invite an address; nobody may invite with a role above their own."""


class InvitationImport(BaseModel):
    csv: str = Field(min_length=1, max_length=200_000, description="Rows of `email` or `email,role` (role: learner "
                     "if left out); a header row is optional. All or nothing: a bad row, and nothing is sent.")


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
    my_role: Literal["member", "manager"] | None = Field(None, description="Yours in the team (GET /api/teams).")
    members: int | None = Field(None, description="How many people are in it (an organisation's team list).")


class TeamMemberAdd(BaseModel):
    email: EmailStr
    role: Literal["member", "manager"] = "member"
