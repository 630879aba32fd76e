"""Help targets: a project's type

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 03:35:00.000000

Issue 19 (help targets watched): aid.project_type — the kind of project a village introduced
(farming, transport, water, other), asked when a project is recorded. Projects recorded before
have none and are shown without a type. (0017 is added in parallel; the merge re-chains this.)
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_type', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.drop_column('project_type')
