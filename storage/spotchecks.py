"""Spot checks: the office draws recent visits and help records at random, and someone outside
the cadre's own chain — a supervision group member, else the county office — confirms each or
says it could not be confirmed."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.db import dialect_name
from storage.models import Aid, Person, SpotCheck, Village, Visit
from storage.scope import Scope

KINDS = ("visit", "aid")
ANSWERS = ("confirmed", "not_confirmed")
STATUSES = ("pending", *ANSWERS)
RECENT_DAYS = 14
MAX_DRAW = 50


def reachable(person: Person) -> bool:
    """Whether a request to this person is sent at all (active, on the bot)."""
    return person.active and person.telegram_user_id is not None


class NotAssignee(Exception):
    """Only the person a check is assigned to may answer it."""


class AlreadyAnswered(Exception):
    """The check has been answered already."""


class DrawnMeanwhile(Exception):
    """Another draw took some of the records picked, between the pick and the insert."""

    def __init__(self, *, check_ids: list[int], drawn_by: int) -> None:
        super().__init__(check_ids, drawn_by)
        self.check_ids, self.drawn_by = check_ids, drawn_by


@dataclass(frozen=True)
class CheckView:
    """A check with what a reader needs: the record's facts and the names around it."""

    check: SpotCheck
    cadre: str
    village: str
    assignee: str | None
    day: dt.date
    kind: str  # the visit kind or the aid kind
    details: dict[str, Any]
    told: bool = False  # the assignee is active and on the bot: the request reaches them


def _in_scope(query: Any, model: Any, scope: Scope) -> Any:
    if scope.village_id is not None:
        return query.where(model.village_id == scope.village_id)
    if scope.township_id is not None:
        return query.where(model.township_id == scope.township_id)
    return query


async def _candidates(
    session: AsyncSession, *, model: Any, kind: str, scope: Scope, since: dt.date, n: int
) -> list[tuple[str, Any]]:
    drawn = select(SpotCheck.record_id).where(SpotCheck.record_kind == kind)
    query = select(model).where(model.day >= since, model.village_id.is_not(None),
                                model.id.not_in(drawn))
    query = _in_scope(query, model, scope).order_by(func.random()).limit(n)
    return [(kind, row) for row in (await session.execute(query)).scalars()]


# Who verifies a drawn record by default: a supervision group member, else the county office;
# never the one who drew it, never its cadre, never anyone in the cadre's own chain.
CHECKER_ROLES = ("supervisor", "office")


async def chain_of(session: AsyncSession, *, cadre: Person) -> set[int]:
    """The cadre and the leaders above them: their village's team leaders and their township's
    leaders (none of them may verify the cadre's work)."""
    query = select(Person.id).where(or_(
        (Person.role == "team_leader") & (Person.village_id == cadre.village_id),
        (Person.role == "township_leader") & (Person.township_id == cadre.township_id)))
    return {cadre.id, *(await session.execute(query)).scalars()}


async def pending_counts(session: AsyncSession) -> dict[int, int]:
    """How many checks wait for each assignee."""
    query = select(SpotCheck.assigned_to, func.count()).where(
        SpotCheck.status == "pending", SpotCheck.assigned_to.is_not(None)
    ).group_by(SpotCheck.assigned_to)
    return {int(pid or 0): int(n) for pid, n in (await session.execute(query)).all()}


async def assignee_for(
    session: AsyncSession, *, cadre: Person, drawn_by: Person, pending: dict[int, int]
) -> Person | None:
    """Who verifies a record of `cadre`: the supervisor with the fewest pending checks (one on
    the bot before one who is not), else such a person of the office; never the drawer, the
    cadre, or the cadre's team or township leader. `pending` (assignee id -> checks waiting)
    is counted up for the one picked, so that one draw spreads its checks."""
    excluded = await chain_of(session, cadre=cadre) | {drawn_by.id}
    for role in CHECKER_ROLES:
        query = select(Person).where(Person.active.is_(True), Person.role == role,
                                     Person.id.not_in(excluded))
        found = list((await session.execute(query.order_by(Person.id))).unique().scalars())
        if found:
            chosen = min(found, key=lambda p: (p.telegram_user_id is None,
                                               pending.get(p.id, 0), p.id))
            pending[chosen.id] = pending.get(chosen.id, 0) + 1
            return chosen
    return None


async def reassign_stranded(
    session: AsyncSession, *, scope: Scope, by: Person, now: dt.datetime
) -> list[SpotCheck]:
    """Hand the scope's waiting checks that nobody may answer to someone who may: a check with
    no checker, or whose checker left, is no longer a checker (a team or township leader who
    verified before checks went outside the chain), or is now in the cadre's chain. Each goes
    by the rule of a new draw (assignee_for), with an audit entry; a check for which nobody
    fits stays as it is. Returns the checks given a new checker."""
    query = _in_scope(select(SpotCheck), SpotCheck, scope).where(SpotCheck.status == "pending")
    waiting = list((await session.execute(query.order_by(SpotCheck.id))).scalars())
    if not waiting:
        return []
    pending = await pending_counts(session)
    moved = []
    for check in waiting:
        cadre = await session.get(Person, check.cadre_id)
        holder = await session.get(Person, check.assigned_to) if check.assigned_to else None
        if cadre is None:
            continue
        if (holder is not None and holder.active and holder.role in CHECKER_ROLES
                and holder.id not in await chain_of(session, cadre=cadre)):
            continue
        drawer = await session.get(Person, check.drawn_by)
        checker = await assignee_for(session, cadre=cadre, drawn_by=drawer or by,
                                     pending=pending)
        if checker is None:
            continue
        old, check.assigned_to = check.assigned_to, checker.id
        await record_audit(session, actor_id=by.id, entity="spot_check", entity_id=check.id,
                           action="reassign", at=now, field="assigned_to",
                           old=None if old is None else str(old), new=str(checker.id))
        moved.append(check)
    await session.flush()
    return moved


async def pick(
    session: AsyncSession, *, scope: Scope, n: int, since: dt.date, rng: random.Random
) -> list[tuple[str, Any]]:
    """Up to `n` visits and help records since `since` in the scope, none drawn before, at
    random: (kind, record) pairs."""
    pool = await _candidates(session, model=Visit, kind="visit", scope=scope, since=since, n=n)
    pool += await _candidates(session, model=Aid, kind="aid", scope=scope, since=since, n=n)
    rng.shuffle(pool)
    return pool[:n]


async def _check(session: AsyncSession, *, kind: str, record: Any, by: Person,
                 now: dt.datetime, pending: dict[int, int]) -> SpotCheck:
    cadre = await session.get(Person, record.person_id)
    assert cadre is not None
    checker = await assignee_for(session, cadre=cadre, drawn_by=by, pending=pending)
    return SpotCheck(
        drawn_by=by.id, record_kind=kind, record_id=record.id, cadre_id=cadre.id,
        village_id=record.village_id, township_id=record.township_id,
        assigned_to=checker.id if checker else None, status="pending", drawn_at=now)


async def draw(
    session: AsyncSession, *, scope: Scope, n: int, since: dt.date, by: Person,
    now: dt.datetime, rng: random.Random,
) -> list[SpotCheck]:
    """Draw up to `n` visits and help records since `since` in the scope, none drawn before,
    and assign each to someone outside its cadre's chain (assignee_for).

    Raises DrawnMeanwhile, drawing nothing, when another draw took one of the records picked
    between the pick and the insert (the unique constraint on the record is the guard)."""
    if not 1 <= n <= MAX_DRAW:
        raise ValueError(f"n must be 1..{MAX_DRAW}")
    picks = await pick(session, scope=scope, n=n, since=since, rng=rng)
    pending = await pending_counts(session)
    checks = [await _check(session, kind=kind, record=record, by=by, now=now, pending=pending)
              for kind, record in picks]
    # A savepoint, so that a conflict undoes this draw only, not the turn (on PostgreSQL a
    # failed INSERT would abort the whole transaction); the turn's own changes go first.
    await session.flush()
    try:
        async with session.begin_nested():
            session.add_all(checks)
    except IntegrityError:
        meanwhile = await _drawn_meanwhile(session, picks)
        if meanwhile is None:
            raise
        raise meanwhile from None
    for check in checks:
        await record_audit(session, actor_id=by.id, entity="spot_check", entity_id=check.id,
                           action="draw", at=now, new=f"{check.record_kind}:{check.record_id}")
    return checks


async def _drawn_meanwhile(
    session: AsyncSession, picks: list[tuple[str, Any]]
) -> DrawnMeanwhile | None:
    """The draw that took one of these records: all its checks, by who drew it."""
    taken = or_(*[(SpotCheck.record_kind == kind) & (SpotCheck.record_id == record.id)
                  for kind, record in picks])
    query = select(SpotCheck).where(taken).order_by(SpotCheck.drawn_at.desc(), SpotCheck.id)
    first = (await session.execute(query.limit(1))).scalar_one_or_none()
    if first is None:
        return None
    same = select(SpotCheck.id).where(SpotCheck.drawn_by == first.drawn_by,
                                      SpotCheck.drawn_at == first.drawn_at)
    ids = list((await session.execute(same.order_by(SpotCheck.id))).scalars())
    return DrawnMeanwhile(check_ids=ids, drawn_by=first.drawn_by)


async def check_by_id(session: AsyncSession, *, check_id: int, lock: bool = False
                      ) -> SpotCheck | None:
    """One spot check (`lock`: row-locked on PostgreSQL until the transaction ends)."""
    query = select(SpotCheck).where(SpotCheck.id == check_id)
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def answer(
    session: AsyncSession, *, check: SpotCheck, status: str, note: str | None, by: Person,
    now: dt.datetime,
) -> SpotCheck:
    """Record the assignee's answer, with an audit entry; refuses anyone else."""
    if status not in ANSWERS:
        raise ValueError(f"unknown answer {status!r}")
    if check.assigned_to != by.id:
        raise NotAssignee(by.id)
    if check.status != "pending":
        raise AlreadyAnswered(check.id)
    check.status, check.note, check.answered_at = status, note, now
    await record_audit(session, actor_id=by.id, entity="spot_check", entity_id=check.id,
                       action="answer", at=now, field="status", old="pending",
                       new=status if note is None else f"{status}: {note}")
    await session.flush()
    return check


async def _views(session: AsyncSession, checks: list[SpotCheck]) -> list[CheckView]:
    views = []
    for check in checks:
        model: Any = Visit if check.record_kind == "visit" else Aid
        record = await session.get(model, check.record_id)
        assert record is not None  # records are never deleted
        cadre = await session.get(Person, check.cadre_id)
        village = await session.get(Village, check.village_id) if check.village_id else None
        checker = await session.get(Person, check.assigned_to) if check.assigned_to else None
        views.append(CheckView(
            check=check, cadre=cadre.name if cadre else "", village=village.name if village else "",
            assignee=checker.name if checker else None, day=record.day, kind=record.kind,
            details=_details(record), told=checker is not None and reachable(checker)))
    return views


def _details(record: Visit | Aid) -> dict[str, Any]:
    if isinstance(record, Visit):
        return {"heard": record.heard, "wants": record.wants}
    fields = ("holiday", "amount", "items", "people_count", "destination", "project_name")
    return {name: getattr(record, name) for name in fields if getattr(record, name) is not None}


async def views_of(session: AsyncSession, *, check_ids: list[int]) -> list[CheckView]:
    """The checks with these ids, described, in id order."""
    query = select(SpotCheck).where(SpotCheck.id.in_(check_ids)).order_by(SpotCheck.id)
    return await _views(session, list((await session.execute(query)).scalars()))


async def pending_for(session: AsyncSession, *, assignee_id: int) -> list[CheckView]:
    """The checks waiting for this person's answer, oldest first."""
    query = select(SpotCheck).where(SpotCheck.assigned_to == assignee_id,
                                    SpotCheck.status == "pending").order_by(SpotCheck.id)
    return await _views(session, list((await session.execute(query)).scalars()))


async def in_scope(session: AsyncSession, *, scope: Scope, limit: int = 30) -> list[CheckView]:
    """The scope's checks, pending first then the newest answers."""
    query = _in_scope(select(SpotCheck), SpotCheck, scope).order_by(
        (SpotCheck.status != "pending"), SpotCheck.answered_at.desc(), SpotCheck.id
    ).limit(limit)
    return await _views(session, list((await session.execute(query)).scalars()))


async def summary(session: AsyncSession, *, scope: Scope,
                  drawn: tuple[dt.datetime, dt.datetime] | None = None) -> dict[str, int]:
    """How many checks of the scope (drawn in [low, high) of `drawn`, if given) stand in each
    status (every status present)."""
    query = _in_scope(select(SpotCheck.status, func.count()).group_by(SpotCheck.status),
                      SpotCheck, scope)
    if drawn is not None:
        query = query.where(SpotCheck.drawn_at >= drawn[0], SpotCheck.drawn_at < drawn[1])
    counts = {status: 0 for status in STATUSES}
    counts.update({s: int(c) for s, c in (await session.execute(query)).all()})
    return counts
