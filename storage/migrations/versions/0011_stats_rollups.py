"""/stats rollups: visits per day and township, check-ins and summaries per cadre and week, problems by status

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:30:00.000000

A county's /stats at 500,000 visits read a week's ~39,000 visits and ~14,000 check-ins, and
a whole campaign's ten times as many, and every problem of the ledger whatever the period
(issue 6). The rollups of storage.rollups hold the same counts in ~200 rows a day, one row per
cadre and week and one per village and status; they are kept in the transaction that writes
each visit, problem, check-in or summary, and backfilled here from the raw rows by a frozen
copy of storage.rollups.rebuild_sync's statements as they were at this revision (a migration
imports no application code, so a later change to that code cannot change this upgrade).

Three indexes serve a township's /stats, which read every problem or open dispute of the
county and kept its own: problems (township_id, created_at) and (township_id, status,
updated_at) for the problems raised and solved in a period, disputes (township_id, status,
last_step_at) for the open ones and the overdue.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    visit_tallies = op.create_table('visit_tallies',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('has_village', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('household_category', sa.String(length=24), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'township_id', 'has_village', 'kind', 'household_category', name=op.f('pk_visit_tallies')),
    sqlite_with_rowid=False
    )
    problem_tallies = op.create_table('problem_tallies',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('problems', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('village_id', 'township_id', 'status', name=op.f('pk_problem_tallies')),
    sqlite_with_rowid=False
    )
    checkin_weeks = op.create_table('checkin_weeks',
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

    _backfill(op.get_bind(), visit_tallies, problem_tallies, checkin_weeks)


# The raw rows the rollups count, as they were at this revision.
_visits = sa.table('visits', sa.column('day', sa.Date()), sa.column('township_id', sa.Integer()),
                   sa.column('village_id', sa.Integer()), sa.column('kind', sa.String()),
                   sa.column('household_category', sa.String()))
_problems = sa.table('problems', sa.column('village_id', sa.Integer()),
                     sa.column('township_id', sa.Integer()), sa.column('status', sa.String()))
_checkins = sa.table('checkins', sa.column('person_id', sa.Integer()),
                     sa.column('day', sa.Date()), sa.column('in_village', sa.Boolean()))
_summaries = sa.table('summaries', sa.column('person_id', sa.Integer()),
                      sa.column('week_start', sa.Date()))


def _backfill(conn, visit_tallies, problem_tallies, checkin_weeks) -> None:
    """The rollups counted from the raw rows: visits per day, township, whether placed, kind
    and household category (0 and '' for none); problems per village, township and status
    (0 for none); per cadre and Monday week, the days checked in and in the village as 7-bit
    masks, their counts, and whether the week's summary is in."""
    township = sa.func.coalesce(_visits.c.township_id, 0)
    placed = sa.case((_visits.c.village_id.is_(None), False), else_=True)
    category = sa.func.coalesce(_visits.c.household_category, '')
    conn.execute(sa.insert(visit_tallies).from_select(
        ['day', 'township_id', 'has_village', 'kind', 'household_category', 'visits'],
        sa.select(_visits.c.day, township, placed, _visits.c.kind, category, sa.func.count())
        .group_by(_visits.c.day, township, placed, _visits.c.kind, category)))
    village = sa.func.coalesce(_problems.c.village_id, 0)
    township = sa.func.coalesce(_problems.c.township_id, 0)
    conn.execute(sa.insert(problem_tallies).from_select(
        ['village_id', 'township_id', 'status', 'problems'],
        sa.select(village, township, _problems.c.status, sa.func.count())
        .group_by(village, township, _problems.c.status)))
    rows = conn.execute(sa.union_all(
        sa.select(_checkins.c.person_id, _checkins.c.day, _checkins.c.in_village),
        sa.select(_summaries.c.person_id, _summaries.c.week_start, sa.null()))).all()
    weeks: dict[tuple[dt.date, int], list[int]] = {}
    for person_id, day, in_village in rows:
        masks = weeks.setdefault((day - dt.timedelta(days=day.weekday()), person_id), [0, 0, 0])
        if in_village is None:  # a summary: its week's, if the week starts on a Monday
            masks[2] |= day.weekday() == 0
            continue
        masks[0] |= 1 << day.weekday()
        if in_village:
            masks[1] |= 1 << day.weekday()
    values = [{'week_start': monday, 'person_id': pid, 'checked': checked, 'inside': inside,
               'checkins': bin(checked).count('1'), 'days': bin(inside).count('1'),
               'summary': bool(summary)}
              for (monday, pid), (checked, inside, summary) in weeks.items()
              if checked or summary]
    for i in range(0, len(values), 5000):
        conn.execute(sa.insert(checkin_weeks), values[i:i + 5000])


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
