"""Help pairs: which households of a village each cadre looks after."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.households import resolve
from storage.models import Household, Pairing, Person, Village
from storage.scope import OutOfScope, Scope


async def pairings_of(session: AsyncSession, *, person_id: int) -> list[Household]:
    """The households a person is paired with, oldest pairing first."""
    result = await session.execute(
        select(Household)
        .join(Pairing, Pairing.household_id == Household.id)
        .where(Pairing.person_id == person_id)
        .order_by(Pairing.created_at, Pairing.id)
    )
    return list(result.scalars())


async def households_of(session: AsyncSession, *, village_id: int) -> list[Household]:
    """The households on a village's list, by name."""
    result = await session.execute(
        select(Household).where(Household.village_id == village_id).order_by(Household.name)
    )
    return list(result.scalars())


def pairing_scope(person: Person) -> Scope:
    """The villages whose households a person may pair with: a village team's member their
    own village; a township leader outside the teams their township; anyone else outside the
    teams (the county-level leaders the notice gives a quota) the whole county."""
    if person.village_id is not None:
        return Scope("village", township_id=person.township_id, village_id=person.village_id)
    if person.role == "township_leader" and person.township_id is not None:
        return Scope("township", township_id=person.township_id)
    return Scope("county")


def may_pair_in(person: Person, village: Village) -> bool:
    """Whether the village lies inside the person's pairing scope as the row stands now."""
    return pairing_scope(person).contains(
        Scope("village", township_id=village.township_id, village_id=village.id))


async def _paired_in_scope(session: AsyncSession, *, person: Person,
                           household_id: int | None = None) -> list[tuple[Household, Village]]:
    """The person's paired households (or the one of that id) with their villages, those
    whose village is still one they may pair in (`may_pair_in`), oldest pairing first."""
    query = (
        select(Household, Village)
        .join(Village, Village.id == Household.village_id)
        .join(Pairing, Pairing.household_id == Household.id)
        .where(Pairing.person_id == person.id)
        .order_by(Pairing.created_at, Pairing.id)
    )
    if household_id is not None:
        query = query.where(Household.id == household_id)
    rows = (await session.execute(query)).all()
    return [(household, village) for household, village in rows
            if may_pair_in(person, village)]


async def pairings_in_scope(session: AsyncSession, *, person: Person) -> list[Household]:
    """The person's paired households they may record a condolence for: those whose village
    is still inside their pairing scope, oldest pairing first."""
    return [household for household, _ in await _paired_in_scope(session, person=person)]


async def paired_household(session: AsyncSession, *, person: Person,
                           household_id: int | None) -> tuple[Household, Village]:
    """One of the person's paired households and its village, while that village is still one
    they may pair in (on the person's row re-read in this transaction).

    Raises OutOfScope when the pairing is gone, the village is outside their scope now, or the
    id is none of theirs (a forged button) or None."""
    found = (await _paired_in_scope(session, person=person, household_id=household_id)
             if household_id is not None else [])
    if not found:
        raise OutOfScope(str(household_id))
    return found[0]


async def pair(
    session: AsyncSession,
    *,
    person: Person,
    now: dt.datetime,
    village_id: int | None = None,
    household_id: int | None = None,
    household_name: str | None = None,
) -> tuple[Household, bool]:
    """Pair a person with a household (by id, or by a name that may be new) of their village,
    or of `village_id` inside their pairing scope (`pairing_scope`, read as the person stands
    now: the caller passes the row it re-read in this transaction).

    Returns the household and whether a new pairing was made (False: already paired). Raises
    OutOfScope for a village outside the scope, ValueError when no household is named."""
    if village_id is not None:
        village = await session.get(Village, village_id)
        if village is None or not may_pair_in(person, village):
            raise OutOfScope(str(village_id))
    target = await resolve(session, person=person, now=now, household_id=household_id,
                           household_name=household_name, village_id=village_id)
    if target is None:
        raise ValueError("a household name and a village are needed")
    already = await session.execute(
        select(Pairing.id).where(Pairing.person_id == person.id,
                                 Pairing.household_id == target.id)
    )
    if already.first() is not None:
        return target, False
    session.add(Pairing(person_id=person.id, household_id=target.id, created_at=now))
    await session.flush()
    return target, True


async def pair_counts(
    session: AsyncSession, *, person_ids: list[int] | None = None
) -> dict[int, int]:
    """How many households each person is paired with (people with none are absent)."""
    query = select(Pairing.person_id, func.count()).group_by(Pairing.person_id)
    if person_ids is not None:
        query = query.where(Pairing.person_id.in_(person_ids))
    result = await session.execute(query)
    return {person_id: int(count) for person_id, count in result.all()}
