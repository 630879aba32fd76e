"""the summary stage: personal, team and township summaries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stage_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('achievements', sa.Text(), nullable=False),
    sa.Column('experience', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('suggestions', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by'], ['people.id'], name=op.f('fk_stage_summaries_accepted_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_stage_summaries_person_id_people')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_stage_summaries_township_id_townships')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_stage_summaries_unit_id_units')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_stage_summaries_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_summaries')),
    sa.UniqueConstraint('person_id', 'kind', name=op.f('uq_stage_summaries_person_id'))
    )
    with op.batch_alter_table('stage_summaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_summaries_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stage_summaries_village_id'), ['village_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stage_summaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_summaries_village_id'))
        batch_op.drop_index(batch_op.f('ix_stage_summaries_township_id'))

    op.drop_table('stage_summaries')
