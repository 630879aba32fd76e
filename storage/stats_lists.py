"""Lists for leaders: laggards of a week, cadres' pairing against their quotas, a team's week,
open disputes and one dispute's history — each in one query.

People follow the roster's current placement of active cadres and team leaders; records
(disputes) the village and township written on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import CampaignCalendar
from storage.disputes import OPEN, steps_of
from storage.figures import CADRE_ROLES, overdue_condition
from storage.inspections import absences
from storage.leave import excused
from storage.models import (
    Checkin,
    Dispute,
    DisputeStep,
    Pairing,
    Person,
    Publicity,
    SessionAbsence,
    Summary,
    Township,
    TrainingAbsence,
    TrainingSession,
    Unit,
    Village,
    Visit,
)
from storage.scope import Scope


def record_scope(model: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on a record (`model` has village_id and township_id) inside a scope."""
    if scope.village_id is not None:
        return [model.village_id == scope.village_id]
    if scope.township_id is not None:
        # The villages too, so that (village_id, day) indexes serve a township's week.
        villages = select(Village.id).where(Village.township_id == scope.township_id)
        return [model.township_id == scope.township_id, model.village_id.in_(villages)]
    return []


def cadres_in(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on Person for the active cadres and team leaders placed inside a scope."""
    return [Person.active.is_(True), Person.role.in_(CADRE_ROLES), *record_scope(Person, scope)]



@dataclass
class Laggard:
    """A cadre behind in a week: too few days in the village, no summary, silent, or absent
    from a mobilisation meeting."""

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
    excused: int = 0  # days of the week approved leave excuses (storage.leave.excused)
    missed: int = 0  # mobilisation meetings of the week the team leader marked them absent from
    absent: int = 0  # inspections of the week that found them away from the village
    trainings: int = 0  # trainings of the week they were recorded absent from


@dataclass
class Laggards:
    """The laggards of a scope in one week, and how many cadres were looked at."""

    week_start: dt.date
    cadres: int
    summary_due: bool
    people: list[Laggard] = field(default_factory=list)
    required: int = 0  # days in the village the week asks (storage.calendar's rule)

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
    now: dt.datetime, calendar: CampaignCalendar, silent_after_days: int,
    summary_due: dt.datetime | None = None,
) -> Laggards:
    """Cadres of a scope behind in the week of `week_start`, in one query (two more when
    someone was on approved leave, which counts as present: storage.leave.excused): too few
    days in the village, no summary, silent, absent from a mobilisation meeting or a training,
    or found away from the village by an inspection.

    A week in progress counts those who can no longer reach the days it asks (storage.calendar:
    fewer in a part week or a holiday week; only campaign days are left); summaries count as
    missing once `summary_due` has passed (default: once the week is over)."""
    end = week_start + dt.timedelta(days=6)
    days = (select(Checkin.person_id.label("pid"),
                   func.count(case((Checkin.in_village.is_(True), 1))).label("days"),
                   func.count(case((Checkin.day == today, 1))).label("today"))
            .where(Checkin.day >= week_start, Checkin.day <= min(end, today))
            .group_by(Checkin.person_id).subquery())
    missed = _absent_from(SessionAbsence.person_id, Publicity,
                          Publicity.id == SessionAbsence.publicity_id, week_start, end)
    away = absences(start=week_start, end=min(end, today)).subquery()
    untrained = _absent_from(TrainingAbsence.person_id, TrainingSession,
                             TrainingSession.id == TrainingAbsence.training_id, week_start, end)
    query = _with_places(select(*_people_columns(), Person.last_seen_at,
                                func.coalesce(days.c.days, 0), func.coalesce(days.c.today, 0),
                                Summary.id, func.coalesce(missed.c.n, 0),
                                func.coalesce(away.c.n, 0), func.coalesce(untrained.c.n, 0)))
    query = (query.outerjoin(days, days.c.pid == Person.id)
             .outerjoin(missed, missed.c.pid == Person.id)
             .outerjoin(away, away.c.pid == Person.id)
             .outerjoin(untrained, untrained.c.pid == Person.id)
             .outerjoin(Summary, and_(Summary.person_id == Person.id,
                                      Summary.week_start == week_start))
             .where(*cadres_in(scope)))
    due = now >= summary_due if summary_due is not None else today > end
    required = calendar.required_days(week_start)
    result = Laggards(week_start, 0, due, required=required)
    rows = (await session.execute(query)).all()
    # Approved leave counts as present: a day excused so far, or still to come.
    leave = await excused(session, where=cadres_in(scope), start=week_start, end=end)
    first_left = max(today, week_start, calendar.start)
    left_days = _days(first_left, min(end, calendar.end))
    for (pid, name, township, village, unit, seen, stayed, today_rows, summary, meetings,
         away_n, trainings) in rows:
        result.cadres += 1
        left = left_days - ({today} if today_rows and first_left == today else set())
        off = leave.get(pid, set())
        silent_days = None if seen is None else (now - seen).days
        person = Laggard(pid, name, township, village, unit, int(stayed),
                         int(stayed) + len(off | left) < required, due and summary is None,
                         silent_days, silent_days is None or silent_days >= silent_after_days,
                         excused=len(off), missed=int(meetings), absent=int(away_n),
                         trainings=int(trainings))
        if (person.short or person.no_summary or person.silent or person.missed
                or person.absent or person.trainings):
            result.people.append(person)
    return result


def _absent_from(person: Any, session_model: Any, on: ColumnElement[bool], start: dt.date,
                 end: dt.date) -> Any:
    """A subquery: per person (`pid`), how many sessions (mobilisation meetings, trainings)
    held from `start` to `end` recorded them absent (`n`)."""
    return (select(person.label("pid"), func.count().label("n")).join(session_model, on)
            .where(session_model.day >= start, session_model.day <= end)
            .group_by(person).subquery())


def _days(first: dt.date, last: dt.date) -> set[dt.date]:
    """Every day from `first` to `last` (none when `last` comes first)."""
    return {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}


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


def outside_teams(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on Person for the county-level leaders of a scope placed in no village (the
    notice gives them households to pair with too): any role, the county's or their
    township's; a village has none."""
    if scope.kind == "village":
        return [false()]
    place = [Person.township_id == scope.township_id] if scope.township_id is not None else []
    return [Person.active.is_(True), Person.village_id.is_(None), Person.rank == "county",
            *place]


async def pairing_gaps(
    session: AsyncSession, *, scope: Scope, quotas: Callable[[str], int]
) -> list[CadrePairs]:
    """Every cadre of a scope, and every county-level leader outside the village teams, with
    their paired households and quota, in one query."""
    counts = (select(Pairing.person_id.label("pid"), func.count().label("n"))
              .group_by(Pairing.person_id).subquery())
    query = _with_places(select(*_people_columns(), Person.rank, func.coalesce(counts.c.n, 0)))
    query = query.outerjoin(counts, counts.c.pid == Person.id).where(
        or_(and_(*cadres_in(scope)), and_(*outside_teams(scope))))
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
    absent: int = 0  # inspections of the week that found them away from the village


async def team_week(
    session: AsyncSession, *, village_id: int, week_start: dt.date, today: dt.date
) -> list[TeamMember]:
    """A village team's members with this week's days in the village, visits, summary and the
    inspections that found them away."""
    last = min(week_start + dt.timedelta(days=6), today)
    away = absences(start=week_start, end=last).subquery()
    days = (select(Checkin.person_id.label("pid"), func.count().label("n"))
            .where(Checkin.day >= week_start, Checkin.day <= last, Checkin.in_village.is_(True))
            .group_by(Checkin.person_id).subquery())
    visits = (select(Visit.person_id.label("pid"), func.count().label("n"))
              .where(Visit.day >= week_start, Visit.day <= last).group_by(Visit.person_id)
              .subquery())
    rows = (await session.execute(
        select(Person.id, Person.name, Person.role, func.coalesce(days.c.n, 0),
               func.coalesce(visits.c.n, 0), Summary.status, func.coalesce(away.c.n, 0))
        .outerjoin(days, days.c.pid == Person.id).outerjoin(visits, visits.c.pid == Person.id)
        .outerjoin(away, away.c.pid == Person.id)
        .outerjoin(Summary, and_(Summary.person_id == Person.id,
                                 Summary.week_start == week_start))
        .where(*cadres_in(Scope("village", village_id=village_id)))
    )).all()
    members = [TeamMember(pid, name, role, int(d), int(v), status, int(a))
               for pid, name, role, d, v, status, a in rows]
    return sorted(members, key=lambda m: (m.role != "team_leader", m.name))


async def members_in(session: AsyncSession, *, scope: Scope) -> list[Person]:
    """The active cadres and team leaders placed inside a scope: by village, the team leader
    first, then by name."""
    found = (await session.scalars(select(Person).where(*cadres_in(scope)))).all()
    # Sorted here: the backends collate text differently.
    return sorted(found, key=lambda p: (p.village_id or 0, p.role != "team_leader", p.name, p.id))


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
        .where(Dispute.status.in_(OPEN), *record_scope(Dispute, scope))
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
        allowed.append(and_(true(), *record_scope(Dispute, scope)))
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
