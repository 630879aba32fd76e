"""Session absences: who of a village team missed a mobilisation meeting

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 18:50:00.000000

Issue 19 (every task of the notice in every village): after recording a mobilisation meeting,
the team leader marks which of the team's cadres were absent; /laggards names them. The
village systems (eight kinds now, for every village) keep using rectify_actions: no change.
"""
import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'session_absences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('publicity_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('marked_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['marked_by'], ['people.id'],
                                name=op.f('fk_session_absences_marked_by_people')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_session_absences_person_id_people')),
        sa.ForeignKeyConstraint(['publicity_id'], ['publicity.id'],
                                name=op.f('fk_session_absences_publicity_id_publicity')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_absences')),
        sa.UniqueConstraint('publicity_id', 'person_id',
                            name=op.f('uq_session_absences_publicity_id')),
    )
    with op.batch_alter_table('session_absences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_absences_person_id'), ['person_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('session_absences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_absences_person_id'))
    op.drop_table('session_absences')
