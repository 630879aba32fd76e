"""Daily check-ins: days in the village are counted from these."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.db import dialect_name
from storage.models import Checkin, Inspection, InspectionCadre, Person

# The reason of a day an inspection found the cadre away from the village (督查时不在村): set
# by `strike` when the inspection is saved, never picked; the day no longer counts.
INSPECTED_AWAY = "inspected_away"


class StruckDay(Exception):
    """A check-in in the village for a day an inspection found the person away: the
    inspection's finding is the record of that day."""


async def for_day(session: AsyncSession, *, person_id: int, day: dt.date) -> Checkin | None:
    """A person's check-in for one day, if any."""
    result = await session.execute(
        select(Checkin).where(Checkin.person_id == person_id, Checkin.day == day)
    )
    return result.scalar_one_or_none()


async def check_in(
    session: AsyncSession,
    *,
    person: Person,
    day: dt.date,
    in_village: bool,
    reason: str | None,
    now: dt.datetime,
) -> tuple[Checkin, Checkin | None]:
    """Record the day (one row per person and day); returns it and a copy of what it replaced.
    Raises StruckDay, changing nothing, for a day in the village an inspection found the person
    away (a day away is still recorded)."""
    if in_village and await found_away(session, day=day, person_ids=[person.id]):
        raise StruckDay
    row = await for_day(session, person_id=person.id, day=day)
    before = None
    if row is None:
        row = Checkin(person_id=person.id, day=day, created_at=now)
        session.add(row)
    else:
        before = Checkin(in_village=row.in_village, reason=row.reason)
    row.village_id = person.village_id
    row.township_id = person.township_id
    row.unit_id = person.unit_id
    row.in_village = in_village
    row.reason = None if in_village else reason
    row.updated_at = now
    await session.flush()
    return row, before


def status_code(row: Checkin) -> str:
    """A check-in's state as the audit trail keeps it: "village" or "away:<reason>"."""
    return "village" if row.in_village else f"away:{row.reason}"


async def found_away(
    session: AsyncSession, *, day: dt.date, person_ids: Iterable[int]
) -> set[int]:
    """Of `person_ids`, who an inspection of `day` found away from the village."""
    result = await session.execute(
        select(InspectionCadre.person_id)
        .join(Inspection, Inspection.id == InspectionCadre.inspection_id)
        .where(Inspection.day == day, InspectionCadre.present.is_(False),
               InspectionCadre.person_id.in_(list(person_ids))))
    return set(result.scalars())


async def strike(
    session: AsyncSession, *, person_ids: Iterable[int], day: dt.date, by: Person,
    now: dt.datetime,
) -> list[int]:
    """An inspection of `day` found `person_ids` away: each one's check-in in the village that
    day becomes away (INSPECTED_AWAY), with an audit entry by `by` (the supervisor), through the
    ORM so the rollups follow. A day without a check-in gets none (it counts already not).
    Returns whose days were struck.

    Their person rows are locked first (PostgreSQL; in id order), as each of their own turns
    locks theirs (handlers/router.py): a check-in racing the inspection either commits before
    and is struck here, or waits and then sees the inspection and is refused (StruckDay)."""
    ids = sorted(set(person_ids))
    if ids and dialect_name(session) == "postgresql":
        await session.execute(select(Person.id).where(Person.id.in_(ids))
                              .order_by(Person.id).with_for_update())
    rows = (await session.execute(select(Checkin).where(
        Checkin.person_id.in_(ids), Checkin.day == day,
        Checkin.in_village.is_(True)).order_by(Checkin.person_id))).scalars().all()
    for row in rows:
        old = status_code(row)
        row.in_village, row.reason, row.updated_at = False, INSPECTED_AWAY, now
        await record_audit(session, actor_id=by.id, entity="checkin", entity_id=row.id,
                           action="correct", field="status", old=old, new=status_code(row),
                           at=now)
    await session.flush()
    return [row.person_id for row in rows]


async def set_location(
    session: AsyncSession, *, checkin: Checkin, latitude: float, longitude: float, now: dt.datetime
) -> None:
    """Attach a shared location to a check-in."""
    checkin.latitude = latitude
    checkin.longitude = longitude
    checkin.updated_at = now


def days_in_village(person_id: int | BindParameter[Any], start: dt.date | BindParameter[Any],
                    end: dt.date | BindParameter[Any]) -> Select[int]:
    """The count of days from `start` to `end` (inclusive) on which the person checked in as
    in the village (a statement, read with a person's other figures; values or parameters)."""
    return select(func.count()).where(
        Checkin.person_id == person_id,
        Checkin.in_village.is_(True),
        Checkin.day >= start,
        Checkin.day <= end,
    )


async def days_in_village_by_person(
    session: AsyncSession, *, person_ids: list[int], start: dt.date, end: dt.date
) -> dict[int, int]:
    """Days in the village per person over a period, in one query."""
    result = await session.execute(
        select(Checkin.person_id, func.count())
        .where(
            Checkin.person_id.in_(person_ids),
            Checkin.in_village.is_(True),
            Checkin.day >= start,
            Checkin.day <= end,
        )
        .group_by(Checkin.person_id)
    )
    return {person_id: int(count) for person_id, count in result.all()}


async def village_days_by_person(
    session: AsyncSession, *, person_ids: list[int], start: dt.date, end: dt.date
) -> dict[int, set[dt.date]]:
    """The days in the village per person over a period."""
    result = await session.execute(
        select(Checkin.person_id, Checkin.day).where(
            Checkin.person_id.in_(person_ids), Checkin.in_village.is_(True),
            Checkin.day >= start, Checkin.day <= end))
    found: dict[int, set[dt.date]] = {}
    for person_id, day in result.all():
        found.setdefault(person_id, set()).add(day)
    return found


async def people_with_checkin(
    session: AsyncSession, *, day: dt.date, reason: str | None = None
) -> set[int]:
    """Who has a check-in for `day` (only those away for `reason`, when given)."""
    query = select(Checkin.person_id).where(Checkin.day == day)
    if reason is not None:
        query = query.where(Checkin.in_village.is_(False), Checkin.reason == reason)
    return set((await session.execute(query)).scalars())


# A check-in whose shared location is farther than this from its village is marked for the
# leader (never refused): a village and its natural villages lie within a few kilometres.
FAR_KM = 5.0
EARTH_KM = 6371.0


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(math.sqrt(min(1.0, h)))


async def village_location(
    session: AsyncSession, *, village_id: int, first_week: dt.date
) -> tuple[float, float] | None:
    """Where the village is, as its cadres' check-ins in the village with a location in the
    campaign's first week (from `first_week`, 7 days) place it: their median point. None
    before any such check-in."""
    result = await session.execute(select(Checkin.latitude, Checkin.longitude).where(
        Checkin.village_id == village_id, Checkin.in_village.is_(True),
        Checkin.latitude.is_not(None), Checkin.longitude.is_not(None),
        Checkin.day >= first_week, Checkin.day <= first_week + dt.timedelta(days=6)))
    points = [(float(lat), float(lon)) for lat, lon in result.all()
              if lat is not None and lon is not None]
    if not points:
        return None
    return statistics.median(p[0] for p in points), statistics.median(p[1] for p in points)


async def far_checkins(
    session: AsyncSession, *, village_id: int, start: dt.date, end: dt.date,
    reference: tuple[float, float],
) -> dict[int, list[tuple[dt.date, float]]]:
    """Per person, the days from `start` to `end` they checked in as in the village from a
    location more than FAR_KM from `reference`, with the distance."""
    result = await session.execute(select(
        Checkin.person_id, Checkin.day, Checkin.latitude, Checkin.longitude).where(
        Checkin.village_id == village_id, Checkin.in_village.is_(True),
        Checkin.latitude.is_not(None), Checkin.longitude.is_not(None),
        Checkin.day >= start, Checkin.day <= end).order_by(Checkin.day))
    found: dict[int, list[tuple[dt.date, float]]] = {}
    for person_id, day, lat, lon in result.all():
        if lat is None or lon is None:
            continue
        km = distance_km((float(lat), float(lon)), reference)
        if km > FAR_KM:
            found.setdefault(person_id, []).append((day, km))
    return found
