"""Scheduled jobs: one run per job and period (issue #17)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=False),
    sa.Column('started_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'period', name=op.f('uq_job_runs_job_period'))
    )
    op.create_table('job_deliveries',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('sent_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', 'period', 'target', name=op.f('pk_job_deliveries'))
    )


def downgrade() -> None:
    op.drop_table('job_deliveries')
    op.drop_table('job_runs')
