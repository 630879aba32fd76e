"""Help given: condolence visits, unit donations, labour export and projects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.households import resolve
from storage.models import Aid, Household, Person
from storage.pairings import paired_household
from storage.people import places
from storage.scope import in_period

KINDS = ("condolence", "donation", "labour", "project")
HOLIDAYS = ("new_year", "spring_festival")
PROJECT_TYPES = ("farming", "transport", "water", "other")
CENTS = Decimal("0.01")


async def add_aid(
    session: AsyncSession,
    *,
    person: Person,
    kind: str,
    day: dt.date,
    now: dt.datetime,
    household_id: int | None = None,
    household_name: str | None = None,
    holiday: str | None = None,
    amount: Decimal | None = None,
    items: str | None = None,
    people_count: int | None = None,
    destination: str | None = None,
    project_name: str | None = None,
    project_type: str | None = None,
) -> Aid:
    """Record one act of help, with the cadre's village, township and unit on the row.

    A condolence visit names a household by id or by name (a new name joins the village list).
    Someone in no village team (a county-level or township leader) records only a condolence
    for one of their own paired households (`household_id`), re-checked here against their
    pairings and pairing scope as they stand (OutOfScope); the row carries the household's
    village and township, where the visit counts.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown aid kind {kind!r}")
    if project_type is not None and project_type not in PROJECT_TYPES:
        raise ValueError(f"unknown project type {project_type!r}")
    household: Household | None
    if person.village_id is None:
        if kind != "condolence":
            raise ValueError("outside a village team: only a paired household's condolence")
        household, village = await paired_household(session, person=person,
                                                    household_id=household_id)
        place = {"village_id": village.id, "township_id": village.township_id,
                 "unit_id": person.unit_id}
    else:
        household = await resolve(session, person=person, now=now, household_id=household_id,
                                  household_name=household_name)
        place = places(person)
    row = Aid(
        person_id=person.id, **place, kind=kind, day=day,
        household_id=household.id if household else None,
        holiday=holiday, amount=amount, items=items, people_count=people_count,
        destination=destination, project_name=project_name,
        project_type=project_type, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def _sum_if(kind: str, column: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((Aid.kind == kind, column), else_=None)), 0)


def _count_if(kind: str) -> ColumnElement[Any]:
    return func.count(case((Aid.kind == kind, 1), else_=None))


async def aid_totals(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> dict[str, Any]:
    """Totals of help from `start` to `end` inclusive, in one aggregate query (the county's
    read from the (day, kind, amount, people_count) index alone)."""
    query = select(
        func.count(), _count_if("condolence"), _sum_if("condolence", Aid.amount),
        _count_if("donation"), _sum_if("donation", Aid.amount),
        _sum_if("labour", Aid.people_count), _count_if("project"),
        _sum_if("project", Aid.amount),
    )
    query = in_period(query, Aid, start=start, end=end, village_ids=village_ids,
                      township_id=township_id, person_id=person_id)
    row = (await session.execute(query)).one()
    return {
        "count": int(row[0]),
        "condolence_count": int(row[1]),
        "condolence_amount": _money(row[2]),
        "donation_count": int(row[3]),
        "donation_value": _money(row[4]),
        "labour_people": int(row[5]),
        "project_count": int(row[6]),
        "project_funds": _money(row[7]),
    }


def _money(value: Any) -> Decimal:
    # SQLite sums NUMERIC as float; go through str so 0.1 + 0.2 stays 0.30.
    return Decimal(str(value or 0)).quantize(CENTS)


async def aid_count_by_person(
    session: AsyncSession, *, person_ids: list[int], start: dt.date, end: dt.date
) -> dict[int, int]:
    """How many acts of help each person recorded in a period (absent: none)."""
    result = await session.execute(
        select(Aid.person_id, func.count())
        .where(Aid.person_id.in_(person_ids), Aid.day >= start, Aid.day <= end)
        .group_by(Aid.person_id)
    )
    return {person_id: int(count) for person_id, count in result.all()}
