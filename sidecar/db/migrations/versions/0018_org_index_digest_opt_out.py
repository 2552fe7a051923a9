"""users.organization_id indexed (an organisation's members are selected by it: dashboards, reports); the
weekly digest can be turned off (user_profiles.weekly_digest, on by default); learners active per week
(analytics_user_weeks, analytics_platform_weekly), so the platform trend never counts distinct learners

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_user_weeks',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_user_weeks_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'week', name=op.f('pk_analytics_user_weeks'))
    )
    op.create_table('analytics_platform_weekly',
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('active_users', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week', name=op.f('pk_analytics_platform_weekly'))
    )
    op.create_index('ix_users_organization_id', 'users', ['organization_id'], unique=False)
    op.add_column('user_profiles', sa.Column('weekly_digest', sa.Boolean(), server_default=sa.true(),
                                             nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user_profiles', schema=None) as batch_op:
        batch_op.drop_column('weekly_digest')
    op.drop_index('ix_users_organization_id', table_name='users')
    op.drop_table('analytics_platform_weekly')
    op.drop_table('analytics_user_weeks')
