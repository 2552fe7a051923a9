"""The API shapes of SCIM tokens (under /api). SCIM's own resources (/scim/v2) are RFC 7643's JSON,
written by service.py: they are the protocol's, not this API's."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ScimTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120, description="What the token is for, e.g. the identity provider.")


class ScimTokenPublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(None, description="The last SCIM request made with it.")


class ScimTokenCreated(ScimTokenPublic):
    token: str = Field(description="The bearer token. Shown this once: only its hash is kept.")
    base_url: str = Field(description="The SCIM base URL to give the identity provider.")
