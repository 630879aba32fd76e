"""Reviews that can say no: a weekly or stage summary returned with a reason, and the township
leader's endorsement (or return) of an appraisal

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 19:30:00.000000

Issue 18: summaries.returned_at/returned_by/return_reason and the same on stage_summaries;
appraisals gain a status (submitted → accepted | returned) with who decided and when. Existing
appraisals are 'submitted': they wait for the township leader like a new one.
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _returned(batch_op, table: str) -> None:
    batch_op.add_column(sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
    batch_op.add_column(sa.Column('returned_by', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('return_reason', sa.Text(), nullable=True))
    batch_op.create_foreign_key(f'fk_{table}_returned_by_people', 'people', ['returned_by'], ['id'])


def upgrade() -> None:
    for table in ('summaries', 'stage_summaries'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            _returned(batch_op, table)
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='submitted'))
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('accepted_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_appraisals_accepted_by_people', 'people', ['accepted_by'], ['id'])
        _returned(batch_op, 'appraisals')


def downgrade() -> None:
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_constraint('fk_appraisals_returned_by_people', type_='foreignkey')
        batch_op.drop_constraint('fk_appraisals_accepted_by_people', type_='foreignkey')
        for column in ('return_reason', 'returned_by', 'returned_at', 'accepted_by',
                       'accepted_at', 'status'):
            batch_op.drop_column(column)
    for table in ('stage_summaries', 'summaries'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_returned_by_people', type_='foreignkey')
            for column in ('return_reason', 'returned_by', 'returned_at'):
                batch_op.drop_column(column)
