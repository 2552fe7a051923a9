"""auth hardening (security review, issue #10 part 5)

Organisation invitations, emailed one-time sign-in links, verified email addresses, per-account
back-off with trusted devices (login_attempts.kind and .device), and no blank display names.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_signin_links_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_signin_links")),
    )
    with op.batch_alter_table("signin_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_links_user_id"), ["user_id"], unique=False)

    op.create_table(
        "org_invitations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=36), nullable=True),
        sa.Column("declined_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_org_invitations_organization_id_organizations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], name=op.f("fk_org_invitations_invited_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name=op.f("fk_org_invitations_accepted_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_org_invitations_token_hash")),
    )
    with op.batch_alter_table("org_invitations", schema=None) as batch_op:
        batch_op.create_index("ix_org_invitations_email_org", ["email", "organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_org_invitations_organization_id"), ["organization_id"], unique=False)

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="password", nullable=False))
        batch_op.add_column(sa.Column("device", sa.String(length=64), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sidecar.db.base.UTCDateTime(timezone=True), nullable=True))

    # Display names of only spaces were stored empty before sign-up refused them; give those a name
    # the new rule accepts, so every stored account reads back as valid.
    op.execute("UPDATE users SET display_name = 'Learner' WHERE TRIM(display_name) = ''")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: on SQLite a batch would copy
    # and drop `users`, and with foreign keys on, dropping it deletes every row that cascades from it.
    op.drop_column("users", "email_verified_at")
    op.drop_column("login_attempts", "device")
    op.drop_column("login_attempts", "kind")

    with op.batch_alter_table("org_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_invitations_organization_id"))
        batch_op.drop_index("ix_org_invitations_email_org")
    op.drop_table("org_invitations")

    with op.batch_alter_table("signin_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_links_user_id"))
    op.drop_table("signin_links")
