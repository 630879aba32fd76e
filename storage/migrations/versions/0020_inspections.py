"""Supervision: inspections and unannounced visits of a village by the supervision groups

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 19:00:00.000000

Issue 19 (supervision): inspections — a supervisor's inspection or unannounced visit of a
village on a day, with the findings; inspection_cadres — every member of the village team at
that moment, found present or not (an absence counts in /team and /laggards). The `supervisor`
role itself is a value of people.role and needs no schema change. It follows 0019 (session
absences).
"""
import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inspections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('township_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_inspections_person_id_people'),
        sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name='fk_inspections_village_id_villages'),
        sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name='fk_inspections_township_id_townships'),
        sa.PrimaryKeyConstraint('id', name='pk_inspections'),
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index('ix_inspections_village_id_day', ['village_id', 'day'])
        batch_op.create_index('ix_inspections_day', ['day'])
    op.create_table(
        'inspection_cadres',
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('present', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name='fk_inspection_cadres_inspection_id_inspections'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_inspection_cadres_person_id_people'),
        sa.PrimaryKeyConstraint('inspection_id', 'person_id', name='pk_inspection_cadres'),
    )
    with op.batch_alter_table('inspection_cadres', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_cadres_person_id', ['person_id'])


def downgrade() -> None:
    with op.batch_alter_table('inspection_cadres', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_cadres_person_id')
    op.drop_table('inspection_cadres')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_day')
        batch_op.drop_index('ix_inspections_village_id_day')
    op.drop_table('inspections')
