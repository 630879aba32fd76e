"""The figures of /stats and the HTTP API: one number, one query. (The lists of /laggards,
/pairs, /team and the disputes are in storage.stats_lists, and importable from here.)

Every query aggregates in SQL (GROUP BY township or village) with the indexed day columns
first, so the county costs the same handful of queries as one village. Visits, check-ins,
weekly summaries and the problem ledger by status are read from the rollups of
storage.rollups (visits per day and township, one row per cadre and week, problems per village
and status), kept with every write: a county's week reads ~1,500 + 2,000 rows instead of
~53,000. The county's visits, disputes opened and problems raised and solved read a period's
whole weeks (whole UTC days for the problems) from the county's weekly rollups and only the
days at either end from the daily tallies or the rows. A village's visits, disputes and
problems are read from its raw rows (a few dozen a week), a township's disputes and problems
from its own index entries.

Scope: figures about records (visits, disputes, problems, help) follow the village and township
written on each record, as every other query does; figures about people (check-ins, days in
the village, weekly summaries, laggards, pairs, teams) follow the roster's current placement
of active cadres and team leaders.

Days in the village: the period is cut at Mondays; each week asks what the campaign calendar's
one rule asks for its days inside the period (storage.calendar: ceil(min_days × counted days /
7), counting only campaign days that are not public holidays; today alone: 1). Weekly
summaries: expected = cadres × the weeks touched by the period whose deadline has passed;
summaries of weeks not yet due are counted apart, as early ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leave
from storage.aid import aid_totals
from storage.calendar import CampaignCalendar
from storage.cases import CaseCounts, case_totals
from storage.disputes import OPEN
from storage.figures import SOLVED, local_bounds, overdue_condition
from storage.models import (
    CheckinWeek,
    Dispute,
    DisputeWeek,
    Person,
    Problem,
    ProblemDay,
    Township,
    Village,
    Visit,
    VisitTally,
    VisitWeek,
)
from storage.problems import status_counts as problem_status_counts
from storage.publicity import PublicityTotals, publicity_totals
from storage.rectification import RectificationTotals, rectification_totals
from storage.rollups import (
    NO_CATEGORY,
    RAISED,
    STEPPED,
    WHOLE_WEEK,
    bits_in,
    day_mask,
    split_weeks,
)
from storage.scope import Scope
from storage.stats_lists import (
    CadrePairs,
    Laggard,
    Laggards,
    OpenDispute,
    PairGroup,
    TeamMember,
    cadres_in,
    dispute_history,
    dispute_in,
    laggards,
    members_in,
    open_disputes_in,
    pair_groups,
    pairing_gaps,
    record_scope,
    team_week,
)
from storage.winter import WinterSum, winter_totals

__all__ = [  # the lists moved to storage.stats_lists; their callers import them from here
    "CadrePairs", "Laggard", "Laggards", "OpenDispute", "PairGroup", "PlaceFigures", "Stats",
    "TeamMember", "WeekCompliance", "cadres_in", "dispute_history", "dispute_in", "laggards",
    "members_in", "open_disputes_in", "pair_groups", "pairing_gaps", "period_weeks", "scope_stats",
    "team_week", "visits_per_day",
]

@dataclass
class WeekCompliance:
    """One Monday week (or the part of it inside the period): cadres who stayed long enough."""

    week_start: dt.date
    days: int  # days of this week inside the period
    required: int  # days in the village asked of a cadre for those days
    cadres: int = 0
    compliant: int = 0


@dataclass
class PlaceFigures:
    """A township's (county scope) or a village's figures about people."""

    place_id: int
    name: str
    cadres: int = 0
    checkins: int = 0
    days_in_village: int = 0
    compliant: int = 0  # cadre-weeks that met the requirement
    cadre_weeks: int = 0
    summaries: int = 0
    summaries_expected: int = 0
    summaries_early: int = 0

    @property
    def compliance(self) -> float:
        """Cadre-weeks that met the days in the village, in percent (NaN: none)."""
        return 100.0 * self.compliant / self.cadre_weeks if self.cadre_weeks else float("nan")

    @property
    def completeness(self) -> float:
        """Due weekly summaries submitted, in percent (NaN: none due)."""
        expected = self.summaries_expected
        return 100.0 * self.summaries / expected if expected else float("nan")


@dataclass
class Stats:
    """Every figure of a scope over a period; `as_dict` is what the HTTP API returns."""

    scope: str
    place: str
    place_level: str  # what `places` are: "township" or "village"
    start: dt.date
    end: dt.date
    min_days: int
    cadres: int = 0
    visits_by_kind: dict[str, int] = field(default_factory=dict)
    visits_by_category: dict[str, int] = field(default_factory=dict)
    checkins: int = 0
    days_in_village: int = 0
    weeks: list[WeekCompliance] = field(default_factory=list)
    disputes_by_status: dict[str, int] = field(default_factory=dict)
    disputes_by_category: dict[str, int] = field(default_factory=dict)
    disputes_open: int = 0
    disputes_overdue: int = 0
    problems_raised: int = 0
    problems_solved: int = 0
    # The problem ledger as it stands now, whatever the period.
    problems_by_status: dict[str, int] = field(default_factory=dict)
    problems_overdue: int = 0
    aid: dict[str, Any] = field(default_factory=dict)
    publicity: PublicityTotals = field(default_factory=PublicityTotals)
    # Rectification and winter work stand as they are now, whatever the period.
    rectification: RectificationTotals = field(default_factory=RectificationTotals)
    winter: dict[str, WinterSum] = field(default_factory=dict)
    cases: CaseCounts = field(default_factory=CaseCounts)
    summaries_submitted: int = 0
    summaries_expected: int = 0
    summaries_early: int = 0
    summaries_early_expected: int = 0
    places: list[PlaceFigures] = field(default_factory=list)
    campaign_days: int | None = None  # days of the period inside the campaign (None: all)
    # Approved leave (storage.leave.excused): the person-days it excused, and of how many
    # cadres; an excused day counts as present in the weeks above.
    excused_days: int = 0
    excused_people: int = 0

    @property
    def visits(self) -> int:
        """All visits in the period."""
        return sum(self.visits_by_kind.values())

    @property
    def cadre_days(self) -> int:
        """Check-ins expected: every cadre, every campaign day of the period."""
        days = self.campaign_days
        return self.cadres * ((self.end - self.start).days + 1 if days is None else days)

    def as_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready values (dates ISO, money as strings)."""
        data = dataclasses.asdict(self)
        data["visits"], data["cadre_days"] = self.visits, self.cadre_days
        return {key: _jsonable(value) for key, value in data.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value



def _person_place(scope: Scope) -> Any:
    return Person.township_id if scope.kind == "county" else Person.village_id


def period_weeks(start: dt.date, end: dt.date,
                 calendar: CampaignCalendar) -> list[WeekCompliance]:
    """The Monday weeks the period touches, each with its days inside and the days asked."""
    weeks = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        days = (min(monday + dt.timedelta(days=6), end) - max(monday, start)).days + 1
        weeks.append(WeekCompliance(monday, days,
                                    calendar.required_days(monday, start=start, end=end)))
        monday += dt.timedelta(days=7)
    return weeks


async def _places(session: AsyncSession, stats: Stats, scope: Scope) -> dict[int, PlaceFigures]:
    key, name = (Township.id, Township.name) if scope.kind == "county" else (
        Village.id, Village.name)
    joined = and_(*cadres_in(Scope("county")), _person_place(scope) == key)
    query = (select(key, name, func.count(Person.id)).select_from(key.table)
             .outerjoin(Person, joined).group_by(key, name).order_by(name))
    if scope.kind != "county":
        query = query.where(*([Village.id == scope.village_id] if scope.village_id is not None
                              else [Village.township_id == scope.township_id]))
    places = {pid: PlaceFigures(pid, pname, int(count))
              for pid, pname, count in (await session.execute(query)).all()}
    stats.cadres = sum(p.cadres for p in places.values())
    return places


async def _visits(session: AsyncSession, stats: Stats, scope: Scope) -> None:
    if scope.village_id is not None:  # a village's week is a few dozen rows: read them
        query = (select(Visit.kind, Visit.household_category, func.count())
                 .where(Visit.day >= stats.start, Visit.day <= stats.end,
                        *record_scope(Visit, scope))
                 .group_by(Visit.kind, Visit.household_category))
    elif scope.township_id is not None:  # the day tallies: its rows with a village
        query = (select(VisitTally.kind, VisitTally.household_category,
                        func.sum(VisitTally.visits))
                 .where(VisitTally.day >= stats.start, VisitTally.day <= stats.end,
                        VisitTally.township_id == scope.township_id,
                        VisitTally.has_village.is_(True))
                 .group_by(VisitTally.kind, VisitTally.household_category))
    else:  # the county: its whole weeks' rollup, and the day tallies of the part weeks
        whole, parts = split_weeks(stats.start, stats.end)
        spans: list[tuple[Any, Any, tuple[dt.date, dt.date]]] = [
            (VisitTally, VisitTally.day, part) for part in parts]
        if whole is not None:
            spans.append((VisitWeek, VisitWeek.week_start, whole))
        counted = union_all(*(
            select(tally.kind, tally.household_category, tally.visits)
            .where(day >= first, day <= last) for tally, day, (first, last) in spans)).subquery()
        query = (select(counted.c.kind, counted.c.household_category,
                        func.sum(counted.c.visits))
                 .group_by(counted.c.kind, counted.c.household_category))
    for kind, category, count in (await session.execute(query)).all():
        if not count:
            continue
        stats.visits_by_kind[kind] = stats.visits_by_kind.get(kind, 0) + int(count)
        if category not in (None, NO_CATEGORY):
            stats.visits_by_category[category] = (
                stats.visits_by_category.get(category, 0) + int(count))


def _week_rows(scope: Scope, weeks: list[WeekCompliance], start: dt.date, end: dt.date) -> Any:
    """Check-ins, days in the village, compliant cadres and summaries per place and week, from
    the CheckinWeek rows of `weeks`: either every whole week of the period (their counts) or
    one part week (the bits of its days inside the period in the masks)."""
    bits = day_mask(start, end, weeks[0].week_start)
    checked: Any
    inside: Any
    if bits == WHOLE_WEEK:
        checked, inside = CheckinWeek.checkins, CheckinWeek.days
    else:
        checked, inside = bits_in(CheckinWeek.checked, bits), bits_in(CheckinWeek.inside, bits)
    place = _person_place(scope)
    # Whole weeks may ask different days (a holiday week, the campaign's last part week).
    required: Any = weeks[0].required if len({w.required for w in weeks}) == 1 else case(
        {w.week_start: w.required for w in weeks}, value=CheckinWeek.week_start)
    return (select(place, CheckinWeek.week_start, func.sum(checked), func.sum(inside),
                   func.count(case((and_(checked > 0, inside >= required), 1))),
                   func.count(case((CheckinWeek.summary.is_(True), 1))))
            .join(Person, Person.id == CheckinWeek.person_id)
            .where(CheckinWeek.week_start >= weeks[0].week_start,
                   CheckinWeek.week_start <= weeks[-1].week_start, *cadres_in(scope))
            .group_by(place, CheckinWeek.week_start))


async def _people_weeks(
    session: AsyncSession, stats: Stats, scope: Scope, places: dict[int, PlaceFigures],
    due: Callable[[dt.date], bool],
) -> None:
    # One row per cadre and week (storage.rollups.CheckinWeek): a cadre-week meets the days
    # in the village asked for the days of that week inside the period; its summary counts as
    # submitted once the week is due, as early before. One query for the whole weeks, one
    # for each part week at either end.
    whole = [w for w in stats.weeks if w.days == 7]
    batches = [[w] for w in stats.weeks if w.days < 7] + ([whole] if whole else [])
    week_of = {w.week_start: w for w in stats.weeks}
    for weeks in batches:
        rows = await session.execute(_week_rows(scope, weeks, stats.start, stats.end))
        for place_id, monday, count, days, compliant, summaries in rows.all():
            target = places.get(place_id)
            if target is not None:
                target.checkins += int(count)
                target.days_in_village += int(days)
                target.compliant += int(compliant)
                if due(monday):
                    target.summaries += int(summaries)
                else:
                    target.summaries_early += int(summaries)
            week_of[monday].compliant += int(compliant)
    due_weeks = sum(1 for w in stats.weeks if due(w.week_start))
    for target in places.values():
        target.cadre_weeks = target.cadres * len(stats.weeks)
        target.summaries_expected = target.cadres * due_weeks
    for week in stats.weeks:
        week.cadres = stats.cadres
    stats.checkins = sum(p.checkins for p in places.values())
    stats.days_in_village = sum(p.days_in_village for p in places.values())
    stats.summaries_submitted = sum(p.summaries for p in places.values())
    stats.summaries_early = sum(p.summaries_early for p in places.values())
    stats.summaries_expected = stats.cadres * due_weeks
    stats.summaries_early_expected = stats.cadres * (len(stats.weeks) - due_weeks)


async def _excused(session: AsyncSession, stats: Stats, scope: Scope,
                   places: dict[int, PlaceFigures]) -> None:
    """Approved leave (storage.leave.excused): the person-days it excused, and the cadre-weeks
    it brings up to the days asked, an excused day counting as present as everywhere else.
    One query more for the few cadres on leave: their weeks' masks."""
    found = await leave.excused(session, start=stats.start, end=stats.end,
                                where=cadres_in(scope))
    stats.excused_days, stats.excused_people = leave.person_days(found), len(found)
    if not found:
        return
    first, last = stats.weeks[0].week_start, stats.weeks[-1].week_start
    rows = (await session.execute(
        select(Person.id, _person_place(scope), CheckinWeek.week_start, CheckinWeek.checked,
               CheckinWeek.inside)
        .outerjoin(CheckinWeek, and_(CheckinWeek.person_id == Person.id,
                                     CheckinWeek.week_start >= first,
                                     CheckinWeek.week_start <= last))
        .where(Person.id.in_(list(found))))).all()
    place_of = {pid: place_id for pid, place_id, *_ in rows}
    masks = {(pid, monday): (checked, inside)
             for pid, _, monday, checked, inside in rows if monday is not None}
    for week in stats.weeks:
        bits = day_mask(stats.start, stats.end, week.week_start)
        sunday = week.week_start + dt.timedelta(days=6)
        for pid, days in found.items():
            off = sum(1 for d in days if week.week_start <= d <= sunday)
            checked, inside = masks.get((pid, week.week_start), (0, 0))
            stayed = (inside & bits).bit_count()
            met_before = checked & bits and stayed >= week.required
            if off and not met_before and stayed + off >= week.required:
                week.compliant += 1
                if place_of.get(pid) in places:
                    places[place_of[pid]].compliant += 1


async def _disputes(
    session: AsyncSession, stats: Stats, scope: Scope, overdue: ColumnElement[bool]
) -> None:
    # Two queries: the period's new disputes (a village's or a township's from its rows, the
    # county's whole weeks from the rollup and the part weeks' days from the rows' covering
    # index, migration 0010), and the ones open now (read whatever the period).
    whole, parts = split_weeks(stats.start, stats.end) if scope.kind == "county" else (
        None, [(stats.start, stats.end)])
    counts = [select(Dispute.category, Dispute.status, func.count())
              .where(Dispute.opened_on >= first, Dispute.opened_on <= last,
                     *record_scope(Dispute, scope))
              .group_by(Dispute.category, Dispute.status) for first, last in parts]
    if whole is not None:
        counts.append(select(DisputeWeek.category, DisputeWeek.status, DisputeWeek.disputes)
                      .where(DisputeWeek.week_start >= whole[0],
                             DisputeWeek.week_start <= whole[1]))
    rows = (await session.execute(union_all(*counts))).all()
    for category, status, new in rows:
        if not new:  # a rollup's key that every dispute has left
            continue
        stats.disputes_by_status[status] = stats.disputes_by_status.get(status, 0) + new
        stats.disputes_by_category[category] = stats.disputes_by_category.get(category, 0) + new
    open_, late = (await session.execute(
        select(func.count(), func.count(case((overdue, Dispute.id))))
        .where(Dispute.status.in_(OPEN), *record_scope(Dispute, scope))
    )).one()
    stats.disputes_open, stats.disputes_overdue = int(open_), int(late)


def _utc_days(low: dt.datetime, high: dt.datetime, county: bool) -> tuple[
        tuple[dt.date, dt.date] | None, list[tuple[dt.datetime, dt.datetime]]]:
    """The whole UTC days from `low` to `high` (first and last; None: none, or not the county,
    whose places read their own index entries) and the hours before and after them."""
    first = dt.datetime.combine(low.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    first += dt.timedelta(days=1) if first < low else dt.timedelta()
    after = dt.datetime.combine(high.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    if not county or first >= after:
        return None, [(low, high)]
    return (first.date(), after.date() - dt.timedelta(days=1)), [
        (a, b) for a, b in ((low, first), (after, high)) if a < b]


async def _problems(session: AsyncSession, stats: Stats, scope: Scope, tz: dt.tzinfo) -> None:
    low, high = local_bounds(stats.start, tz, days=(stats.end - stats.start).days + 1)
    whole, hours = _utc_days(low, high, scope.kind == "county")
    place = record_scope(Problem, scope)
    # Each count read from its own index (an OR would read every problem): the hours at
    # either end from the problems' rows, the whole UTC days between from the rollup.
    raised = [select(func.count()).select_from(Problem)
              .where(Problem.created_at >= a, Problem.created_at < b, *place)
              for a, b in hours]
    solved = [select(func.count()).select_from(Problem)
              .where(Problem.status.in_(SOLVED), Problem.updated_at >= a,
                     Problem.updated_at < b, *place) for a, b in hours]
    if whole is not None:
        days = [ProblemDay.day >= whole[0], ProblemDay.day <= whole[1]]
        total = func.coalesce(func.sum(ProblemDay.problems), 0)
        raised.append(select(total).where(ProblemDay.what == RAISED, *days))
        solved.append(select(total).where(ProblemDay.what == STEPPED,
                                          ProblemDay.status.in_(SOLVED), *days))
    counts = (await session.execute(select(*(q.scalar_subquery() for q in raised + solved)))).one()
    stats.problems_raised = sum(int(n) for n in counts[:len(raised)])
    stats.problems_solved = sum(int(n) for n in counts[len(raised):])


def _filters(scope: Scope) -> dict[str, Any]:
    return {"village_ids": scope.village_ids,
            "township_id": scope.township_id if scope.village_id is None else None}


async def scope_stats(
    session: AsyncSession,
    *,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    tz: dt.tzinfo,
    calendar: CampaignCalendar,
    overdue_days: Mapping[str, int],
    default_overdue_days: int,
    deadline_weekday: int = 6,
    deadline_time: dt.time = dt.time.max,
) -> Stats:
    """Every figure of a scope from `start` to `end` (inclusive), in thirteen queries (one more
    for each part week at either end of the period, and one when someone was on approved
    leave).

    A week's summaries are due at `deadline_weekday`/`deadline_time` local (default: its end)."""
    stats = Stats(scope.kind, scope.name, "township" if scope.kind == "county" else "village",
                  start, end, calendar.min_days, weeks=period_weeks(start, end, calendar),
                  campaign_days=max(0, (min(end, calendar.end)
                                        - max(start, calendar.start)).days + 1))
    places = await _places(session, stats, scope)
    await _visits(session, stats, scope)

    def due(monday: dt.date) -> bool:
        day = monday + dt.timedelta(days=deadline_weekday)
        return dt.datetime.combine(day, deadline_time, tz) <= now

    await _people_weeks(session, stats, scope, places, due)
    await _excused(session, stats, scope, places)
    await _disputes(session, stats, scope,
                    overdue_condition(now, overdue_days, default_overdue_days))
    await _problems(session, stats, scope, tz)
    stats.problems_by_status, stats.problems_overdue = await problem_status_counts(
        session, today=now.astimezone(tz).date(), **_filters(scope))
    stats.aid = await aid_totals(session, start=start, end=end, **_filters(scope))
    stats.publicity = await publicity_totals(session, start=start, end=end, **_filters(scope))
    stats.rectification = await rectification_totals(session, **_filters(scope))
    stats.winter = await winter_totals(session, **_filters(scope))
    stats.cases = await case_totals(session, start=start, end=end, **_filters(scope))
    stats.places = list(places.values())
    return stats


async def visits_per_day(
    session: AsyncSession, *, scope: Scope, start: dt.date, end: dt.date
) -> dict[str, dict[dt.date, int]]:
    """Visits per day per township (county scope) or per village, by place name."""
    if scope.kind == "county":  # the tallies (storage.rollups), by the visits' township
        names: Any = Township
        counts = (select(VisitTally.township_id.label("place"), VisitTally.day.label("day"),
                         func.sum(VisitTally.visits).label("n"))
                  .where(VisitTally.day >= start, VisitTally.day <= end)
                  .group_by(VisitTally.township_id, VisitTally.day).subquery())
    else:
        names = Village
        counts = (select(Visit.village_id.label("place"), Visit.day.label("day"),
                         func.count().label("n"))
                  .where(Visit.day >= start, Visit.day <= end, *record_scope(Visit, scope))
                  .group_by(Visit.village_id, Visit.day).subquery())
    rows = (await session.execute(
        select(names.name, counts.c.day, counts.c.n).join(names, names.id == counts.c.place)
        .order_by(names.name, counts.c.day)
    )).all()
    series: dict[str, dict[dt.date, int]] = {}
    for place, day, count in rows:
        if count:
            series.setdefault(place, {})[day] = int(count)
    return series
