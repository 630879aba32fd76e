"""Inspections and unannounced visits: a supervisor (the discipline, organisation and
supervision groups) records a village's day — who of the village team was found there, and what
was found. Every member placed in the village when the record is saved gets a row, present or
not, so an absence counts in /team, /laggards, the export and the county report whatever the
roster does later. The finding is the record of that day: a member found away who checked in
as in the village has that check-in turned to away (storage.checkins.strike), so every figure
of days in the village counts one fewer, and cannot check in as in the village for it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.checkins import strike
from storage.figures import CADRE_ROLES
from storage.models import Inspection, InspectionCadre, Person, Village
from storage.people import in_village

KINDS = ("inspection", "unannounced")


@dataclass(frozen=True)
class InspectionView:
    """An inspection with the names a reader needs."""

    inspection: Inspection
    village: str
    township: str
    inspector: str
    present: list[str]
    absent: list[str]


@dataclass
class InspectionCounts:
    """A period's inspections: how many of each kind, the villages and cadres they saw."""

    inspections: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    villages: int = 0
    cadres_seen: int = 0  # team members on the records (a member of two counts twice)
    absent: int = 0  # of them, found away from the village


async def team_of(session: AsyncSession, *, village_id: int) -> list[Person]:
    """The village team as it stands: its active cadres, the team leader first."""
    return [p for p in await in_village(session, village_id=village_id)
            if p.active and p.role in CADRE_ROLES]


async def record(
    session: AsyncSession, *, by: Person, village: Village, kind: str, day: dt.date,
    findings: str, present_ids: Iterable[int], now: dt.datetime,
) -> tuple[Inspection, list[int]]:
    """Save an inspection: every member of the village team now, found present or not (ids
    in `present_ids` that are not on the team are ignored), with an audit entry; the day of
    each member found away who checked in as in the village is struck. Returns the inspection
    and whose days were struck."""
    if kind not in KINDS:
        raise ValueError(f"unknown inspection kind {kind!r}")
    inspection = Inspection(person_id=by.id, village_id=village.id,
                            township_id=village.township_id, kind=kind, day=day,
                            findings=findings, created_at=now)
    session.add(inspection)
    await session.flush()
    present = set(present_ids)
    team = await team_of(session, village_id=village.id)
    session.add_all(InspectionCadre(inspection_id=inspection.id, person_id=p.id,
                                    present=p.id in present) for p in team)
    await record_audit(session, actor_id=by.id, entity="inspection", entity_id=inspection.id,
                       action="record", at=now, field="village_id", new=str(village.id))
    await session.flush()
    struck = await strike(session, person_ids=[p.id for p in team if p.id not in present],
                          day=day, by=by, now=now)
    return inspection, struck


async def by_id(session: AsyncSession, *, inspection_id: int) -> Inspection | None:
    """One inspection."""
    return await session.get(Inspection, inspection_id)


async def view_of(session: AsyncSession, inspection: Inspection) -> InspectionView:
    """An inspection with the village's, the inspector's and the team's names."""
    village = await session.get(Village, inspection.village_id)
    inspector = await session.get(Person, inspection.person_id)
    rows = (await session.execute(
        select(Person.name, InspectionCadre.present)
        .join(Person, Person.id == InspectionCadre.person_id)
        .where(InspectionCadre.inspection_id == inspection.id)
        .order_by(Person.name, Person.id))).all()
    return InspectionView(
        inspection, village.name if village else "",
        village.township.name if village else "", inspector.name if inspector else "",
        [name for name, present in rows if present],
        [name for name, present in rows if not present])


def absences(*, start: dt.date, end: dt.date) -> Select:
    """A subquery's select: per person (`pid`), how many inspections from `start` to `end`
    found them away from their village (`n`)."""
    return (select(InspectionCadre.person_id.label("pid"), func.count().label("n"))
            .join(Inspection, Inspection.id == InspectionCadre.inspection_id)
            .where(InspectionCadre.present.is_(False), Inspection.day >= start,
                   Inspection.day <= end)
            .group_by(InspectionCadre.person_id))


async def counts(session: AsyncSession, *, start: dt.date, end: dt.date) -> InspectionCounts:
    """The county's inspections from `start` to `end`, counted."""
    query = select(Inspection.kind, func.count()).select_from(Inspection)
    query = query.where(Inspection.day >= start, Inspection.day <= end)
    result = InspectionCounts()
    for kind, n in (await session.execute(query.group_by(Inspection.kind))).all():
        result.by_kind[kind] = int(n)
        result.inspections += int(n)
    places = query.with_only_columns(func.count(func.distinct(Inspection.village_id)))
    result.villages = int((await session.execute(places)).scalar_one())
    seen = query.with_only_columns(
        func.count(), func.sum(case((InspectionCadre.present.is_(False), 1), else_=0))).join(
        InspectionCadre, InspectionCadre.inspection_id == Inspection.id)
    cadres, absent = (await session.execute(seen)).one()
    result.cadres_seen, result.absent = int(cadres), int(absent or 0)
    return result
