"""/stats rollups by week: visits per week, disputes opened per week, problems raised and stepped per UTC day

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 04:00:00.000000

Issue 21 (the whole campaign's /stats under 50 ms): over 90 days /stats read the visits' 19,440
daily tallies, the 20,000 disputes opened and every problem raised or solved. visit_weeks holds
the county's visits by Monday week, kind and household category, dispute_weeks its disputes
by the Monday week they were opened, category and status, problem_days its problems per UTC
day raised (created_at) and last stepped in their status (updated_at); storage.rollups keeps
them in the transaction that writes each visit, dispute or problem. They are filled here from
the raw rows by a frozen copy of what storage.rollups.rebuild_sync does for them at this
revision (a migration imports no application code).
"""
import datetime as dt
from collections import Counter

import sqlalchemy as sa
from alembic import op


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    visit_weeks = op.create_table(
        'visit_weeks',
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('household_category', sa.String(length=24), nullable=False),
        sa.Column('visits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('week_start', 'kind', 'household_category',
                                name=op.f('pk_visit_weeks')),
        sqlite_with_rowid=False,
    )
    dispute_weeks = op.create_table(
        'dispute_weeks',
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('disputes', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('week_start', 'category', 'status', name=op.f('pk_dispute_weeks')),
        sqlite_with_rowid=False,
    )
    problem_days = op.create_table(
        'problem_days',
        sa.Column('what', sa.String(length=8), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('what', 'day', 'status', name=op.f('pk_problem_days')),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    _insert(conn, visit_weeks, _visit_weeks(conn))
    _insert(conn, dispute_weeks, _dispute_weeks(conn))
    _insert(conn, problem_days, _problem_days(conn))


# The raw rows the rollups count, as they were at this revision.
_visits = sa.table('visits', sa.column('day', sa.Date()), sa.column('kind', sa.String()),
                   sa.column('household_category', sa.String()))
_disputes = sa.table('disputes', sa.column('opened_on', sa.Date()),
                     sa.column('category', sa.String()), sa.column('status', sa.String()))
_problems = sa.table('problems', sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('updated_at', sa.DateTime(timezone=True)),
                     sa.column('status', sa.String()))


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _utc_day(moment: dt.datetime) -> dt.date:
    """SQLite returns the stored UTC time without a zone, PostgreSQL an aware one."""
    return (moment if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)).date()


def _visit_weeks(conn) -> list[dict]:
    """Visits per Monday week, kind and household category ('' for none)."""
    category = sa.func.coalesce(_visits.c.household_category, '')
    weeks: Counter = Counter()
    for day, kind, cat, count in conn.execute(
            sa.select(_visits.c.day, _visits.c.kind, category, sa.func.count())
            .group_by(_visits.c.day, _visits.c.kind, category)):
        weeks[(_monday(day), kind, cat)] += count
    return [{'week_start': monday, 'kind': kind, 'household_category': cat, 'visits': count}
            for (monday, kind, cat), count in weeks.items()]


def _dispute_weeks(conn) -> list[dict]:
    """Disputes per Monday week of opened_on, category and status."""
    d = _disputes.c
    weeks: Counter = Counter()
    for opened_on, category, status, count in conn.execute(
            sa.select(d.opened_on, d.category, d.status, sa.func.count())
            .group_by(d.opened_on, d.category, d.status)):
        weeks[(_monday(opened_on), category, status)] += count
    return [{'week_start': monday, 'category': category, 'status': status, 'disputes': count}
            for (monday, category, status), count in weeks.items()]


def _problem_days(conn) -> list[dict]:
    """Problems per UTC day raised ('raised', status '') and last stepped in their status
    ('step')."""
    p = _problems.c
    days: Counter = Counter()
    for created, updated, status in conn.execute(
            sa.select(p.created_at, p.updated_at, p.status)):
        days[('raised', _utc_day(created), '')] += 1
        days[('step', _utc_day(updated), status)] += 1
    return [{'what': what, 'day': day, 'status': status, 'problems': count}
            for (what, day, status), count in days.items()]


def _insert(conn, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), 5000):
        conn.execute(sa.insert(table), rows[i:i + 5000])


def downgrade() -> None:
    op.drop_table('problem_days')
    op.drop_table('dispute_weeks')
    op.drop_table('visit_weeks')
