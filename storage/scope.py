"""Scopes: which villages a leader may see, and a place named in a command, checked against it.

A team leader sees their village, a township leader their township, the leading group, the
office and the supervision groups (supervisor) the whole county. Every figure query takes
`village_ids` and `township_id` from a Scope.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, PlaceQuestion, Township, Village

COUNTY_ROLES = ("leading_group", "office", "supervisor")  # who sees the whole county
# How long a question "which 新村?" can still be answered by its buttons.
QUESTION_KEEP = dt.timedelta(days=7)


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


def in_villages(query: Select, *, village_ids: list[int] | None,
                township_id: int | None) -> Select:
    """A query over Village narrowed to the villages or township given."""
    if village_ids is not None:
        query = query.where(Village.id.in_(village_ids))
    if township_id is not None:
        query = query.where(Village.township_id == township_id)
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


# "township/village": an ASCII or a full-width slash, as people type it on either keyboard.
SEPARATORS = re.compile(r"\s*[/／]\s*")
TOWNSHIP_SUFFIXES = ("镇", "乡")


def _spellings(name: str, suffixes: tuple[str, ...]) -> list[str]:
    """A name as typed and with each suffix it may have left off."""
    return [name, *(name + suffix for suffix in suffixes)]


def label(village: Village) -> str:
    """A village as '镇/村': one name no other village has."""
    return f"{village.township.name}/{village.name}"


async def _villages(
    session: AsyncSession, *, name: str, township_ids: list[int] | None = None
) -> list[Village]:
    """Villages called `name` (or `name` + '村'), the exact name preferred, by township."""
    query = select(Village).join(Township, Village.township_id == Township.id).where(
        Village.name.in_(_spellings(name, ("村",))))
    if township_ids is not None:
        query = query.where(Village.township_id.in_(township_ids))
    found = list((await session.execute(query.order_by(Township.name, Village.id))).scalars())
    exact = [village for village in found if village.name == name]
    return exact or found


async def _townships(session: AsyncSession, *, name: str) -> list[Township]:
    query = select(Township).where(Township.name.in_(_spellings(name, TOWNSHIP_SUFFIXES)))
    return list((await session.execute(query.order_by(Township.id))).scalars())


async def _in_township(session: AsyncSession, *, township: str, village: str) -> Village | None:
    """'镇/村': the village of that name in that township (suffixes may be left off)."""
    townships = await _townships(session, name=township)
    if not townships or not village:
        return None
    found = await _villages(session, name=village, township_ids=[t.id for t in townships])
    return found[0] if len(found) == 1 else None


async def _run_together(session: AsyncSession, *, name: str) -> Village | None:
    """'黄金埠镇新村' or '黄金埠新村' typed without a separator: a township's name, then one of
    its villages."""
    townships = list((await session.execute(select(Township).order_by(Township.id))).scalars())
    for township in townships:
        short = township.name.removesuffix("镇").removesuffix("乡")
        for prefix in dict.fromkeys((township.name, short)):
            if prefix and name.startswith(prefix) and len(name) > len(prefix):
                found = await _villages(session, name=name[len(prefix):],
                                        township_ids=[township.id])
                if len(found) == 1:
                    return found[0]
    return None


def _village_scope(village: Village) -> Scope:
    return Scope("village", village.name, village.township_id, village.id)


async def place_scope(session: AsyncSession, *, kind: str, place_id: int) -> Scope | None:
    """The township or village with this id as a scope (None: no such place)."""
    if kind == "township":
        township = await session.get(Township, place_id)
        return Scope("township", township.name, township.id) if township else None
    if kind == "village":
        village = await session.get(Village, place_id)
        return _village_scope(village) if village else None
    return None


async def named_place(session: AsyncSession, *, name: str, within: Scope | None = None) -> Scope:
    """The township or village with this name (a township wins; '镇/乡/村' may be left off);
    '镇/村' (or '镇／村') names one village of a township.

    A village name several townships have raises AmbiguousPlace, unless exactly one of them
    lies inside `within`; UnknownPlace when nothing has the name."""
    wanted = name.strip()
    township_part, _, village_part = SEPARATORS.sub("/", wanted).rpartition("/")
    if township_part:
        village = await _in_township(session, township=township_part, village=village_part)
        if village is None:
            raise UnknownPlace(wanted)
        return _village_scope(village)
    townships = await _townships(session, name=wanted)
    if townships:
        return Scope("township", townships[0].name, townships[0].id)
    villages = await _villages(session, name=wanted)
    if not villages:
        village = await _run_together(session, name=wanted)
        if village is None:
            raise UnknownPlace(wanted)
        villages = [village]
    limit = within.township_id if within is not None and within.kind != "county" else None
    inside = [v for v in villages if v.township_id == limit]
    if len(inside) == 1 or len(villages) == 1:
        return _village_scope((inside or villages)[0])
    if limit is not None and not inside:
        # None of them is the person's to see: either one is refused the same way.
        return _village_scope(villages[0])
    raise AmbiguousPlace(wanted, [(label(v), _village_scope(v)) for v in inside or villages])


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


async def keep_question(
    session: AsyncSession, *, person_id: int, command: str, args: str, name: str,
    now: dt.datetime,
) -> int:
    """Keep a command that named a repeated village until its sender says which; the id its
    buttons carry. The person's questions older than QUESTION_KEEP go."""
    await session.execute(delete(PlaceQuestion).where(
        PlaceQuestion.person_id == person_id, PlaceQuestion.created_at < now - QUESTION_KEEP))
    question = PlaceQuestion(person_id=person_id, command=command, args=args, name=name,
                             created_at=now)
    session.add(question)
    await session.flush()
    return question.id


async def kept_question(
    session: AsyncSession, *, question_id: int, person_id: int, now: dt.datetime
) -> PlaceQuestion | None:
    """The person's own question by id, if it is still kept (another's is None)."""
    question = await session.get(PlaceQuestion, question_id)
    if question is None or question.person_id != person_id:
        return None
    return question if question.created_at >= now - QUESTION_KEEP else None

