"""xAPI learning record: statements and the LRS forwarding queue (issue #17)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('xapi_lrs_outbox',
    sa.Column('statement_id', sa.String(length=36), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('statement_id', name=op.f('pk_xapi_lrs_outbox'))
    )
    with op.batch_alter_table('xapi_lrs_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_lrs_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('xapi_statements',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=True),
    sa.Column('verb', sa.String(length=24), nullable=False),
    sa.Column('object_type', sa.String(length=24), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('timestamp', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stored', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('statement', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_xapi_statements_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_xapi_statements')),
    sa.UniqueConstraint('id', name=op.f('uq_xapi_statements_id'))
    )
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.create_index('ix_xapi_statements_user_time', ['user_id', 'timestamp'], unique=False)
        batch_op.create_index('ix_xapi_statements_verb_time', ['verb', 'timestamp'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_xapi_statements_verb_time')
        batch_op.drop_index('ix_xapi_statements_user_time')

    op.drop_table('xapi_statements')
    with op.batch_alter_table('xapi_lrs_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_lrs_outbox_next_attempt_at'))

    op.drop_table('xapi_lrs_outbox')
