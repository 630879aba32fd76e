"""Follow-ups that reach someone: a problem's written feedback names its addressee

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:40:00.000000

Issue 18: problem_steps.addressee — to whom a feedback step's written feedback went (household,
village_committee, township, leading_group). Earlier steps have none. A person who blocked the
bot is marked in people.blocked_at, a column since 0001: nothing to add for it.
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('addressee', sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problem_steps', schema=None) as batch_op:
        batch_op.drop_column('addressee')
