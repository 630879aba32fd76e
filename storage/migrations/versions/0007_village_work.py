"""village rectification (three types, measures, rules) and winter work items

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('village_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('weak_team', sa.Boolean(), nullable=False),
    sa.Column('disputes', sa.Boolean(), nullable=False),
    sa.Column('weak_management', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('marked_by', sa.Integer(), nullable=True),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marked_by'], ['people.id'], name=op.f('fk_village_marks_marked_by_people')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_village_marks_township_id_townships')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_village_marks_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village_marks')),
    sa.UniqueConstraint('village_id', name=op.f('uq_village_marks_village_id'))
    )
    with op.batch_alter_table('village_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_village_marks_township_id'), ['township_id'], unique=False)

    op.create_table('rectify_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_rectify_actions_person_id_people')),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_rectify_actions_township_id_townships')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_rectify_actions_unit_id_units')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_rectify_actions_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectify_actions'))
    )
    with op.batch_alter_table('rectify_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectify_actions_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectify_actions_village_id'), ['village_id', 'kind'], unique=False)

    op.create_table('winter_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('progress', sa.BigInteger(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], name=op.f('fk_winter_items_township_id_townships')),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], name=op.f('fk_winter_items_updated_by_people')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_winter_items_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_winter_items')),
    sa.UniqueConstraint('village_id', 'item', name=op.f('uq_winter_items_village_id'))
    )
    with op.batch_alter_table('winter_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_winter_items_township_id'), ['township_id'], unique=False)

    op.create_table('winter_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('progress', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['winter_items.id'], name=op.f('fk_winter_updates_item_id_winter_items')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_winter_updates_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_winter_updates'))
    )
    with op.batch_alter_table('winter_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_winter_updates_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('winter_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_winter_updates_item_id'))

    op.drop_table('winter_updates')
    with op.batch_alter_table('winter_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_winter_items_township_id'))

    op.drop_table('winter_items')
    with op.batch_alter_table('rectify_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectify_actions_village_id'))
        batch_op.drop_index(batch_op.f('ix_rectify_actions_person_id'))

    op.drop_table('rectify_actions')
    with op.batch_alter_table('village_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_village_marks_township_id'))

    op.drop_table('village_marks')
