"""Disputes and petitions, and the dated steps of their lifecycle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_audit
from storage.models import Dispute, DisputeStep, Person
from storage.people import places
from storage.scope import in_place

CATEGORIES = ("land", "demolition", "pollution", "accident", "ownership", "other")
FLAGS = ("repeated", "collective", "province", "beijing", "superior", "county_leader")
URGENCIES = ("low", "normal", "high")
LEVELS = ("township", "county")
VERDICTS = ("satisfied", "unsatisfied")
OPEN = ("reported", "mediating", "escalated")
# An action and the status it leads to; resolved is final.
ACTIONS = {"mediate": "mediating", "resolve": "resolved", "escalate": "escalated"}
ALLOWED = {
    "reported": {"mediating", "resolved", "escalated"},
    "mediating": {"resolved", "escalated"},
    "escalated": {"mediating", "resolved"},
    "resolved": set(),
}


class TransitionError(ValueError):
    """A step the dispute's current status does not allow."""


async def add_dispute(
    session: AsyncSession,
    *,
    person: Person,
    category: str,
    parties: str,
    people_count: int,
    flags: list[str],
    description: str,
    urgency: str,
    day: dt.date,
    now: dt.datetime,
) -> Dispute:
    """Report a dispute (status "reported") with its first step and an audit entry."""
    if category not in CATEGORIES or urgency not in URGENCIES or people_count < 1:
        raise ValueError("bad category, urgency or people count")
    if any(flag not in FLAGS for flag in flags):
        raise ValueError(f"unknown petition flag in {flags!r}")
    dispute = Dispute(
        person_id=person.id, **places(person), category=category, parties=parties,
        people_count=people_count,
        flags={flag: True for flag in flags}, description=description, urgency=urgency,
        status="reported", level="village", opened_on=day, created_at=now, last_step_at=now,
    )
    session.add(dispute)
    await session.flush()
    session.add(DisputeStep(dispute_id=dispute.id, by_person_id=person.id, action="report",
                            status="reported", at=now))
    await record_audit(session, actor_id=person.id, entity="dispute", entity_id=dispute.id,
                       action="report", field="status", new="reported", at=now)
    await session.flush()
    return dispute


async def move_dispute(
    session: AsyncSession,
    *,
    dispute: Dispute,
    by_person_id: int,
    action: str,
    note: str | None,
    now: dt.datetime,
    level: str | None = None,
    verdict: str | None = None,
) -> DisputeStep:
    """Move a dispute one step (mediate, resolve with a verdict, escalate to a level).

    Raises TransitionError when its current status does not allow the step."""
    status = ACTIONS.get(action)
    if status is None or status not in ALLOWED[dispute.status]:
        raise TransitionError(f"{dispute.status} cannot {action}")
    if action == "escalate" and level not in LEVELS:
        raise ValueError(f"escalation needs a level of {LEVELS}")
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    old = dispute.status
    dispute.status, dispute.last_step_at = status, now
    dispute.escalation_stage = 0  # a step restarts the overdue clock and its reminders
    if action == "escalate":
        dispute.level = level or dispute.level
    if action == "resolve":
        dispute.verdict = verdict
    if action != "escalate" and dispute.taken_at is None:
        dispute.handover_level = None  # the cadre moved it on: no hand-over waits any more
    step = DisputeStep(dispute_id=dispute.id, by_person_id=by_person_id, action=action,
                       status=status, note=note, at=now)
    session.add(step)
    await record_audit(session, actor_id=by_person_id, entity="dispute", entity_id=dispute.id,
                       action=action, field="status", old=old, new=status, at=now)
    await session.flush()
    return step


async def dispute_of(
    session: AsyncSession, *, dispute_id: int, person_id: int, lock: bool = False
) -> Dispute | None:
    """The dispute with this id if this person reported it (None for anyone else's)."""
    query = select(Dispute).where(Dispute.id == dispute_id, Dispute.person_id == person_id)
    if lock:
        query = query.with_for_update()  # two taps on two steps must not both pass the check
    return (await session.execute(query)).scalar_one_or_none()


async def open_disputes(
    session: AsyncSession,
    *,
    person_id: int | None = None,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    limit: int | None = None,
) -> list[Dispute]:
    """Disputes not yet resolved, oldest first."""
    query = in_place(select(Dispute).where(Dispute.status.in_(OPEN)), Dispute,
                     village_ids=village_ids, township_id=township_id, person_id=person_id)
    query = query.order_by(Dispute.opened_on, Dispute.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def disputes_by_status(
    session: AsyncSession,
    *,
    village_ids: list[int] | None = None,
    township_id: int | None = None,
    person_id: int | None = None,
) -> dict[str, int]:
    """How many disputes are in each status (statuses with none are absent)."""
    query = in_place(select(Dispute.status, func.count()).group_by(Dispute.status), Dispute,
                     village_ids=village_ids, township_id=township_id, person_id=person_id)
    return {status: int(count) for status, count in (await session.execute(query)).all()}


async def steps_of(session: AsyncSession, *, dispute_id: int) -> list[DisputeStep]:
    """A dispute's steps, in order."""
    result = await session.execute(
        select(DisputeStep).where(DisputeStep.dispute_id == dispute_id)
        .order_by(DisputeStep.at, DisputeStep.id))
    return list(result.scalars())
