"""Training sessions and who missed them

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 20:10:00.000000

Issue 19 (every task of the notice in every village): training_sessions — a training of the
cadres held by the county (township_id null) or a township, on a day, on a topic, with who
recorded it; training_absences — each cadre or team leader recorded absent from it (counted in
/laggards and the export's 培训 sheet). It follows 0020 (inspections).
"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'training_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('township_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('topic', sa.Text(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name='fk_training_sessions_township_id_townships'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_training_sessions_person_id_people'),
        sa.PrimaryKeyConstraint('id', name='pk_training_sessions'),
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_training_sessions_day', ['day'])
    op.create_table(
        'training_absences',
        sa.Column('training_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['training_id'], ['training_sessions.id'], name='fk_training_absences_training_id_training_sessions'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_training_absences_person_id_people'),
        sa.PrimaryKeyConstraint('training_id', 'person_id', name='pk_training_absences'),
    )
    with op.batch_alter_table('training_absences', schema=None) as batch_op:
        batch_op.create_index('ix_training_absences_person_id', ['person_id'])


def downgrade() -> None:
    with op.batch_alter_table('training_absences', schema=None) as batch_op:
        batch_op.drop_index('ix_training_absences_person_id')
    op.drop_table('training_absences')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_training_sessions_day')
    op.drop_table('training_sessions')
