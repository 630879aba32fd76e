"""Village rectification and village systems: villages of the "three types" marked by the
office, the measures their teams record, and the eight systems the notice asks of every village.

One grouped query (villages left-joined to actions, by village) gives each village's systems;
joined to the marks it gives each marked village's progress. /stats, /systems, the export, the
HTTP API and the county report read its rows.
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
from storage.scope import in_place, in_villages

TYPES = ("weak_team", "disputes", "weak_management")
# The notice's systems, every village's task (not only the marked villages'); a village whose
# team has recorded each of them is complete.
RULE_KINDS = ("village_rules", "finance", "openness", "procedure", "plan", "one_matter",
              "supervision", "party_building")
MEASURE = "measure"
ACTION_KINDS = (MEASURE, *RULE_KINDS)


@dataclass
class VillageSystems:
    """A village and the systems (rules) its team has recorded, per kind."""

    village_id: int
    village: str
    township_id: int
    township: str
    rules: dict[str, int] = field(default_factory=dict)  # rule kind -> rules recorded
    last_action: dt.datetime | None = None

    @property
    def rule_kinds(self) -> list[str]:
        """The kinds of rule established at least once, in the catalogue's order."""
        return [kind for kind in RULE_KINDS if self.rules.get(kind)]

    @property
    def lacking(self) -> list[str]:
        """The kinds of rule not yet established, in the catalogue's order."""
        return [kind for kind in RULE_KINDS if not self.rules.get(kind)]

    @property
    def complete(self) -> bool:
        """Every kind of rule the notice lists is established."""
        return not self.lacking


@dataclass
class VillageProgress(VillageSystems):
    """A marked village: its types, measures taken, rules established per kind."""

    types: list[str] = field(default_factory=list)
    measures: int = 0


@dataclass
class RectificationTotals:
    """Marked villages by type, measures, rules, villages with every kind of rule."""

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
    """Record a measure of the person's (marked) village, or a rule of their village."""
    if kind not in ACTION_KINDS:
        raise ValueError(f"unknown rectification action {kind!r}")
    row = RectifyAction(person_id=person.id, **places(person), kind=kind, text=text, day=day,
                        created_at=now)
    session.add(row)
    await session.flush()
    return row


def _count(kind: str) -> Any:
    return func.count(case((RectifyAction.kind == kind, RectifyAction.id)))


def _by_village(*extra: Any) -> Select:
    """Villages with `extra` columns, counts of each action kind and the last action, grouped
    by village (the one query of systems and progress)."""
    return (
        select(Village.id, Village.name, Village.township_id, Township.name, *extra,
               *[_count(kind) for kind in ACTION_KINDS], func.max(RectifyAction.created_at))
        .join(Township, Township.id == Village.township_id)
        .outerjoin(RectifyAction, RectifyAction.village_id == Village.id)
        .group_by(Village.id, Village.name, Village.township_id, Township.name, *extra)
        .order_by(Township.name, Village.name)
    )


def _counts(row: Sequence[Any], start: int) -> tuple[int, dict[str, int], dt.datetime | None]:
    counts = row[start:start + len(ACTION_KINDS)]
    return (int(counts[0]), {k: int(n) for k, n in zip(RULE_KINDS, counts[1:], strict=True)},
            _aware(row[-1]))


def systems_query(*, village_ids: list[int] | None = None,
                  township_id: int | None = None) -> Select:
    """Every village in scope with its counts of each action kind (rows for systems_of)."""
    return in_villages(_by_village(), village_ids=village_ids, township_id=township_id)


def systems_of(row: Sequence[Any]) -> VillageSystems:
    """A row of systems_query as a village's systems."""
    _, rules, last = _counts(row, 4)
    return VillageSystems(row[0], row[1], row[2], row[3], rules, last)


async def systems_by_village(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[VillageSystems]:
    """Every village in scope with the systems its team recorded, by township and village
    name, in one grouped query."""
    query = systems_query(village_ids=village_ids, township_id=township_id)
    return [systems_of(row) for row in (await session.execute(query)).all()]


def progress_query(*, village_ids: list[int] | None = None,
                   township_id: int | None = None) -> Select:
    """Marked villages in scope with their types, counts of each action kind and last action,
    grouped by village (rows for progress_of)."""
    query = (_by_village(VillageMark.weak_team, VillageMark.disputes,
                         VillageMark.weak_management)
             .join(VillageMark, VillageMark.village_id == Village.id)
             .where(VillageMark.active.is_(True)))
    return in_place(query, VillageMark, village_ids=village_ids, township_id=township_id)


def progress_of(row: Sequence[Any]) -> VillageProgress:
    """A row of progress_query as a village's progress."""
    vid, village, tid, township, *flags = row[:7]
    measures, rules, last = _counts(row, 7)
    return VillageProgress(
        vid, village, tid, township, rules, last,
        [t for t, on in zip(TYPES, flags, strict=True) if on], measures)


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
