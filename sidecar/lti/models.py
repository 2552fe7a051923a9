"""API shapes of LTI 1.3 platform registrations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

Url = Annotated[str, Field(min_length=8, max_length=2000, description="An http(s) URL.")]


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


class PlatformCreate(BaseModel):
    """What the LMS's administrator sees once the tool is added there (Canvas: the developer key;
    Moodle: "Tool configuration details")."""

    name: str = Field("", max_length=120, description="A label for the admins, e.g. 'Canvas (production)'.")
    issuer: str = Field(min_length=1, max_length=255, description="The platform's issuer (iss), e.g. "
                        "https://canvas.instructure.com or the Moodle site's URL.")
    client_id: str = Field(min_length=1, max_length=255, description="The client id the platform gave the tool.")
    deployment_ids: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        min_length=1, max_length=50, description="The deployment ids launches may carry.")
    auth_login_url: Url = Field(description="The platform's OIDC authorisation endpoint.")
    auth_token_url: Url = Field(description="The platform's OAuth 2 token endpoint (grade passback).")
    key_set_url: Url = Field(description="The platform's public key set (JWKS) URL.")
    auth_audience: str | None = Field(None, max_length=2000,
                                      description="The token endpoint's audience, when not its URL (rare).")

    _urls = field_validator("auth_login_url", "auth_token_url", "key_set_url")(_http_url)


class ToolUrls(BaseModel):
    """What to paste into the LMS when adding the tool."""

    login_url: str = Field(description="OpenID Connect initiation (login) URL.")
    launch_url: str = Field(description="Target link URI and redirect URI.")
    deep_linking_url: str = Field(description="Deep linking (content selection) URL.")
    jwks_url: str = Field(description="The tool's public key set URL.")


class PlatformPublic(BaseModel):
    id: str
    organization_id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    created_at: datetime
    tool: ToolUrls
