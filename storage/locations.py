"""Records that carry a shared location: check-ins and visits, for the console's map."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Checkin, Person, Township, Village, Visit
from storage.scope import Scope
from storage.stats_lists import record_scope


@dataclass(frozen=True)
class Point:
    """A check-in or a visit where its cadre shared the location."""

    kind: str  # "checkin" or "visit"
    record_id: int
    person_id: int
    person: str
    village_id: int | None
    village: str
    township: str
    day: dt.date
    at: dt.datetime
    latitude: float
    longitude: float
    what: str  # a check-in's "in_village" or away reason; a visit's kind


@dataclass
class Points:
    """The points of a period and place, the latest first, and how many there are in all."""

    points: list[Point]
    total: int

    @property
    def complete(self) -> bool:
        return len(self.points) == self.total


def _located(model: Any, *, start: dt.date, end: dt.date, scope: Scope | None,
             person_id: int | None) -> list[ColumnElement[bool]]:
    """Conditions for a located record of the period in the scope (None: `person_id`'s own)."""
    place = (record_scope(model, scope) if scope is not None
             else [model.person_id == person_id])
    return [model.day >= start, model.day <= end, model.latitude.is_not(None),
            model.longitude.is_not(None), *place]


def _named(query: Select, model: Any) -> Select:
    return (query.join(Person, Person.id == model.person_id)
            .outerjoin(Village, Village.id == model.village_id)
            .outerjoin(Township, Township.id == Village.township_id))


async def located(session: AsyncSession, *, start: dt.date, end: dt.date,
                  scope: Scope | None, person_id: int | None = None,
                  limit: int = 1000) -> Points:
    """Check-ins and visits from `start` to `end` with a shared location, in `scope` (None:
    only `person_id`'s own), the latest `limit` of each kind, with the count of all."""
    points: list[Point] = []
    total = 0
    kinds: tuple[tuple[str, Any, tuple[Any, ...]], ...] = (
        ("checkin", Checkin, (Checkin.in_village, Checkin.reason)),
        ("visit", Visit, (Visit.kind,)))
    for kind, model, described in kinds:
        where = _located(model, start=start, end=end, scope=scope, person_id=person_id)
        total += int((await session.execute(
            select(func.count()).select_from(model).where(*where))).scalar_one())
        rows = await session.execute(_named(select(
            model.id, model.person_id, Person.name, model.village_id, Village.name,
            Township.name, model.day, model.created_at, model.latitude, model.longitude,
            *described), model)
            .where(*where).order_by(model.day.desc(), model.id.desc()).limit(limit))
        for row in rows.all():
            what = row[10] if kind == "visit" else "in_village" if row[10] else row[11]
            points.append(Point(kind, row[0], row[1], row[2], row[3], row[4] or "",
                                row[5] or "", row[6], row[7], float(row[8]), float(row[9]),
                                what or "other"))
    return Points(points, total)
