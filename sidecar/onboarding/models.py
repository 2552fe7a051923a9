from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sidecar.auth.roles import LearnerKind
from sidecar.text import JsonInt

LearningStyle = Literal["hands-on", "step-by-step", "explore", "mixed"]


class RoleSelect(BaseModel):
    learner_kind: LearnerKind


class SkillCheckItemPublic(BaseModel):
    id: str
    kind: str
    prompt: str
    code: str | None
    choices: list[str] | None
    skills: list[str]


class SkillCheckPublic(BaseModel):
    track_id: str
    items: list[SkillCheckItemPublic]


class SkillCheckAnswers(BaseModel):
    track_id: str
    answers: dict[str, JsonInt | str | None] = Field(max_length=50)


class SkillCheckResultPublic(BaseModel):
    known_skills: list[str]
    correct: int
    total: int


class GoalsIn(BaseModel):
    goals: list[str] = Field(min_length=1, max_length=5, description="What the learner wants, in their words.")
    minutes_per_week: JsonInt = Field(ge=15, le=3000)


class StyleIn(BaseModel):
    learning_style: LearningStyle


class CompleteIn(BaseModel):
    track_id: str
    timezone: str | None = Field(None, max_length=64, description="The browser's IANA time zone.")


class PathModulePublic(BaseModel):
    module_id: str
    course_id: str
    title: str
    url: str
    optional: bool = Field(description="True when the skill check showed the learner knows its skills.")


class PathPublic(BaseModel):
    track_id: str
    modules: list[PathModulePublic]
    start_url: str | None = Field(description="The first lesson of the first module that is not optional.")


class OnboardingPublic(BaseModel):
    step: Literal["role", "skill-check", "goals", "learning-style", "path", "done"]
    learner_kind: LearnerKind | None
    state: dict[str, Any]
