"""Who of a village team missed a mobilisation meeting: the team leader who recorded the
meeting marks each absent cadre with one tap; /laggards names them (storage.stats_lists).

Only the village's current team leader may mark, and only cadres placed in that village now;
the caller asks `roll_call` in the transaction that writes, so a leader moved or demoted since
the buttons were sent marks nobody.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person, Publicity, SessionAbsence
from storage.scope import Scope
from storage.stats_lists import cadres_in

MOBILISATION = "mobilisation"  # the publicity kind whose attendance is taken


@dataclass
class RollCall:
    """A mobilisation meeting, the team's cadres who could attend it, and those marked absent."""

    meeting: Publicity
    team: list[Person] = field(default_factory=list)
    absent: set[int] = field(default_factory=set)

    @property
    def absent_names(self) -> list[str]:
        """The absent cadres' names, in the team's order."""
        return [p.name for p in self.team if p.id in self.absent]


def may_call(person: Person, meeting: Publicity) -> bool:
    """Whether the person may take the meeting's roll now: the active team leader of the
    meeting's village."""
    return (person.active and person.role == "team_leader" and meeting.kind == MOBILISATION
            and meeting.village_id is not None and person.village_id == meeting.village_id)


async def roll_call(session: AsyncSession, *, publicity_id: int, by: Person) -> RollCall | None:
    """The meeting's roll as `by` may take it now (None: not theirs to take), its row locked
    so that two presses are counted one after the other."""
    meeting = (await session.execute(select(Publicity).where(Publicity.id == publicity_id)
                                     .with_for_update())).scalar_one_or_none()
    if meeting is None or not may_call(by, meeting):
        return None
    assert meeting.village_id is not None
    team = (await session.execute(
        select(Person).where(*cadres_in(Scope("village", village_id=meeting.village_id)),
                             Person.id != by.id).order_by(Person.name, Person.id)
    )).scalars().all()
    absent = (await session.execute(select(SessionAbsence.person_id).where(
        SessionAbsence.publicity_id == meeting.id))).scalars().all()
    return RollCall(meeting, list(team), set(absent))


async def toggle(session: AsyncSession, call: RollCall, *, person_id: int, by: Person,
                 now: dt.datetime) -> bool:
    """Mark a team cadre absent, or present again if marked; True when absent now."""
    if person_id not in {p.id for p in call.team}:
        raise ValueError("not a cadre of the meeting's team")
    if person_id in call.absent:
        await session.execute(delete(SessionAbsence).where(
            SessionAbsence.publicity_id == call.meeting.id,
            SessionAbsence.person_id == person_id))
        call.absent.discard(person_id)
        return False
    session.add(SessionAbsence(publicity_id=call.meeting.id, person_id=person_id,
                               marked_by=by.id, created_at=now))
    await session.flush()
    call.absent.add(person_id)
    return True
