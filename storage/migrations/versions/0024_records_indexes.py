"""The console's Records: a cadre's problems, a township's visits, one record's audit trail

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 22:20:00.000000

Issue 20 (the console's Records pages): problems (person_id, created_at) — a cadre's own
problems newest first, and those of a cadre a leader names, read from the index (the table had
no index by person: a cadre's campaign read every problem of the county); visits (township_id,
day) — a township's visits newest first (a search in a township's campaign walked the county's
visits by day to find the township's newest 10,000: 2.8 s on SQLite at 500,000 visits);
audit_log (entity, entity_id) — the audit trail of one record on its page, not the whole log.
It follows 0023 (the map's located records).
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index('ix_problems_person_created', ['person_id', 'created_at'], unique=False)

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_township_day', ['township_id', 'day'], unique=False)

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_township_day')

    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index('ix_problems_person_created')
