from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from .roles import LearnerKind, Role


def _readable_name(value: str) -> str:
    # Stripped already (StringConstraints); spaces alone, or invisible characters, would show as nothing.
    if not any(ch.isprintable() and not ch.isspace() for ch in value):
        raise ValueError("a display name needs at least one visible character")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("a display name cannot contain control characters such as line breaks")
    return value


# What a person may choose as their name: trimmed, 1-80 characters, something visible.
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), AfterValidator(_readable_name)]


class UserBase(BaseModel):
    email: EmailStr
    display_name: str = Field(max_length=80)


class UserCreate(UserBase):
    display_name: DisplayName
    password: str = Field(min_length=8, max_length=256, description="At least 8 characters.")


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(max_length=256)


class UserPublic(UserBase):
    id: str
    role: Role
    learner_kind: LearnerKind | None
    organization_id: str | None
    timezone: str
    onboarded: bool


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class ResetRequest(BaseModel):
    email: EmailStr


class ResetConfirm(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    new_password: str = Field(min_length=8, max_length=256)


class SignInLinkRequest(BaseModel):
    email: EmailStr


class SignInLinkConfirm(BaseModel):
    token: str = Field(min_length=10, max_length=200)


class CsrfPublic(BaseModel):
    csrf_token: str
