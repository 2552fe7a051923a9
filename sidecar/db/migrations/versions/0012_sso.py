"""single sign-on per organisation (OpenID Connect), verified domains (issue #16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 18:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sso_configs',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('default_role', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('provider_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_configs_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_sso_configs'))
    )
    op.create_table('sso_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_states_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_sso_states'))
    )
    with op.batch_alter_table('sso_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_states_organization_id'), ['organization_id'], unique=False)

    op.create_table('sso_domains',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('txt_value', sa.String(length=100), nullable=False),
    sa.Column('verified_domain', sa.String(length=253), nullable=True),
    sa.Column('verified_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_domains_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verified_by'], ['users.id'], name=op.f('fk_sso_domains_verified_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_domains')),
    sa.UniqueConstraint('organization_id', 'domain', name='uq_sso_domains_org_domain'),
    sa.UniqueConstraint('verified_domain', name=op.f('uq_sso_domains_verified_domain'))
    )
    with op.batch_alter_table('sso_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_domains_organization_id'), ['organization_id'], unique=False)

    op.create_table('sso_links',
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sso_links_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sso_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'issuer', 'subject', name=op.f('pk_sso_links'))
    )
    with op.batch_alter_table('sso_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_links_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sso_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_links_user_id'))

    op.drop_table('sso_links')
    with op.batch_alter_table('sso_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_domains_organization_id'))

    op.drop_table('sso_domains')
    with op.batch_alter_table('sso_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_states_organization_id'))

    op.drop_table('sso_states')
    op.drop_table('sso_configs')
