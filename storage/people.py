"""People on the roster and their Telegram bindings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_name
from storage.models import Person

ROLES = ("cadre", "team_leader", "township_leader", "leading_group", "office")
RANKS = ("county", "department", "ordinary")


async def by_telegram_id(
    session: AsyncSession, *, telegram_user_id: int, lock: bool = False
) -> Person | None:
    """The person bound to this Telegram account; `lock` serialises their updates across
    processes on PostgreSQL (a row lock held until the transaction ends)."""
    query = select(Person).where(Person.telegram_user_id == telegram_user_id)
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update(of=Person)
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def by_phone(session: AsyncSession, *, phone: str) -> Person | None:
    """The person with this normalised phone number, if any."""
    result = await session.execute(select(Person).where(Person.phone == phone))
    return result.scalar_one_or_none()


async def by_invite_code(session: AsyncSession, *, code: str) -> Person | None:
    """The person with this invite code, if any (codes are upper case)."""
    result = await session.execute(select(Person).where(Person.invite_code == code.upper()))
    return result.scalar_one_or_none()


async def bind(
    session: AsyncSession, *, person: Person, telegram_user_id: int, now: dt.datetime
) -> None:
    """Bind a Telegram account to a person, releasing it from anyone it was bound to."""
    await session.execute(
        update(Person)
        .where(Person.telegram_user_id == telegram_user_id, Person.id != person.id)
        .values(telegram_user_id=None, menu_hash=None, updated_at=now)
    )
    person.telegram_user_id = telegram_user_id
    person.bound_at = now
    person.blocked_at = None
    person.menu_hash = None
    person.updated_at = now


async def set_locale(
    session: AsyncSession, *, person: Person, locale: str, now: dt.datetime
) -> None:
    """Remember the language a person picked with /language."""
    person.locale = locale
    person.updated_at = now


async def bound_people(session: AsyncSession) -> list[Person]:
    """Everyone with a Telegram account bound, active or not."""
    result = await session.execute(
        select(Person).where(Person.telegram_user_id.is_not(None)).order_by(Person.id)
    )
    return list(result.scalars())


async def set_menu_hash(session: AsyncSession, *, person_id: int, menu_hash: str | None) -> None:
    """Record which command menu a person's chat was last given."""
    await session.execute(update(Person).where(Person.id == person_id).values(menu_hash=menu_hash))


async def reachable(
    session: AsyncSession,
    *,
    roles: Iterable[str],
    village_ids: Iterable[int] | None = None,
    township_ids: Iterable[int] | None = None,
) -> list[Person]:
    """Active people bound to Telegram in these roles (and places), by name."""
    query = select(Person).where(
        Person.active.is_(True), Person.telegram_user_id.is_not(None),
        Person.role.in_(list(roles)),
    )
    if village_ids is not None:
        query = query.where(Person.village_id.in_(list(village_ids)))
    if township_ids is not None:
        query = query.where(Person.township_id.in_(list(township_ids)))
    result = await session.execute(query.order_by(Person.name, Person.id))
    return list(result.unique().scalars())


def places(person: Person) -> dict[str, int | None]:
    """The cadre's village, township and unit, copied onto every record they make."""
    return {"village_id": person.village_id, "township_id": person.township_id,
            "unit_id": person.unit_id}
