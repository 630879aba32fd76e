"""One sending budget per bot, shared by every process on PostgreSQL

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 00:30:00.000000

Issue 21 (one budget per bot): `grassroots serve --workers N` gave each worker its own rate
limiter, so N workers sent N times Telegram's rate. send_budget keeps one bot's sends of the
last second and send_pacing each chat's bucket, both updated under a row lock by every process
(storage.sendbudget). SQLite deployments are one process and leave them empty.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'send_budget',
        sa.Column('bot_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('sent', JSON, nullable=False),
        sa.Column('reply_until', sa.Float(), nullable=False),
        sa.Column('holders', JSON, nullable=False),
        sa.PrimaryKeyConstraint('bot_id', name=op.f('pk_send_budget')),
    )
    op.create_table(
        'send_pacing',
        sa.Column('bot_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('bot_id', 'chat_id', name=op.f('pk_send_pacing')),
    )
    with op.batch_alter_table('send_pacing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_pacing_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('send_pacing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_pacing_at'))
    op.drop_table('send_pacing')
    op.drop_table('send_budget')
