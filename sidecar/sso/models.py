from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sidecar.text import JsonBool

# The roles members who arrive by single sign-on get: an organisation's, never super_admin or reviewer.
JitRole = Literal["learner", "team_manager", "analytics_viewer", "content_creator", "enterprise_admin"]


class SsoConfigUpdate(BaseModel):
    """The whole configuration. `client_secret` may be left out to keep the stored one (it is never shown)."""

    issuer: str = Field(min_length=8, max_length=500, description="The provider's issuer URL; its discovery "
                        "document is read from {issuer}/.well-known/openid-configuration when this is saved.")
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: str | None = Field(None, min_length=1, max_length=2000,
                                      description="Write-only: stored encrypted, never returned.")
    default_role: JitRole = Field("learner", description="The role of members who join by signing in.")
    enabled: JsonBool = True


class SsoConfigPublic(BaseModel):
    configured: bool
    issuer: str | None = None
    client_id: str | None = None
    client_secret_set: bool = False
    default_role: str = "learner"
    enabled: bool = False
    redirect_uri: str = Field(description="The address to register at the provider as the redirect (callback) URI.")
    authorization_endpoint: str | None = None
    updated_at: datetime | None = None


class DomainCreate(BaseModel):
    domain: str = Field(min_length=3, max_length=253, description="An email domain, e.g. example.com.")


class DomainPublic(BaseModel):
    domain: str
    verified: bool
    verified_at: datetime | None
    txt_name: str = Field(description="Where to publish the TXT record (the domain itself).")
    txt_value: str = Field(description="The TXT record's value that proves the organisation holds the domain.")
    created_at: datetime
