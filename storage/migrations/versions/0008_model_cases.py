"""model cases and good practices, marked for publicity

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_model_cases_decided_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_model_cases_person_id_people')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_model_cases_township_id_townships')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_model_cases_unit_id_units')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_model_cases_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_cases'))
    )
    with op.batch_alter_table('model_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_cases_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_cases_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_cases_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_cases_status'), ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_cases_village_id'), ['village_id', 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('model_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_cases_village_id'))
        batch_op.drop_index(batch_op.f('ix_model_cases_status'))
        batch_op.drop_index(batch_op.f('ix_model_cases_person_id'))
        batch_op.drop_index(batch_op.f('ix_model_cases_decided_on'))
        batch_op.drop_index(batch_op.f('ix_model_cases_day'))

    op.drop_table('model_cases')
