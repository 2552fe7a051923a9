from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class AchievementPublic(BaseModel):
    id: str
    slug: str
    title: str
    category: str
    description: str
    earned_at: datetime | None
    coming: bool = Field(default=False, description="Not earnable yet: the content or feature it needs is coming.")
    coming_reason: str | None = Field(default=None, description="Why it is coming, in the learner's words.")


class StreakPublic(BaseModel):
    current: int
    longest: int
    freezes: int = Field(description="Streak freezes held (earned by practice; at most 2).")
    today: date = Field(description="Today in the learner's time zone.")
    calendar: dict[str, str] = Field(description="Last 90 days: ISO date → active | frozen.")


class XpEventPublic(BaseModel):
    source_key: str
    activity: str
    amount: int
    base: int
    bonuses: list[tuple[str, int]]
    created_at: datetime


class GamificationProfilePublic(BaseModel):
    enabled: bool
    mode: str = Field(description="full, moderate, minimal or off.")
    xp: int
    level: int
    level_title: str
    level_floor_xp: int
    next_level_xp: int
    level_progress: float
    streak: StreakPublic
    achievements: list[AchievementPublic] = Field(description="Every achievement; earned_at is null while locked.")
    history: list[XpEventPublic] = Field(description="The latest XP ledger entries, newest first.")


class LeaderboardEntry(BaseModel):
    rank: int
    display_name: str
    xp: int
    level: int
    is_you: bool


class LeaderboardPublic(BaseModel):
    scope: str
    period: str
    view: str
    entries: list[LeaderboardEntry]
    total: int
    your_rank: int | None
    opted_in: bool
