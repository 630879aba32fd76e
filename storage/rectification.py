"""Village rectification: villages of the "three types" marked by the office, and the measures
and rules their teams record.

One grouped query (marks left-joined to actions, by village) gives each marked village's
progress; /stats, the export, the HTTP API and the county report sum its rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.models import Person, RectifyAction, Township, Village, VillageMark
from storage.people import places
from storage.scope import in_place

TYPES = ("weak_team", "disputes", "weak_management")
RULE_KINDS = ("village_rules", "finance", "openness", "procedure")
MEASURE = "measure"
ACTION_KINDS = (MEASURE, *RULE_KINDS)


@dataclass
class VillageProgress:
    """A marked village: its types, measures taken, rules established per kind."""

    village_id: int
    village: str
    township_id: int
    township: str
    types: list[str] = field(default_factory=list)
    measures: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # rule kind -> rules recorded
    last_action: dt.datetime | None = None

    @property
    def rule_kinds(self) -> list[str]:
        """The kinds of rule established at least once, in the catalogue's order."""
        return [kind for kind in RULE_KINDS if self.rules.get(kind)]

    @property
    def complete(self) -> bool:
        """All four kinds of rule are established."""
        return len(self.rule_kinds) == len(RULE_KINDS)


@dataclass
class RectificationTotals:
    """Marked villages by type, measures, rules, villages with all four kinds of rule."""

    marked: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    measures: int = 0
    rules: int = 0
    complete: int = 0

    def add(self, village: VillageProgress) -> None:
        """Count one marked village in."""
        self.marked += 1
        for kind in village.types:
            self.by_type[kind] = self.by_type.get(kind, 0) + 1
        self.measures += village.measures
        self.rules += sum(village.rules.values())
        self.complete += int(village.complete)


async def mark_of(session: AsyncSession, *, village_id: int) -> VillageMark | None:
    """The village's mark (active or not), if it was ever marked."""
    found = await session.execute(select(VillageMark).where(VillageMark.village_id == village_id))
    return found.scalar_one_or_none()


def types_of(mark: VillageMark | None) -> list[str]:
    """The types an active mark names (none for no mark or an unmarked village)."""
    if mark is None or not mark.active:
        return []
    return [kind for kind in TYPES if getattr(mark, kind)]


async def set_mark(
    session: AsyncSession, *, village: Village, types: list[str], by: Person, now: dt.datetime,
) -> VillageMark:
    """Mark a village with these types (none: unmark it); the change goes in the audit log."""
    unknown = set(types) - set(TYPES)
    if unknown:
        raise ValueError(f"unknown types {sorted(unknown)}")
    mark = await mark_of(session, village_id=village.id)
    old = ",".join(types_of(mark)) or None
    if mark is None:
        mark = VillageMark(village_id=village.id, township_id=village.township_id,
                           marked_by=by.id, marked_at=now, updated_at=now)
        session.add(mark)
    elif not mark.active and types:
        mark.marked_by, mark.marked_at = by.id, now  # marked anew
    for kind in TYPES:
        setattr(mark, kind, kind in types)
    mark.active, mark.updated_at = bool(types), now
    await session.flush()
    await record_audit(session, actor_id=by.id, entity="village_mark", entity_id=village.id,
                       action="mark" if types else "unmark", at=now, field="types", old=old,
                       new=",".join(t for t in TYPES if t in types) or None)
    return mark


async def add_action(
    session: AsyncSession, *, person: Person, kind: str, text: str, day: dt.date,
    now: dt.datetime,
) -> RectifyAction:
    """Record a measure or a rule of the person's (marked) village."""
    if kind not in ACTION_KINDS:
        raise ValueError(f"unknown rectification action {kind!r}")
    row = RectifyAction(person_id=person.id, **places(person), kind=kind, text=text, day=day,
                        created_at=now)
    session.add(row)
    await session.flush()
    return row


def _count(kind: str) -> Any:
    return func.count(case((RectifyAction.kind == kind, RectifyAction.id)))


def progress_query(*, village_ids: list[int] | None = None,
                   township_id: int | None = None) -> Select:
    """Marked villages in scope with their types, counts of each action kind and last action,
    grouped by village (rows for progress_of)."""
    query = (
        select(VillageMark.village_id, Village.name, VillageMark.township_id, Township.name,
               VillageMark.weak_team, VillageMark.disputes, VillageMark.weak_management,
               *[_count(kind) for kind in ACTION_KINDS], func.max(RectifyAction.created_at))
        .join(Village, Village.id == VillageMark.village_id)
        .join(Township, Township.id == VillageMark.township_id)
        .outerjoin(RectifyAction, RectifyAction.village_id == VillageMark.village_id)
        .where(VillageMark.active.is_(True))
        .group_by(VillageMark.village_id, Village.name, VillageMark.township_id, Township.name,
                  VillageMark.weak_team, VillageMark.disputes, VillageMark.weak_management)
        .order_by(Township.name, Village.name)
    )
    return in_place(query, VillageMark, village_ids=village_ids, township_id=township_id)


def progress_of(row: Sequence[Any]) -> VillageProgress:
    """A row of progress_query as a village's progress."""
    vid, village, tid, township, *flags = row[:7]
    counts, last = row[7:7 + len(ACTION_KINDS)], row[-1]
    return VillageProgress(
        vid, village, tid, township, [t for t, on in zip(TYPES, flags, strict=True) if on],
        int(counts[0]), {k: int(n) for k, n in zip(RULE_KINDS, counts[1:], strict=True)},
        _aware(last))


async def progress_by_village(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[VillageProgress]:
    """Every marked village in scope with its progress, by township and village name, in one
    grouped query."""
    query = progress_query(village_ids=village_ids, township_id=township_id)
    return [progress_of(row) for row in (await session.execute(query)).all()]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # max() over a UTC column comes back naive from SQLite.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


async def rectification_totals(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> RectificationTotals:
    """The rectification of a scope: its marked villages' progress summed."""
    total = RectificationTotals()
    for village in await progress_by_village(session, village_ids=village_ids,
                                             township_id=township_id):
        total.add(village)
    return total


async def village_progress(session: AsyncSession, *, village_id: int) -> VillageProgress | None:
    """One village's progress, or None when it is not marked."""
    found = await progress_by_village(session, village_ids=[village_id])
    return found[0] if found else None


async def marked_ids(session: AsyncSession, *, township_id: int) -> set[int]:
    """The township's villages that are marked now."""
    found = await session.execute(select(VillageMark.village_id).where(
        VillageMark.township_id == township_id, VillageMark.active.is_(True)))
    return set(found.scalars())
