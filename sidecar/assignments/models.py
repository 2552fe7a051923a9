from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, model_validator

AssignmentState = Literal["done", "overdue", "due_soon", "open"]


class AssignmentCreate(BaseModel):
    """Assign a course to a team (team_id) or to one member (email), due by `due_at`."""

    course_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(None, max_length=64)
    email: EmailStr | None = None
    due_at: AwareDatetime = Field(description="With its offset, e.g. 2027-01-31T17:00:00+01:00.")

    @model_validator(mode="after")
    def one_assignee(self) -> AssignmentCreate:
        if (self.team_id is None) == (self.email is None):
            raise ValueError("give either team_id (a team) or email (one member), not both")
        return self


class AssignmentPublic(BaseModel):
    id: str
    organization_id: str
    course_id: str
    course_title: str
    team_id: str | None
    team_name: str | None
    user_id: str | None
    email: str | None
    due_at: datetime
    created_at: datetime


class MyAssignmentPublic(BaseModel):
    id: str
    course_id: str
    course_title: str
    course_url: str
    due_at: datetime
    percent: float = Field(description="Share of the course's lessons completed.")
    state: AssignmentState = Field(description="done; overdue (past due, not done); due_soon (within "
                                   "the reminder window); open.")
    team_name: str | None = Field(description="The team it was assigned through; null: assigned to you.")


class MemberCourseProgress(BaseModel):
    course_id: str
    course_title: str
    percent: float
    completed_lessons: int
    total_lessons: int
    assignment_id: str | None = Field(description="The assignment that requires it (earliest due), if any.")
    due_at: datetime | None
    state: AssignmentState | None = Field(description="null for a course started but not assigned.")


class TeamMemberProgress(BaseModel):
    user_id: str
    email: str
    display_name: str
    team_role: Literal["member", "manager"]
    overdue: int = Field(description="Assigned courses past due and not done.")
    courses: list[MemberCourseProgress] = Field(description="Assigned courses first (earliest due), then the "
                                                "others the member started.")


class TeamProgressPublic(BaseModel):
    team_id: str
    team_name: str
    members: list[TeamMemberProgress]


class NudgeCreate(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    assignment_id: str = Field(min_length=1, max_length=64)
    message: str | None = Field(None, max_length=1000, description="A line from you, added to the email.")


class RemindersSent(BaseModel):
    due_soon: int
    overdue: int


class CourseTallyPublic(BaseModel):
    """One course across the organisation's members: counts only, no person named."""

    course_id: str
    course_title: str
    learners: int = Field(description="Members with the course assigned or started.")
    assigned: int = Field(description="Members the course is assigned to.")
    done: int = Field(description="Assigned and completed.")
    overdue: int
    due_soon: int
    open: int = Field(description="Assigned, not done, neither overdue nor due soon.")
    started_unassigned: int = Field(description="Members who started it without an assignment.")
    average_percent: float = Field(description="The learners' mean progress through the course.")


class OrgDashboardPublic(BaseModel):
    """The organisation at a glance, read-only: for its analytics viewers and admins."""

    organization_id: str
    name: str
    members: int
    seat_limit: int | None
    teams: int
    courses: list[CourseTallyPublic] = Field(description="Assigned courses first (most overdue first), then those "
                                             "only started.")
