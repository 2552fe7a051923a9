from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

from .roles import LearnerKind, Role


class UserBase(BaseModel):
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=80)


class UserCreate(UserBase):
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


class CsrfPublic(BaseModel):
    csrf_token: str
