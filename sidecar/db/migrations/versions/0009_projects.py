"""projects: Gold projects, submissions, their archives and the audit trail (issue #14)

A learner's project per course (an option or a custom proposal), each submission with its
pre-review and review, the submitted files (a zip written by the server) and an audit trail
without foreign keys, so that it outlives what it records.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sidecar.db.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('submission_id', sa.String(length=36), nullable=True),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_audit'))
    )
    with op.batch_alter_table('project_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_audit_project_id'), ['project_id'], unique=False)

    op.create_table('gold_projects',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('option_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_gold_projects_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gold_projects')),
    sa.UniqueConstraint('user_id', 'course_id', name='uq_gold_projects_user_course')
    )
    op.create_table('project_submissions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('option_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('git_url', sa.String(length=2048), nullable=True),
    sa.Column('demo_url', sa.String(length=2048), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('archive_sha256', sa.String(length=64), nullable=False),
    sa.Column('tests_sha256', sa.String(length=64), nullable=False),
    sa.Column('prereview', sa.JSON(), nullable=False),
    sa.Column('review', sa.JSON(), nullable=True),
    sa.Column('percent', sa.Float(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=36), nullable=True),
    sa.Column('reviewed_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('certificate_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sidecar.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['gold_projects.id'],
                            name=op.f('fk_project_submissions_project_id_gold_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_submissions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_submissions'))
    )
    with op.batch_alter_table('project_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_project_submissions_status', ['status'], unique=False)
        batch_op.create_index('ix_project_submissions_user_course', ['user_id', 'course_id'], unique=False)

    op.create_table('project_archives',
    sa.Column('submission_id', sa.String(length=36), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['project_submissions.id'],
                            name=op.f('fk_project_archives_submission_id_project_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('submission_id', name=op.f('pk_project_archives'))
    )


def downgrade() -> None:
    op.drop_table('project_archives')
    with op.batch_alter_table('project_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_project_submissions_user_course')
        batch_op.drop_index('ix_project_submissions_status')

    op.drop_table('project_submissions')
    op.drop_table('gold_projects')
    with op.batch_alter_table('project_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_audit_project_id'))

    op.drop_table('project_audit')
