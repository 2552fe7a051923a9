from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sidecar.text import JsonInt

# The same limit as a graded submission (sidecar/grading/models.py): a draft is code that may be submitted.
MAX_DRAFT_CHARS = 50_000


class DraftBase(BaseModel):
    code: str = Field(max_length=MAX_DRAFT_CHARS)


class DraftUpdate(DraftBase):
    base_revision: JsonInt | None = Field(None, ge=0, le=2**31 - 1,
                                      description="The revision this edit was based on; null for code never "
                                      "saved on the server (e.g. written while signed out).")
    edited_at: datetime | None = Field(None, description="When the learner made this edit (the client's clock; "
                                       "times in the future count as now). Decides a conflict: the later edit "
                                       "becomes the draft.")


class DraftVersionPublic(BaseModel):
    id: str
    code: str
    edited_at: datetime
    kept_at: datetime
    reason: str = Field(description="conflict: the other side of a conflicting edit; restored: the draft that "
                        "a restore replaced.")


class DraftPublic(DraftBase):
    revision: int
    edited_at: datetime
    updated_at: datetime


class LastSubmissionPublic(BaseModel):
    code: str
    passed: bool
    created_at: datetime


class DraftStatePublic(BaseModel):
    """Everything the exercise needs to restore the learner's code on any browser."""

    exercise_id: str
    draft: DraftPublic | None = Field(description="The current draft; null when none was saved.")
    others: list[DraftVersionPublic] = Field(description="Versions kept from conflicts, newest first.")
    last_submission: LastSubmissionPublic | None = Field(description="The code last graded on the server "
                                                         "(the fallback when there is no draft).")


class DraftSavePublic(DraftStatePublic):
    accepted: bool = Field(description="True when this write became the current draft; false when a newer edit "
                           "made elsewhere won and this one was kept in `others`.")
    conflict: bool = Field(description="True when the draft had moved on since base_revision: one side was kept "
                           "in `others`.")
