"""Winter work: each village's year-end items (configured codes), a target and the progress.

Every change keeps a history row (who, when, which target and progress). One grouped query
(by township and item) serves /stats, the HTTP API and the county report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Township, Village, WinterItem, WinterUpdate
from storage.scope import in_place

# The unit each known item is counted in (a label winter.unit.<unit> in the catalogs); a
# configured item not listed here is counted in plain "units".
UNITS = {
    "water_works": "projects", "winter_planting": "mu", "winter_construction": "projects",
    "family_planning": "people", "afforestation": "mu", "fire_prevention": "households",
    "tax": "yuan", "investment": "yuan", "medical_care": "people", "pension": "people",
    "living_environment": "households",
}
DEFAULT_UNIT = "units"


def unit_of(item: str) -> str:
    """The unit an item is counted in."""
    return UNITS.get(item, DEFAULT_UNIT)


def percent(progress: int, target: int) -> float | None:
    """Progress as a share of the target, in percent (None: no target)."""
    return 100.0 * progress / target if target else None


@dataclass
class WinterSum:
    """An item's targets and progress summed over the villages that set a target."""

    target: int = 0
    progress: int = 0
    villages: int = 0

    @property
    def percent(self) -> float | None:
        """Progress over target, in percent (None: no target)."""
        return percent(self.progress, self.target)

    def merge(self, other: WinterSum) -> None:
        """Count another place's sums in."""
        self.target += other.target
        self.progress += other.progress
        self.villages += other.villages


async def items_of(session: AsyncSession, *, village_id: int) -> dict[str, WinterItem]:
    """A village's items that have a target, by code."""
    found = await session.execute(select(WinterItem).where(WinterItem.village_id == village_id))
    return {row.item: row for row in found.scalars()}


async def set_item(
    session: AsyncSession, *, village: Village, item: str, target: int, progress: int,
    by: Person, now: dt.datetime,
) -> WinterItem:
    """Set a village item's target and progress, keeping the change in its history."""
    if target < 1 or progress < 0:
        raise ValueError("the target must be positive and the progress not negative")
    row = (await session.execute(
        select(WinterItem).where(WinterItem.village_id == village.id, WinterItem.item == item)
        .with_for_update())).scalar_one_or_none()
    if row is None:
        row = WinterItem(village_id=village.id, township_id=village.township_id, item=item,
                         target=target, progress=progress)
        session.add(row)
    row.target, row.progress, row.updated_by, row.updated_at = target, progress, by.id, now
    await session.flush()
    session.add(WinterUpdate(item_id=row.id, person_id=by.id, target=target, progress=progress,
                             at=now))
    await session.flush()
    return row


async def history(session: AsyncSession, *, item_id: int) -> list[WinterUpdate]:
    """An item's changes, oldest first."""
    found = await session.execute(
        select(WinterUpdate).where(WinterUpdate.item_id == item_id).order_by(WinterUpdate.id))
    return list(found.scalars())


async def winter_by_township(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> dict[int, dict[str, WinterSum]]:
    """Per township and item: targets and progress summed over villages with a target, in one
    grouped query."""
    query = (select(WinterItem.township_id, WinterItem.item,
                    func.coalesce(func.sum(WinterItem.target), 0),
                    func.coalesce(func.sum(WinterItem.progress), 0), func.count())
             .group_by(WinterItem.township_id, WinterItem.item))
    query = in_place(query, WinterItem, village_ids=village_ids, township_id=township_id)
    found: dict[int, dict[str, WinterSum]] = {}
    for tid, item, target, progress, count in (await session.execute(query)).all():
        found.setdefault(tid, {})[item] = WinterSum(int(target), int(progress), int(count))
    return found


async def winter_totals(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> dict[str, WinterSum]:
    """Per item, the scope's targets and progress: its townships' sums added."""
    total: dict[str, WinterSum] = {}
    for items in (await winter_by_township(session, village_ids=village_ids,
                                           township_id=township_id)).values():
        for item, sums in items.items():
            total.setdefault(item, WinterSum()).merge(sums)
    return total


@dataclass
class VillageItem:
    """One village's item, as the export and a township's listing show it."""

    township: str
    village: str
    item: str
    target: int
    progress: int

    @property
    def percent(self) -> float | None:
        """Progress over target, in percent."""
        return percent(self.progress, self.target)


async def village_items(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[VillageItem]:
    """Every item with a target in scope, by township, village and item."""
    query = (select(Township.name, Village.name, WinterItem.item, WinterItem.target,
                    WinterItem.progress)
             .join(Village, Village.id == WinterItem.village_id)
             .join(Township, Township.id == WinterItem.township_id)
             .order_by(Township.name, Village.name, WinterItem.item))
    query = in_place(query, WinterItem, village_ids=village_ids, township_id=township_id)
    return [VillageItem(t, v, item, int(target), int(progress))
            for t, v, item, target, progress in (await session.execute(query)).all()]


async def township_names(session: AsyncSession) -> dict[int, str]:
    """Every township's name by id."""
    rows = (await session.execute(select(Township.id, Township.name))).all()
    return {township_id: name for township_id, name in rows}
