"""A learner's week sums the trend's figures (analytics_user_weeks: lessons completed, active seconds,
attempts, successes), so a team's or an organisation's 12-week trend reads one row per member and week
instead of every daily row; filled from analytics_daily for the weeks already folded

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 08:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

SUMS = ('lessons_completed', 'active_s', 'attempts', 'successes')


def upgrade() -> None:
    with op.batch_alter_table('analytics_user_weeks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lessons_completed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('active_s', sa.Float(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('successes', sa.Integer(), server_default='0', nullable=False))
    # The weeks folded so far: their daily rows summed by Monday (UTC), as the fold sums them from now on.
    if op.get_bind().dialect.name == 'sqlite':
        week = "date(day, 'weekday 0', '-6 days')"
    else:
        week = "CAST(date_trunc('week', day) AS date)"
    sums = ', '.join(f'sum({c}) AS {c}' for c in SUMS)
    assign = ', '.join(f'{c} = d.{c}' for c in SUMS)
    op.execute(f"UPDATE analytics_user_weeks SET {assign} FROM ("
               f"SELECT user_id, {week} AS week, {sums} FROM analytics_daily GROUP BY user_id, {week}) AS d "
               f"WHERE analytics_user_weeks.user_id = d.user_id AND analytics_user_weeks.week = d.week")


def downgrade() -> None:
    with op.batch_alter_table('analytics_user_weeks', schema=None) as batch_op:
        for column in reversed(SUMS):
            batch_op.drop_column(column)
