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


class RewardStreakPublic(BaseModel):
    current: int = Field(description="The streak shown today, in days (as in the gamification profile).")
    longest: int
    today_counted: bool = Field(description="Today, in the learner's time zone, already counts for the streak.")


class NewCertificatePublic(BaseModel):
    """A certificate just issued: enough for a toast and a link to its verification page."""

    credential_id: str
    tier: str
    tier_title: str
    course_id: str
    course_title: str
    verify_url: str


class RewardPublic(BaseModel):
    """What one piece of work earned, and where the learner stands right after it.

    The same object answers a progress event, an exercise submission and a quiz attempt: the
    browser applies it in one place (header XP, level and streak, achievement toasts, the
    lesson's state) without asking the server again. Totals are read in the transaction that
    recorded the work. With gamification off on the server, `enabled` is false and the game
    fields are 0, null or empty.
    """

    enabled: bool = Field(description="False when gamification is off on this server.")
    lesson_id: str | None
    lesson_state: str = Field(description="not_started, started or completed.")
    xp_awarded: int = Field(description="XP this request earned (0 for a replay); achievement XP is "
                            "counted in total_xp only.")
    total_xp: int | None
    level: int | None
    level_title: str | None
    level_floor_xp: int | None
    next_level_xp: int | None
    level_progress: float | None
    streak: RewardStreakPublic | None
    new_achievements: list[AchievementPublic] = Field(description="Earned by this request (none for a replay).")
    new_certificates: list[NewCertificatePublic] = Field(
        default_factory=list, description="Certificates issued by this request (Bronze is issued the moment a "
        "course's last requirement is met).")


class EventResultPublic(BaseModel):
    event_id: str
    duplicate: bool = Field(description="True when this event id was already recorded: nothing changed.")
    lesson_id: str
    state: str
    xp_awarded: int
    total_xp: int
    new_achievements: list[AchievementPublic]
    reward: RewardPublic


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
    xp_earned: int = Field(description="XP the learner's ledger holds for this course: its lessons, quizzes and "
                           "modules (0 with gamification off).")
    quizzes_passed: int = Field(description="Quizzes of the course in lessons the learner has completed (a lesson "
                                "that places a quiz completes only by passing it).")
    quizzes_total: int
    modules: list[ModuleProgressPublic]


class ProgressPublic(BaseModel):
    lessons: list[LessonStatePublic]
    courses: list[CourseProgressPublic]
    continue_lesson: LessonStatePublic | None = Field(description="Where to continue: the latest unfinished "
                                                      "lesson, else the next one.")
