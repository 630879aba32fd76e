"""aggregate indexes: a week's figures read the week, not the campaign

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 07:30:00.000000

/stats, the digests and the county report filter by day (or created/updated time) and group
by a few columns; these indexes let a week's query read only that week's index entries
(covering ones for visits and check-ins), however long the campaign has run:

- visits (day, kind, household_category): the visits by kind and category of a period;
- checkins (day, person_id, in_village): days in the village per cadre and week;
- problems (created_at) and (status, updated_at): problems raised and solved in a period.

No index on disputes (opened_on): the figures ask for disputes opened in the period *or* still
open, and the open ones (about half of a generated campaign's) are read either way.
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_day_kind', ['day', 'kind', 'household_category'], unique=False)

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_day_person', ['day', 'person_id', 'in_village'], unique=False)

    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index('ix_problems_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_problems_status_updated_at', ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index('ix_problems_status_updated_at')
        batch_op.drop_index('ix_problems_created_at')

    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_day_person')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_day_kind')
