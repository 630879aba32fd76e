"""Trainings of the cadres: the county office or a township trains the cadres and team leaders
of its scope on a day, on a topic; whoever is recorded absent counts in /laggards (in the week
of the training) and on the export's 培训 sheet.

Who may record: the office and the leading group for the county or any township, a township
leader for their own township. The caller asks `may_record` in the transaction that writes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.models import (
    Person,
    Publicity,
    SessionAbsence,
    Township,
    TrainingAbsence,
    TrainingSession,
)
from storage.people import search
from storage.roster import normalise_phone
from storage.scope import Scope
from storage.stats_lists import cadres_in

RECORDERS = ("leading_group", "office")  # for the county or any township
# Names typed in one answer: separated by 、，, ; or spaces, as either keyboard types them.
NAME_SEPARATORS = re.compile(r"[、，,；;\s]+")


def may_record(person: Person, *, township_id: int | None) -> bool:
    """Whether the person may record a training of this township (None: the whole county)."""
    if not person.active:
        return False
    if person.role in RECORDERS:
        return True
    return (person.role == "township_leader" and township_id is not None
            and person.township_id == township_id)


def split_names(text: str) -> list[str]:
    """The names in a typed answer, each once, in the order typed."""
    return list(dict.fromkeys(name for name in NAME_SEPARATORS.split(text) if name))


def _scope(township_id: int | None) -> Scope:
    if township_id is None:
        return Scope("county")
    return Scope("township", township_id=township_id)


@dataclass
class Matched:
    """Typed names matched against the cadres and team leaders of a training's scope."""

    people: list[Person] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # nobody of the scope is called so
    ambiguous: list[str] = field(default_factory=list)  # more than one of the scope is

    @property
    def complete(self) -> bool:
        """Every name found exactly one person."""
        return not self.unknown and not self.ambiguous


async def match_names(session: AsyncSession, *, township_id: int | None,
                      names: Iterable[str]) -> Matched:
    """Each name as storage.people.search finds it (a phone number, else the exact name, else
    a part of it), kept to the active cadres and team leaders of the scope."""
    roster = set((await session.execute(
        select(Person.id).where(*cadres_in(_scope(township_id))))).scalars())
    result = Matched()
    for name in names:
        phone = normalise_phone(name) if any(ch.isdigit() for ch in name) else None
        found = [p for p in await search(session, query=name, phone=phone, limit=50)
                 if p.id in roster]
        if not found:
            result.unknown.append(name)
        elif len(found) > 1:
            result.ambiguous.append(name)
        elif found[0] not in result.people:
            result.people.append(found[0])
    return result


async def record(
    session: AsyncSession, *, by: Person, township_id: int | None, day: dt.date, topic: str,
    absent: Iterable[Person], now: dt.datetime,
) -> TrainingSession:
    """Save a training and who was absent, with an audit entry."""
    training = TrainingSession(township_id=township_id, day=day, topic=topic, person_id=by.id,
                               created_at=now)
    session.add(training)
    await session.flush()
    session.add_all(TrainingAbsence(training_id=training.id, person_id=p.id) for p in absent)
    await record_audit(session, actor_id=by.id, entity="training", entity_id=training.id,
                       action="record", at=now,
                       # the township by name on the audit sheet; the county's names none
                       field=None if township_id is None else "township_id",
                       new=None if township_id is None else str(township_id))
    await session.flush()
    return training


async def township_name(session: AsyncSession, *, township_id: int) -> str | None:
    """A township's name (None: no such township)."""
    township = await session.get(Township, township_id)
    return None if township is None else township.name



@dataclass(frozen=True)
class SessionCounts:
    """A period's trainings and the absences recorded at them and at mobilisation meetings."""

    trainings: int
    training_absent: int  # person-times recorded absent from a training
    meeting_absent: int  # person-times marked absent at a mobilisation meeting's roll call


async def counts(session: AsyncSession, *, start: dt.date, end: dt.date) -> SessionCounts:
    """The county's trainings from `start` to `end` and the absences at them and at the
    mobilisation meetings of those days (the county report's attendance section)."""
    held = (await session.execute(select(func.count()).select_from(TrainingSession).where(
        TrainingSession.day >= start, TrainingSession.day <= end))).scalar_one()
    absent = (await session.execute(select(func.count()).select_from(TrainingAbsence).join(
        TrainingSession, TrainingSession.id == TrainingAbsence.training_id).where(
        TrainingSession.day >= start, TrainingSession.day <= end))).scalar_one()
    missed = (await session.execute(select(func.count()).select_from(SessionAbsence).join(
        Publicity, Publicity.id == SessionAbsence.publicity_id).where(
        Publicity.day >= start, Publicity.day <= end))).scalar_one()
    return SessionCounts(int(held), int(absent), int(missed))
