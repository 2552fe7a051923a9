"""Analytics: rollups for the dashboards (issue #17), and the tutor's model calls (latency, cost) they read

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base  # noqa: F401

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ai_model_calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agent', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_model_calls'))
    )
    op.create_index(op.f('ix_ai_model_calls_created_at'), 'ai_model_calls', ['created_at'], unique=False)
    op.create_table('analytics_platform_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('active_users', sa.Integer(), nullable=False),
    sa.Column('new_users', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('active_s', sa.Float(), nullable=False),
    sa.Column('lessons_completed', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('hints', sa.Integer(), nullable=False),
    sa.Column('hinted', sa.Integer(), nullable=False),
    sa.Column('hint_passes', sa.Integer(), nullable=False),
    sa.Column('tutor_turns', sa.Integer(), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('reviews_correct', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_analytics_platform_daily'))
    )
    op.create_table('analytics_watermarks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_analytics_watermarks'))
    )
    op.create_table('analytics_courses',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('lessons_completed', sa.Integer(), nullable=False),
    sa.Column('first_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_courses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_analytics_courses'))
    )
    op.create_index('ix_analytics_courses_course', 'analytics_courses', ['course_id'], unique=False)
    op.create_table('analytics_daily',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('active_s', sa.Float(), nullable=False),
    sa.Column('lessons_completed', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('hints', sa.Integer(), nullable=False),
    sa.Column('tutor_turns', sa.Integer(), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('reviews_correct', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_daily_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_analytics_daily'))
    )
    op.create_index('ix_analytics_daily_day', 'analytics_daily', ['day'], unique=False)
    op.create_table('analytics_skills',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('skill', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('hints', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('delayed_attempts', sa.Integer(), nullable=False),
    sa.Column('delayed_successes', sa.Integer(), nullable=False),
    sa.Column('first_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mastered_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts_to_mastery', sa.Integer(), nullable=True),
    sa.Column('stability', sa.Float(), nullable=True),
    sa.Column('difficulty', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_skills_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'skill', name=op.f('pk_analytics_skills'))
    )
    op.create_table('analytics_users',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('first_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('active_s', sa.Float(), nullable=False),
    sa.Column('lessons_completed', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('hints', sa.Integer(), nullable=False),
    sa.Column('hinted', sa.Integer(), nullable=False),
    sa.Column('hint_passes', sa.Integer(), nullable=False),
    sa.Column('tutor_turns', sa.Integer(), nullable=False),
    sa.Column('reviews', sa.Integer(), nullable=False),
    sa.Column('reviews_correct', sa.Integer(), nullable=False),
    sa.Column('pending_hints', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_users_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_analytics_users'))
    )


def downgrade() -> None:
    op.drop_table('analytics_users')
    op.drop_table('analytics_skills')
    op.drop_index('ix_analytics_daily_day', table_name='analytics_daily')
    op.drop_table('analytics_daily')
    op.drop_index('ix_analytics_courses_course', table_name='analytics_courses')
    op.drop_table('analytics_courses')
    op.drop_table('analytics_watermarks')
    op.drop_table('analytics_platform_daily')
    op.drop_index(op.f('ix_ai_model_calls_created_at'), table_name='ai_model_calls')
    op.drop_table('ai_model_calls')
