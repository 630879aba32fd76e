"""Appraisals: at the summary stage the team leader grades each member of the team, with a
comment; the office reads them all in the export."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people, reviews
from storage.audit import record_audit
from storage.models import Appraisal, Person, Summary

GRADES = ("excellent", "competent", "basic", "incompetent")
MAX_COMMENT = 500


async def members(session: AsyncSession, *, leader: Person) -> list[Person]:
    """The active members of the leader's team the leader appraises (not the leader), by name."""
    if leader.village_id is None:
        return []
    query = select(Person).where(Person.village_id == leader.village_id,
                                 Person.active.is_(True), Person.id != leader.id)
    people = list((await session.execute(query)).unique().scalars())
    return sorted(people, key=lambda p: (p.name, p.id))  # the backends collate differently


async def member(session: AsyncSession, *, leader: Person, person_id: int) -> Person | None:
    """The member with this id if the leader leads their team; None otherwise."""
    if leader.role != "team_leader":
        return None
    found = [p for p in await members(session, leader=leader) if p.id == person_id]
    return found[0] if found else None


async def appraisals_for(session: AsyncSession, *, village_id: int) -> dict[int, Appraisal]:
    """The appraisals of a village's people, by person id."""
    query = select(Appraisal).join(Person, Person.id == Appraisal.person_id).where(
        Person.village_id == village_id)
    return {a.person_id: a for a in (await session.execute(query)).scalars()}


async def appraisal_of(session: AsyncSession, *, person_id: int) -> Appraisal | None:
    """A person's appraisal, if any."""
    query = select(Appraisal).where(Appraisal.person_id == person_id)
    return (await session.execute(query)).scalar_one_or_none()


class AppraisalLocked(Exception):
    """The township leader has endorsed this appraisal: it can no longer be changed."""


async def appraisal_to_review(
    session: AsyncSession, *, appraisal_id: int, by: Person
) -> tuple[Appraisal, Person] | None:
    """The appraisal and the team leader who wrote it, locked, if `by` is now the township
    leader over the appraised member."""
    row = await session.get(Appraisal, appraisal_id, with_for_update={"of": Appraisal})
    writer = None if row is None else await session.get(Person, row.by_id)
    if row is None or writer is None or not reviews.may_review(
            by, kind="appraisal", author=writer, village_id=row.person.village_id,
            township_id=row.person.township_id):
        return None
    return row, writer


async def endorsers(session: AsyncSession, *, member: Person) -> list[Person]:
    """The township leaders, reachable now, who endorse an appraisal of this member."""
    if member.township_id is None:
        return []
    return await people.reachable(session, roles=("township_leader",),
                                  township_ids=[member.township_id])


async def set_appraisal(
    session: AsyncSession, *, person: Person, by: Person, grade: str, comment: str,
    now: dt.datetime,
) -> Appraisal:
    """Record or replace a person's appraisal; every changed field goes to the audit trail.

    A returned appraisal, rewritten, waits for the township leader again; an endorsed one
    raises AppraisalLocked."""
    if grade not in GRADES:
        raise ValueError(f"unknown grade {grade!r}")
    comment = comment.strip()[:MAX_COMMENT]
    row = await appraisal_of(session, person_id=person.id)
    if row is None:
        row = Appraisal(person_id=person.id, by_id=by.id, grade=grade, comment=comment,
                        created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        await record_audit(session, actor_id=by.id, entity="appraisal", entity_id=row.id,
                           action="create", at=now, field="grade", new=grade)
        return row
    if row.status == "accepted":
        raise AppraisalLocked(row.id)
    await reviews.resubmit(session, row, entity="appraisal", by=by, now=now)
    for field, new in (("grade", grade), ("comment", comment)):
        old = getattr(row, field)
        if old != new:
            setattr(row, field, new)
            await record_audit(session, actor_id=by.id, entity="appraisal", entity_id=row.id,
                               action="update", at=now, field=field, old=old, new=new)
    row.by_id, row.updated_at = by.id, now
    await session.flush()
    return row


async def latest_summaries(session: AsyncSession, *, person_id: int, limit: int = 2
                           ) -> list[Summary]:
    """A person's newest weekly summaries, newest first."""
    query = select(Summary).where(Summary.person_id == person_id).order_by(
        Summary.week_start.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def missing(session: AsyncSession) -> list[tuple[Person, Person]]:
    """The appraisals not yet written: (team leader reachable now, member), by leader then
    member name — the members each leader appraises (see `members`) with no appraisal."""
    leaders = await people.reachable(session, roles=("team_leader",))
    by_village: dict[int, list[Person]] = {}
    for leader in leaders:
        if leader.village_id is not None:
            by_village.setdefault(leader.village_id, []).append(leader)
    if not by_village:
        return []
    appraised = select(Appraisal.person_id)
    query = select(Person).where(Person.active.is_(True),
                                 Person.village_id.in_(list(by_village)),
                                 Person.id.not_in(appraised))
    found = sorted((await session.execute(query)).unique().scalars(),
                   key=lambda p: (p.name, p.id))
    return [(leader, member) for leader in leaders for member in found
            if member.village_id == leader.village_id and member.id != leader.id]
