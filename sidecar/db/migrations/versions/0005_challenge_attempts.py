"""challenge attempts (issue #13): a timed challenge starts when the learner presses Start, and may be retaken

challenge_starts (one clock per learner and lesson, set when the page opened) becomes
challenge_attempts (one row per attempt: started_at and deadline); each existing clock becomes
attempt 1. Downgrading keeps each learner's latest attempt as their one clock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "challenge_attempts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("lesson_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_challenge_attempts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "lesson_id", "attempt", name=op.f("pk_challenge_attempts")),
    )
    op.execute("INSERT INTO challenge_attempts (user_id, lesson_id, attempt, started_at, deadline) "
               "SELECT user_id, lesson_id, 1, started_at, deadline FROM challenge_starts")
    op.drop_table("challenge_starts")


def downgrade() -> None:
    op.create_table(
        "challenge_starts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("lesson_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_challenge_starts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "lesson_id", name=op.f("pk_challenge_starts")),
    )
    # The latest attempt is the one whose deadline the old code should enforce.
    op.execute("INSERT INTO challenge_starts (user_id, lesson_id, started_at, deadline) "
               "SELECT a.user_id, a.lesson_id, a.started_at, a.deadline FROM challenge_attempts a "
               "WHERE a.attempt = (SELECT MAX(b.attempt) FROM challenge_attempts b "
               "WHERE b.user_id = a.user_id AND b.lesson_id = a.lesson_id)")
    op.drop_table("challenge_attempts")
