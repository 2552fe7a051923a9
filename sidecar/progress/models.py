from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sidecar.gamification.models import AchievementPublic


class ProgressEventCreate(BaseModel):
    event_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                          description="Client-generated unique id (e.g. a UUID): replays are ignored.")
    lesson_id: str = Field(max_length=36)
    kind: Literal["started", "completed"]
    occurred_at: datetime | None = Field(None, description="When it happened on the client (queued events).")


class EventResultPublic(BaseModel):
    event_id: str
    duplicate: bool = Field(description="True when this event id was already recorded: nothing changed.")
    lesson_id: str
    state: str
    xp_awarded: int
    total_xp: int
    new_achievements: list[AchievementPublic]


class LessonStatePublic(BaseModel):
    lesson_id: str
    state: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    url: str | None = None
    title: str | None = None


class ModuleProgressPublic(BaseModel):
    module_id: str
    title: str
    completed_lessons: int
    total_lessons: int
    completed: bool


class CourseProgressPublic(BaseModel):
    course_id: str
    title: str
    track_id: str
    completed_lessons: int
    total_lessons: int
    percent: float
    completed: bool
    modules: list[ModuleProgressPublic]


class ProgressPublic(BaseModel):
    lessons: list[LessonStatePublic]
    courses: list[CourseProgressPublic]
    continue_lesson: LessonStatePublic | None = Field(description="Where to continue: the latest unfinished "
                                                      "lesson, else the next one.")
