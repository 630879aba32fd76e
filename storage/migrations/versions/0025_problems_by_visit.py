"""A visit's problems: problems (visit_id)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:40:00.000000

The console's page of a visit lists the problems raised from it; without an index by visit that
read every problem of the county (about 50,000 at 500,000 visits) for each visit's page.
It follows 0024 (the console's Records).
"""
from alembic import op


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index('ix_problems_visit_id', ['visit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index('ix_problems_visit_id')
