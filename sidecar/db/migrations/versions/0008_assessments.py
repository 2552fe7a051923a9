"""assessments: Silver attempts, their timed sections, drawn items and integrity signals (issue #14)

Section clocks are server state (`deadline`); items keep the bank item's id, never its answer.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 14:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('started_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('percent', sa.Float(), nullable=True),
    sa.Column('certificate_id', sa.String(length=36), nullable=True),
    sa.Column('consent_camera', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_assessment_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_attempts'))
    )
    with op.batch_alter_table('assessment_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_attempts_user_course', ['user_id', 'course_id'], unique=False)

    op.create_table('assessment_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('attempt_id', sa.String(length=36), nullable=False),
    sa.Column('section', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['assessment_attempts.id'],
                            name=op.f('fk_assessment_events_attempt_id_assessment_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_events'))
    )
    with op.batch_alter_table('assessment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_events_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('assessment_items',
    sa.Column('attempt_id', sa.String(length=36), nullable=False),
    sa.Column('section', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('served_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('saved_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('active_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['assessment_attempts.id'],
                            name=op.f('fk_assessment_items_attempt_id_assessment_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'section', 'position', name=op.f('pk_assessment_items'))
    )
    op.create_table('assessment_sections',
    sa.Column('attempt_id', sa.String(length=36), nullable=False),
    sa.Column('section', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('started_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('fraction_num', sa.Integer(), nullable=True),
    sa.Column('fraction_den', sa.Integer(), nullable=True),
    sa.Column('review', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['assessment_attempts.id'],
                            name=op.f('fk_assessment_sections_attempt_id_assessment_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'section', name=op.f('pk_assessment_sections'))
    )


def downgrade() -> None:
    op.drop_table('assessment_sections')
    op.drop_table('assessment_items')
    with op.batch_alter_table('assessment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_events_attempt_id'))

    op.drop_table('assessment_events')
    with op.batch_alter_table('assessment_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_attempts_user_course')

    op.drop_table('assessment_attempts')
