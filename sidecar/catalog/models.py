from __future__ import annotations

from pydantic import BaseModel, Field


class LessonPublic(BaseModel):
    id: str
    slug: str
    title: str
    type: str
    xp: int
    minutes: int
    url: str = Field(description="Path of the lesson page, relative to the site root.")
    exercise_ids: list[str]
    quiz_ids: list[str]


class ModulePublic(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    par_minutes: int
    url: str
    lessons: list[LessonPublic]


class CoursePublic(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    status: str = Field(description="`active`; `planned` for outline entries with no lessons yet; `draft` for a "
                                    "course only a preview build has (listed for content creators only).")
    level: str | None
    planned_modules: int | None = Field(description="A planned course: how many modules its outline lists.")
    url: str | None = Field(description="The course's page (a planned course's page shows its outline).")
    modules: list[ModulePublic]


class TrackPublic(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    domain: str
    status: str
    url: str
    courses: list[CoursePublic]


class DomainPublic(BaseModel):
    id: str
    slug: str
    title: str
    summary: str
    track_slugs: list[str]


class CatalogPublic(BaseModel):
    domains: list[DomainPublic]
    tracks: list[TrackPublic]
