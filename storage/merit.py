"""Commendation and criticism: per cadre, and per home unit, the figures a notice judges by.

Days in the village (and the cadre-weeks at the weekly minimum), visits, disputes resolved, help
given and weekly summaries in on time, over a period. One grouped query per figure family, each
grouped by person; a unit's figures are its cadres' summed in Python, so the cost does not grow
with the number of units. Cadres are the active cadres and team leaders, placed in their unit
as the roster has them now. A day approved leave excuses counts as present when a week is judged
against its minimum, never against the cadre (storage.leave.excused).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, and_, case, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leave
from storage.calendar import CampaignCalendar
from storage.figures import CADRE_ROLES, local_bounds
from storage.models import Aid, Checkin, Dispute, DisputeStep, Person, Summary, Unit, Visit
from storage.stats import WeekCompliance, period_weeks


@dataclass
class Merit:
    """A unit's or a cadre's figures over the period."""

    key: int  # the unit's id, or the person's
    name: str
    cadres: int = 0
    days: int = 0  # days in the village
    weeks_met: int = 0  # cadre-weeks at the minimum
    weeks: int = 0  # cadre-weeks in the period
    visits: int = 0
    resolved: int = 0
    aid: int = 0
    on_time: int = 0  # weekly summaries in by their deadline
    due: int = 0  # weekly summaries due
    excused: int = 0  # days approved leave excused: present for the weeks at the minimum

    @property
    def days_share(self) -> float:
        """Cadre-weeks at the minimum days, in percent (NaN: no weeks)."""
        return 100.0 * self.weeks_met / self.weeks if self.weeks else math.nan

    @property
    def summaries_share(self) -> float:
        """Due weekly summaries in on time, in percent (NaN: none due yet)."""
        return 100.0 * self.on_time / self.due if self.due else math.nan

    def add(self, other: Merit) -> None:
        """Count a cadre's figures into the unit's."""
        self.cadres += other.cadres
        for name in ("days", "weeks_met", "weeks", "visits", "resolved", "aid", "on_time",
                     "due", "excused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Period:
    """What the figures cover, and when weekly summaries fall due."""

    start: dt.date
    end: dt.date
    now: dt.datetime
    tz: dt.tzinfo
    calendar: CampaignCalendar  # the days each week asks (storage.calendar's one rule)
    deadline_weekday: int
    deadline_time: dt.time

    def deadline(self, monday: dt.date) -> dt.datetime:
        """When the weekly summary of the week starting `monday` is due."""
        day = monday + dt.timedelta(days=self.deadline_weekday)
        return dt.datetime.combine(day, self.deadline_time, self.tz)


# Each cadre's figures with their unit id, by person id.
Found = dict[int, tuple[Merit, int | None]]


def _week_index(column: Any, weeks: list[WeekCompliance]) -> Any:
    """The index in `weeks` of a day column's week (portable: no date functions)."""
    if len(weeks) == 1:
        return literal(0)
    return case(*[(column < literal(later.week_start, Date), i)
                  for i, later in enumerate(weeks[1:])], else_=len(weeks) - 1)


async def _cadres(session: AsyncSession, unit_id: int | None) -> Found:
    query = select(Person.id, Person.name, Person.unit_id).where(
        Person.active.is_(True), Person.role.in_(CADRE_ROLES))
    if unit_id is not None:
        query = query.where(Person.unit_id == unit_id)
    rows = (await session.execute(query)).all()
    return {pid: (Merit(pid, name, cadres=1), uid) for pid, name, uid in rows}


def _count_into(found: Found, rows: Any, field: str) -> None:
    for pid, count in rows:
        if pid in found:
            setattr(found[pid][0], field, int(count))


async def _checkins(session: AsyncSession, found: Found,
                    period: Period, weeks: list[WeekCompliance]) -> None:
    rows = (select(Checkin.person_id.label("pid"),
                   _week_index(Checkin.day, weeks).label("week"),
                   Checkin.in_village.label("inside"))
            .where(Checkin.day >= period.start, Checkin.day <= period.end,
                   Checkin.person_id.in_(list(found)))
            .subquery())
    per_week = (select(rows.c.pid, rows.c.week,
                       func.count(case((rows.c.inside.is_(True), 1))).label("days"))
                .group_by(rows.c.pid, rows.c.week).subquery())
    required = case({i: w.required for i, w in enumerate(weeks)}, value=per_week.c.week)
    result = (await session.execute(
        select(per_week.c.pid, func.sum(per_week.c.days),
               func.count(case((per_week.c.days >= required, 1))))
        .group_by(per_week.c.pid))).all()
    for pid, days, met in result:
        if pid in found:
            found[pid][0].days, found[pid][0].weeks_met = int(days), int(met)


async def _excused(session: AsyncSession, found: Found,
                   period: Period, weeks: list[WeekCompliance]) -> None:
    """Approved leave counts as present (storage.leave.excused): the weeks of a cadre with
    excused days are judged again with them; pending or declined leave excuses nothing."""
    off = await leave.excused(session, person_ids=list(found), start=period.start,
                              end=period.end)
    if not off:
        return
    rows = (await session.execute(
        select(Checkin.person_id, Checkin.day, Checkin.in_village)
        .where(Checkin.day >= period.start, Checkin.day <= period.end,
               Checkin.person_id.in_(list(off))))).all()
    first = weeks[0].week_start

    def week_of(day: dt.date) -> int:
        return (day - first).days // 7

    stayed: Counter[tuple[int, int]] = Counter()
    for pid, day, inside in rows:
        stayed[(pid, week_of(day))] += 1 if inside else 0  # a key: checked in that week
    for pid, days in off.items():
        excused = Counter(week_of(day) for day in days)
        merit = found[pid][0]
        merit.excused = len(days)
        merit.weeks_met = sum(
            1 for i, week in enumerate(weeks)
            if ((pid, i) in stayed or excused[i])
            and stayed[(pid, i)] + excused[i] >= week.required)


async def _records(session: AsyncSession, found: Found,
                   period: Period) -> None:
    ids = list(found)
    for model, field in ((Visit, "visits"), (Aid, "aid")):
        _count_into(found, (await session.execute(
            select(model.person_id, func.count()).where(
                model.day >= period.start, model.day <= period.end, model.person_id.in_(ids))
            .group_by(model.person_id))).all(), field)
    low, high = local_bounds(period.start, period.tz, days=(period.end - period.start).days + 1)
    _count_into(found, (await session.execute(
        select(Dispute.person_id, func.count(func.distinct(DisputeStep.dispute_id)))
        .join(Dispute, Dispute.id == DisputeStep.dispute_id)
        .where(DisputeStep.status == "resolved", DisputeStep.at >= low, DisputeStep.at < high,
               Dispute.person_id.in_(ids))
        .group_by(Dispute.person_id))).all(), "resolved")


async def _summaries(session: AsyncSession, found: Found,
                     period: Period, due: list[dt.date]) -> None:
    on_time = or_(false(), *[and_(Summary.week_start == monday,
                                  Summary.submitted_at <= period.deadline(monday))
                             for monday in due])
    _count_into(found, (await session.execute(
        select(Summary.person_id, func.count(case((on_time, 1))))
        .where(Summary.week_start.in_(due), Summary.person_id.in_(list(found)))
        .group_by(Summary.person_id))).all(), "on_time")


async def cadre_merits(
    session: AsyncSession, *, period: Period, unit_id: int | None = None
) -> Found:
    """Every cadre's figures (of one unit, when given), with their unit id: five queries (three
    more when someone was on approved leave)."""
    found = await _cadres(session, unit_id)
    if not found:
        return found
    weeks = period_weeks(period.start, period.end, period.calendar)
    due = [w.week_start for w in weeks if period.deadline(w.week_start) <= period.now]
    for merit, _ in found.values():
        merit.weeks, merit.due = len(weeks), len(due)
    await _checkins(session, found, period, weeks)
    await _excused(session, found, period, weeks)
    await _records(session, found, period)
    if due:
        await _summaries(session, found, period, due)
    return found


async def unit_merits(session: AsyncSession, *, period: Period) -> list[Merit]:
    """Every home unit's figures: its cadres' summed (units without cadres are left out)."""
    cadres = await cadre_merits(session, period=period)
    names = dict((await session.execute(select(Unit.id, Unit.name))).all())
    units: dict[int, Merit] = {}
    for merit, unit_id in cadres.values():
        if unit_id is None:
            continue
        units.setdefault(unit_id, Merit(unit_id, names.get(unit_id, ""))).add(merit)
    return list(units.values())


def _zero(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def rank_key(merit: Merit) -> tuple[float, float, float, int, int, str]:
    """Best first: weeks at the minimum, summaries on time, visits per cadre, disputes
    resolved, help given; then by name."""
    per_cadre = merit.visits / merit.cadres if merit.cadres else 0.0
    return (-_zero(merit.days_share), -_zero(merit.summaries_share), -per_cadre,
            -merit.resolved, -merit.aid, merit.name)


def ranked(merits: list[Merit]) -> list[Merit]:
    """The units or cadres, best first."""
    return sorted(merits, key=rank_key)


def meets(merit: Merit, *, min_days_share: int, min_summaries_share: int) -> bool:
    """At or above both thresholds (a share with nothing to count meets it)."""
    days, summaries = merit.days_share, merit.summaries_share
    return ((math.isnan(days) or days >= min_days_share)
            and (math.isnan(summaries) or summaries >= min_summaries_share))


def commended(merits: list[Merit], *, min_days_share: int, min_summaries_share: int,
              top: int) -> list[Merit]:
    """Whom a commendation names: the best `top` of the ranked `merits` that meet both
    thresholds."""
    return [m for m in merits if meets(m, min_days_share=min_days_share,
                                       min_summaries_share=min_summaries_share)][:top]


def criticised(merits: list[Merit], *, min_days_share: int, min_summaries_share: int,
               limit: int) -> list[tuple[Merit, list[str]]]:
    """Whom a criticism names, the worst of the ranked `merits` first (at most `limit`), with
    what each fell short of (see shortfalls)."""
    short = [(m, shortfalls(m, min_days_share=min_days_share,
                            min_summaries_share=min_summaries_share)) for m in reversed(merits)]
    return [(m, reasons) for m, reasons in short if reasons][:limit]


def shortfalls(merit: Merit, *, min_days_share: int, min_summaries_share: int) -> list[str]:
    """What a criticism names: 'days' and/or 'summaries' below their threshold."""
    found = []
    if not math.isnan(merit.days_share) and merit.days_share < min_days_share:
        found.append("days")
    if not math.isnan(merit.summaries_share) and merit.summaries_share < min_summaries_share:
        found.append("summaries")
    return found

