"""The figures of /stats, /laggards, /pairs, /team and the HTTP API: one number, one query.

Every query aggregates in SQL (GROUP BY township or village) with the indexed day columns
first, so the county costs the same handful of queries as one village.

Scope: figures about records (visits, disputes, problems, help) follow the village and township
written on each record, as every other query does; figures about people (check-ins, days in
the village, weekly summaries, laggards, pairs, teams) follow the roster's current placement
of active cadres and team leaders.

Days in the village: the period is cut at Mondays; a whole week asks `min_days` of a cadre, a
part of d days ceil(min_days × d / 7) (today alone: 1). Weekly summaries: expected = cadres ×
the weeks touched by the period whose deadline has passed; summaries of weeks not yet due are
counted apart, as early ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, false, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.aid import aid_totals
from storage.cases import CaseCounts, case_totals
from storage.disputes import OPEN, steps_of
from storage.figures import CADRE_ROLES, SOLVED, local_bounds, overdue_condition
from storage.models import (
    Checkin,
    Dispute,
    DisputeStep,
    Pairing,
    Person,
    Problem,
    Summary,
    Township,
    Unit,
    Village,
    Visit,
)
from storage.problems import status_counts as problem_status_counts
from storage.publicity import PublicityTotals, publicity_totals
from storage.rectification import RectificationTotals, rectification_totals
from storage.scope import Scope
from storage.winter import WinterSum, winter_totals


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

    @property
    def visits(self) -> int:
        """All visits in the period."""
        return sum(self.visits_by_kind.values())

    @property
    def cadre_days(self) -> int:
        """Check-ins expected: every cadre, every day of the period."""
        return self.cadres * ((self.end - self.start).days + 1)

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


def _record_scope(model: Any, scope: Scope) -> list[ColumnElement[bool]]:
    if scope.village_id is not None:
        return [model.village_id == scope.village_id]
    if scope.township_id is not None:
        # The villages too, so that (village_id, day) indexes serve a township's week.
        villages = select(Village.id).where(Village.township_id == scope.township_id)
        return [model.township_id == scope.township_id, model.village_id.in_(villages)]
    return []


def cadres_in(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on Person for the active cadres and team leaders placed inside a scope."""
    return [Person.active.is_(True), Person.role.in_(CADRE_ROLES), *_record_scope(Person, scope)]


def _person_place(scope: Scope) -> Any:
    return Person.township_id if scope.kind == "county" else Person.village_id


def period_weeks(start: dt.date, end: dt.date, min_days: int) -> list[WeekCompliance]:
    """The Monday weeks the period touches, each with its days inside and the days asked."""
    weeks = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        days = (min(monday + dt.timedelta(days=6), end) - max(monday, start)).days + 1
        weeks.append(WeekCompliance(monday, days, -(-min_days * days // 7)))
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
    rows = (await session.execute(
        select(Visit.kind, Visit.household_category, func.count())
        .where(Visit.day >= stats.start, Visit.day <= stats.end, *_record_scope(Visit, scope))
        .group_by(Visit.kind, Visit.household_category)
    )).all()
    for kind, category, count in rows:
        stats.visits_by_kind[kind] = stats.visits_by_kind.get(kind, 0) + int(count)
        if category is not None:
            stats.visits_by_category[category] = (
                stats.visits_by_category.get(category, 0) + int(count))


def _week_of(column: Any, weeks: list[WeekCompliance]) -> Any:
    """The index in `weeks` of a day column's week (portable: no date functions)."""
    if len(weeks) == 1:
        return literal(0)
    return case(*[(column < literal(later.week_start, Date), i)
                  for i, later in enumerate(weeks[1:])], else_=len(weeks) - 1)


async def _checkins(
    session: AsyncSession, stats: Stats, scope: Scope, places: dict[int, PlaceFigures]
) -> None:
    rows = (select(_person_place(scope).label("place"), Checkin.person_id.label("pid"),
                   _week_of(Checkin.day, stats.weeks).label("week"),
                   Checkin.in_village.label("inside"))
            .join(Person, Person.id == Checkin.person_id)
            .where(Checkin.day >= stats.start, Checkin.day <= stats.end, *cadres_in(scope))
            .subquery())
    per_person = (select(rows.c.place, rows.c.week, func.count().label("n"),
                         func.count(case((rows.c.inside.is_(True), 1))).label("days"))
                  .group_by(rows.c.place, rows.c.pid, rows.c.week).subquery())
    required = case({i: w.required for i, w in enumerate(stats.weeks)}, value=per_person.c.week)
    result = await session.execute(
        select(per_person.c.place, per_person.c.week, func.sum(per_person.c.n),
               func.sum(per_person.c.days), func.count(case((per_person.c.days >= required, 1))))
        .group_by(per_person.c.place, per_person.c.week))
    for place_id, week, count, days, compliant in result.all():
        target = places.get(place_id)
        if target is not None:
            target.checkins += int(count)
            target.days_in_village += int(days)
            target.compliant += int(compliant)
        stats.weeks[int(week)].compliant += int(compliant)
    for target in places.values():
        target.cadre_weeks = target.cadres * len(stats.weeks)
    for week in stats.weeks:
        week.cadres = stats.cadres
    stats.checkins = sum(p.checkins for p in places.values())
    stats.days_in_village = sum(p.days_in_village for p in places.values())


async def _disputes(
    session: AsyncSession, stats: Stats, scope: Scope, overdue: ColumnElement[bool]
) -> None:
    # Two queries, each answered from its own covering index (migration 0010): the period's
    # new disputes, and the ones open now (read whatever the period).
    rows = (await session.execute(
        select(Dispute.category, Dispute.status, func.count())
        .where(Dispute.opened_on >= stats.start, Dispute.opened_on <= stats.end,
               *_record_scope(Dispute, scope))
        .group_by(Dispute.category, Dispute.status)
    )).all()
    for category, status, new in rows:
        stats.disputes_by_status[status] = stats.disputes_by_status.get(status, 0) + new
        stats.disputes_by_category[category] = stats.disputes_by_category.get(category, 0) + new
    open_, late = (await session.execute(
        select(func.count(), func.count(case((overdue, Dispute.id))))
        .where(Dispute.status.in_(OPEN), *_record_scope(Dispute, scope))
    )).one()
    stats.disputes_open, stats.disputes_overdue = int(open_), int(late)


async def _problems(session: AsyncSession, stats: Stats, scope: Scope, tz: dt.tzinfo) -> None:
    low, high = local_bounds(stats.start, tz, days=(stats.end - stats.start).days + 1)
    raised = and_(Problem.created_at >= low, Problem.created_at < high)
    solved = and_(Problem.status.in_(SOLVED), Problem.updated_at >= low, Problem.updated_at < high)
    place = _record_scope(Problem, scope)
    # Two counts, each read from its own index (an OR of the two would read every problem).
    new, done = (await session.execute(select(
        select(func.count()).select_from(Problem).where(raised, *place).scalar_subquery(),
        select(func.count()).select_from(Problem).where(solved, *place).scalar_subquery(),
    ))).one()
    stats.problems_raised, stats.problems_solved = int(new), int(done)


async def _summaries(
    session: AsyncSession, stats: Stats, scope: Scope, places: dict[int, PlaceFigures],
    due: Callable[[dt.date], bool],
) -> None:
    mondays = [w.week_start for w in stats.weeks]
    due_weeks = [m for m in mondays if due(m)]
    early_weeks = [m for m in mondays if m not in due_weeks]
    place = _person_place(scope)
    rows = (await session.execute(
        select(place, func.count(case((Summary.week_start.in_(due_weeks), 1))),
               func.count(case((Summary.week_start.in_(early_weeks), 1))))
        .join(Person, Person.id == Summary.person_id)
        .where(Summary.week_start.in_(mondays), *cadres_in(scope)).group_by(place)
    )).all()
    for place_id, submitted, early in rows:
        if place_id in places:
            places[place_id].summaries, places[place_id].summaries_early = (
                int(submitted), int(early))
    for target in places.values():
        target.summaries_expected = target.cadres * len(due_weeks)
    stats.summaries_submitted = sum(p.summaries for p in places.values())
    stats.summaries_early = sum(p.summaries_early for p in places.values())
    stats.summaries_expected = stats.cadres * len(due_weeks)
    stats.summaries_early_expected = stats.cadres * len(early_weeks)


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
    min_days: int,
    overdue_days: Mapping[str, int],
    default_overdue_days: int,
    deadline_weekday: int = 6,
    deadline_time: dt.time = dt.time.max,
) -> Stats:
    """Every figure of a scope from `start` to `end` (inclusive), in thirteen queries.

    A week's summaries are due at `deadline_weekday`/`deadline_time` local (default: its end)."""
    stats = Stats(scope.kind, scope.name, "township" if scope.kind == "county" else "village",
                  start, end, min_days, weeks=period_weeks(start, end, min_days))
    places = await _places(session, stats, scope)
    await _visits(session, stats, scope)
    await _checkins(session, stats, scope, places)
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

    def due(monday: dt.date) -> bool:
        day = monday + dt.timedelta(days=deadline_weekday)
        return dt.datetime.combine(day, deadline_time, tz) <= now

    await _summaries(session, stats, scope, places, due)
    stats.places = list(places.values())
    return stats


async def visits_per_day(
    session: AsyncSession, *, scope: Scope, start: dt.date, end: dt.date
) -> dict[str, dict[dt.date, int]]:
    """Visits per day per township (county scope) or per village, by place name."""
    key, names = (Visit.township_id, Township) if scope.kind == "county" else (
        Visit.village_id, Village)
    counts = (select(key.label("place"), Visit.day.label("day"), func.count().label("n"))
              .where(Visit.day >= start, Visit.day <= end, *_record_scope(Visit, scope))
              .group_by(key, Visit.day).subquery())
    rows = (await session.execute(
        select(names.name, counts.c.day, counts.c.n).join(names, names.id == counts.c.place)
        .order_by(names.name, counts.c.day)
    )).all()
    series: dict[str, dict[dt.date, int]] = {}
    for place, day, count in rows:
        series.setdefault(place, {})[day] = int(count)
    return series


@dataclass
class Laggard:
    """A cadre behind in a week: too few days in the village, no summary, or silent."""

    person_id: int
    name: str
    township: str
    village: str
    unit: str
    days: int
    short: bool  # below the days in the village (this week: can no longer reach them)
    no_summary: bool  # the week's summary is due and missing
    silent_days: int | None  # None: has never written to the bot
    silent: bool


@dataclass
class Laggards:
    """The laggards of a scope in one week, and how many cadres were looked at."""

    week_start: dt.date
    cadres: int
    summary_due: bool
    people: list[Laggard] = field(default_factory=list)

    def groups(self) -> list[tuple[str, str, list[Laggard]]]:
        """(township, home unit, laggards) in name order."""
        grouped: dict[tuple[str, str], list[Laggard]] = {}
        for person in sorted(self.people, key=lambda p: (p.township, p.unit, p.name)):
            grouped.setdefault((person.township, person.unit), []).append(person)
        return [(township, unit, people) for (township, unit), people in grouped.items()]


def _people_columns() -> list[Any]:
    return [Person.id, Person.name, func.coalesce(Township.name, ""),
            func.coalesce(Village.name, ""), func.coalesce(Unit.name, "")]


def _with_places(query: Any) -> Any:
    return (query.outerjoin(Township, Township.id == Person.township_id)
            .outerjoin(Village, Village.id == Person.village_id)
            .outerjoin(Unit, Unit.id == Person.unit_id))


async def laggards(
    session: AsyncSession, *, scope: Scope, week_start: dt.date, today: dt.date,
    now: dt.datetime, min_days: int, silent_after_days: int,
    summary_due: dt.datetime | None = None,
) -> Laggards:
    """Cadres of a scope behind in the week of `week_start`, in one query.

    A week in progress counts those who can no longer reach `min_days`; summaries count as
    missing once `summary_due` has passed (default: once the week is over)."""
    end = week_start + dt.timedelta(days=6)
    days = (select(Checkin.person_id.label("pid"),
                   func.count(case((Checkin.in_village.is_(True), 1))).label("days"),
                   func.count(case((Checkin.day == today, 1))).label("today"))
            .where(Checkin.day >= week_start, Checkin.day <= min(end, today))
            .group_by(Checkin.person_id).subquery())
    query = _with_places(select(*_people_columns(), Person.last_seen_at,
                                func.coalesce(days.c.days, 0), func.coalesce(days.c.today, 0),
                                Summary.id))
    query = (query.outerjoin(days, days.c.pid == Person.id)
             .outerjoin(Summary, and_(Summary.person_id == Person.id,
                                      Summary.week_start == week_start))
             .where(*cadres_in(scope)))
    due = now >= summary_due if summary_due is not None else today > end
    result = Laggards(week_start, 0, due)
    for pid, name, township, village, unit, seen, stayed, today_rows, summary in (
            await session.execute(query)).all():
        result.cadres += 1
        left = max(0, (end - max(today, week_start)).days + 1) - (1 if today_rows else 0)
        silent_days = None if seen is None else (now - seen).days
        person = Laggard(pid, name, township, village, unit, int(stayed),
                         int(stayed) + max(0, left) < min_days, due and summary is None,
                         silent_days, silent_days is None or silent_days >= silent_after_days)
        if person.short or person.no_summary or person.silent:
            result.people.append(person)
    return result


@dataclass
class CadrePairs:
    """A cadre's paired households against the quota of their rank."""

    person_id: int
    name: str
    township: str
    village: str
    unit: str
    rank: str
    paired: int
    quota: int

    @property
    def short(self) -> int:
        """Households still to pair with."""
        return max(0, self.quota - self.paired)


@dataclass
class PairGroup:
    """A township's or unit's pairing: households paired up to each quota, of the quotas."""

    name: str
    cadres: int = 0
    met: int = 0
    quota: int = 0
    short: list[CadrePairs] = field(default_factory=list)


def pair_groups(cadres: list[CadrePairs], key: Callable[[CadrePairs], str]) -> list[PairGroup]:
    """Cadres' pairing summed per township or unit, by name."""
    groups: dict[str, PairGroup] = {}
    for cadre in sorted(cadres, key=lambda c: (key(c), c.name)):
        group = groups.setdefault(key(cadre), PairGroup(key(cadre)))
        group.cadres += 1
        group.met += min(cadre.paired, cadre.quota)
        group.quota += cadre.quota
        if cadre.short:
            group.short.append(cadre)
    return list(groups.values())


async def pairing_gaps(
    session: AsyncSession, *, scope: Scope, quotas: Callable[[str], int]
) -> list[CadrePairs]:
    """Every cadre of a scope with their paired households and quota, in one query."""
    counts = (select(Pairing.person_id.label("pid"), func.count().label("n"))
              .group_by(Pairing.person_id).subquery())
    query = _with_places(select(*_people_columns(), Person.rank, func.coalesce(counts.c.n, 0)))
    query = query.outerjoin(counts, counts.c.pid == Person.id).where(*cadres_in(scope))
    found = [CadrePairs(pid, name, township, village, unit, rank, int(n), quotas(rank))
             for pid, name, township, village, unit, rank, n in (await session.execute(query))]
    return sorted(found, key=lambda c: (c.township, c.village, c.name))


@dataclass
class TeamMember:
    """A team member's week so far."""

    person_id: int
    name: str
    role: str
    days: int
    visits: int
    summary: str | None  # the summary's status; None: not submitted


async def team_week(
    session: AsyncSession, *, village_id: int, week_start: dt.date, today: dt.date
) -> list[TeamMember]:
    """A village team's members with this week's days in the village, visits and summary."""
    last = min(week_start + dt.timedelta(days=6), today)
    days = (select(Checkin.person_id.label("pid"), func.count().label("n"))
            .where(Checkin.day >= week_start, Checkin.day <= last, Checkin.in_village.is_(True))
            .group_by(Checkin.person_id).subquery())
    visits = (select(Visit.person_id.label("pid"), func.count().label("n"))
              .where(Visit.day >= week_start, Visit.day <= last).group_by(Visit.person_id)
              .subquery())
    rows = (await session.execute(
        select(Person.id, Person.name, Person.role, func.coalesce(days.c.n, 0),
               func.coalesce(visits.c.n, 0), Summary.status)
        .outerjoin(days, days.c.pid == Person.id).outerjoin(visits, visits.c.pid == Person.id)
        .outerjoin(Summary, and_(Summary.person_id == Person.id,
                                 Summary.week_start == week_start))
        .where(*cadres_in(Scope("village", village_id=village_id)))
    )).all()
    members = [TeamMember(pid, name, role, int(d), int(v), status)
               for pid, name, role, d, v, status in rows]
    return sorted(members, key=lambda m: (m.role != "team_leader", m.name))


@dataclass
class OpenDispute:
    """An open dispute as a leader's list shows it."""

    dispute: Dispute
    village: str
    reporter: str
    overdue: bool


def _dispute_rows(
    now: dt.datetime, overdue_days: Mapping[str, int], default_overdue_days: int
) -> Any:
    overdue = overdue_condition(now, overdue_days, default_overdue_days)
    return (select(Dispute, func.coalesce(Village.name, ""), Person.name, overdue)
            .outerjoin(Village, Village.id == Dispute.village_id)
            .join(Person, Person.id == Dispute.person_id))


async def open_disputes_in(
    session: AsyncSession, *, scope: Scope, now: dt.datetime, overdue_days: Mapping[str, int],
    default_overdue_days: int,
) -> list[OpenDispute]:
    """The open disputes of a scope, oldest first, each marked overdue or not, in one query."""
    rows = (await session.execute(
        _dispute_rows(now, overdue_days, default_overdue_days)
        .where(Dispute.status.in_(OPEN), *_record_scope(Dispute, scope))
        .order_by(Dispute.opened_on, Dispute.id)
    )).all()
    return [OpenDispute(d, village, reporter, bool(late)) for d, village, reporter, late in rows]


async def dispute_in(
    session: AsyncSession, *, dispute_id: int, scope: Scope | None, reporter_id: int | None,
    now: dt.datetime, overdue_days: Mapping[str, int], default_overdue_days: int,
) -> OpenDispute | None:
    """A dispute (any status) if it lies inside `scope` or `reporter_id` reported it."""
    allowed: list[ColumnElement[bool]] = []
    if scope is not None:
        allowed.append(and_(true(), *_record_scope(Dispute, scope)))
    if reporter_id is not None:
        allowed.append(Dispute.person_id == reporter_id)
    row = (await session.execute(
        _dispute_rows(now, overdue_days, default_overdue_days)
        .where(Dispute.id == dispute_id, or_(false(), *allowed))
    )).first()
    return None if row is None else OpenDispute(row[0], row[1], row[2], bool(row[3]))


async def dispute_history(
    session: AsyncSession, *, dispute_id: int
) -> list[tuple[DisputeStep, str]]:
    """A dispute's steps in order, each with the name of who took it."""
    steps = await steps_of(session, dispute_id=dispute_id)
    ids = {s.by_person_id for s in steps if s.by_person_id is not None}
    rows = (await session.execute(
        select(Person.id, Person.name).where(Person.id.in_(ids)))).all() if ids else []
    names = {person_id: name for person_id, name in rows}
    return [(s, names.get(s.by_person_id or 0, "")) for s in steps]
