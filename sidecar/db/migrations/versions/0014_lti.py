"""LTI 1.3: platform registrations, launches, line items and grade passback (issue #16)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lti_state',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_lti_state'))
    )
    op.create_index(op.f('ix_lti_state_expires_at'), 'lti_state', ['expires_at'], unique=False)
    op.create_table('lti_tool_keys',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('public_pem', sa.Text(), nullable=False),
    sa.Column('private_pem', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_tool_keys'))
    )
    op.create_table('lti_platforms',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('deployment_ids', sa.JSON(), nullable=False),
    sa.Column('auth_login_url', sa.String(length=2000), nullable=False),
    sa.Column('auth_token_url', sa.String(length=2000), nullable=False),
    sa.Column('key_set_url', sa.String(length=2000), nullable=False),
    sa.Column('auth_audience', sa.String(length=2000), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_lti_platforms_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_lti_platforms_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id'))
    )
    op.create_index(op.f('ix_lti_platforms_organization_id'), 'lti_platforms', ['organization_id'], unique=False)
    op.create_table('lti_accounts',
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_accounts_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform_id', 'sub', name=op.f('pk_lti_accounts'))
    )
    op.create_index(op.f('ix_lti_accounts_user_id'), 'lti_accounts', ['user_id'], unique=False)
    op.create_table('lti_grants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('lesson_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=36), nullable=False),
    sa.Column('lineitem_url', sa.String(length=2000), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_grants_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grants')),
    sa.UniqueConstraint('platform_id', 'user_id', 'resource_link_id', name=op.f('uq_lti_grants_platform_id_user_id_resource_link_id'))
    )
    op.create_index(op.f('ix_lti_grants_platform_id'), 'lti_grants', ['platform_id'], unique=False)
    op.create_index('ix_lti_grants_user_id_course_id', 'lti_grants', ['user_id', 'course_id'], unique=False)
    op.create_table('lti_score_outbox',
    sa.Column('grant_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('score', sa.JSON(), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['lti_grants.id'], name=op.f('fk_lti_score_outbox_grant_id_lti_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_score_outbox_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', name=op.f('pk_lti_score_outbox'))
    )
    op.create_index(op.f('ix_lti_score_outbox_next_attempt_at'), 'lti_score_outbox', ['next_attempt_at'], unique=False)
    op.create_index(op.f('ix_lti_score_outbox_user_id'), 'lti_score_outbox', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_lti_score_outbox_user_id'), table_name='lti_score_outbox')
    op.drop_index(op.f('ix_lti_score_outbox_next_attempt_at'), table_name='lti_score_outbox')
    op.drop_table('lti_score_outbox')
    op.drop_index('ix_lti_grants_user_id_course_id', table_name='lti_grants')
    op.drop_index(op.f('ix_lti_grants_platform_id'), table_name='lti_grants')
    op.drop_table('lti_grants')
    op.drop_index(op.f('ix_lti_accounts_user_id'), table_name='lti_accounts')
    op.drop_table('lti_accounts')
    op.drop_index(op.f('ix_lti_platforms_organization_id'), table_name='lti_platforms')
    op.drop_table('lti_platforms')
    op.drop_table('lti_tool_keys')
    op.drop_index(op.f('ix_lti_state_expires_at'), table_name='lti_state')
    op.drop_table('lti_state')
