"""Help targets: what each village was helped with against what the notice asks of it.

One query per figure, used by /targets, the leaders' digest, the export's sheet and the API:
people placed in work per village (`labour_by_village`), each project's funds
(`projects_of`), donations per home unit and village (`donations_by_unit`) and the paired
households' holiday condolences (`condolences_of`). `village_targets` puts them together per
village and judges them by the county's `TargetRules` (the settings, passed in: storage reads
none). The figures count the whole campaign, whatever period a document covers: a target is
met once, not per week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, select
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
    """One village's help against the targets."""

    village_id: int
    township_id: int
    township: str
    village: str
    labour: int = 0
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

    def missed(self, rules: TargetRules) -> list[str]:
        """The targets (of TARGETS) this village does not meet."""
        missed = []
        if self.labour < rules.labour_min:
            missed.append("labour")
        if not any(p.funds >= rules.project_min for p in self.projects):
            missed.append("project")
        if self.not_donated():
            missed.append("donation")
        if any(self.without(holiday) for holiday in rules.due):
            missed.append("condolence")
        return missed


_in_scope = in_villages


async def _core(session: AsyncSession, query: Select) -> Any:
    """Rows of a plain query through the session's connection: the same tuples without the
    ORM's row loading, a third of the targets' time over a county's households."""
    return await (await session.connection()).execute(query)


async def villages_in(session: AsyncSession, *, village_ids: list[int] | None = None,
                      township_id: int | None = None) -> list[VillageTargets]:
    """Every village of the scope, by township and name, with nothing counted yet."""
    query = select(Village.id, Village.township_id, Township.name, Village.name).join(
        Township, Township.id == Village.township_id)
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session, query.order_by(Township.name, Village.name, Village.id))
    return [VillageTargets(village_id=vid, township_id=tid, township=township, village=name)
            for vid, tid, township, name in rows.all()]


async def labour_by_village(session: AsyncSession, *, village_ids: list[int] | None = None,
                            township_id: int | None = None) -> dict[int, int]:
    """People placed in work per village (villages with none are absent)."""
    query = select(Aid.village_id, func.sum(Aid.people_count)).join(
        Village, Village.id == Aid.village_id).where(Aid.kind == "labour")
    query = _in_scope(query, village_ids=village_ids, township_id=township_id)
    rows = await _core(session, query.group_by(Aid.village_id))
    # The join to villages leaves no row without a village.
    return {int(vid or 0): int(total or 0) for vid, total in rows.all()}


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


async def village_targets(session: AsyncSession, *, village_ids: list[int] | None = None,
                          township_id: int | None = None) -> list[VillageTargets]:
    """Every village of the scope with its help against the targets (judge with `missed`)."""
    scope: dict[str, Any] = {"village_ids": village_ids, "township_id": township_id}
    villages = await villages_in(session, **scope)
    labour = await labour_by_village(session, **scope)
    projects = await projects_of(session, **scope)
    units = await donations_by_unit(session, **scope)
    households = await condolences_of(session, **scope)
    for village in villages:
        vid = village.village_id
        village.labour = labour.get(vid, 0)
        village.projects = projects.get(vid, [])
        village.units = units.get(vid, [])
        village.households = households.get(vid, [])
    return villages


def below(villages: list[VillageTargets], rules: TargetRules) -> list[VillageTargets]:
    """The villages that miss at least one target."""
    return [v for v in villages if v.missed(rules)]
