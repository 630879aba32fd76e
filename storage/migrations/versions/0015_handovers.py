"""Hand-overs that reach the person who must act: an escalated (or urgent) dispute waits for the
township leader or the office to take it (受理) or send it back (退回)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 02:40:00.000000

Issue 18: disputes.handover_level ('township' or 'county' while a hand-over waits, NULL
otherwise), handed_at (when it reached that level: the climb's clock), taken_by and taken_at.
Existing escalated disputes are left as they were: nobody was told of them, and their overdue
reminders still climb.
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handover_level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('handed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('taken_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_disputes_taken_by_people', 'people', ['taken_by'], ['id'])
        batch_op.create_index('ix_disputes_handover_level_handed_at',
                              ['handover_level', 'handed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_disputes_handover_level_handed_at')
        batch_op.drop_constraint('fk_disputes_taken_by_people', type_='foreignkey')
        for column in ('taken_at', 'taken_by', 'handed_at', 'handover_level'):
            batch_op.drop_column(column)
