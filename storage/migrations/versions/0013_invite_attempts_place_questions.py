"""invite_attempts (wrong invite codes, limited per account and per hour) and place_questions
(a command waiting for its sender to say which of several same-named villages they meant)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:00:00.000000

Issue 15, items 14 and 15.
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invite_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_attempts'))
    )
    with op.batch_alter_table('invite_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_attempts_at'), ['at'], unique=False)
        batch_op.create_index('ix_invite_attempts_user_at', ['telegram_user_id', 'at'], unique=False)

    op.create_table('place_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=32), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_place_questions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place_questions'))
    )
    with op.batch_alter_table('place_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_questions_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('place_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_questions_person_id'))
    op.drop_table('place_questions')
    with op.batch_alter_table('invite_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_invite_attempts_user_at')
        batch_op.drop_index(batch_op.f('ix_invite_attempts_at'))
    op.drop_table('invite_attempts')
