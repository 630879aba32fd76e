"""Attendance the office can trust: a summary's figures come from the records with the cadre's
explanation beside them, and leave is a request the one above approves or declines

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 03:30:00.000000

Issue 19: summaries.figures_note — the cadre's explanation of the computed figures (earlier
summaries have none; their figures stay as they were saved). leave_requests — a person's leave
from first_day to last_day with a reason, pending → approved | declined by the one above, with
who decided and when. Only approved leave excuses days.
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('figures_note', sa.Text(), nullable=True))
    op.create_table(
        'leave_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=True),
        sa.Column('township_id', sa.Integer(), nullable=True),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_leave_requests_person_id_people'),
        sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name='fk_leave_requests_village_id_villages'),
        sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name='fk_leave_requests_township_id_townships'),
        sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name='fk_leave_requests_decided_by_people'),
        sa.PrimaryKeyConstraint('id', name='pk_leave_requests'),
    )
    with op.batch_alter_table('leave_requests', schema=None) as batch_op:
        batch_op.create_index('ix_leave_requests_person_id_first_day', ['person_id', 'first_day'])
        batch_op.create_index('ix_leave_requests_status', ['status'])


def downgrade() -> None:
    with op.batch_alter_table('leave_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_leave_requests_status')
        batch_op.drop_index('ix_leave_requests_person_id_first_day')
    op.drop_table('leave_requests')
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.drop_column('figures_note')
