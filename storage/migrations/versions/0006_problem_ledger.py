"""problem ledger: steps in hand, solved, feedback and looking back

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('problem_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('measures', sa.Text(), nullable=True),
    sa.Column('responsible', sa.String(length=200), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('held', sa.Boolean(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_person_id'], ['people.id'], name=op.f('fk_problem_steps_by_person_id_people')),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_problem_steps_problem_id_problems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_steps'))
    )
    with op.batch_alter_table('problem_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_steps_problem_id'), ['problem_id'], unique=False)

    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('measures', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('responsible', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('feedback_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('escalated_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_problems_next_due_on', ['next_due_on'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_problems_household_id_households'), 'households', ['household_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_problems_household_id_households'), type_='foreignkey')
        batch_op.drop_index('ix_problems_next_due_on')
        batch_op.drop_column('escalated_on')
        batch_op.drop_column('next_due_on')
        batch_op.drop_column('feedback_on')
        batch_op.drop_column('due_on')
        batch_op.drop_column('responsible')
        batch_op.drop_column('measures')
        batch_op.drop_column('household_id')

    with op.batch_alter_table('problem_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_steps_problem_id'))

    op.drop_table('problem_steps')
