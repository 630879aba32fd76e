"""A lease on the sending budget for a process that sends alone

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 23:45:00.000000

Issue 21 (the durable turn, fast where it counts): a process sending alone asked the database
before every send or two, a locked row and a function call each (in the deadline spike at
2,000 summaries a minute, 12 of PostgreSQL's 21 CPU-seconds and a third of the bot's CPU for
each update). A process that sends alone and busily now gets a lease: for a moment it sends on
its own limiter, which keeps the exact rates alone; send_budget keeps who holds it and until
when, so that another process waits until its sends are forgotten (storage.sendbudget).
"""
import sqlalchemy as sa
from alembic import op


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_holder', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.Float(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_holder')
