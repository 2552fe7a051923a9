"""The dashboards' one JSON shape, at every level (docs/analytics.md, "Dashboards")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["individual", "team", "organization", "platform"]
ChartKind = Literal["line", "bar", "hbar", "skillmap"]
Cell = str | int | float | bool | None


class Subject(BaseModel):
    id: str
    name: str


class MetricPublic(BaseModel):
    id: str = Field(description="learning_velocity, knowledge_retention, engagement_score, struggle_index, "
                                "predicted_completion or skill_decay_risk.")
    label: str
    value: float | None = Field(description="Null: nothing to measure yet, or suppressed.")
    unit: str
    help: str = Field(description="What it means and how it is computed, in a sentence.")
    interval: list[float] | None = Field(None, description="[low, high] where the metric has one (predicted "
                                                           "completion: an 80% interval, in days from now).")
    suppressed: bool = Field(False, description="True when the group is smaller than k (value null).")


class Column(BaseModel):
    key: str
    label: str


class ChartPublic(BaseModel):
    id: str
    title: str
    kind: ChartKind
    x: str = Field(description="The column key along the x axis (the category axis of a bar chart).")
    series: list[Column]
    columns: list[Column] = Field(description="The table view's columns, in order; the CSV's header.")
    rows: list[dict[str, Cell]]
    suppressed: bool = False
    note: str | None = None


class RecommendationPublic(BaseModel):
    kind: Literal["review", "next"]
    title: str
    url: str = Field(description="Relative to the site's root.")
    reason: str


class AlertPublic(BaseModel):
    user_id: str
    name: str
    kind: Literal["struggling", "wheel_spinning", "overdue"]
    detail: str


class DashboardPublic(BaseModel):
    level: Level
    subject: Subject
    generated_at: datetime
    k: int = Field(description="Aggregates over fewer than k people are suppressed.")
    metrics: list[MetricPublic]
    charts: list[ChartPublic]
    recommendations: list[RecommendationPublic] = []
    alerts: list[AlertPublic] = []


class TeamManagersPublic(BaseModel):
    team: str
    managers: list[str]  # display names; the signed-in learner left out


class VisibilityPublic(BaseModel):
    """Who may see the signed-in learner's analytics (the organisation's policy, shown on its page)."""

    organization: Subject | None
    k: int  # team and organisation aggregates hide groups smaller than this
    drill_down: list[TeamManagersPublic]  # the only people who may open this learner's own dashboard
