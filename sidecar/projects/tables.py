"""A learner's Gold project, its submissions (with the uploaded project itself), and the audit trail.

One project per learner and course (`gold_projects`): a predefined option, or a custom proposal that
a reviewer approves or returns. Each submission keeps the project's files (a zip we wrote ourselves
from the safely extracted upload or clone, in `project_archives`, so listing queries never load it),
the Project Guide's advisory pre-review and the reviewer's decision. `project_audit` records every
action with its actor and its state change; it has no foreign keys, so the trail outlives what it
describes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class GoldProject(Base):
    __tablename__ = "gold_projects"
    __table_args__ = (UniqueConstraint("user_id", "course_id", name="uq_gold_projects_user_course"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))  # option | custom
    option_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)  # a custom proposal's description
    status: Mapped[str] = mapped_column(String(16))  # active | proposed | returned
    feedback: Mapped[str | None] = mapped_column(Text)  # why a proposal was returned (or a note on approval)
    decided_by: Mapped[str | None] = mapped_column(String(36))  # the reviewer who approved or returned it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectSubmission(Base):
    __tablename__ = "project_submissions"
    __table_args__ = (Index("ix_project_submissions_user_course", "user_id", "course_id"),
                      Index("ix_project_submissions_status", "status"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("gold_projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the learner's first submission of this project
    option_id: Mapped[str | None] = mapped_column(String(36))  # the project as it was when submitted
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending | returned | approved
    source: Mapped[str] = mapped_column(String(8))  # upload | git
    git_url: Mapped[str | None] = mapped_column(String(2048))
    demo_url: Mapped[str] = mapped_column(String(2048))
    notes: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{path, size, sha256}]
    archive_sha256: Mapped[str] = mapped_column(String(64))
    tests_sha256: Mapped[str] = mapped_column(String(64))  # of the option's tests as run at submission
    prereview: Mapped[dict[str, Any]] = mapped_column(JSON)  # the Project Guide's advisory pre-review
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {scores, comments, feedback}
    percent: Mapped[float | None] = mapped_column(Float)  # the review's overall percent
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectArchive(Base):
    """The submitted files as a zip written by us (regular files, normalised paths only)."""

    __tablename__ = "project_archives"

    submission_id: Mapped[str] = mapped_column(ForeignKey("project_submissions.id", ondelete="CASCADE"),
                                               primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProjectAudit(Base):
    """One action on a project or a submission: who (NULL: the Project Guide), what, when, from → to."""

    __tablename__ = "project_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(36), index=True)
    submission_id: Mapped[str | None] = mapped_column(String(36))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
