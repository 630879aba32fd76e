"""Households of a village: the list a cadre picks from when visiting or helping."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Household, Pairing, Person


async def households_for(
    session: AsyncSession, *, village_id: int, person_id: int, limit: int | None = None
) -> list[Household]:
    """The village's households, the person's paired ones first, then by name."""
    paired = (
        select(Pairing.id)
        .where(Pairing.person_id == person_id, Pairing.household_id == Household.id)
        .exists()
    )
    query = (
        select(Household)
        .where(Household.village_id == village_id)
        .order_by(case((paired, 0), else_=1), Household.name, Household.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def household_in_village(
    session: AsyncSession, *, household_id: int, village_id: int
) -> Household | None:
    """The household with this id, only if it belongs to the village (a forged id crosses none)."""
    found = await session.get(Household, household_id)
    return found if found is not None and found.village_id == village_id else None


async def add_household(
    session: AsyncSession,
    *,
    village_id: int,
    name: str,
    created_by: int | None,
    now: dt.datetime,
    category: str | None = None,
) -> Household:
    """The village's household of this name, added to the list when it is new."""
    found = await session.execute(
        select(Household).where(Household.village_id == village_id, Household.name == name)
    )
    existing = found.scalar_one_or_none()
    if existing is not None:
        if existing.category is None and category is not None:
            existing.category = category  # the first visit that classifies it fills the gap
        return existing
    created = Household(
        village_id=village_id, name=name, category=category, created_by=created_by,
        created_at=now,
    )
    session.add(created)
    await session.flush()
    return created


async def resolve(
    session: AsyncSession,
    *,
    person: Person,
    now: dt.datetime,
    household_id: int | None = None,
    household_name: str | None = None,
    category: str | None = None,
    village_id: int | None = None,
) -> Household | None:
    """The household a cadre named: by id (only one of their own village, or of `village_id`
    when the caller has checked it is theirs to choose) or by a name, which joins the village's
    list when new; None when neither is given or there is no village.

    Raises ValueError for an id outside the village (a forged button)."""
    village = person.village_id if village_id is None else village_id
    if village is None:
        return None
    if household_id is not None:
        found = await household_in_village(session, household_id=household_id,
                                           village_id=village)
        if found is None:
            raise ValueError(f"household {household_id} is not in the village")
        return found
    if not household_name:
        return None
    return await add_household(session, village_id=village, name=household_name,
                               created_by=person.id, now=now, category=category)
