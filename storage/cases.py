"""Model cases and good practices: a cadre submits one with text and photos; the office
features it for publicity or sets it aside.

One grouped query (by village) counts the cases submitted and featured in a period for /stats,
the export's summary and the HTTP API; the Monday report lists the week's featured cases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.models import ModelCase, Person, Village
from storage.people import places
from storage.scope import in_place, summed

KINDS = ("model", "practice")  # a model case, a good practice
SUBMITTED, FEATURED, SET_ASIDE = "submitted", "featured", "set_aside"
STATUSES = (SUBMITTED, FEATURED, SET_ASIDE)
DECISIONS = (FEATURED, SET_ASIDE)


class AlreadyDecided(Exception):
    """The case was featured or set aside before: a decision is made once."""


@dataclass
class CaseCounts:
    """Cases submitted, and cases featured for publicity, in a period."""

    submitted: int = 0
    featured: int = 0

    def merge(self, other: CaseCounts) -> None:
        """Count another place's cases in."""
        self.submitted += other.submitted
        self.featured += other.featured


@dataclass(frozen=True)
class CaseView:
    """A case with the names a reader needs."""

    case: ModelCase
    cadre: str
    village: str


async def add_case(
    session: AsyncSession,
    *,
    person: Person,
    kind: str,
    title: str,
    text: str,
    photos: list[str],
    day: dt.date,
    now: dt.datetime,
) -> ModelCase:
    """Record a submitted case with the cadre's village, township and unit on the row."""
    if kind not in KINDS:
        raise ValueError(f"unknown case kind {kind!r}")
    if not title.strip() or not text.strip():
        raise ValueError("a case needs a title and a text")
    row = ModelCase(person_id=person.id, **places(person), day=day, kind=kind, title=title,
                    text=text, photos=list(photos), status=SUBMITTED, created_at=now)
    session.add(row)
    await session.flush()
    return row


def _viewed() -> Select:
    """Cases with their cadre's and village's names."""
    return (select(ModelCase, Person.name, Village.name)
            .join(Person, Person.id == ModelCase.person_id)
            .outerjoin(Village, Village.id == ModelCase.village_id))


async def recent_cases(
    session: AsyncSession,
    *,
    status: str = SUBMITTED,
    limit: int,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> tuple[list[CaseView], int]:
    """The newest cases of a status (at most `limit`), and how many there are in all."""
    def placed(query: Select) -> Select:
        return in_place(query.where(ModelCase.status == status), ModelCase,
                        village_ids=village_ids, township_id=township_id, person_id=None)

    total = (await session.execute(
        placed(select(func.count()).select_from(ModelCase)))).scalar_one()
    query = placed(_viewed())
    rows = (await session.execute(
        query.order_by(ModelCase.created_at.desc(), ModelCase.id.desc()).limit(limit))).all()
    return [CaseView(row, cadre, village or "") for row, cadre, village in rows], int(total)


async def case_view(
    session: AsyncSession, *, case_id: int, lock: bool = False
) -> CaseView | None:
    """One case with its cadre's and village's names; `lock` holds the row (PostgreSQL)."""
    query = _viewed().where(ModelCase.id == case_id)
    if lock:
        query = query.with_for_update(of=ModelCase)
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row, cadre, village = found
    return CaseView(row, cadre, village or "")


async def decide(
    session: AsyncSession,
    *,
    case: ModelCase,
    status: str,
    by_person_id: int,
    now: dt.datetime,
    day: dt.date,
) -> ModelCase:
    """Feature a submitted case for publicity or set it aside, with an audit entry."""
    if status not in DECISIONS:
        raise ValueError(f"unknown decision {status!r}")
    if case.status != SUBMITTED:
        raise AlreadyDecided(case.status)
    old = case.status
    case.status, case.decided_by, case.decided_at, case.decided_on = status, by_person_id, now, day
    await record_audit(session, actor_id=by_person_id, entity="model_case", entity_id=case.id,
                       action=status, at=now, field="status", old=old, new=status)
    await session.flush()
    return case


async def featured_between(
    session: AsyncSession, *, start: dt.date, end: dt.date
) -> list[CaseView]:
    """The cases featured from `start` to `end` inclusive (local days), in the order featured."""
    query = _viewed().where(
        ModelCase.status == FEATURED, ModelCase.decided_on >= start, ModelCase.decided_on <= end)
    rows = (await session.execute(query.order_by(ModelCase.decided_at, ModelCase.id))).all()
    return [CaseView(row, cadre, village or "") for row, cadre, village in rows]


async def cases_by_village(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> dict[int | None, CaseCounts]:
    """Each village's cases submitted from `start` to `end` inclusive, and those featured in
    it (whenever submitted), in one grouped query (villages without any are absent)."""
    submitted = and_(ModelCase.day >= start, ModelCase.day <= end)
    featured = and_(ModelCase.status == FEATURED, ModelCase.decided_on >= start,
                    ModelCase.decided_on <= end)
    query = (select(ModelCase.village_id, func.count(case((submitted, ModelCase.id))),
                    func.count(case((featured, ModelCase.id))))
             .where(or_(submitted, featured))
             .group_by(ModelCase.village_id))
    query = in_place(query, ModelCase, village_ids=village_ids, township_id=township_id,
                     person_id=person_id)
    return {village_id: CaseCounts(int(new), int(shown))
            for village_id, new, shown in (await session.execute(query)).all()}


async def case_totals(
    session: AsyncSession,
    *,
    start: dt.date,
    end: dt.date,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> CaseCounts:
    """The cases of a scope in a period: its villages' counts summed."""
    return summed((await cases_by_village(
        session, start=start, end=end, village_ids=village_ids, township_id=township_id,
        person_id=person_id)).values(), CaseCounts())
