"""drafts: learners' code stored on the server per exercise (issue #13)

`drafts` holds the current code per learner and exercise with a revision number (optimistic
concurrency); `draft_versions` keeps the other side of a conflicting edit, for the learner to restore.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("exercise_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("edited_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_drafts_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "exercise_id", name=op.f("pk_drafts")),
    )
    op.create_table(
        "draft_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("exercise_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("edited_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kept_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_draft_versions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_versions")),
    )
    with op.batch_alter_table("draft_versions", schema=None) as batch_op:
        batch_op.create_index("ix_draft_versions_user_exercise", ["user_id", "exercise_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("draft_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_draft_versions_user_exercise")
    op.drop_table("draft_versions")
    op.drop_table("drafts")
