"""Help's indexes for /stats over a campaign and the help targets' grouped query

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:45:00.000000

Issues 20 and 21: aid (day, kind, amount, people_count) in place of aid (day) — the county's help
totals of a period (/stats, the console's overview) read from the index alone, not each row
of the table (SQLite, whole campaign at 500,000 visits: ~10 → ~5 ms of CPU); aid (village_id,
kind, unit_id, amount, people_count) and aid (household_id, kind, holiday) — which villages
miss which help target is one grouped query (storage.targets.village_misses) that reads each
village's labour, projects' funds and home units' donations, and each paired household's
condolences, from these (no index had the household: the targets' condolences read the
help table by an index SQLite built for each query).
It follows 0025 (problems by visit).
"""
from alembic import op


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.drop_index('ix_aid_day')
        batch_op.create_index('ix_aid_day_kind', ['day', 'kind', 'amount', 'people_count'],
                              unique=False)
        batch_op.create_index('ix_aid_village_kind',
                              ['village_id', 'kind', 'unit_id', 'amount', 'people_count'],
                              unique=False)
        batch_op.create_index('ix_aid_household_kind', ['household_id', 'kind', 'holiday'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('aid', schema=None) as batch_op:
        batch_op.drop_index('ix_aid_household_kind')
        batch_op.drop_index('ix_aid_village_kind')
        batch_op.drop_index('ix_aid_day_kind')
        batch_op.create_index('ix_aid_day', ['day'], unique=False)
