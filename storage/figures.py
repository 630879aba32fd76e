"""Per-village and per-township figures for digests and reports, a fixed number of queries each.

Every query groups by village or township, so the evening's digests for 600 teams cost the same
handful of queries as one team's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leave
from storage.calendar import CampaignCalendar
from storage.disputes import OPEN
from storage.models import (
    Checkin,
    Dispute,
    Person,
    Problem,
    Summary,
    Township,
    UTCDateTime,
    Village,
    Visit,
)
from storage.problems import overdue_by_village
from storage.publicity import PublicityTotals, publicity_by_village

CADRE_ROLES = ("cadre", "team_leader")
SOLVED = ("solved", "feedback", "checked")


@dataclass
class MemberDay:
    """One team member's day: their check-in, and when they last wrote to the bot."""

    person_id: int
    name: str
    role: str
    in_village: bool | None  # None: no check-in
    reason: str | None
    silent_days: int | None  # None: has never written to the bot
    excused: bool = False  # on approved leave and not in the village (storage.leave.excused)


@dataclass
class VillageDay:
    """A village team's day, as the evening digest shows it."""

    village_id: int
    village: str
    township_id: int
    township: str
    members: list[MemberDay] = field(default_factory=list)
    visits_by_kind: dict[str, int] = field(default_factory=dict)
    disputes_new: int = 0
    disputes_open: int = 0
    disputes_overdue: int = 0
    problems_raised: int = 0
    problems_solved: int = 0
    problems_overdue: list[Problem] = field(default_factory=list)  # by priority, then age
    publicity: PublicityTotals = field(default_factory=PublicityTotals)

    @property
    def checked_in(self) -> int:
        """Members with a check-in today (in the village or away)."""
        return sum(1 for m in self.members if m.in_village is not None)

    @property
    def missing(self) -> list[MemberDay]:
        """Members without a check-in today and not on approved leave."""
        return [m for m in self.members if m.in_village is None and not m.excused]

    @property
    def excused(self) -> list[MemberDay]:
        """Members approved leave excuses today."""
        return [m for m in self.members if m.excused]

    def silent(self, after_days: int) -> list[MemberDay]:
        """Members who have not written to the bot for `after_days` days or more."""
        return [m for m in self.members if m.silent_days is None or m.silent_days >= after_days]

    def badness(self, silent_after_days: int) -> tuple[int, int, int, str]:
        """Sort key, worst first: missing check-ins, overdue disputes, silent members."""
        return (-len(self.missing), -self.disputes_overdue,
                -len(self.silent(silent_after_days)), self.village)


def local_bounds(day: dt.date, tz: dt.tzinfo, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which local `day` begins and `days` later ends."""
    low = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    high = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tz).astimezone(dt.UTC)
    return low, high


def overdue_condition(
    now: dt.datetime, overdue_days: Mapping[str, int], default_days: int
) -> ColumnElement[bool]:
    """True for a dispute whose last step is older than its category's allowance."""

    def before(days: int) -> ColumnElement[Any]:
        return literal(now - dt.timedelta(days=days), UTCDateTime())

    special = [(Dispute.category == category, before(days))
               for category, days in overdue_days.items() if category != "default"]
    cutoff = case(*special, else_=before(default_days)) if special else before(default_days)
    return and_(Dispute.status.in_(OPEN), Dispute.last_step_at < cutoff)


async def _villages(
    session: AsyncSession, village_ids: Iterable[int] | None, township_ids: Iterable[int] | None
) -> dict[int, VillageDay]:
    query = select(Village.id, Village.name, Township.id, Township.name).join(
        Township, Township.id == Village.township_id)
    if village_ids is not None:
        query = query.where(Village.id.in_(list(village_ids)))
    if township_ids is not None:
        query = query.where(Village.township_id.in_(list(township_ids)))
    rows = (await session.execute(query.order_by(Village.name))).all()
    return {vid: VillageDay(vid, vname, tid, tname) for vid, vname, tid, tname in rows}


async def _members(
    session: AsyncSession, days: dict[int, VillageDay], day: dt.date, now: dt.datetime
) -> None:
    people = (await session.execute(
        select(Person.id, Person.name, Person.role, Person.village_id, Person.last_seen_at)
        .where(Person.active.is_(True), Person.role.in_(CADRE_ROLES),
               Person.village_id.in_(list(days)))
        .order_by(Person.role.desc(), Person.name)
    )).all()
    checkins = {
        pid: (in_village, reason)
        for pid, in_village, reason in (await session.execute(
            select(Checkin.person_id, Checkin.in_village, Checkin.reason)
            .where(Checkin.day == day, Checkin.village_id.in_(list(days)))
        )).all()
    }
    off = await leave.excused(session, person_ids=[row[0] for row in people], start=day,
                              end=day)
    for pid, name, role, village_id, seen in people:
        in_village, reason = checkins.get(pid, (None, None))
        silent = None if seen is None else (now - _aware(seen)).days
        _of(days, village_id).members.append(
            MemberDay(pid, name, role, in_village, reason, silent, excused=pid in off))


def _of(days: dict[int, VillageDay], village_id: int | None) -> VillageDay:
    assert village_id is not None  # every query filters on the villages in scope
    return days[village_id]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _visits(session: AsyncSession, days: dict[int, VillageDay], day: dt.date) -> None:
    rows = (await session.execute(
        select(Visit.village_id, Visit.kind, func.count())
        .where(Visit.day == day, Visit.village_id.in_(list(days)))
        .group_by(Visit.village_id, Visit.kind)
    )).all()
    for village_id, kind, count in rows:
        _of(days, village_id).visits_by_kind[kind] = int(count)


async def _disputes(
    session: AsyncSession, days: dict[int, VillageDay], day: dt.date,
    now: dt.datetime, overdue_days: Mapping[str, int], default_days: int,
) -> None:
    overdue = overdue_condition(now, overdue_days, default_days)
    rows = (await session.execute(
        select(
            Dispute.village_id,
            func.count(case((Dispute.opened_on == day, Dispute.id))),
            func.count(case((Dispute.status.in_(OPEN), Dispute.id))),
            func.count(case((overdue, Dispute.id))),
        )
        .where(Dispute.village_id.in_(list(days)))
        .where((Dispute.opened_on == day) | Dispute.status.in_(OPEN))
        .group_by(Dispute.village_id)
    )).all()
    for village_id, new, open_, late in rows:
        target = _of(days, village_id)
        target.disputes_new, target.disputes_open, target.disputes_overdue = (
            int(new), int(open_), int(late))


async def _problems(
    session: AsyncSession, days: dict[int, VillageDay], low: dt.datetime, high: dt.datetime
) -> None:
    raised = and_(Problem.created_at >= low, Problem.created_at < high)
    solved = and_(Problem.status.in_(SOLVED), Problem.updated_at >= low,
                  Problem.updated_at < high)
    # One count at a time, each read from its own index (an OR of the two reads every problem).
    for field_name, condition in (("problems_raised", raised), ("problems_solved", solved)):
        rows = (await session.execute(
            select(Problem.village_id, func.count())
            .where(Problem.village_id.in_(list(days)), condition)
            .group_by(Problem.village_id)
        )).all()
        for village_id, count in rows:
            setattr(_of(days, village_id), field_name, int(count))


async def village_days(
    session: AsyncSession,
    *,
    day: dt.date,
    now: dt.datetime,
    tz: dt.tzinfo,
    overdue_days: Mapping[str, int],
    default_overdue_days: int,
    village_ids: Iterable[int] | None = None,
    township_ids: Iterable[int] | None = None,
) -> dict[int, VillageDay]:
    """Each village's day in scope (all villages when no scope is given), in nine queries (one
    or two more for approved leave)."""
    days = await _villages(session, village_ids, township_ids)
    if not days:
        return days
    await _members(session, days, day, now)
    await _visits(session, days, day)
    await _disputes(session, days, day, now, overdue_days, default_overdue_days)
    low, high = local_bounds(day, tz)
    await _problems(session, days, low, high)
    late = await overdue_by_village(session, today=day, village_ids=list(days))
    for late_in, problems in late.items():
        _of(days, late_in).problems_overdue = problems
    found = await publicity_by_village(session, start=day, end=day, village_ids=list(days))
    for village_id, totals in found.items():
        _of(days, village_id).publicity = totals
    return days


@dataclass
class TownshipWeek:
    """A township's week for the county report."""

    township_id: int
    township: str
    cadres: int = 0
    compliant: int = 0  # cadres with at least the minimum days in the village
    summaries: int = 0
    excused: int = 0  # person-days approved leave excused (storage.leave.excused)

    @property
    def compliance(self) -> float:
        """Share of cadres who stayed the minimum days, in percent."""
        return 100.0 * self.compliant / self.cadres if self.cadres else 0.0

    @property
    def completeness(self) -> float:
        """Share of expected weekly summaries submitted, in percent."""
        return 100.0 * self.summaries / self.cadres if self.cadres else 0.0


async def township_weeks(
    session: AsyncSession, *, week_start: dt.date, calendar: CampaignCalendar
) -> list[TownshipWeek]:
    """Per township: cadres, how many met the days the week asks (storage.calendar's rule),
    how many summaries came in."""
    weeks = {tid: TownshipWeek(tid, name) for tid, name in (await session.execute(
        select(Township.id, Township.name).order_by(Township.name))).all()}
    cadre = and_(Person.active.is_(True), Person.role.in_(CADRE_ROLES))
    for tid, count in (await session.execute(
        select(Person.township_id, func.count()).where(cadre).group_by(Person.township_id)
    )).all():
        if tid in weeks:
            weeks[tid].cadres = int(count)
    end = week_start + dt.timedelta(days=6)
    per_person = (
        select(Checkin.person_id.label("pid"))
        .where(Checkin.in_village.is_(True), Checkin.day >= week_start, Checkin.day <= end)
        .group_by(Checkin.person_id)
        .having(func.count() >= calendar.required_days(week_start))
        .subquery()
    )
    for tid, count in (await session.execute(
        select(Person.township_id, func.count()).join(per_person, per_person.c.pid == Person.id)
        .where(cadre).group_by(Person.township_id)
    )).all():
        if tid in weeks:
            weeks[tid].compliant = int(count)
    await _excused_weeks(session, weeks, week_start=week_start,
                         required=calendar.required_days(week_start))
    for tid, count in (await session.execute(
        select(Person.township_id, func.count()).join(Summary, Summary.person_id == Person.id)
        .where(cadre, Summary.week_start == week_start).group_by(Person.township_id)
    )).all():
        if tid in weeks:
            weeks[tid].summaries = int(count)
    return [w for w in weeks.values() if w.cadres]


async def _excused_weeks(session: AsyncSession, weeks: dict[int, TownshipWeek], *,
                         week_start: dt.date, required: int) -> None:
    """Approved leave's excused person-days per township, and the cadres it brings up to the
    days the week asks (an excused day counts as present, as in /stats)."""
    cadre = and_(Person.active.is_(True), Person.role.in_(CADRE_ROLES))
    end = week_start + dt.timedelta(days=6)
    found = await leave.excused(session, start=week_start, end=end, where=[cadre])
    if not found:
        return
    stayed = dict((await session.execute(
        select(Checkin.person_id, func.count())
        .where(Checkin.in_village.is_(True), Checkin.day >= week_start, Checkin.day <= end,
               Checkin.person_id.in_(list(found)))
        .group_by(Checkin.person_id))).all())
    for pid, tid in (await session.execute(
            select(Person.id, Person.township_id).where(Person.id.in_(list(found))))).all():
        if tid not in weeks:
            continue
        days, off = int(stayed.get(pid, 0)), len(found[pid])
        weeks[tid].excused += off
        if days < required <= days + off:
            weeks[tid].compliant += 1


async def disputes_by_category_status(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Every dispute of the campaign counted by (category, status)."""
    rows = (await session.execute(
        select(Dispute.category, Dispute.status, func.count())
        .group_by(Dispute.category, Dispute.status)
    )).all()
    return {(category, status): int(count) for category, status, count in rows}


async def village_names(session: AsyncSession) -> dict[int, str]:
    """Every village's name by id."""
    rows = (await session.execute(select(Village.id, Village.name))).all()
    return {village_id: name for village_id, name in rows}
