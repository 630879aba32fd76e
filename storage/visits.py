"""Visits ("eight visits, eight questions") and the village problem ledger they feed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.households import resolve
from storage.models import Person, Visit
from storage.people import places
from storage.problems import CATEGORIES as PROBLEM_CATEGORIES
from storage.problems import raise_problem
from storage.scope import in_period

KINDS = ("weak", "masses", "rich", "enterprise", "petitioner", "wise", "talent", "old")
HOUSEHOLD_CATEGORIES = (
    "poor", "ill", "five_guarantee", "left_behind", "zero_employment", "petitioning",
    "specialised",
)


async def add_visit(
    session: AsyncSession,
    *,
    person: Person,
    kind: str,
    day: dt.date,
    heard: str,
    wants: str,
    now: dt.datetime,
    household_id: int | None = None,
    household_name: str | None = None,
    household_category: str | None = None,
    problem_category: str | None = None,
    photo_file_id: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    problem_due_on: dt.date | None = None,
) -> Visit:
    """Record a visit with the cadre's village, township and unit; a problem category puts
    it in the village's problem ledger (status "raised", to be taken in hand by
    `problem_due_on`).

    The household is named by id (of the cadre's village) or by a name, new names joining
    the village's list."""
    _check(kind, KINDS, "visit kind")
    if household_category is not None:
        _check(household_category, HOUSEHOLD_CATEGORIES, "household category")
    if problem_category is not None:
        _check(problem_category, PROBLEM_CATEGORIES, "problem category")
    household = await resolve(session, person=person, now=now, household_id=household_id,
                              household_name=household_name, category=household_category)
    visit = Visit(
        person_id=person.id, **places(person), day=day, kind=kind,
        household_id=household.id if household else None,
        household_category=household_category, heard=heard, wants=wants,
        followup=problem_category is not None, photo_file_id=photo_file_id,
        latitude=latitude, longitude=longitude, created_at=now,
    )
    session.add(visit)
    await session.flush()
    if problem_category is not None:
        await raise_problem(session, person=person, category=problem_category,
                            description=wants, priority="normal", day=day, now=now,
                            next_due_on=problem_due_on, visit_id=visit.id,
                            household_id=visit.household_id)
    return visit


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}")


async def visits_by_kind(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> dict[str, int]:
    """Visits per kind from `start` to `end` inclusive (kinds with none are absent)."""
    query = in_period(select(Visit.kind, func.count()).group_by(Visit.kind), Visit, start=start,
                      end=end, village_ids=village_ids, township_id=township_id,
                      person_id=person_id)
    return {kind: int(count) for kind, count in (await session.execute(query)).all()}


async def visits_by_person(
    session: AsyncSession, *, person_ids: list[int], start: dt.date, end: dt.date
) -> dict[int, int]:
    """How many visits each person recorded from `start` to `end` (absent: none)."""
    query = in_period(select(Visit.person_id, func.count()).group_by(Visit.person_id), Visit,
                      start=start, end=end, village_ids=None, township_id=None, person_id=None)
    query = query.where(Visit.person_id.in_(person_ids))
    return {pid: int(count) for pid, count in (await session.execute(query)).all()}


async def visits_of(session: AsyncSession, *, person_id: int) -> list[Visit]:
    """A person's visits, oldest first."""
    result = await session.execute(
        select(Visit).where(Visit.person_id == person_id).order_by(Visit.day, Visit.id))
    return list(result.scalars())
