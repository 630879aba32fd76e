"""The campaign console's sign-in links and sessions

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:40:00.000000

Issue 20 (the campaign console): console_links — one-time sign-in links sent by /console, kept
as the SHA-256 of their token, bound to a person, good once until expires_at; console_sessions —
a signed-in browser (the cookie's token as its SHA-256), its CSRF token, how it signed in
(webapp or link), until when it holds and when it was signed out. It follows 0021 (training).
"""
import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_console_links_person_id_people'),
        sa.PrimaryKeyConstraint('id', name='pk_console_links'),
        sa.UniqueConstraint('token_hash', name='uq_console_links_token_hash'),
    )
    with op.batch_alter_table('console_links', schema=None) as batch_op:
        batch_op.create_index('ix_console_links_person_id', ['person_id'])
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name='fk_console_sessions_person_id_people'),
        sa.PrimaryKeyConstraint('id', name='pk_console_sessions'),
        sa.UniqueConstraint('token_hash', name='uq_console_sessions_token_hash'),
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_console_sessions_person_id', ['person_id'])


def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_console_sessions_person_id')
    op.drop_table('console_sessions')
    with op.batch_alter_table('console_links', schema=None) as batch_op:
        batch_op.drop_index('ix_console_links_person_id')
    op.drop_table('console_links')
