"""/stats rollups: visits per day and township, check-ins and summaries per cadre and week, problems by status

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:30:00.000000

A county's /stats at 500,000 visits read a week's ~39,000 visits and ~14,000 check-ins, and
a whole campaign's ten times as many, and every problem of the ledger whatever the period
(issue 6). The rollups of storage.rollups hold the same counts in ~200 rows a day, one row per
cadre and week and one per village and status; they are kept in the transaction that writes
each visit, problem, check-in or summary, and backfilled here from the raw rows
(storage.rollups.rebuild_sync).

Three indexes serve a township's /stats, which read every problem or open dispute of the
county and kept its own: problems (township_id, created_at) and (township_id, status,
updated_at) for the problems raised and solved in a period, disputes (township_id, status,
last_step_at) for the open ones and the overdue.
"""
from alembic import op
import sqlalchemy as sa

from storage.rollups import rebuild_sync


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_tallies',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('has_village', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('household_category', sa.String(length=24), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'township_id', 'has_village', 'kind', 'household_category', name=op.f('pk_visit_tallies')),
    sqlite_with_rowid=False
    )
    op.create_table('problem_tallies',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('problems', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_id', 'township_id', 'status', name=op.f('pk_problem_tallies')),
    sqlite_with_rowid=False
    )
    op.create_table('checkin_weeks',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('inside', sa.Integer(), nullable=False),
    sa.Column('checkins', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_checkin_weeks_person_id_people')),
    sa.PrimaryKeyConstraint('week_start', 'person_id', name=op.f('pk_checkin_weeks')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('checkin_weeks', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_weeks_person_id', ['person_id', 'week_start', 'checked', 'inside', 'checkins', 'days', 'summary'], unique=False)
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index('ix_problems_township_created', ['township_id', 'created_at'], unique=False)
        batch_op.create_index('ix_problems_township_status', ['township_id', 'status', 'updated_at'], unique=False)

    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index('ix_disputes_township_status', ['township_id', 'status', 'last_step_at'], unique=False)

    rebuild_sync(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_disputes_township_status')

    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index('ix_problems_township_status')
        batch_op.drop_index('ix_problems_township_created')

    with op.batch_alter_table('checkin_weeks', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_weeks_person_id')
    op.drop_table('checkin_weeks')
    op.drop_table('problem_tallies')
    op.drop_table('visit_tallies')
