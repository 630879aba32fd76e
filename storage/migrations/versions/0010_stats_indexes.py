"""/stats indexes: problems by status, disputes by opening day, help by day

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:00:00.000000

A county's week of /stats at 500,000 visits still read whole tables (issue 6):

- problems (status, next_due_on): the ledger's problems by status and how many are overdue
  (every problem, whatever the period) are counted from this covering index, not the table;
- disputes (opened_on, category, status): the disputes opened in the period, by category and
  status, from the index alone (/stats now asks for them apart from the open ones, which the
  (status, last_step_at) index serves: in one query with an OR, SQLite scanned the table);
- aid (day): the county's help in a period (the (village_id, day) index serves a village).
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index('ix_problems_status_next_due_on', ['status', 'next_due_on'], unique=False)

    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index('ix_disputes_opened_on', ['opened_on', 'category', 'status'], unique=False)

    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.create_index('ix_aid_day', ['day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.drop_index('ix_aid_day')

    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_disputes_opened_on')

    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index('ix_problems_status_next_due_on')
