"""review: spaced review cards, logs, days (issue #15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:56:55.398663
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_cards',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('item_key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('fsrs', sa.JSON(), nullable=False),
    sa.Column('due', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reps', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_cards_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'item_key', name=op.f('pk_review_cards'))
    )
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.create_index('ix_review_cards_user_due', ['user_id', 'due'], unique=False)

    op.create_table('review_days',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('completed_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('xp_awarded', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_days_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_review_days'))
    )
    op.create_table('review_logs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('item_key', sa.String(length=80), nullable=False),
    sa.Column('client_id', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('retrievability', sa.Float(), nullable=True),
    sa.Column('elapsed_days', sa.Float(), nullable=True),
    sa.Column('stability', sa.Float(), nullable=False),
    sa.Column('difficulty', sa.Float(), nullable=False),
    sa.Column('scheduled_days', sa.Float(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('reviewed_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_logs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_logs')),
    sa.UniqueConstraint('user_id', 'client_id', name=op.f('uq_review_logs_user_id_client_id'))
    )
    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.create_index('ix_review_logs_user_time', ['user_id', 'reviewed_at'], unique=False)

    op.create_table('review_sync',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('synced_until', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_sync_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_review_sync'))
    )


def downgrade() -> None:
    op.drop_table('review_sync')
    with op.batch_alter_table('review_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_review_logs_user_time')

    op.drop_table('review_logs')
    op.drop_table('review_days')
    with op.batch_alter_table('review_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_review_cards_user_due')

    op.drop_table('review_cards')
