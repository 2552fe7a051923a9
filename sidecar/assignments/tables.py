from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class Assignment(Base):
    """A required course for a team or for one member, due by a date (§4: enterprise and classroom training).

    Exactly one of team_id and user_id is set. The course is a catalog id (git owns content), so an
    assignment survives renames; the learner's progress on it is read from progress, never copied here."""

    __tablename__ = "assignments"
    __table_args__ = (CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="one_assignee"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[str] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentNotice(Base):
    """An email sent about an assignment to one learner: a reminder before the due date, a notice once
    overdue, or a manager's nudge. The key makes each automatic notice at most once, whichever
    process sends it; nudges carry their day, so a manager nudges a person at most once a day."""

    __tablename__ = "assignment_notices"

    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)  # due_soon | overdue | nudge:YYYY-MM-DD
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
