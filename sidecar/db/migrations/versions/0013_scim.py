"""SCIM 2.0 provisioning: tokens, external ids of users and groups (issue #16)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scim_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_scim_tokens_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scim_tokens_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_tokens_token_hash'))
    )
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_tokens_organization_id'), ['organization_id'], unique=False)

    op.create_table('scim_users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('user_name', sa.String(length=320), nullable=False),
    sa.Column('user_name_key', sa.String(length=320), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('name', sa.JSON(), nullable=True),
    sa.Column('emails', sa.JSON(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scim_users_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scim_users_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_users')),
    sa.UniqueConstraint('organization_id', 'user_id', name=op.f('uq_scim_users_organization_id_user_id')),
    sa.UniqueConstraint('organization_id', 'user_name_key', name=op.f('uq_scim_users_organization_id_user_name_key'))
    )
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_users_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_users_user_id'), ['user_id'], unique=False)

    op.create_table('scim_groups',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scim_groups_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_scim_groups_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_scim_groups'))
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_groups_organization_id'), ['organization_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_groups_organization_id'))
    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_users_user_id'))
        batch_op.drop_index(batch_op.f('ix_scim_users_organization_id'))
    op.drop_table('scim_users')
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_tokens_organization_id'))
    op.drop_table('scim_tokens')
