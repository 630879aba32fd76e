"""publicity: policy sessions held, with attendance, topics, slogans and boards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('publicity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.Column('topics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('other_topic', sa.String(length=200), nullable=True),
    sa.Column('slogans', sa.Integer(), nullable=False),
    sa.Column('boards', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_publicity_person_id_people')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_publicity_township_id_townships')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_publicity_unit_id_units')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_publicity_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity'))
    )
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_village_id'), ['village_id', 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_village_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_person_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_day'))

    op.drop_table('publicity')
