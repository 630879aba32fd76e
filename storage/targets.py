"""Help targets: what each village was helped with against what the notice asks of it.

Which villages miss which target is one grouped query (`village_misses`: per village the
people placed in work and, judged by the county's `TargetRules` — the settings, passed in:
storage reads none — whether a project reaches the funds, whether a home unit of its cadres
gave nothing, whether a paired household went without a due holiday's condolence). /targets,
the leaders' digest, the county report, the console's overview, the export's sheet and the API
all take it; what a village did in detail — each project's funds (`projects_of`), donations
per home unit (`donations_by_unit`), the paired households' condolences (`condolences_of`) —
is read beside it only where it is listed (`village_targets(..., details=True)`). The figures
count the whole campaign, whatever period a document covers: a target is met once, not per
week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.aid import HOLIDAYS, _money
from storage.models import Aid, Household, Pairing, Person, Township, Unit, Village
from storage.scope import in_villages

TARGETS = ("labour", "project", "donation", "condolence")
# Whose home unit is expected to donate to a village: the people living in it.
RESIDENT_ROLES = ("cadre", "team_leader")


@dataclass(frozen=True)
class TargetRules:
    """The county's thresholds, and the holidays whose condolences are due by now (a holiday
    still ahead is shown with its coverage but misses nothing yet)."""

    labour_min: int
    project_min: Decimal
    holidays: tuple[tuple[str, dt.date], ...] = ()
    today: dt.date | None = None

    @property
    def due(self) -> tuple[str, ...]:
        """The holidays that have come: a paired household without their condolence misses."""
        return tuple(name for name, day in self.holidays
                     if self.today is not None and day <= self.today)


@dataclass
class Project:
    """A project a village introduced, with its type (None: recorded before types)."""

    name: str
    type: str | None
    funds: Decimal
    day: dt.date


@dataclass
class UnitDonation:
    """A home unit of the village's cadres, and what it donated to the village."""

    unit: str
    count: int
    value: Decimal


@dataclass
class HouseholdCondolence:
    """A paired household and the holidays it was visited with a condolence for."""

    name: str
    holidays: set[str] = field(default_factory=set)


@dataclass
class VillageTargets:
    """One village's help against the targets: the targets (of TARGETS) it misses, and, when
    read with details, what it did."""

    village_id: int
    township_id: int
    township: str
    village: str
    labour: int = 0
    missed: list[str] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    units: list[UnitDonation] = field(default_factory=list)
    households: list[HouseholdCondolence] = field(default_factory=list)

    def projects_below(self, rules: TargetRules) -> list[Project]:
        """The projects whose funds are under the threshold."""
        return [p for p in self.projects if p.funds < rules.project_min]

    def not_donated(self) -> list[str]:
        """The home units of the village's cadres that gave it nothing."""
        return [u.unit for u in self.units if not u.count]

    def without(self, holiday: str) -> list[str]:
        """The paired households not visited with a condolence for `holiday`."""
        return [h.name for h in self.households if holiday not in h.holidays]

    def covered(self, holiday: str) -> int:
        """How many paired households were visited with a condolence for `holiday`."""
        return sum(1 for h in self.households if holiday in h.holidays)


_in_scope = in_villages


async def _core(session: AsyncSession, query: Select) -> Any:
    """Rows of a plain query through the session's connection: the same tuples without the
    ORM's row loading, a third of the targets' time over a county's households."""
    return await (await session.connection()).execute(query)


def _misses(rules: TargetRules) -> tuple[Any, ...]:
    """Per village (correlated with Village): the people placed in work, and whether it misses
    the project, donation and condolence targets — each an EXISTS read from aid's indexes."""
    labour = select(func.coalesce(func.sum(Aid.people_count), 0)).where(
        Aid.village_id == Village.id, Aid.kind == "labour").scalar_subquery()
    project = ~select(Aid.id).where(Aid.village_id == Village.id, Aid.kind == "project",
                                    Aid.amount >= rules.project_min).exists()
    given = select(Aid.id).where(Aid.village_id == Person.village_id, Aid.unit_id == Person.unit_id,
                                 Aid.kind == "donation").exists()
    donation = select(Person.id).join(Unit, Unit.id == Person.unit_id).where(
        Person.village_id == Village.id, Person.active.is_(True),
        Person.role.in_(RESIDENT_ROLES), ~given).exists()
    condolence: Any = false()
    if rules.due:
        visited = [select(Aid.id).where(Aid.household_id == Household.id,
                                        Aid.kind == "condolence", Aid.holiday == name).exists()
                   for name in rules.due]
        condolence = select(Household.id).join(
            Pairing, Pairing.household_id == Household.id).where(
            Household.village_id == Village.id, or_(*[~v for v in visited])).exists()
    return labour, project, donation, condolence


async def village_misses(session: AsyncSession, rules: TargetRules, *,
                         village_ids: list[int] | None = None,
                         township_id: int | None = None) -> list[VillageTargets]:
    """Every village of the scope, by township and name, with its people placed in work and
    the targets it misses: one query for all."""
    labour, project, donation, condolence = _misses(rules)
    query = select(Village.id, Village.township_id, Township.name, Village.name, labour,
                   project, donation, condolence).join(
        Township, Township.id == Village.township_id)
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session, query.order_by(Township.name, Village.name, Village.id))
    found = []
    for vid, tid, township, name, people, *misses in rows.all():
        missed = [target for target, miss in zip(TARGETS, (int(people or 0) < rules.labour_min,
                                                          *misses), strict=True) if miss]
        found.append(VillageTargets(village_id=vid, township_id=tid, township=township,
                                    village=name, labour=int(people or 0), missed=missed))
    return found


async def projects_of(session: AsyncSession, *, village_ids: list[int] | None = None,
                      township_id: int | None = None) -> dict[int, list[Project]]:
    """Each village's projects, in the order they were recorded."""
    query = select(Aid.village_id, Aid.project_name, Aid.project_type, Aid.amount,
                   Aid.day).join(Village, Village.id == Aid.village_id).where(
        Aid.kind == "project")
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session, query.order_by(Aid.day, Aid.id))
    found: dict[int, list[Project]] = {}
    for vid, name, kind, amount, day in rows.all():
        found.setdefault(int(vid or 0), []).append(Project(name or "", kind, _money(amount), day))
    return found


async def donations_by_unit(session: AsyncSession, *, village_ids: list[int] | None = None,
                            township_id: int | None = None) -> dict[int, list[UnitDonation]]:
    """Per village, each home unit of the active cadres living in it, with the donations that
    unit's cadres recorded for the village (none: count 0)."""
    given = select(Aid.village_id.label("village_id"), Aid.unit_id.label("unit_id"),
                   func.count(Aid.id).label("count"),
                   func.coalesce(func.sum(Aid.amount), 0).label("value")).where(
        Aid.kind == "donation").group_by(Aid.village_id, Aid.unit_id).subquery()
    homes = select(Person.village_id, Person.unit_id).where(
        Person.active.is_(True), Person.role.in_(RESIDENT_ROLES),
        Person.village_id.is_not(None), Person.unit_id.is_not(None)).distinct().subquery()
    query = select(homes.c.village_id, Unit.name, func.coalesce(given.c.count, 0),
                   func.coalesce(given.c.value, 0)).join(
        Unit, Unit.id == homes.c.unit_id).join(Village, Village.id == homes.c.village_id
    ).outerjoin(given, and_(given.c.village_id == homes.c.village_id,
                            given.c.unit_id == homes.c.unit_id))
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session, query.order_by(homes.c.village_id, Unit.name))
    found: dict[int, list[UnitDonation]] = {}
    for vid, unit, count, value in rows.all():
        found.setdefault(vid, []).append(UnitDonation(unit, int(count), _money(value)))
    return found


async def condolences_of(session: AsyncSession, *, village_ids: list[int] | None = None,
                         township_id: int | None = None
                         ) -> dict[int, list[HouseholdCondolence]]:
    """Per village, every paired household (by name) with the holidays it had a condolence
    visit for, by anyone."""
    paired = select(Pairing.id).where(Pairing.household_id == Household.id).exists()
    query = select(Household.village_id, Household.id, Household.name, Aid.holiday).join(
        Village, Village.id == Household.village_id).outerjoin(
        Aid, and_(Aid.household_id == Household.id, Aid.kind == "condolence",
                  Aid.holiday.in_(HOLIDAYS))).where(paired)
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session,
        query.group_by(Household.village_id, Household.id, Household.name, Aid.holiday)
        .order_by(Household.village_id, Household.name, Household.id))
    found: dict[int, dict[int, HouseholdCondolence]] = {}
    for vid, hid, name, holiday in rows.all():
        household = found.setdefault(vid, {}).setdefault(hid, HouseholdCondolence(name))
        if holiday is not None:
            household.holidays.add(holiday)
    return {vid: list(households.values()) for vid, households in found.items()}


async def village_targets(session: AsyncSession, rules: TargetRules, *,
                          village_ids: list[int] | None = None, township_id: int | None = None,
                          details: bool = True) -> list[VillageTargets]:
    """Every village of the scope with the targets it misses (`village_misses`) and, with
    `details`, its projects, home units' donations and paired households' condolences."""
    villages = await village_misses(session, rules, village_ids=village_ids,
                                    township_id=township_id)
    if not details:
        return villages
    scope: dict[str, Any] = {"village_ids": village_ids, "township_id": township_id}
    projects = await projects_of(session, **scope)
    units = await donations_by_unit(session, **scope)
    households = await condolences_of(session, **scope)
    for village in villages:
        vid = village.village_id
        village.projects = projects.get(vid, [])
        village.units = units.get(vid, [])
        village.households = households.get(vid, [])
    return villages

