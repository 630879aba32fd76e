"""The village problem ledger: raised → in hand → solved → feedback → checked back.

Each step is a dated ProblemStep row. The problem carries the day its next step falls due
(`next_due_on`), worked out when the step is taken, so "overdue" is one indexed comparison
for the digests, /stats and the morning reminders: a problem is overdue once that day has
passed without the step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.models import Person, Problem, ProblemStep, ProblemTally, Village
from storage.people import places, reachable
from storage.scope import in_place

CATEGORIES = ("land", "infrastructure", "livelihood", "health", "employment", "dispute", "other")
STATUSES = ("raised", "in_hand", "solved", "feedback", "checked")
OPEN = ("raised", "in_hand", "solved", "feedback")
# Coded priorities stored as ints, so "by priority" is an ORDER BY.
PRIORITIES = {"high": 1, "normal": 2, "low": 3}
PRIORITY_CODES = {number: code for code, number in PRIORITIES.items()}
# The step each open status waits for, and the status that step reaches.
NEXT_ACTION = {"raised": "take", "in_hand": "solve", "solved": "feedback", "feedback": "check"}
REACHES = {"take": "in_hand", "solve": "solved", "feedback": "feedback", "check": "checked"}
# To whom written feedback goes. The first two are not on the roster: the cadre delivers it.
ADDRESSEES = ("household", "village_committee", "township", "leading_group")
# Those on the roster, and the roles that receive it: the township's leader; the leading group
# and the county office, its working body.
ADDRESSEE_ROLES = {"township": ("township_leader",), "leading_group": ("leading_group", "office")}


class TransitionError(ValueError):
    """A step the problem's current status does not allow (a stale button)."""


@dataclass(frozen=True)
class Terms:
    """Days a step is given: from solved to the written feedback, and from the feedback to
    the check back ("looking back")."""

    feedback_days: int
    checkback_days: int


def terms_of(settings: Any) -> Terms:
    """The ledger's terms from the settings (PROBLEM_*_DAYS)."""
    return Terms(settings.problem_feedback_days, settings.problem_checkback_days)


def priority_code(problem: Problem) -> str:
    """The priority's code (high, normal, low)."""
    return PRIORITY_CODES.get(problem.priority, "normal")


def overdue(today: dt.date) -> ColumnElement[bool]:
    """True for an open problem whose next step's day has passed."""
    return and_(Problem.status.in_(OPEN), Problem.next_due_on < today)


def is_overdue(problem: Problem, today: dt.date) -> bool:
    """The same test as `overdue`, on a loaded row."""
    return (problem.status in OPEN and problem.next_due_on is not None
            and problem.next_due_on < today)


async def _step(
    session: AsyncSession, problem: Problem, *, by: int, action: str, day: dt.date,
    now: dt.datetime, old: str | None, **fields: object,
) -> ProblemStep:
    step = ProblemStep(problem_id=problem.id, by_person_id=by, action=action,
                       status=problem.status, day=day, created_at=now, **fields)
    session.add(step)
    await record_audit(session, actor_id=by, entity="problem", entity_id=problem.id,
                       action=action, field="status", old=old, new=problem.status, at=now)
    await session.flush()
    return step


async def raise_problem(
    session: AsyncSession,
    *,
    person: Person,
    category: str,
    description: str,
    priority: str,
    day: dt.date,
    now: dt.datetime,
    next_due_on: dt.date | None,
    visit_id: int | None = None,
    household_id: int | None = None,
) -> Problem:
    """Put a problem in the cadre's village ledger (status raised) with its first step."""
    if category not in CATEGORIES or priority not in PRIORITIES:
        raise ValueError(f"bad problem category {category!r} or priority {priority!r}")
    where = places(person)
    problem = Problem(
        village_id=where["village_id"], township_id=where["township_id"], person_id=person.id,
        visit_id=visit_id, household_id=household_id, category=category,
        description=description, status="raised", priority=PRIORITIES[priority],
        next_due_on=next_due_on, created_at=now, updated_at=now)
    session.add(problem)
    await session.flush()
    await _step(session, problem, by=person.id, action="raise", day=day, now=now, old=None)
    return problem


def _next_due(action: str, day: dt.date, due_on: dt.date | None, terms: Terms) -> dt.date | None:
    if action == "take":
        return due_on
    if action == "solve":
        return day + dt.timedelta(days=terms.feedback_days)
    if action == "feedback":
        return day + dt.timedelta(days=terms.checkback_days)
    return None


async def move_problem(
    session: AsyncSession,
    *,
    problem: Problem,
    action: str,
    by_person_id: int,
    day: dt.date,
    now: dt.datetime,
    terms: Terms,
    note: str | None = None,
    measures: str | None = None,
    responsible: str | None = None,
    due_on: dt.date | None = None,
    held: bool | None = None,
    addressee: str | None = None,
) -> ProblemStep:
    """Take the problem's next step. Taking it in hand needs measures, who and by when; a
    check back that did not hold reopens it in hand with new ones; written feedback names its
    addressee (the chat always asks it; steps recorded before it was asked have none)."""
    if NEXT_ACTION.get(problem.status) != action:
        raise TransitionError(f"{problem.status} cannot {action}")
    if addressee is not None and (action != "feedback" or addressee not in ADDRESSEES):
        raise ValueError(f"only written feedback has an addressee, one of {ADDRESSEES}")
    if action == "check" and held is None:
        raise ValueError("a check back says whether the solution held")
    reopen = action == "check" and not held
    if (action == "take" or reopen) and not (measures and responsible and due_on):
        raise ValueError("in hand needs measures, who and by when")
    old = problem.status
    problem.status = "in_hand" if reopen else REACHES[action]
    problem.updated_at, problem.escalated_on = now, None  # a step restarts the reminders
    if action == "take" or reopen:
        problem.measures, problem.responsible, problem.due_on = measures, responsible, due_on
    if action == "feedback":
        problem.feedback_on = day
    problem.next_due_on = due_on if reopen else _next_due(action, day, due_on, terms)
    return await _step(session, problem, by=by_person_id, action=action, day=day, now=now,
                       old=old, note=note, measures=measures, responsible=responsible,
                       due_on=due_on, held=held, addressee=addressee)


async def feedback_recipients(
    session: AsyncSession, *, problem: Problem, addressee: str
) -> list[Person]:
    """The people on the roster, reachable now, who receive written feedback so addressed:
    the problem's township leaders, or the leading group and the office; none for a household
    or a village committee (the cadre hands it over)."""
    roles = ADDRESSEE_ROLES.get(addressee)
    if roles is None:
        return []
    if addressee == "township":
        if problem.township_id is None:
            return []
        return await reachable(session, roles=roles, township_ids=[problem.township_id])
    return await reachable(session, roles=roles)


def checkback_on(problem: Problem) -> dt.date | None:
    """The day a problem with feedback given may be checked back (set when the feedback was
    recorded, so a later change of PROBLEM_CHECKBACK_DAYS moves no promised day)."""
    return problem.next_due_on if problem.status == "feedback" else None


async def problem_of_village(
    session: AsyncSession, *, problem_id: int, village_id: int | None, lock: bool = False
) -> Problem | None:
    """The problem with this id if it is in this village's ledger (None otherwise)."""
    if village_id is None:
        return None
    query = select(Problem).where(Problem.id == problem_id, Problem.village_id == village_id)
    if lock:
        query = query.with_for_update()  # two taps on one step must not both pass the check
    return (await session.execute(query)).scalar_one_or_none()


@dataclass
class Listed:
    """A problem as a list or its card shows it."""

    problem: Problem
    village: str
    reporter: str


def _listed() -> Select[Problem, str, str]:
    return (select(Problem, func.coalesce(Village.name, ""), Person.name)
            .outerjoin(Village, Village.id == Problem.village_id)
            .join(Person, Person.id == Problem.person_id))


async def open_problems(
    session: AsyncSession, *, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[Listed]:
    """Open problems of a scope (None: the county), by priority then age, in one query."""
    rows = (await session.execute(
        in_place(_listed().where(Problem.status.in_(OPEN)), Problem, village_ids=village_ids,
                 township_id=township_id, person_id=None)
        .order_by(Problem.priority, Problem.created_at, Problem.id)
    )).all()
    return [Listed(problem, village, reporter) for problem, village, reporter in rows]


async def problem_in(
    session: AsyncSession, *, problem_id: int, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> Listed | None:
    """A problem (any status) if it lies inside the scope given."""
    row = (await session.execute(
        in_place(_listed().where(Problem.id == problem_id), Problem, village_ids=village_ids,
                 township_id=township_id, person_id=None)
    )).first()
    return None if row is None else Listed(row[0], row[1], row[2])


async def history(session: AsyncSession, *, problem_id: int) -> list[tuple[ProblemStep, str]]:
    """A problem's steps in order, each with the name of who took it."""
    rows = (await session.execute(
        select(ProblemStep, func.coalesce(Person.name, ""))
        .outerjoin(Person, Person.id == ProblemStep.by_person_id)
        .where(ProblemStep.problem_id == problem_id)
        .order_by(ProblemStep.created_at, ProblemStep.id)
    )).all()
    return [(step, name) for step, name in rows]


async def status_counts(
    session: AsyncSession, *, today: dt.date, village_ids: list[int] | None = None,
    township_id: int | None = None,
) -> tuple[dict[str, int], int]:
    """The ledger of a scope now: problems per status (from the tallies storage.rollups keeps)
    and how many are overdue (from the (status, next_due_on) index), in one query."""
    late = in_place(select(func.count()).select_from(Problem).where(overdue(today)), Problem,
                    village_ids=village_ids, township_id=township_id, person_id=None)
    rows = (await session.execute(
        in_place(select(ProblemTally.status, func.sum(ProblemTally.problems),
                        late.scalar_subquery()),
                 ProblemTally, village_ids=village_ids, township_id=township_id, person_id=None)
        .group_by(ProblemTally.status)
    )).all()
    return ({status: int(count) for status, count, _ in rows if count},
            int(rows[0][2]) if rows else 0)


async def overdue_by_village(
    session: AsyncSession, *, today: dt.date, village_ids: list[int] | None = None,
) -> dict[int, list[Problem]]:
    """Each village's overdue problems, by priority then age, in one query for all."""
    query = select(Problem).where(overdue(today))
    if village_ids is not None:
        query = query.where(Problem.village_id.in_(village_ids))
    found: dict[int, list[Problem]] = {}
    for problem in (await session.execute(
            query.order_by(Problem.priority, Problem.next_due_on, Problem.id))).scalars():
        found.setdefault(problem.village_id or 0, []).append(problem)
    return found


async def due_for_reminder(session: AsyncSession, *, today: dt.date) -> list[Problem]:
    """Open problems whose holder must be reminded: overdue, or a check back that is due."""
    due = or_(Problem.next_due_on < today,
              and_(Problem.status == "feedback", Problem.next_due_on <= today))
    return list((await session.execute(
        select(Problem).where(Problem.status.in_(OPEN), due)
        .order_by(Problem.priority, Problem.next_due_on, Problem.id))).scalars())
