"""Publicity: policy sessions held in the villages, with attendance, topics, slogans and boards.

One grouped query (by village and kind) serves /stats, the export's summary sheet, the HTTP
API and the evening digests: the totals of a scope are the sums of its villages' rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Publicity, Township, Village
from storage.people import places
from storage.scope import in_period, in_villages, summed

KINDS = ("mobilisation", "party_members", "mass", "door_to_door")
OTHER_TOPIC = "other"  # the topic whose name the cadre types


@dataclass
class PublicityTotals:
    """Sessions held, people reached, slogans posted and boards set up."""

    sessions: int = 0
    attendance: int = 0
    slogans: int = 0
    boards: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, sessions: int, attendance: int, slogans: int, boards: int) -> None:
        """Count one group of sessions of a kind in."""
        self.sessions += sessions
        self.attendance += attendance
        self.slogans += slogans
        self.boards += boards
        self.by_kind[kind] = self.by_kind.get(kind, 0) + sessions

    def merge(self, other: PublicityTotals) -> None:
        """Count another place's publicity in."""
        self.sessions += other.sessions
        self.attendance += other.attendance
        self.slogans += other.slogans
        self.boards += other.boards
        for kind, count in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count


async def add_publicity(
    session: AsyncSession,
    *,
    person: Person,
    day: dt.date,
    kind: str,
    attendance: int,
    topics: list[str],
    now: dt.datetime,
    other_topic: str | None = None,
    slogans: int = 0,
    boards: int = 0,
) -> Publicity:
    """Record a publicity session with the cadre's village, township and unit on the row."""
    if kind not in KINDS:
        raise ValueError(f"unknown publicity kind {kind!r}")
    if attendance < 1 or slogans < 0 or boards < 0:
        raise ValueError("attendance must be positive, slogans and boards not negative")
    row = Publicity(
        person_id=person.id, **places(person), day=day, kind=kind, attendance=attendance,
        topics=list(topics), other_topic=other_topic, slogans=slogans, boards=boards,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def publicity_by_village(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> dict[int | None, PublicityTotals]:
    """Each village's publicity from `start` to `end` inclusive, in one grouped query
    (villages without any are absent)."""
    query = (select(Publicity.village_id, Publicity.kind, func.count(),
                    func.coalesce(func.sum(Publicity.attendance), 0),
                    func.coalesce(func.sum(Publicity.slogans), 0),
                    func.coalesce(func.sum(Publicity.boards), 0))
             .group_by(Publicity.village_id, Publicity.kind))
    query = in_period(query, Publicity, start=start, end=end, village_ids=village_ids,
                      township_id=township_id, person_id=person_id)
    found: dict[int | None, PublicityTotals] = {}
    for village_id, kind, count, people, slogans, boards in (await session.execute(query)).all():
        found.setdefault(village_id, PublicityTotals()).add(
            kind, int(count), int(people), int(slogans), int(boards))
    return found


async def publicity_totals(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> PublicityTotals:
    """The publicity of a scope from `start` to `end` inclusive: its villages' rows summed."""
    return summed((await publicity_by_village(
        session, start=start, end=end, village_ids=village_ids, township_id=township_id,
        person_id=person_id)).values(), PublicityTotals())


LACKS = ("slogans", "boards")  # what the notice asks of every village's publicity


@dataclass
class VillageCoverage:
    """A village's slogans posted and boards set up over the whole campaign."""

    village_id: int
    village: str
    township_id: int
    township: str
    slogans: int
    boards: int

    @property
    def lacking(self) -> list[str]:
        """What the village has none of: slogans, a board, or both."""
        return [lack for lack in LACKS if not getattr(self, lack)]


async def coverage_by_village(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[VillageCoverage]:
    """Every village in scope with the slogans and boards its sessions recorded, by township
    and village name, in one grouped query (villages with no session count none)."""
    query = (select(Village.id, Village.name, Village.township_id, Township.name,
                    func.coalesce(func.sum(Publicity.slogans), 0),
                    func.coalesce(func.sum(Publicity.boards), 0))
             .join(Township, Township.id == Village.township_id)
             .outerjoin(Publicity, Publicity.village_id == Village.id)
             .group_by(Village.id, Village.name, Village.township_id, Township.name)
             .order_by(Township.name, Village.name))
    query = in_villages(query, village_ids=village_ids, township_id=township_id)
    return [VillageCoverage(vid, name, tid, township, int(slogans), int(boards))
            for vid, name, tid, township, slogans, boards in (await session.execute(query))]
