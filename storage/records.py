"""The console's records: a page of one kind's rows (the export's columns and row queries),
narrowed by the console's filters, and one record with its history.

The rows are the export's (storage/export.py: `*_query`), so a visit reads the same in the
workbook, the API and the console. The console adds what the export does not ask: the cadre
(a cadre sees only their own; a leader may name one), a kind or category, a status and words
the record's text contains; the newest first, a page at a time.

Search is a case-insensitive LIKE over the kind's text columns, run after the scope's and the
period's indexed filters have narrowed the rows: no index serves a search for any words (the
records are short Chinese text, which word indexes do not split), and the period and the page
(LIMIT) keep it to what a leader asks about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import export
from storage.models import (
    Aid,
    AuditEntry,
    Dispute,
    DisputeStep,
    Household,
    Person,
    Problem,
    ProblemStep,
    Summary,
    Township,
    Village,
    Visit,
)

# How many rows (the newest that pass the other filters) a search reads at most.
SEARCHED = 10_000
# The ids the console checks a record's scope by, after the export's columns.
PLACE_COLUMNS = ("person_id", "village_id", "township_id")


@dataclass(frozen=True)
class Kind:
    """One kind of record as the console lists it."""

    query: Callable[[export.Filter | None], Select]  # the export's row query
    model: Any
    order: Any  # the column of its day (or time): the newest first
    columns: tuple[str, ...]  # the export's column keys of `query`
    entity: str  # its name in the audit trail
    code: Any = None  # the kind or category a reader filters by
    status: Any = None
    texts: tuple[Any, ...] = ()  # what search looks in


KINDS: dict[str, Kind] = {
    "visits": Kind(export.visit_query, Visit, Visit.day, export.VISITS, "visit",
                   code=Visit.kind, texts=(Visit.heard, Visit.wants, Household.name)),
    "disputes": Kind(export.dispute_query, Dispute, Dispute.opened_on, export.DISPUTES,
                     "dispute", code=Dispute.category, status=Dispute.status,
                     texts=(Dispute.description, Dispute.parties)),
    "problems": Kind(export.problem_query, Problem, Problem.created_at, export.PROBLEMS,
                     "problem", code=Problem.category, status=Problem.status,
                     texts=(Problem.description, Problem.measures, Problem.responsible,
                            Household.name)),
    "summaries": Kind(export.summary_query, Summary, Summary.week_start, export.SUMMARIES,
                      "summary", status=Summary.status,
                      texts=(Summary.achievements, Summary.problems, Summary.plan,
                             Summary.short_reason, Summary.return_reason)),
    "aid": Kind(export.aid_query, Aid, Aid.day, export.AID, "aid", code=Aid.kind,
                texts=(Aid.items, Aid.destination, Aid.project_name, Household.name)),
}


@dataclass(frozen=True)
class Sieve:
    """The console's filters beyond the export's period and scope."""

    person_id: int | None = None  # a cadre's own records
    cadre: str = ""  # part of the cadre's name
    code: str = ""  # the kind or category
    status: str = ""
    text: str = ""  # words the record's text contains


def sifted(kind: str, where: export.Filter, sieve: Sieve,
           after: tuple[Any, int] | None = None) -> Select:
    """The kind's rows of the period and scope that pass the sieve, newest first, with the
    ids of PLACE_COLUMNS after the export's columns; with `after` (a row's day or time and
    id), only the rows newer than it."""
    spec = KINDS[kind]
    model = spec.model
    query = _with_place(kind, where)
    if sieve.person_id is not None:
        query = query.where(model.person_id == sieve.person_id)
    if sieve.cadre:  # the people of that name first: then each kind's index by person
        named = aliased(Person)
        query = query.where(model.person_id.in_(
            select(named.id).where(named.name.contains(sieve.cadre, autoescape=True))))
    if sieve.code and spec.code is not None:
        query = query.where(spec.code == sieve.code)
    if sieve.status and spec.status is not None:
        query = query.where(spec.status == sieve.status)
    if after is not None:
        query = query.where(spec.order >= after[0],  # the index's range; then the ties
                            or_(spec.order > after[0], model.id > after[1]))
    if sieve.text:
        found: list[ColumnElement[bool]] = [
            column.icontains(sieve.text, autoescape=True) for column in spec.texts]
        query = query.where(or_(*found))
    return query.order_by(spec.order.desc(), model.id.desc())


async def page(session: AsyncSession, kind: str, *, where: export.Filter,
               sieve: Sieve) -> tuple[list[dict[str, Any]], bool]:
    """One page of the kind's rows (where.offset, where.limit), as column key -> value, and
    whether every row that passes the other filters was searched for the words.

    Words are looked for among the newest SEARCHED rows that pass the other filters: a LIKE
    reads every row it is asked about, and a rare word over a whole county's campaign would
    read half a million. The first row left out is found first (from the indexes), and the
    search reads only the rows newer than it."""
    after = None
    if sieve.text:
        spec = KINDS[kind]
        unsearched = sifted(kind, where, replace(sieve, text=""))
        edge = unsearched.with_only_columns(spec.order, spec.model.id).offset(SEARCHED).limit(1)
        found = (await session.execute(edge)).first()
        after = (found[0], found[1]) if found is not None else None
    query = sifted(kind, where, sieve, after).offset(where.offset)
    if where.limit is not None:
        query = query.limit(where.limit)
    return _named(kind, (await session.execute(query)).all()), after is None


def _named(kind: str, rows: Any) -> list[dict[str, Any]]:
    keys = (*KINDS[kind].columns, *PLACE_COLUMNS)
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _with_place(kind: str, where: export.Filter | None = None) -> Select:
    """The kind's export rows (of `where`'s period and scope) with the ids of PLACE_COLUMNS
    after the export's columns."""
    model = KINDS[kind].model
    return KINDS[kind].query(where).add_columns(model.person_id, model.village_id,
                                                model.township_id)


async def record(session: AsyncSession, kind: str, record_id: int) -> dict[str, Any] | None:
    """One record with the export's columns and PLACE_COLUMNS, or None."""
    query = _with_place(kind).where(KINDS[kind].model.id == record_id)
    found = _named(kind, (await session.execute(query)).all())
    return found[0] if found else None


async def raised_from(session: AsyncSession, *, visit_id: int) -> list[dict[str, Any]]:
    """The problems raised from a visit, the oldest first, as `record` gives a problem."""
    query = _with_place("problems").where(Problem.visit_id == visit_id)
    query = query.order_by(Problem.created_at, Problem.id)
    return _named("problems", (await session.execute(query)).all())


async def steps(session: AsyncSession, kind: str, record_id: int) -> list[dict[str, Any]]:
    """A dispute's or a problem's steps in order (the export's step columns); none for the
    other kinds, whose history is their review and the audit trail."""
    keys: tuple[str, ...]
    if kind == "disputes":
        query = export.dispute_step_query().where(DisputeStep.dispute_id == record_id)
        query = query.order_by(DisputeStep.at, DisputeStep.id)
        keys = export.DISPUTE_STEPS
    elif kind == "problems":
        query = export.problem_step_query().where(ProblemStep.problem_id == record_id)
        query = query.order_by(ProblemStep.created_at, ProblemStep.id)
        keys = export.PROBLEM_STEPS
    else:
        return []
    return [dict(zip(keys, row, strict=True)) for row in (await session.execute(query)).all()]


async def audit(session: AsyncSession, kind: str, record_id: int) -> list[tuple[Any, ...]]:
    """The audit trail's entries on the record, in order (columns export.AUDIT)."""
    query = export.audit_query().where(AuditEntry.entity == KINDS[kind].entity,
                                       AuditEntry.entity_id == record_id)
    return [tuple(row) for row in
            (await session.execute(query.order_by(AuditEntry.at, AuditEntry.id))).all()]


async def visit_photo(session: AsyncSession, visit_id: int) -> str | None:
    """The Telegram file id of a visit's photo, or None."""
    found: str | None = await session.scalar(
        select(Visit.photo_file_id).where(Visit.id == visit_id))
    return found



async def places(session: AsyncSession, *, township_id: int | None = None
                 ) -> list[tuple[int, str, int, str]]:
    """Every village (of one township, when given) with its township: (township id, township
    name, village id, village name), by township and village name."""
    query = select(Township.id, Township.name, Village.id, Village.name).join(
        Village, Village.township_id == Township.id)
    if township_id is not None:
        query = query.where(Township.id == township_id)
    rows = await session.execute(query.order_by(Township.name, Village.name))
    return [(row[0], row[1], row[2], row[3]) for row in rows]
