"""Scopes: which villages a leader may see, and a place named in a command, checked against it.

A team leader sees their village, a township leader their township, the leading group and the
office the whole county. Every figure query takes `village_ids` and `township_id` from a Scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Township, Village

COUNTY_ROLES = ("leading_group", "office")


class Mergeable(Protocol):
    """Figures of one place that another place's can be counted into."""

    def merge(self, other: Self) -> None: ...


M = TypeVar("M", bound=Mergeable)


def summed(parts: Iterable[M], total: M) -> M:
    """One total from the parts' figures: a scope's from its villages'."""
    for part in parts:
        total.merge(part)
    return total


def in_place(
    query: Select, model: Any, *, village_ids: list[int] | None, township_id: int | None,
    person_id: int | None = None,
) -> Select:
    """Rows of a record (`model` has village_id, township_id and person_id) in the villages,
    township or of the person given."""
    if village_ids is not None:
        query = query.where(model.village_id.in_(village_ids))
    if township_id is not None:
        query = query.where(model.township_id == township_id)
    if person_id is not None:
        query = query.where(model.person_id == person_id)
    return query


def in_period(
    query: Select, model: Any, *, start: dt.date, end: dt.date, village_ids: list[int] | None,
    township_id: int | None, person_id: int | None,
) -> Select:
    """Rows of a dated record (`model` has day, village_id, township_id and person_id) from
    `start` to `end` inclusive, in the villages, township or of the person given."""
    return in_place(query.where(model.day >= start, model.day <= end), model,
                    village_ids=village_ids, township_id=township_id, person_id=person_id)


@dataclass(frozen=True)
class Scope:
    """A set of villages: one village, one township, or the county (no filter)."""

    kind: str  # "county", "township" or "village"
    name: str = ""
    township_id: int | None = None
    village_id: int | None = None

    @property
    def village_ids(self) -> list[int] | None:
        """The filter for queries that take village ids (None: no filter)."""
        return [self.village_id] if self.village_id is not None else None

    @property
    def filters(self) -> dict[str, object]:
        """Keyword arguments for the storage queries: `village_ids` and `township_id`."""
        return {"village_ids": self.village_ids,
                "township_id": self.township_id if self.village_id is None else None}

    def contains(self, other: Scope) -> bool:
        """Whether everything in `other` lies inside this scope."""
        if self.kind == "county":
            return True
        if self.kind == "township":
            return other.township_id == self.township_id
        return other.kind == "village" and other.village_id == self.village_id


class OutOfScope(Exception):
    """A place outside what the person may see."""


class UnknownPlace(Exception):
    """No township or village by that name."""


class AmbiguousPlace(Exception):
    """A village name used in several townships: the caller must ask which one.

    `candidates` are the village scopes, each with `label` '镇/村' (township/village) to name it
    directly."""

    def __init__(self, name: str, candidates: list[tuple[str, Scope]]) -> None:
        super().__init__(name)
        self.name = name
        self.candidates = candidates  # (label "township/village", the village's scope)


async def own_scope(session: AsyncSession, *, person: Person) -> Scope | None:
    """What a person may see by their role (None: a cadre, who sees only their own records)."""
    if person.role in COUNTY_ROLES:
        return Scope("county")
    if person.role == "township_leader" and person.township_id is not None:
        township = await session.get(Township, person.township_id)
        return Scope("township", township.name if township else "", person.township_id)
    if person.role == "team_leader" and person.village_id is not None:
        village = await session.get(Village, person.village_id)
        return Scope("village", village.name if village else "", person.township_id,
                     person.village_id)
    return None


async def named_place(session: AsyncSession, *, name: str, within: Scope | None = None) -> Scope:
    """The township or village with this name (a township wins; '镇/乡/村' may be left off).

    Village names repeat across townships: one inside `within` is preferred."""
    wanted = name.strip()
    township = (await session.execute(
        select(Township).where(Township.name.in_([wanted, wanted + "镇", wanted + "乡"]))
    )).scalars().first()
    if township is not None:
        return Scope("township", township.name, township.id)
    villages = list((await session.execute(
        select(Village).where(Village.name.in_([wanted, wanted + "村"])))).scalars())
    if villages:
        limit = within.township_id if within is not None and within.kind != "county" else None
        inside = [v for v in villages if limit is None or v.township_id == limit]
        village = (inside or villages)[0]
        return Scope("village", village.name, village.township_id, village.id)
    raise UnknownPlace(wanted)


async def resolve(session: AsyncSession, *, person: Person, name: str | None) -> Scope:
    """The scope a command asks for: the person's own, or a named place inside it.

    Raises OutOfScope for a cadre or for a place outside the person's scope, UnknownPlace for a
    name that matches nothing."""
    own = await own_scope(session, person=person)
    if own is None:
        raise OutOfScope(person.role)
    if not name or not name.strip():
        return own
    wanted = await named_place(session, name=name, within=own)
    if not own.contains(wanted):
        raise OutOfScope(wanted.name)
    return wanted
