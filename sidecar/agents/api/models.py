from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from sidecar.text import JsonBool, JsonInt

Answer = JsonInt | str | None  # JSON's own types: 1.0 or true is not an index


class ChatCreate(BaseModel):
    message: str = Field("", max_length=4000, description="The learner's words (may be empty for a quick action).")
    lesson_id: str | None = Field(None, max_length=36, description="The lesson the learner is on.")
    exercise_id: str | None = Field(None, max_length=36, description="The exercise the learner is working on.")
    code: str | None = Field(None, max_length=50_000, description="The learner's current code in the editor.")
    session_id: str | None = Field(None, max_length=36, description="Continue this conversation (default: the "
                                   "lesson's latest).")
    client_id: str | None = Field(None, max_length=64, description="Idempotency key: a retried turn is answered "
                                  "once, from storage.")
    intent: Literal["chat", "hint", "explain", "example", "review", "quiz"] = Field(
        "chat", description="A quick action from the panel; `chat` reads the intent from the message.")


    @model_validator(mode="after")
    def _needs_words(self) -> ChatCreate:
        if self.intent == "chat" and not self.message.strip():
            raise ValueError("Type a message, or use one of the quick actions.")
        return self


class HintCreate(BaseModel):
    exercise_id: str = Field(max_length=36)
    lesson_id: str | None = Field(None, max_length=36)
    session_id: str | None = Field(None, max_length=36)
    code: str | None = Field(None, max_length=50_000)
    client_id: str | None = Field(None, max_length=64)


class ReviewCreate(BaseModel):
    code: str = Field(min_length=1, max_length=50_000)
    exercise_id: str | None = Field(None, max_length=36, description="Grade against this exercise's tests too.")
    lesson_id: str | None = Field(None, max_length=36)


class AssessCreate(BaseModel):
    lesson_id: str | None = Field(None, max_length=36)
    module_id: str | None = Field(None, max_length=36)
    track_id: str | None = Field(None, max_length=36)
    onboarding: JsonBool = Field(False, description="The adaptive onboarding skill check for `track_id`.")
    answers: dict[str, Answer] = Field(default_factory=dict, max_length=50,
                                       description="Every answer of this check so far, by item id.")
    attempt_id: str | None = Field(None, max_length=64, description="Identifies this check: answers count once "
                                   "towards skill estimates however often they are sent.")


class CitationPublic(BaseModel):
    lesson_id: str
    title: str
    url: str


class ReplyPublic(BaseModel):
    session_id: str
    message_id: str
    text: str = Field(description="Markdown.")
    agent: str
    mode: str
    llm: bool
    guarded: bool = Field(description="True when the leak guard replaced a model reply.")
    citations: list[CitationPublic]
    hint: dict[str, Any] | None = None
    item: dict[str, Any] | None = None


class FindingPublic(BaseModel):
    line: int | None
    category: str
    severity: str
    message: str
    question: str
    rule: str


class ReviewPublic(BaseModel):
    summary: str
    findings: list[FindingPublic]
    debugging_steps: list[str]
    passed: bool | None = Field(description="The verdict: null when the code was not graded, or when the visible "
                                "tests pass but the hidden ones did not run (`hidden_tests` is `not_run`).")
    results: list[dict[str, Any]] = Field(default_factory=list, description="Test results when graded.")
    hidden_tests: Literal["not_graded", "not_run", "from_submission"] = Field(
        "not_graded", description="Hidden tests never run in a review. `from_submission`: this code is your latest "
        "recorded submission, and its stored hidden-test results (feedback only) are included; `not_run`: only "
        "the visible tests ran; `not_graded`: no exercise was given.")


class AssessPublic(BaseModel):
    item: dict[str, Any] | None = Field(description="The next question (no answer), or null when done.")
    feedback: list[dict[str, Any]]
    estimates: dict[str, float]
    known_skills: list[str]
    done: bool


class SessionPublic(BaseModel):
    id: str
    lesson_id: str | None
    exercise_id: str | None
    title: str
    created_at: datetime
    updated_at: datetime


class MessagePublic(BaseModel):
    id: str
    role: str
    content: str
    agent: str | None
    mode: str | None
    citations: list[CitationPublic]
    hint: dict[str, Any] | None = None
    created_at: datetime


class SessionDetailPublic(SessionPublic):
    messages: list[MessagePublic]


class AiStatusPublic(BaseModel):
    mode: str = Field(description="`offline` (built-in teaching policy) or `llm`.")
    models: dict[str, str]
    fallbacks: list[str]
    requests_per_minute: int
