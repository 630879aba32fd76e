"""What waits for one person's review: weekly summaries, stage summaries and appraisals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import reviews, stage
from storage.models import Appraisal, Person, Summary

# The codes of the three things reviewed (also in their buttons' callback data).
WEEKLY, STAGE, APPRAISAL = "w", "f", "a"


@dataclass(frozen=True)
class Waiting:
    """One piece of work waiting for a reviewer: its kind's code, the row and its author (for
    an appraisal, the team leader who wrote it)."""

    code: str
    row: Any
    author: Person


async def _weekly(session: AsyncSession, reviewer: Person) -> list[Waiting]:
    query = (select(Summary, Person).join(Person, Person.id == Summary.person_id)
             .where(Summary.status == "submitted"))
    if reviewer.role == "team_leader" and reviewer.village_id is not None:
        query = query.where(Summary.village_id == reviewer.village_id)
    elif reviewer.role == "township_leader" and reviewer.township_id is not None:
        query = query.where(Summary.township_id == reviewer.township_id,
                            Person.role == "team_leader")
    else:
        return []
    query = query.order_by(Summary.submitted_at, Summary.id)
    return [Waiting(WEEKLY, row, author) for row, author in (await session.execute(query)).all()
            if reviews.may_review(reviewer, kind="personal", author=author,
                                  village_id=row.village_id, township_id=row.township_id)]


async def _stage(session: AsyncSession, reviewer: Person) -> list[Waiting]:
    found = []
    for row in await stage.to_review(session, reviewer=reviewer):
        author = await session.get(Person, row.person_id)
        if row.status == "submitted" and author is not None and stage.may_accept(
                reviewer, row, author):
            found.append(Waiting(STAGE, row, author))
    return found


async def _appraisals(session: AsyncSession, reviewer: Person) -> list[Waiting]:
    if reviewer.role != "township_leader" or reviewer.township_id is None:
        return []
    member, writer = aliased(Person), aliased(Person)
    query = (select(Appraisal, writer).join(member, member.id == Appraisal.person_id)
             .join(writer, writer.id == Appraisal.by_id)
             .where(Appraisal.status == "submitted",
                    member.township_id == reviewer.township_id)
             .order_by(Appraisal.updated_at, Appraisal.id))
    return [Waiting(APPRAISAL, row, author)
            for row, author in (await session.execute(query)).all()
            if reviews.may_review(reviewer, kind="appraisal", author=author,
                                  village_id=author.village_id,
                                  township_id=reviewer.township_id)]


async def waiting_for(session: AsyncSession, *, reviewer: Person) -> list[Waiting]:
    """Everything waiting for this person's review, weekly summaries first, oldest first."""
    return [*await _weekly(session, reviewer), *await _stage(session, reviewer),
            *await _appraisals(session, reviewer)]
