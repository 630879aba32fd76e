"""Hand-overs that reach the person who must act: a dispute escalated to the township or the
county, or reported urgent or as a priority petition, waits for the level above to take it
(受理) or send it back with a reason (退回).

The township level is the dispute's township leaders; the county level is the office (the
leading group is not told). A hand-over not taken within ESCALATION_TAKE_HOURS climbs from the
township to the office. A dispute's `handover_level` says which level has it while it waits (and,
once taken, which level took it); `handed_at` starts the climb's clock; `taken_by/at` who took it.
Every hand-over, take, return and climb is audited; a take and a return are also dated steps.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.audit import record_audit
from storage.disputes import OPEN
from storage.models import Dispute, DisputeStep, Person

LEVELS = ("township", "county")
RECEIVERS = {"township": "township_leader", "county": "office"}
# A new dispute handed over at once, and to which level: a priority petition to the province or
# Beijing goes to the office; a repeated or collective one, or a very urgent one, to the township.
COUNTY_FLAGS = ("province", "beijing")
TOWNSHIP_FLAGS = ("repeated", "collective")
MAX_REASON = 500


def level_for_new(dispute: Dispute) -> str | None:
    """The level a newly reported dispute is handed to at once (None: it stays with the cadre)."""
    if any(dispute.flags.get(flag) for flag in COUNTY_FLAGS):
        return "county"
    if any(dispute.flags.get(flag) for flag in TOWNSHIP_FLAGS) or dispute.urgency == "high":
        return "township"
    return None


def waiting(dispute: Dispute) -> bool:
    """Whether a hand-over waits for someone to take it."""
    return (dispute.handover_level is not None and dispute.taken_at is None
            and dispute.status in OPEN)


async def receivers(session: AsyncSession, *, level: str, township_id: int | None
                    ) -> list[Person]:
    """Who at this level can be told now (active and on Telegram), by name."""
    if level == "township" and township_id is None:
        return []
    found = await people.reachable(
        session, roles=(RECEIVERS[level],),
        township_ids=[township_id] if level == "township" and township_id is not None else None)
    return [p for p in found if p.blocked_at is None]  # one who blocked the bot cannot act


def may_take(person: Person, dispute: Dispute) -> bool:
    """Whether this person, now, is the level the dispute waits for."""
    level = dispute.handover_level
    if level is None or not person.active or person.id == dispute.person_id:
        return False
    if person.role != RECEIVERS[level]:
        return False
    return level == "county" or (person.township_id is not None
                                 and person.township_id == dispute.township_id)


async def hand_over(session: AsyncSession, dispute: Dispute, *, level: str,
                    by_person_id: int | None, now: dt.datetime, action: str = "hand_over"
                    ) -> None:
    """The dispute now waits for this level to take it (`action` "climb" when nobody took it
    at the level below in time: by_person_id None, the schedule moved it)."""
    if level not in LEVELS:
        raise ValueError(f"a hand-over goes to one of {LEVELS}")
    old = dispute.handover_level
    dispute.handover_level, dispute.handed_at = level, now
    dispute.taken_by, dispute.taken_at = None, None
    await record_audit(session, actor_id=by_person_id, entity="dispute", entity_id=dispute.id,
                       action=action, field="handover_level", old=old, new=level, at=now)
    await session.flush()


async def take(session: AsyncSession, dispute: Dispute, *, by: Person, now: dt.datetime) -> bool:
    """The level above takes the dispute (受理); False (nothing changed) unless it waits."""
    if not waiting(dispute):
        return False
    dispute.taken_by, dispute.taken_at = by.id, now
    dispute.last_step_at, dispute.escalation_stage = now, 0  # a step: the overdue clock restarts
    session.add(DisputeStep(dispute_id=dispute.id, by_person_id=by.id, action="take",
                            status=dispute.status, at=now))
    await record_audit(session, actor_id=by.id, entity="dispute", entity_id=dispute.id,
                       action="take", field="taken_by", new=by.name, at=now)
    await session.flush()
    return True


async def send_back(session: AsyncSession, dispute: Dispute, *, by: Person, reason: str,
                    now: dt.datetime) -> bool:
    """The level above sends the dispute back (退回) with a reason: it is the cadre's to
    mediate again. False (nothing changed) unless it waits."""
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise ValueError("sending back needs a reason")
    if not waiting(dispute):
        return False
    old = dispute.status
    dispute.status, dispute.last_step_at, dispute.escalation_stage = "mediating", now, 0
    dispute.handover_level, dispute.handed_at = None, None
    session.add(DisputeStep(dispute_id=dispute.id, by_person_id=by.id, action="return",
                            status="mediating", note=reason, at=now))
    await record_audit(session, actor_id=by.id, entity="dispute", entity_id=dispute.id,
                       action="return", field="status", old=old, new="mediating", at=now)
    await session.flush()
    return True


async def locked(session: AsyncSession, *, dispute_id: int) -> Dispute | None:
    """The dispute, locked: two presses (or two leaders) must not both take it."""
    query = select(Dispute).where(Dispute.id == dispute_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def due_to_climb(session: AsyncSession, *, handed_before: dt.datetime) -> list[Dispute]:
    """Hand-overs to a township nobody has taken since before this moment, oldest first."""
    query = select(Dispute).where(
        Dispute.handover_level == "township", Dispute.taken_at.is_(None),
        Dispute.handed_at <= handed_before, Dispute.status.in_(OPEN),
    ).order_by(Dispute.handed_at, Dispute.id).with_for_update()
    return list((await session.execute(query)).scalars())


async def escalation_reason(session: AsyncSession, *, dispute_id: int) -> str | None:
    """The reason the cadre gave when escalating the dispute last (None if never)."""
    query = select(DisputeStep.note).where(
        DisputeStep.dispute_id == dispute_id, DisputeStep.action == "escalate",
    ).order_by(DisputeStep.at.desc(), DisputeStep.id.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()
