"""One person's week as the console shows it: each day's check-in, the inspections that saw
them, and the records they made that week (visits, disputes, problems, help, the summary).

The week's counts are not here: they are `storage.summaries.figures_between`, the figures of
/me and the weekly summary, and the days approved leave excused are `storage.leave.excused`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.figures import local_bounds
from storage.models import Aid, Checkin, Dispute, Inspection, InspectionCadre, Problem, Visit


@dataclass(frozen=True)
class Seen:
    """An inspection of the person's village on a day of the week: found there or not."""

    inspection: Inspection
    present: bool


@dataclass
class WeekRecords:
    """What a person recorded from `start` to `end`, and what inspections found."""

    checkins: dict[dt.date, Checkin] = field(default_factory=dict)
    inspections: list[Seen] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    aid: list[Aid] = field(default_factory=list)


async def week_records(session: AsyncSession, *, person_id: int, start: dt.date, end: dt.date,
                       tz: dt.tzinfo) -> WeekRecords:
    """A person's check-ins, inspections and records of local days `start`..`end`."""
    found = WeekRecords()
    checkins = await session.scalars(select(Checkin).where(
        Checkin.person_id == person_id, Checkin.day >= start, Checkin.day <= end))
    found.checkins = {row.day: row for row in checkins}
    seen = await session.execute(
        select(Inspection, InspectionCadre.present)
        .join(InspectionCadre, InspectionCadre.inspection_id == Inspection.id)
        .where(InspectionCadre.person_id == person_id, Inspection.day >= start,
               Inspection.day <= end).order_by(Inspection.day, Inspection.id))
    found.inspections = [Seen(row, bool(present)) for row, present in seen.all()]
    found.visits = list(await session.scalars(select(Visit).where(
        Visit.person_id == person_id, Visit.day >= start, Visit.day <= end)
        .order_by(Visit.day, Visit.id)))
    found.disputes = list(await session.scalars(select(Dispute).where(
        Dispute.person_id == person_id, Dispute.opened_on >= start, Dispute.opened_on <= end)
        .order_by(Dispute.opened_on, Dispute.id)))
    # A problem is dated by when it was raised, in local days (as /stats counts it).
    low, high = local_bounds(start, tz, days=(end - start).days + 1)
    found.problems = list(await session.scalars(select(Problem).where(
        Problem.person_id == person_id, Problem.created_at >= low, Problem.created_at < high)
        .order_by(Problem.created_at, Problem.id)))
    found.aid = list(await session.scalars(select(Aid).where(
        Aid.person_id == person_id, Aid.day >= start, Aid.day <= end)
        .order_by(Aid.day, Aid.id)))
    return found
