"""Weekly summaries by week and status, for the reviews of a period

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:50:00.000000

Issue 20: the console's overview counts the weekly summaries of the period's weeks by where
their review stands (storage.summaries.review_counts); over a whole campaign that read every
summary's row (~25,000 at 500,000 visits) for its status and place. summaries (week_start,
status, township_id, village_id) answers it from the index alone, and replaces the index on
week_start, whose reads it serves as well.
"""
from alembic import op


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_summaries_week_start')
        batch_op.create_index('ix_summaries_week_status',
                              ['week_start', 'status', 'township_id', 'village_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_summaries_week_status')
        batch_op.create_index('ix_summaries_week_start', ['week_start'], unique=False)
