"""The grader fleet's jobs: a submission written before its queue message, keyed by the learner's
submission id (issue #18)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 07:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grading_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('exercise_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('challenge_mode', sa.String(length=16), nullable=True),
    sa.Column('practice_xp', sa.Boolean(), nullable=False),
    sa.Column('gamification', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grading_jobs_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grading_jobs')),
    sa.UniqueConstraint('user_id', 'client_id', name=op.f('uq_grading_jobs_user_id_client_id'))
    )
    op.create_index('ix_grading_jobs_state', 'grading_jobs', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_grading_jobs_state', table_name='grading_jobs')
    op.drop_table('grading_jobs')
