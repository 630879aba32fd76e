"""What waits for one person's review: weekly summaries, stage summaries and appraisals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import reviews, stage
from storage.models import Appraisal, Person, StageSummary, Summary

# The codes of the three things reviewed (also in their buttons' callback data).
WEEKLY, STAGE, APPRAISAL = "w", "f", "a"


@dataclass(frozen=True)
class Waiting:
    """One piece of work waiting for a reviewer: its kind's code, the row and its author (for
    an appraisal, the team leader who wrote it)."""

    code: str
    row: Any
    author: Person


@dataclass(frozen=True)
class _Candidate:
    """Work waiting in a reviewer's place; `is_for` (storage.reviews' rule) says whether it is
    theirs."""

    waiting: Waiting
    kind: str  # the kind storage.reviews names
    village_id: int | None
    township_id: int | None

    def is_for(self, reviewer: Person) -> bool:
        return reviews.may_review(reviewer, kind=self.kind, author=self.waiting.author,
                                  village_id=self.village_id, township_id=self.township_id)


# Waiting work by the reviewers' role and place: a team leader's village, a township leader's
# township, the office's whole county (None).
_Found = dict[tuple[str, int | None], list[_Candidate]]
_PLACE = {"team_leader": "village_id", "township_leader": "township_id"}


def _place(reviewer: Person) -> int | None:
    attribute = _PLACE.get(reviewer.role)
    return getattr(reviewer, attribute) if attribute else None


def _places(reviewers: Sequence[Person], role: str) -> list[int]:
    return sorted({place for r in reviewers if r.role == role
                   and (place := _place(r)) is not None})


def _file(found: _Found, role: str, place: int | None, candidate: _Candidate) -> None:
    found.setdefault((role, place), []).append(candidate)


async def _weekly(session: AsyncSession, reviewers: Sequence[Person], found: _Found) -> None:
    """Submitted weekly summaries, in one query: a cadre's wait for the village's team leader,
    a team leader's for the township leader."""
    villages = _places(reviewers, "team_leader")
    townships = _places(reviewers, "township_leader")
    if not villages and not townships:
        return
    led = and_(Summary.township_id.in_(townships), Person.role == "team_leader")
    query = (select(Summary, Person).join(Person, Person.id == Summary.person_id)
             .where(Summary.status == "submitted", or_(Summary.village_id.in_(villages), led))
             .order_by(Summary.submitted_at, Summary.id))
    in_villages, in_townships = set(villages), set(townships)
    for row, author in (await session.execute(query)).all():
        candidate = _Candidate(Waiting(WEEKLY, row, author), "personal", row.village_id,
                               row.township_id)
        if row.village_id in in_villages:
            _file(found, "team_leader", row.village_id, candidate)
        if row.township_id in in_townships and author.role == "team_leader":
            _file(found, "township_leader", row.township_id, candidate)


async def _stage(session: AsyncSession, reviewers: Sequence[Person], found: _Found) -> None:
    """Submitted stage summaries, in the places storage.stage says each role accepts."""
    for role in ("team_leader", "township_leader", "office"):
        places = _places(reviewers, role)
        if not places and not (role == "office" and any(r.role == role for r in reviewers)):
            continue
        where = stage.reviewable(role, places)
        assert where is not None
        query = (select(StageSummary, Person).join(Person, Person.id == StageSummary.person_id)
                 .where(where, StageSummary.status == "submitted"))
        rows = (await session.execute(query)).all()
        for row, author in sorted(rows, key=lambda r: (r[0].submitted_at, r[0].id)):
            place = getattr(row, _PLACE[role]) if role in _PLACE else None
            _file(found, role, place, _Candidate(
                Waiting(STAGE, row, author), row.kind, row.village_id, row.township_id))


async def _appraisals(session: AsyncSession, reviewers: Sequence[Person], found: _Found) -> None:
    """Submitted appraisals, endorsed by the township leader of the member's township."""
    townships = _places(reviewers, "township_leader")
    if not townships:
        return
    member, writer = aliased(Person), aliased(Person)
    query = (select(Appraisal, writer, member.township_id)
             .join(member, member.id == Appraisal.person_id)
             .join(writer, writer.id == Appraisal.by_id)
             .where(Appraisal.status == "submitted", member.township_id.in_(townships))
             .order_by(Appraisal.updated_at, Appraisal.id))
    for row, author, township_id in (await session.execute(query)).all():
        _file(found, "township_leader", township_id, _Candidate(
            Waiting(APPRAISAL, row, author), "appraisal", author.village_id, township_id))


async def waiting_for_each(
    session: AsyncSession, *, reviewers: Sequence[Person]
) -> dict[int, list[Waiting]]:
    """Everything waiting for each reviewer's review (by person id), weekly summaries first,
    oldest first: at most five queries, however many reviewers."""
    kinds: list[_Found] = [{}, {}, {}]
    await _weekly(session, reviewers, kinds[0])
    await _stage(session, reviewers, kinds[1])
    await _appraisals(session, reviewers, kinds[2])
    return {r.id: [c.waiting for found in kinds
                   for c in found.get((r.role, _place(r)), []) if c.is_for(r)]
            for r in reviewers}


async def waiting_for(session: AsyncSession, *, reviewer: Person) -> list[Waiting]:
    """Everything waiting for this person's review, weekly summaries first, oldest first."""
    return (await waiting_for_each(session, reviewers=[reviewer]))[reviewer.id]
