"""The Silver assessment's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from sidecar.text import JsonBool, JsonInt

SectionKey = Literal["conceptual", "analysis", "coding", "design"]


class AttemptCreate(BaseModel):
    consent_camera: JsonBool = Field(False, description="Explicit consent to in-browser camera checks (only when "
                                                    "ENABLE_AI_PROCTORING is on; images never leave the browser).")


class AnswerCreate(BaseModel):
    answer: str | JsonInt = Field(description="Conceptual: the index of the chosen option. Analysis: the predicted "
                                          "output (text) or the buggy line's number.")
    active_ms: JsonInt = Field(0, ge=0, le=86_400_000, description="Time spent on the question, as the browser saw it.")


class CodeCreate(BaseModel):
    code: str = Field(max_length=20_000)
    active_ms: JsonInt = Field(0, ge=0, le=86_400_000)


class ReplyCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="Your answer to the Assessor's question.")


class EventCreate(BaseModel):
    kind: str = Field(max_length=32, description="focus_lost, focus_back, paste, fullscreen_exit or a camera_* "
                                                 "check result.")
    section: SectionKey | None = None
    position: JsonInt | None = Field(None, ge=0, le=100)
    # Short values only: an event carries counts and reasons, never an image (or any payload).
    detail: dict[Annotated[str, Field(max_length=40)], JsonInt | Annotated[str, Field(max_length=200)] | JsonBool] = \
        Field(default_factory=dict, max_length=8, description="e.g. {\"chars\": 120} for a paste.")


class ItemPublic(BaseModel):
    position: int
    item_id: str
    kind: str
    difficulty: int
    prompt: str
    title: str | None = None
    choices: list[str] | None = None
    code: str | None = None
    starter: str | None = None
    visible_tests: list[str | None] | None = None
    answered: bool
    answer: Any = None
    score: float | None = Field(None, description="0 to 1; shown once the attempt is finished.")
    result: dict[str, Any] | None = Field(None, description="Coding: the sandbox's verdicts on the best submission.")
    correct_answer: Any = Field(None, description="Shown once the attempt is finished.")
    explanation: str | None = None


class SectionPublic(BaseModel):
    key: SectionKey
    title: str
    position: int
    minutes: int
    max_points: int
    started_at: datetime | None
    deadline: datetime | None = Field(description="Set by the server when the section starts.")
    seconds_left: float | None
    submitted_at: datetime | None
    reason: Literal["submitted", "timeout"] | None
    percent: float | None
    planned_items: int
    review: dict[str, Any] | None = Field(None, description="Design: the Assessor's rubric scoring and reasoning.")
    items: list[ItemPublic]


class AttemptPublic(BaseModel):
    id: str
    course_id: str
    number: int
    status: Literal["open", "passed", "failed"]
    started_at: datetime | None
    finished_at: datetime | None
    percent: float | None
    certificate_id: str | None
    verify_url: str | None
    server_time: datetime = Field(description="The server's clock, so the browser's timers follow it.")
    grace_seconds: int
    proctoring: bool
    sections: list[SectionPublic]


class AttemptSummaryPublic(BaseModel):
    id: str
    number: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    percent: float | None
    certificate_id: str | None


class AssessmentOverviewPublic(BaseModel):
    course_id: str
    course_title: str
    available: bool
    sections: list[dict[str, Any]]
    min_percent: float
    min_section_percent: float
    cooldown_minutes: int
    open_attempt_id: str | None
    retake_at: datetime | None
    attempts: list[AttemptSummaryPublic]
    proctoring_available: bool


class IntegrityPublic(BaseModel):
    attempt_id: str
    user_id: str
    course_id: str
    status: str
    focus_losses: int
    pasted_chars: int
    events: list[dict[str, Any]]
    timing: list[dict[str, Any]]
