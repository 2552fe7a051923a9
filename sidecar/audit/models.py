from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventPublic(BaseModel):
    id: str
    at: datetime
    actor_id: str | None = Field(description="null: a deleted account, or the system (an identity provider).")
    actor_email: str | None
    organization_id: str | None
    action: str = Field(description="What happened, e.g. org.update, member.role, invitation.create.")
    target_type: str | None
    target_id: str | None
    details: dict[str, Any] = Field(default_factory=dict)
