"""people.authority_changed_at: when a person's role, township, village or access last changed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:00:00.000000

Issue 15: a dialog opened, or a button sent, before this moment acts with an authority the
person may no longer hold; the bot closes such drafts and refuses such buttons.
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authority_changed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('authority_changed_at')
