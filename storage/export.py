"""The campaign's records for an export: one streaming query per record kind.

Each kind yields plain tuples in the order of its column keys, with the names a reader needs
(cadre, unit, township, village, household) joined in. Rows come from a server-side cursor in
batches, so a whole campaign is never held in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.figures import local_bounds
from storage.models import (
    Aid,
    Appraisal,
    AuditEntry,
    Checkin,
    Dispute,
    DisputeStep,
    Household,
    Inspection,
    InspectionCadre,
    LeaveRequest,
    ModelCase,
    Pairing,
    Person,
    Problem,
    ProblemStep,
    Publicity,
    SpotCheck,
    StageSummary,
    Summary,
    Township,
    TrainingAbsence,
    TrainingSession,
    Unit,
    Village,
    Visit,
    WinterItem,
)
from storage.problems import PRIORITIES
from storage.publicity import coverage_by_village
from storage.rectification import RULE_KINDS, progress_of, progress_query, systems_by_village
from storage.targets import TargetRules, village_targets
from storage.winter import percent, unit_of

YIELD_PER = 2000

VISITS = ("id", "day", "created_at", "cadre", "unit", "township", "village", "kind",
          "household", "household_category", "heard", "wants", "followup", "photo",
          "latitude", "longitude")
PROBLEMS = ("id", "created_at", "updated_at", "cadre", "township", "village", "visit_id",
            "category", "description", "status", "priority", "household", "measures",
            "responsible", "due_on", "feedback_on", "next_due_on")
PROBLEM_STEPS = ("problem_id", "day", "created_at", "by", "township", "village", "category",
                 "action", "status", "held", "measures", "responsible", "due_on", "addressee",
                 "note")
DISPUTES = ("id", "opened_on", "created_at", "cadre", "unit", "township", "village",
            "category", "parties", "people_count", "flags", "description", "urgency", "status",
            "level", "verdict", "last_step_at", "reminder_stage", "handover_level", "taken_by",
            "taken_at")
DISPUTE_STEPS = ("dispute_id", "at", "by", "township", "village", "category", "action",
                 "status", "note")
CHECKINS = ("id", "day", "cadre", "unit", "township", "village", "in_village", "reason",
            "latitude", "longitude", "created_at", "updated_at")
AID = ("id", "day", "created_at", "cadre", "unit", "township", "village", "kind", "household",
       "holiday", "amount", "items", "people_count", "destination", "project_name")
PUBLICITY = ("id", "day", "created_at", "cadre", "unit", "township", "village", "kind",
             "attendance", "topics", "other_topic", "slogans", "boards")
CASES = ("id", "day", "created_at", "cadre", "unit", "township", "village", "kind", "title",
         "text", "photos", "status", "decided_by", "decided_at")
SUMMARIES = ("id", "week_start", "cadre", "unit", "township", "village", "figures",
             "achievements", "problems", "plan", "short_reason", "status", "submitted_at",
             "accepted_at", "accepted_by", "returned_at", "returned_by", "return_reason")
PAIRINGS = ("id", "created_at", "cadre", "rank", "unit", "township", "village", "household",
            "household_category")
PEOPLE = ("id", "name", "phone", "rank", "role", "unit", "township", "village", "active",
          "bound_at", "last_seen_at", "created_at")
AUDIT = ("id", "at", "actor", "entity", "entity_id", "action", "field", "old_value",
         "new_value")

APPRAISALS = ("id", "cadre", "rank", "unit", "township", "village", "grade", "comment", "by",
              "created_at", "updated_at", "status", "accepted_at", "accepted_by", "returned_at",
              "returned_by", "return_reason")
STAGE_SUMMARIES = ("id", "kind", "cadre", "rank", "unit", "township", "village", "figures",
                   "achievements", "experience", "problems", "suggestions", "status",
                   "submitted_at", "accepted_at", "accepted_by", "returned_at", "returned_by",
                   "return_reason", "grade", "appraisal", "appraised_by")
RECTIFICATION = ("township", "village", "types", "measures", *RULE_KINDS, "last_action")
WINTER = ("township", "village", "item", "unit", "target", "progress", "percent")
# One row per village and target: what was done, what the county asks, met or not, and what
# falls short (projects under the threshold, units that gave nothing, households unvisited).
TARGETS = ("township", "village", "target", "done", "required", "met", "short")
LEAVE = ("id", "cadre", "unit", "township", "village", "first_day", "last_day", "reason",
         "status", "requested_at", "decided_at", "decided_by")
# Every village as it stands: the notice's systems recorded (yes/no each) and those lacking;
# the slogans and boards its publicity sessions recorded, and which of the two it has none of.
SYSTEMS = ("township", "village", *RULE_KINDS, "lacking")
COVERAGE = ("township", "village", "slogans", "boards", "lacking")
# Supervision (issue 19): each inspection with the team found present and away; each spot
# check with its record, who drew it, who verified it and the result.
INSPECTIONS = ("id", "day", "kind", "township", "village", "inspector", "present", "absent",
               "findings", "created_at")
# Trainings (issue 19): each with its township ("county": the whole county), topic, who
# recorded it and who was absent.
TRAINING = ("id", "day", "township", "topic", "recorder", "absent", "created_at")
SPOT_CHECKS = ("id", "drawn_at", "record_kind", "day", "cadre", "township", "village",
               "drawn_by", "checker", "status", "note", "answered_at")

COLUMNS: dict[str, tuple[str, ...]] = {
    "visits": VISITS, "problems": PROBLEMS, "problem_steps": PROBLEM_STEPS,
    "disputes": DISPUTES, "dispute_steps": DISPUTE_STEPS,
    "checkins": CHECKINS, "aid": AID, "publicity": PUBLICITY, "cases": CASES,
    "summaries": SUMMARIES,
    "pairings": PAIRINGS, "people": PEOPLE, "audit": AUDIT, "appraisals": APPRAISALS,
    "stage_summaries": STAGE_SUMMARIES,
    "rectification": RECTIFICATION, "winter": WINTER, "targets": TARGETS, "leave": LEAVE,
    "systems": SYSTEMS, "coverage": COVERAGE,
    "inspections": INSPECTIONS, "spot_checks": SPOT_CHECKS,
    "training": TRAINING,
}
KINDS = tuple(COLUMNS)
# The date or time column each kind's rows come in the order of (kinds not listed come in
# another order): an export too large for one file is cut by these days.
BY_DAY: dict[str, str] = {
    "visits": "day", "problems": "created_at", "disputes": "opened_on", "checkins": "day",
    "aid": "day", "publicity": "day", "cases": "day", "summaries": "week_start", "audit": "at",
    "inspections": "day", "spot_checks": "drawn_at", "training": "day",
}

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Window:
    """A period of inclusive local dates and the UTC instants that bound it."""

    start: dt.date
    end: dt.date
    low: dt.datetime
    high: dt.datetime


def window(start: dt.date, end: dt.date, tz: dt.tzinfo) -> Window:
    """The local days `start`..`end` inclusive, with their UTC bounds [low, high)."""
    low, high = local_bounds(start, tz, days=(end - start).days + 1)
    return Window(start, end, low, high)


@dataclass(frozen=True)
class Filter:
    """Which rows an export takes: a period and a scope's `village_ids` / `township_id`."""

    window: Window
    village_ids: list[int] | None = None
    township_id: int | None = None
    offset: int = 0  # a page of the rows, for the HTTP API
    limit: int | None = None
    # The county's help targets (from the settings): the targets sheet is judged by them and
    # is empty without them.
    rules: TargetRules | None = None


async def _stream(session: AsyncSession, where: Filter, query: Select) -> AsyncIterator[Row]:
    """The rows of a query, fetched YIELD_PER at a time from a server-side cursor.

    The query selects columns, never whole entities: it runs on the session's connection,
    without the ORM's row loading (a third of the fetching time of a large export)."""
    if any(isinstance(column["type"], type) for column in query.column_descriptions):
        raise ValueError("export queries select columns, not entities")
    if where.offset:
        query = query.offset(where.offset)
    if where.limit is not None:
        query = query.limit(where.limit)
    connection = await session.connection()
    result = await connection.stream(query.execution_options(yield_per=YIELD_PER))
    try:
        async for partition in result.partitions():
            for row in partition:
                yield tuple(row)
    finally:
        await result.close()


def _placed(query: Select, village: Any, township: Any, where: Filter) -> Select:
    """Limit a query to the scope by its village and township columns."""
    if where.village_ids is not None:
        query = query.where(village.in_(where.village_ids))
    if where.township_id is not None:
        query = query.where(township == where.township_id)
    return query


def _names(query: Select, village: Any, township: Any, unit: Any = None) -> Select:
    """Outer-join the village, township (and unit) named by a row's id columns."""
    query = query.outerjoin(Township, Township.id == township)
    query = query.outerjoin(Village, Village.id == village)
    if unit is not None:
        query = query.outerjoin(Unit, Unit.id == unit)
    return query


def visit_query(where: Filter | None = None) -> Select:
    """The columns VISITS of visits, in the period and scope of `where` when given."""
    query: Select = select(
        Visit.id, Visit.day, Visit.created_at, Person.name, Unit.name, Township.name,
        Village.name, Visit.kind, Household.name, Visit.household_category, Visit.heard,
        Visit.wants, Visit.followup, Visit.photo_file_id.is_not(None), Visit.latitude,
        Visit.longitude,
    ).join(Person, Person.id == Visit.person_id).outerjoin(
        Household, Household.id == Visit.household_id)
    query = _names(query, Visit.village_id, Visit.township_id, Visit.unit_id)
    if where is not None:
        query = query.where(Visit.day >= where.window.start, Visit.day <= where.window.end)
        query = _placed(query, Visit.village_id, Visit.township_id, where)
    return query


def visit_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Visits on local days of the period, by day."""
    return _stream(session, where, visit_query(where).order_by(Visit.day, Visit.id))


def problem_query(where: Filter | None = None) -> Select:
    """The columns PROBLEMS of problems, raised in the period and scope of `where`
    when given."""
    query: Select = select(
        Problem.id, Problem.created_at, Problem.updated_at, Person.name, Township.name,
        Village.name, Problem.visit_id, Problem.category, Problem.description, Problem.status,
        case(*[(Problem.priority == n, code) for code, n in PRIORITIES.items()],
             else_="normal"),
        Household.name, Problem.measures, Problem.responsible, Problem.due_on,
        Problem.feedback_on, Problem.next_due_on,
    ).join(Person, Person.id == Problem.person_id).outerjoin(
        Household, Household.id == Problem.household_id)
    query = _names(query, Problem.village_id, Problem.township_id)
    if where is not None:
        query = query.where(Problem.created_at >= where.window.low,
                            Problem.created_at < where.window.high)
        query = _placed(query, Problem.village_id, Problem.township_id, where)
    return query


def problem_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Problems of the ledger raised in the period."""
    return _stream(session, where, problem_query(where).order_by(Problem.created_at, Problem.id))


def problem_step_query(where: Filter | None = None) -> Select:
    """The columns PROBLEM_STEPS of problems' steps, taken in the period on problems of
    the scope of `where` when given."""
    query: Select = select(
        ProblemStep.problem_id, ProblemStep.day, ProblemStep.created_at, Person.name,
        Township.name, Village.name, Problem.category, ProblemStep.action, ProblemStep.status,
        ProblemStep.held, ProblemStep.measures, ProblemStep.responsible, ProblemStep.due_on,
        ProblemStep.addressee, ProblemStep.note,
    ).join(Problem, Problem.id == ProblemStep.problem_id).outerjoin(
        Person, Person.id == ProblemStep.by_person_id)
    query = _names(query, Problem.village_id, Problem.township_id)
    if where is not None:
        query = query.where(ProblemStep.created_at >= where.window.low,
                            ProblemStep.created_at < where.window.high)
        query = _placed(query, Problem.village_id, Problem.township_id, where)
    return query


def problem_step_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Steps taken in the period on problems of the scope, in order."""
    order = (ProblemStep.problem_id, ProblemStep.created_at, ProblemStep.id)
    return _stream(session, where, problem_step_query(where).order_by(*order))


def dispute_query(where: Filter | None = None) -> Select:
    """The columns DISPUTES of disputes, opened in the period and scope of `where`
    when given."""
    taker = aliased(Person)
    query: Select = select(
        Dispute.id, Dispute.opened_on, Dispute.created_at, Person.name, Unit.name,
        Township.name, Village.name, Dispute.category, Dispute.parties, Dispute.people_count,
        Dispute.flags, Dispute.description, Dispute.urgency, Dispute.status, Dispute.level,
        Dispute.verdict, Dispute.last_step_at, Dispute.escalation_stage, Dispute.handover_level,
        taker.name, Dispute.taken_at,
    ).join(Person, Person.id == Dispute.person_id).outerjoin(taker, taker.id == Dispute.taken_by)
    query = _names(query, Dispute.village_id, Dispute.township_id, Dispute.unit_id)
    if where is not None:
        query = query.where(Dispute.opened_on >= where.window.start,
                            Dispute.opened_on <= where.window.end)
        query = _placed(query, Dispute.village_id, Dispute.township_id, where)
    return query


def dispute_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Disputes opened in the period, with who took each hand-over (受理) and when."""
    return _stream(session, where, dispute_query(where).order_by(Dispute.opened_on, Dispute.id))


def dispute_step_query(where: Filter | None = None) -> Select:
    """The columns DISPUTE_STEPS of disputes' steps, taken in the period on disputes of
    the scope of `where` when given."""
    query: Select = select(
        DisputeStep.dispute_id, DisputeStep.at, Person.name, Township.name, Village.name,
        Dispute.category, DisputeStep.action, DisputeStep.status, DisputeStep.note,
    ).join(Dispute, Dispute.id == DisputeStep.dispute_id).outerjoin(
        Person, Person.id == DisputeStep.by_person_id)
    query = _names(query, Dispute.village_id, Dispute.township_id)
    if where is not None:
        query = query.where(DisputeStep.at >= where.window.low, DisputeStep.at < where.window.high)
        query = _placed(query, Dispute.village_id, Dispute.township_id, where)
    return query


def dispute_step_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Steps taken in the period on disputes of the scope, in order."""
    order = (DisputeStep.dispute_id, DisputeStep.at, DisputeStep.id)
    return _stream(session, where, dispute_step_query(where).order_by(*order))


def checkin_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Check-ins for local days of the period."""
    query: Select = select(
        Checkin.id, Checkin.day, Person.name, Unit.name, Township.name, Village.name,
        Checkin.in_village, Checkin.reason, Checkin.latitude, Checkin.longitude,
        Checkin.created_at, Checkin.updated_at,
    ).join(Person, Person.id == Checkin.person_id)
    query = _names(query, Checkin.village_id, Checkin.township_id, Checkin.unit_id)
    query = query.where(Checkin.day >= where.window.start, Checkin.day <= where.window.end)
    query = _placed(query, Checkin.village_id, Checkin.township_id, where)
    return _stream(session, where, query.order_by(Checkin.day, Checkin.id))


def aid_query(where: Filter | None = None) -> Select:
    """The columns AID of help given, in the period and scope of `where` when given."""
    query: Select = select(
        Aid.id, Aid.day, Aid.created_at, Person.name, Unit.name, Township.name, Village.name,
        Aid.kind, Household.name, Aid.holiday, Aid.amount, Aid.items, Aid.people_count,
        Aid.destination, Aid.project_name,
    ).join(Person, Person.id == Aid.person_id).outerjoin(
        Household, Household.id == Aid.household_id)
    query = _names(query, Aid.village_id, Aid.township_id, Aid.unit_id)
    if where is not None:
        query = query.where(Aid.day >= where.window.start, Aid.day <= where.window.end)
        query = _placed(query, Aid.village_id, Aid.township_id, where)
    return query


def aid_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Help given on local days of the period."""
    return _stream(session, where, aid_query(where).order_by(Aid.day, Aid.id))


def publicity_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Publicity sessions held on local days of the period."""
    query: Select = select(
        Publicity.id, Publicity.day, Publicity.created_at, Person.name, Unit.name,
        Township.name, Village.name, Publicity.kind, Publicity.attendance, Publicity.topics,
        Publicity.other_topic, Publicity.slogans, Publicity.boards,
    ).join(Person, Person.id == Publicity.person_id)
    query = _names(query, Publicity.village_id, Publicity.township_id, Publicity.unit_id)
    query = query.where(Publicity.day >= where.window.start, Publicity.day <= where.window.end)
    query = _placed(query, Publicity.village_id, Publicity.township_id, where)
    return _stream(session, where, query.order_by(Publicity.day, Publicity.id))


async def case_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Model cases submitted on local days of the period; photos as how many there are."""
    decider = aliased(Person)
    query: Select = select(
        ModelCase.id, ModelCase.day, ModelCase.created_at, Person.name, Unit.name,
        Township.name, Village.name, ModelCase.kind, ModelCase.title, ModelCase.text,
        ModelCase.photos, ModelCase.status, decider.name, ModelCase.decided_at,
    ).join(Person, Person.id == ModelCase.person_id).outerjoin(
        decider, decider.id == ModelCase.decided_by)
    query = _names(query, ModelCase.village_id, ModelCase.township_id, ModelCase.unit_id)
    query = query.where(ModelCase.day >= where.window.start, ModelCase.day <= where.window.end)
    query = _placed(query, ModelCase.village_id, ModelCase.township_id, where)
    photos = CASES.index("photos")
    inner = _stream(session, where, query.order_by(ModelCase.day, ModelCase.id))
    try:
        async for row in inner:
            yield (*row[:photos], len(row[photos] or []), *row[photos + 1:])
    finally:
        close = getattr(inner, "aclose", None)  # a writer that stops early closes the cursor
        if close is not None:
            await close()


def summary_query(where: Filter | None = None) -> Select:
    """The columns SUMMARIES of weekly summaries, of the weeks that overlap the period
    and of the scope of `where` when given."""
    accepter, returner = aliased(Person), aliased(Person)
    query: Select = select(
        Summary.id, Summary.week_start, Person.name, Unit.name, Township.name, Village.name,
        Summary.figures, Summary.achievements, Summary.problems, Summary.plan,
        Summary.short_reason, Summary.status, Summary.submitted_at, Summary.accepted_at,
        accepter.name, Summary.returned_at, returner.name, Summary.return_reason,
    ).join(Person, Person.id == Summary.person_id).outerjoin(
        accepter, accepter.id == Summary.accepted_by).outerjoin(
        returner, returner.id == Summary.returned_by)
    query = _names(query, Summary.village_id, Summary.township_id, Summary.unit_id)
    if where is not None:
        first_week = where.window.start - dt.timedelta(days=6)
        query = query.where(Summary.week_start >= first_week,
                            Summary.week_start <= where.window.end)
        query = _placed(query, Summary.village_id, Summary.township_id, where)
    return query


def summary_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Weekly summaries of the weeks that overlap the period."""
    return _stream(session, where, summary_query(where).order_by(Summary.week_start, Summary.id))


def pairing_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Help pairs as they stood at the end of the period, with their households."""
    query: Select = select(
        Pairing.id, Pairing.created_at, Person.name, Person.rank, Unit.name, Township.name,
        Village.name, Household.name, Household.category,
    ).join(Person, Person.id == Pairing.person_id).join(
        Household, Household.id == Pairing.household_id)
    query = query.join(Village, Village.id == Household.village_id).join(
        Township, Township.id == Village.township_id).outerjoin(Unit, Unit.id == Person.unit_id)
    query = query.where(Pairing.created_at < where.window.high)
    query = _placed(query, Household.village_id, Village.township_id, where)
    return _stream(session, where, query.order_by(Township.name, Village.name, Pairing.id))


def people_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """The roster (no period: who is on it now), without invite codes or Telegram ids."""
    query: Select = select(
        Person.id, Person.name, Person.phone, Person.rank, Person.role, Unit.name,
        Township.name, Village.name, Person.active, Person.bound_at, Person.last_seen_at,
        Person.created_at,
    )
    query = _names(query, Person.village_id, Person.township_id, Person.unit_id)
    query = _placed(query, Person.village_id, Person.township_id, where)
    return _stream(session, where, query.order_by(Person.id))


def audit_query(where: Filter | None = None) -> Select:
    """The columns AUDIT of the audit trail, of the period of `where` when given."""
    query: Select = select(
        AuditEntry.id, AuditEntry.at, Person.name, AuditEntry.entity, AuditEntry.entity_id,
        AuditEntry.action, AuditEntry.field, AuditEntry.old_value, AuditEntry.new_value,
    ).outerjoin(Person, Person.id == AuditEntry.actor_id)
    if where is not None:
        query = query.where(AuditEntry.at >= where.window.low, AuditEntry.at < where.window.high)
    return query


def audit_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """The audit trail of the period (it names no place: the whole county's)."""
    return _stream(session, where, audit_query(where).order_by(AuditEntry.at, AuditEntry.id))


def appraisal_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Every appraisal of the scope (the summary stage has no period), by township, village
    and name; columns APPRAISALS."""
    appraiser, accepter, returner = aliased(Person), aliased(Person), aliased(Person)
    query: Select = select(
        Appraisal.id, Person.name, Person.rank, Unit.name, Township.name, Village.name,
        Appraisal.grade, Appraisal.comment, appraiser.name, Appraisal.created_at,
        Appraisal.updated_at, Appraisal.status, Appraisal.accepted_at, accepter.name,
        Appraisal.returned_at, returner.name, Appraisal.return_reason,
    ).join(Person, Person.id == Appraisal.person_id).join(
        appraiser, appraiser.id == Appraisal.by_id).outerjoin(
        accepter, accepter.id == Appraisal.accepted_by).outerjoin(
        returner, returner.id == Appraisal.returned_by)
    query = _names(query, Person.village_id, Person.township_id, Person.unit_id)
    query = _placed(query, Person.village_id, Person.township_id, where)
    return _stream(session, where, query.order_by(Township.name, Village.name, Person.name,
                                                  Appraisal.id))


def stage_summary_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Every stage summary of the scope (no period: the campaign's), with its author's
    appraisal; columns STAGE_SUMMARIES."""
    accepter, appraiser, returner = aliased(Person), aliased(Person), aliased(Person)
    query: Select = select(
        StageSummary.id, StageSummary.kind, Person.name, Person.rank, Unit.name, Township.name,
        Village.name, StageSummary.figures, StageSummary.achievements, StageSummary.experience,
        StageSummary.problems, StageSummary.suggestions, StageSummary.status,
        StageSummary.submitted_at, StageSummary.accepted_at, accepter.name,
        StageSummary.returned_at, returner.name, StageSummary.return_reason, Appraisal.grade,
        Appraisal.comment, appraiser.name,
    ).join(Person, Person.id == StageSummary.person_id).outerjoin(
        accepter, accepter.id == StageSummary.accepted_by).outerjoin(
        returner, returner.id == StageSummary.returned_by).outerjoin(
        Appraisal, Appraisal.person_id == StageSummary.person_id).outerjoin(
        appraiser, appraiser.id == Appraisal.by_id)
    query = _names(query, StageSummary.village_id, StageSummary.township_id,
                   StageSummary.unit_id)
    query = _placed(query, StageSummary.village_id, StageSummary.township_id, where)
    return _stream(session, where, query.order_by(Township.name, Village.name,
                                                  StageSummary.kind.desc(), Person.name,
                                                  StageSummary.id))


async def rectification_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Each marked village as it stands (marks have no period) with its measures and rules;
    columns RECTIFICATION."""
    query = progress_query(village_ids=where.village_ids, township_id=where.township_id)
    async for row in _stream(session, where, query):
        village = progress_of(row)
        yield (village.township, village.village, village.types, village.measures,
               *[bool(village.rules.get(kind)) for kind in RULE_KINDS], village.last_action)


async def winter_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Each village's winter items with a target, as they stand; columns WINTER."""
    query: Select = select(
        Township.name, Village.name, WinterItem.item, WinterItem.target, WinterItem.progress,
    ).join(Village, Village.id == WinterItem.village_id).join(
        Township, Township.id == WinterItem.township_id)
    query = _placed(query, WinterItem.village_id, WinterItem.township_id, where)
    query = query.order_by(Township.name, Village.name, WinterItem.item)
    async for township, village, item, target, progress in _stream(session, where, query):
        done = percent(progress, target)
        yield (township, village, item, unit_of(item), target, progress,
               None if done is None else round(done, 1))

async def target_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Each village's help against each target, as it stands (the whole campaign, whatever
    the period); columns TARGETS. `short` lists names, to be joined by the reader's comma."""
    rules = where.rules
    if rules is None:
        return
    for village in await village_targets(session, rules, village_ids=where.village_ids,
                                         township_id=where.township_id):
        missed = village.missed
        place = (village.township, village.village)
        yield (*place, "labour", village.labour, rules.labour_min, "labour" not in missed, [])
        best = max((p.funds for p in village.projects), default=None)
        yield (*place, "project", best, rules.project_min, "project" not in missed,
               [p.name for p in village.projects_below(rules)])
        yield (*place, "donation", sum(1 for u in village.units if u.count), len(village.units),
               "donation" not in missed, village.not_donated())
        for holiday, _day in rules.holidays:
            due = holiday in rules.due
            yield (*place, f"condolence_{holiday}", village.covered(holiday),
                   len(village.households), None if not due else not village.without(holiday),
                   village.without(holiday))
def leave_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Every leave request with a day in the period, whatever its decision; columns LEAVE."""
    decider = aliased(Person)
    query: Select = select(
        LeaveRequest.id, Person.name, Unit.name, Township.name, Village.name,
        LeaveRequest.first_day, LeaveRequest.last_day, LeaveRequest.reason, LeaveRequest.status,
        LeaveRequest.requested_at, LeaveRequest.decided_at, decider.name,
    ).join(Person, Person.id == LeaveRequest.person_id).outerjoin(
        decider, decider.id == LeaveRequest.decided_by)
    query = _names(query, LeaveRequest.village_id, LeaveRequest.township_id, Person.unit_id)
    query = query.where(LeaveRequest.first_day <= where.window.end,
                        LeaveRequest.last_day >= where.window.start)
    query = _placed(query, LeaveRequest.village_id, LeaveRequest.township_id, where)
    return _stream(session, where, query.order_by(LeaveRequest.first_day, LeaveRequest.id))


async def systems_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Every village of the scope with the systems its team recorded, as they stand (no
    period); columns SYSTEMS."""
    for village in await systems_by_village(session, village_ids=where.village_ids,
                                            township_id=where.township_id):
        yield (village.township, village.village,
               *[bool(village.rules.get(kind)) for kind in RULE_KINDS], village.lacking)


async def coverage_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Every village of the scope with its slogans and boards, as they stand (no period);
    columns COVERAGE."""
    for village in await coverage_by_village(session, village_ids=where.village_ids,
                                             township_id=where.township_id):
        yield (village.township, village.village, village.slogans, village.boards,
               village.lacking)
async def inspection_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Inspections on days of the period, by day, with the names of the team found present
    and away (an inspection's few rows, read after the inspections)."""
    query: Select = select(
        Inspection.id, Inspection.day, Inspection.kind, Township.name, Village.name, Person.name,
        Inspection.findings, Inspection.created_at,
    ).join(Person, Person.id == Inspection.person_id)
    query = _names(query, Inspection.village_id, Inspection.township_id)
    query = query.where(Inspection.day >= where.window.start, Inspection.day <= where.window.end)
    query = _placed(query, Inspection.village_id, Inspection.township_id, where)
    found = [tuple(row) async for row in _stream(
        session, where, query.order_by(Inspection.day, Inspection.id))]
    team: dict[int, tuple[list[str], list[str]]] = {row[0]: ([], []) for row in found}
    if team:
        members = select(InspectionCadre.inspection_id, Person.name, InspectionCadre.present).join(
            Person, Person.id == InspectionCadre.person_id).where(
            InspectionCadre.inspection_id.in_(list(team))).order_by(Person.name, Person.id)
        for inspection_id, name, present in (await session.execute(members)).all():
            team[inspection_id][0 if present else 1].append(name)
    for row in found:  # the names as lists: the workbook joins them as its language lists
        yield (*row[:6], *team[row[0]], *row[6:])


def spot_check_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Spot checks drawn in the period, by when: the record, who drew it, who verified it."""
    cadre, drawer, checker = aliased(Person), aliased(Person), aliased(Person)
    visit = and_(SpotCheck.record_kind == "visit", Visit.id == SpotCheck.record_id)
    aid = and_(SpotCheck.record_kind == "aid", Aid.id == SpotCheck.record_id)
    query: Select = select(
        SpotCheck.id, SpotCheck.drawn_at, SpotCheck.record_kind, func.coalesce(Visit.day, Aid.day),
        cadre.name, Township.name, Village.name, drawer.name, checker.name, SpotCheck.status,
        SpotCheck.note, SpotCheck.answered_at,
    ).join(cadre, cadre.id == SpotCheck.cadre_id).join(
        drawer, drawer.id == SpotCheck.drawn_by).outerjoin(
        checker, checker.id == SpotCheck.assigned_to).outerjoin(Visit, visit).outerjoin(Aid, aid)
    query = _names(query, SpotCheck.village_id, SpotCheck.township_id)
    query = query.where(SpotCheck.drawn_at >= where.window.low,
                        SpotCheck.drawn_at < where.window.high)
    query = _placed(query, SpotCheck.village_id, SpotCheck.township_id, where)
    return _stream(session, where, query.order_by(SpotCheck.drawn_at, SpotCheck.id))


async def training_rows(session: AsyncSession, *, where: Filter) -> AsyncIterator[Row]:
    """Trainings on days of the period, by day, with the names recorded absent. A township's
    (or a village's) export holds its township's trainings and the county's."""
    query: Select = select(
        TrainingSession.id, TrainingSession.day, func.coalesce(Township.name, "county"),
        TrainingSession.topic, Person.name, TrainingSession.created_at,
    ).join(Person, Person.id == TrainingSession.person_id).outerjoin(
        Township, Township.id == TrainingSession.township_id)
    query = query.where(TrainingSession.day >= where.window.start,
                        TrainingSession.day <= where.window.end)
    township_id = where.township_id
    if township_id is None and where.village_ids:
        township_id = (await session.execute(select(Village.township_id).where(
            Village.id == where.village_ids[0]))).scalar_one_or_none()
    if township_id is not None or where.village_ids is not None:
        query = query.where(or_(TrainingSession.township_id.is_(None),
                                TrainingSession.township_id == township_id))
    found = [tuple(row) async for row in _stream(
        session, where, query.order_by(TrainingSession.day, TrainingSession.id))]
    absent: dict[int, list[str]] = {row[0]: [] for row in found}
    if absent:
        names = select(TrainingAbsence.training_id, Person.name).join(
            Person, Person.id == TrainingAbsence.person_id).where(
            TrainingAbsence.training_id.in_(list(absent))).order_by(Person.name, Person.id)
        for training_id, name in (await session.execute(names)).all():
            absent[training_id].append(name)
    for row in found:  # the names as a list: the workbook joins them as its language lists
        yield (*row[:5], absent[row[0]], row[5])


async def names_by_id(session: AsyncSession) -> dict[str, dict[int, str]]:
    """People's, units', townships' and villages' names by id (the audit trail keeps ids)."""
    names: dict[str, dict[int, str]] = {}
    for key, model in (("person", Person), ("unit", Unit), ("township", Township),
                       ("village", Village)):
        rows = await session.execute(select(model.id, model.name))
        names[key] = {row[0]: row[1] for row in rows}
    return names


RowSource = Callable[..., AsyncIterator[Row]]
SOURCES: dict[str, RowSource] = {
    "visits": visit_rows, "problems": problem_rows, "problem_steps": problem_step_rows,
    "disputes": dispute_rows,
    "dispute_steps": dispute_step_rows, "checkins": checkin_rows, "aid": aid_rows,
    "publicity": publicity_rows, "cases": case_rows, "summaries": summary_rows,
    "pairings": pairing_rows,
    "people": people_rows, "audit": audit_rows, "appraisals": appraisal_rows,
    "stage_summaries": stage_summary_rows,
    "rectification": rectification_rows, "winter": winter_rows, "targets": target_rows,
    "leave": leave_rows, "systems": systems_rows, "coverage": coverage_rows,
    "inspections": inspection_rows,
    "spot_checks": spot_check_rows,
    "training": training_rows,
}


def rows(session: AsyncSession, *, kind: str, where: Filter) -> AsyncIterator[Row]:
    """The rows of one kind, in the order of COLUMNS[kind] (nothing runs until iterated)."""
    return SOURCES[kind](session, where=where)
