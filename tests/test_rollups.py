"""/stats's rollups (storage.rollups) against the raw rows they count.

Visits, problems, disputes, check-ins and weekly summaries are written the way the bot writes
them (storage.visits.add_visit with and without a problem, the problems' steps, storage.
disputes' report and steps, storage.checkins.check_in, a check-in corrected from in to away
and back, storage.summaries.submit_summary and a correction), then edited and deleted through
the ORM as a later correction would (into other weeks, other UTC days and other places), and a
cadre is moved by a roster import. After every step, /stats's figures for the county, a
township and a village over whole and part weeks (visits, check-ins, compliance, summaries,
disputes opened by status and category, problems raised and solved), and the ledger's counts
by status and overdue, equal counts made here from the raw rows, and the rollups kept write by
write equal the rollups rebuilt from scratch (`rebuild`) and those migration 0029 fills."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from alembic import command
from sqlalchemy import delete, or_, select, text

from storage import rollups, stats
from storage.calendar import CampaignCalendar
from storage.checkins import check_in
from storage.disputes import add_dispute, move_dispute
from storage.figures import SOLVED, local_bounds
from storage.migrate import alembic_config, upgrade
from storage.models import (
    Checkin,
    CheckinWeek,
    Dispute,
    DisputeStep,
    DisputeWeek,
    Person,
    Problem,
    ProblemDay,
    ProblemStep,
    ProblemTally,
    Summary,
    Village,
    Visit,
    VisitTally,
    VisitWeek,
)
from storage.problems import Terms, is_overdue, move_problem, status_counts
from storage.scope import Scope
from storage.summaries import SummaryText, submit_summary
from storage.visits import add_visit
from tests.conftest import SHANGHAI
from tests.harness import DEFAULT_ROSTER

MONDAY = dt.date(2026, 11, 23)
MIN_DAYS = 4
# The rollups are checked under the plain proportion: no campaign edge, no holiday in the weeks.
CALENDAR = CampaignCalendar(dt.date(2026, 1, 5), dt.date(2027, 12, 31), MIN_DAYS)
PERIODS = [
    (MONDAY, MONDAY + dt.timedelta(days=6)),  # a whole week
    (MONDAY + dt.timedelta(days=2), MONDAY + dt.timedelta(days=5)),  # a part of one
    (MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=9)),  # parts of two
    (MONDAY - dt.timedelta(days=7), MONDAY + dt.timedelta(days=13)),  # three whole weeks
]
VISITS = [  # who, day offset, kind, household category, problem category
    ("李娜", 0, "weak", "poor", "land"), ("李娜", 0, "weak", "poor", None),
    ("李娜", 2, "masses", None, "health"), ("王芳", 3, "rich", None, None),
    ("王芳", 8, "old", "ill", "other"), ("陈静", 1, "weak", "poor", "land"),
    ("赵强", 5, "wise", None, "employment"), ("赵强", 6, "weak", "ill", None),
    ("孙丽", 2, "masses", None, "land"),
]
TERMS = Terms(feedback_days=3, checkback_days=10)
TODAY = MONDAY + dt.timedelta(days=12)
DISPUTES = [  # who, day offset, category, steps
    ("李娜", 0, "land", ["mediate"]), ("李娜", 6, "pollution", []),
    ("王芳", 7, "land", ["resolve"]), ("陈静", 2, "other", ["escalate"]),
    ("赵强", 9, "accident", ["mediate", "resolve"]), ("孙丽", 13, "land", []),
]
# Local moments the problems are moved to: around local and UTC midnights (UTC+8).
MOMENTS = [(-1, dt.time(23, 59)), (0, dt.time(0, 30)), (0, dt.time(7, 59)), (6, dt.time(23, 50)),
           (0, dt.time(8, 1)), (7, dt.time(0, 5)), (3, dt.time(12)), (9, dt.time(15))]
ROLLUPS = (VisitTally, VisitWeek, CheckinWeek, ProblemTally, ProblemDay, DisputeWeek)


def _local(offset: int, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(MONDAY + dt.timedelta(days=offset), at, SHANGHAI)


async def _people(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.name: p for p in (await session.execute(select(Person))).scalars()}


async def _write(harness) -> None:
    """Visits and check-ins over two weeks, as the bot records them, with corrections."""
    found, now = await _people(harness), harness.clock.now()
    async with harness.db.write() as session:
        for name, offset, kind, category, problem in VISITS:
            await add_visit(session, person=found[name], kind=kind,
                            day=MONDAY + dt.timedelta(days=offset), heard="", wants="",
                            now=now, household_category=category, problem_category=problem,
                            problem_due_on=MONDAY + dt.timedelta(days=offset + 3))
        ledger = list((await session.execute(select(Problem).order_by(Problem.id))).scalars())
        for problem, actions in zip(ledger, (["take", "solve"], ["take"], [], ["take", "solve",
                                    "feedback"]), strict=False):
            for action in actions:
                await move_problem(session, problem=problem, action=action,
                                   by_person_id=problem.person_id, day=MONDAY, now=now,
                                   terms=TERMS, measures="m", responsible="r",
                                   due_on=MONDAY + dt.timedelta(days=20))
        for name, days_in in (("李娜", 5), ("王芳", 3), ("陈静", 6), ("赵强", 4), ("张伟", 2)):
            for offset in range(10):
                await check_in(session, person=found[name],
                               day=MONDAY + dt.timedelta(days=offset),
                               in_village=offset % 7 < days_in, reason="sick", now=now)
        text = SummaryText("done", "", "more", None)
        for name, week in (("李娜", 0), ("李娜", 1), ("陈静", 0), ("赵强", 1), ("刘洋", 0)):
            await submit_summary(session, person=found[name], week_start=MONDAY + dt.timedelta(
                days=7 * week), text=text, now=now, tz=harness.settings.tz, minimum=0)
        await submit_summary(session, person=found["李娜"], week_start=MONDAY,
                             text=SummaryText("corrected", "", "", None), now=now,
                             tz=harness.settings.tz, minimum=0)
    async with harness.db.write() as session:  # corrected the same day: away, then in again
        for in_village in (False, True, False):
            await check_in(session, person=found["李娜"], day=MONDAY, in_village=in_village,
                           reason="meeting", now=now)
    await _disputes(harness, found)


async def _disputes(harness, found: dict[str, Person]) -> None:
    """Disputes reported and stepped as the bot does; the problems' times spread over days."""
    now = harness.clock.now()
    async with harness.db.write() as session:
        for name, offset, category, steps in DISPUTES:
            dispute = await add_dispute(session, person=found[name], category=category,
                                        parties="p", people_count=2, flags=[], description="d",
                                        urgency="normal",
                                        day=MONDAY + dt.timedelta(days=offset), now=now)
            for action in steps:
                await move_dispute(session, dispute=dispute, by_person_id=found[name].id,
                                   action=action, note=None, now=now, level="township",
                                   verdict="satisfied" if action == "resolve" else None)
        ledger = (await session.execute(select(Problem).order_by(Problem.id))).scalars()
        for problem, (offset, at) in zip(ledger, MOMENTS, strict=False):
            problem.created_at = _local(offset, at)
            problem.updated_at = _local(offset + 1, at)


async def _ledger(harness, scope: Scope) -> tuple[dict, int]:
    """The ledger's problems per status and overdue on TODAY, counted from the raw rows."""
    async with harness.db.read() as session:
        rows = list((await session.execute(select(Problem))).scalars())
    inside = [p for p in rows if (scope.village_id is None or p.village_id == scope.village_id)
              and (scope.township_id is None or scope.village_id is not None
                   or p.township_id == scope.township_id)]
    return (dict(Counter(p.status for p in inside)),
            sum(1 for p in inside if is_overdue(p, TODAY)))


async def _figures(harness, scope: Scope, start: dt.date, end: dt.date) -> stats.Stats:
    async with harness.db.read() as session:
        return await stats.scope_stats(
            session, scope=scope, start=start, end=end, now=harness.clock.now(), tz=SHANGHAI,
            calendar=CALENDAR,
            overdue_days={}, default_overdue_days=3)


async def _expected(harness, scope: Scope, start: dt.date, end: dt.date) -> dict:
    """The figures counted here from the raw rows."""
    async with harness.db.read() as session:
        visits = list((await session.execute(select(Visit))).scalars())
        checkins = list((await session.execute(select(Checkin))).scalars())
        people = list((await session.execute(select(Person))).scalars())
        summaries = list((await session.execute(select(Summary))).scalars())
        disputes = list((await session.execute(select(Dispute))).scalars())
        problems = list((await session.execute(select(Problem))).scalars())
        villages = {v.id: v.township_id for v in (await session.execute(select(Village))).scalars()}

    def record_inside(r) -> bool:
        if scope.village_id is not None:
            return r.village_id == scope.village_id
        if scope.township_id is not None:
            return r.township_id == scope.township_id and villages.get(r.village_id) == (
                scope.township_id)
        return True

    seen = [v for v in visits if start <= v.day <= end and record_inside(v)]
    cadres = {p.id for p in people if p.active and p.role in ("cadre", "team_leader")
              and record_inside(p)}
    days = [c for c in checkins if start <= c.day <= end and c.person_id in cadres]
    mondays = [w.week_start for w in stats.period_weeks(start, end, CALENDAR)]
    due = [m for m in mondays if dt.datetime.combine(
        m + dt.timedelta(days=6), dt.time.max, SHANGHAI) <= harness.clock.now()]
    handed_in = Counter(s.week_start in due for s in summaries
                        if s.person_id in cadres and s.week_start in mondays)
    compliant = []
    for week in stats.period_weeks(start, end, CALENDAR):
        sunday = week.week_start + dt.timedelta(days=6)
        mine = [c for c in days if week.week_start <= c.day <= sunday]
        inside = Counter(c.person_id for c in mine if c.in_village)
        compliant.append(sum(1 for pid in {c.person_id for c in mine}
                             if inside[pid] >= week.required))
    opened = [d for d in disputes if start <= d.opened_on <= end and record_inside(d)]
    low, high = local_bounds(start, SHANGHAI, days=(end - start).days + 1)
    return {"visits_by_kind": dict(Counter(v.kind for v in seen)),
            "disputes": (dict(Counter(d.status for d in opened)),
                         dict(Counter(d.category for d in opened))),
            "problems": (sum(1 for p in problems if low <= p.created_at < high
                             and record_inside(p)),
                         sum(1 for p in problems if p.status in SOLVED
                             and low <= p.updated_at < high and record_inside(p))),
            "visits_by_category": dict(Counter(v.household_category for v in seen
                                               if v.household_category)),
            "checkins": len(days), "days_in_village": sum(1 for c in days if c.in_village),
            "compliant": compliant, "cadres": len(cadres),
            "summaries": (handed_in[True], handed_in[False], len(cadres) * len(due))}


def _got(figures: stats.Stats) -> dict:
    return {"visits_by_kind": figures.visits_by_kind,
            "disputes": (figures.disputes_by_status, figures.disputes_by_category),
            "problems": (figures.problems_raised, figures.problems_solved),
            "visits_by_category": figures.visits_by_category, "checkins": figures.checkins,
            "days_in_village": figures.days_in_village,
            "compliant": [w.compliant for w in figures.weeks], "cadres": figures.cadres,
            "summaries": (figures.summaries_submitted, figures.summaries_early,
                          figures.summaries_expected)}


async def _scopes(harness) -> list[Scope]:
    li = (await _people(harness))["李娜"]
    return [Scope("county"), Scope("township", "黄金埠镇", township_id=li.township_id),
            Scope("village", "新村", li.township_id, li.village_id)]


async def _rollup_rows(harness) -> tuple[set, ...]:
    async with harness.db.read() as session:
        counted = []
        for model, column in ((VisitWeek, "visits"), (DisputeWeek, "disputes"),
                              (ProblemDay, "problems")):
            counted.append({tuple(r) for r in (await session.execute(
                select(*model.__table__.columns).where(getattr(model, column) != 0)))})
        tallies = {tuple(r) for r in (await session.execute(select(
            VisitTally.day, VisitTally.township_id, VisitTally.has_village, VisitTally.kind,
            VisitTally.household_category, VisitTally.visits).where(VisitTally.visits != 0)))}
        weeks = {tuple(r) for r in (await session.execute(select(
            CheckinWeek.week_start, CheckinWeek.person_id, CheckinWeek.checked,
            CheckinWeek.inside, CheckinWeek.checkins, CheckinWeek.days,
            CheckinWeek.summary).where(  # a week emptied by corrections counts nothing
            or_(CheckinWeek.checked != 0, CheckinWeek.summary.is_(True)))))}
        ledger = {tuple(r) for r in (await session.execute(select(
            ProblemTally.village_id, ProblemTally.township_id, ProblemTally.status,
            ProblemTally.problems).where(ProblemTally.problems != 0)))}
    return tallies, weeks, ledger, *counted


async def _assert_consistent(harness) -> None:
    for scope in await _scopes(harness):
        for start, end in PERIODS:
            assert _got(await _figures(harness, scope, start, end)) == await _expected(
                harness, scope, start, end), (scope.kind, start, end)
        async with harness.db.read() as session:
            counted = await status_counts(session, today=TODAY, village_ids=scope.village_ids,
                                          township_id=scope.township_id
                                          if scope.village_id is None else None)
        assert counted == await _ledger(harness, scope), scope.kind
    kept = await _rollup_rows(harness)
    async with harness.db.engine.begin() as conn:
        await rollups.rebuild(conn)
    assert await _rollup_rows(harness) == kept  # kept write by write = rebuilt from scratch


async def test_the_rollups_follow_every_write_and_equal_the_raw_rows(harness):
    harness.at(dt.datetime.combine(MONDAY + dt.timedelta(days=10), dt.time(12), SHANGHAI))
    await harness.import_roster()
    await _write(harness)
    figures = await _figures(harness, Scope("county"), *PERIODS[0])
    assert figures.visits == 8 and figures.checkins == 35  # the data are there at all
    assert (figures.summaries_submitted, figures.summaries_early) == (3, 0)
    figures = await _figures(harness, Scope("county"), *PERIODS[3])
    assert (figures.summaries_submitted, figures.summaries_early) == (3, 2)
    async with harness.db.read() as session:
        assert await status_counts(session, today=TODAY) == (
            {"raised": 3, "in_hand": 1, "solved": 1, "feedback": 1}, 5)
    await _assert_consistent(harness)

    found = await _people(harness)
    async with harness.db.write() as session:  # corrections through the ORM
        first, second, third = (await session.execute(
            select(Visit).order_by(Visit.id).limit(3))).scalars()
        first.day, first.kind = MONDAY + dt.timedelta(days=9), "talent"
        third.household_category, third.township_id = "ill", None
        await session.delete(second)  # the one without a problem
        moved = (await session.execute(select(Checkin).order_by(Checkin.id).limit(1))).scalar_one()
        moved.day = MONDAY - dt.timedelta(days=3)  # into the week before
        gone = (await session.execute(select(Checkin).order_by(Checkin.id.desc()).limit(1))
                ).scalar_one()
        await session.delete(gone)
        ledger = list((await session.execute(select(Problem).order_by(Problem.id))).scalars())
        ledger[0].status, ledger[0].village_id = "checked", None
        ledger[1].township_id = None
        ledger[2].next_due_on = TODAY - dt.timedelta(days=1)
        for step in (await session.execute(select(ProblemStep).where(
                ProblemStep.problem_id == ledger[-1].id))).scalars():
            await session.delete(step)
        await session.flush()
        await session.delete(ledger[-1])
        handed = list((await session.execute(select(Summary).order_by(Summary.id))).scalars())
        handed[0].week_start = MONDAY + dt.timedelta(days=14)  # another week's
        handed[1].person_id = found["张伟"].id
        await session.delete(handed[2])
        ledger[1].created_at = _local(4, dt.time(7, 30))  # another UTC day, the same local one
        ledger[2].updated_at, ledger[2].status = _local(-3, dt.time(9)), "solved"  # a past week
        reported = list((await session.execute(select(Dispute).order_by(Dispute.id))).scalars())
        reported[0].opened_on = MONDAY - dt.timedelta(days=5)  # into a past week
        reported[1].status, reported[1].category = "resolved", "other"
        reported[2].village_id = None
        reported[3].township_id = None
        await session.execute(delete(DisputeStep).where(DisputeStep.dispute_id == reported[4].id))
        await session.delete(reported[4])
    await _assert_consistent(harness)

    # A roster move: 王芳 now works in 东岗村; people's figures follow her, records stay.
    await harness.import_roster(DEFAULT_ROSTER.replace(
        "王芳,13800138003,ordinary,黄金埠镇政府,黄金埠镇,新村,cadre",
        "王芳,13800138003,ordinary,黄金埠镇政府,黄金埠镇,东岗村,cadre"))
    assert (await _people(harness))["王芳"].village_id != (await _people(harness))[
        "李娜"].village_id
    await _assert_consistent(harness)


async def test_a_rebuild_restores_rollups_that_bulk_writes_bypassed(harness):
    await harness.import_roster()
    await _write(harness)
    async with harness.db.write() as session:  # what a Core bulk write leaves: no rollups
        for model in ROLLUPS:
            await session.execute(delete(model))
    emptied = await _figures(harness, Scope("county"), *PERIODS[0])
    assert (emptied.visits, emptied.checkins, emptied.disputes_by_status) == (0, 0, {})
    async with harness.db.engine.begin() as conn:
        await rollups.rebuild(conn)
    await _assert_consistent(harness)


def test_a_week_holds_the_bits_of_its_days_and_its_summary():
    wednesday = MONDAY + dt.timedelta(days=2)
    assert rollups.day_mask(wednesday, wednesday + dt.timedelta(days=10), MONDAY) == 0b1111100
    assert rollups.day_mask(MONDAY - dt.timedelta(days=3), MONDAY, MONDAY) == 0b0000001
    assert rollups.day_mask(MONDAY, MONDAY + dt.timedelta(days=6), MONDAY) == rollups.WHOLE_WEEK
    assert rollups.checkin_weeks([(7, MONDAY, True), (7, MONDAY + dt.timedelta(days=6), False),
                                  (7, MONDAY + dt.timedelta(days=7), False),
                                  (7, MONDAY, None), (8, MONDAY, None),  # summaries
                                  (9, MONDAY + dt.timedelta(days=1), None)]) == [
        {"week_start": MONDAY, "person_id": 7, "checked": 0b1000001, "inside": 0b0000001,
         "checkins": 2, "days": 1, "summary": True},
        {"week_start": MONDAY + dt.timedelta(days=7), "person_id": 7, "checked": 0b0000001,
         "inside": 0, "checkins": 1, "days": 0, "summary": False},
        {"week_start": MONDAY, "person_id": 8, "checked": 0, "inside": 0, "checkins": 0,
         "days": 0, "summary": True}]  # a summary whose week_start is no Monday: no week's


async def test_migration_0029_fills_the_weekly_rollups_as_the_writes_kept_them(harness):
    await harness.import_roster()
    await _write(harness)
    kept = await _rollup_rows(harness)
    config = alembic_config(harness.db.url, **harness.db.engine_kwargs)
    async with harness.db.engine.begin() as conn:  # the schema as it was at 0028
        for model in (VisitWeek, DisputeWeek, ProblemDay):
            await conn.execute(text(f"DROP TABLE {model.__tablename__}"))
    await asyncio.to_thread(command.stamp, config, "0028")
    # 0029 alone: the later migrations' tables and columns are in the schema already.
    await asyncio.to_thread(upgrade, harness.db.url, "0029", **harness.db.engine_kwargs)
    assert await _rollup_rows(harness) == kept
