"""Broadcasts: a notice from the office to an audience, one outbox row per recipient.

The audience is named the way the office names it (a township, 'township/village', a role, a
unit) and resolved when the notice is sent: active people bound to Telegram only. A broadcast
is finished when every one of its outbox rows is final (sent, blocked or failed); its author
then gets one delivery report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.audit import record_audit
from storage.models import Broadcast, OutboxMessage, Person, Township, Unit
from storage.outbox import Outgoing
from storage.people import ROLES, villages_named

KINDS = ("all", "township", "village", "role", "unit")
FINAL = ("sent", "blocked", "failed", "withdrawn")  # withdrawn: the recipient was deactivated
STATUSES = ("pending", *FINAL)
KIND = outbox.BROADCAST_KIND  # the outbox rows' kind


class UnknownAudience(Exception):
    """No township, village, role or unit by that name."""


class AmbiguousVillage(Exception):
    """A village name found in several townships: `candidates` are 'township/village'."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        super().__init__(name)
        self.candidates = candidates


def _reachable() -> Any:
    return select(Person).where(Person.active.is_(True), Person.telegram_user_id.is_not(None))


async def audience(session: AsyncSession, *, kind: str, value: str | None) -> list[Person]:
    """The active, bound people an audience names, by id.

    Raises UnknownAudience for a name that matches nothing, AmbiguousVillage for a village
    name that several townships share (name it 'township/village')."""
    query = _reachable()
    wanted = (value or "").strip()
    if kind == "township":
        names = [wanted, wanted + "镇", wanted + "乡"]  # '镇/乡' may be left off
        found = {t.name: t for t in (await session.execute(
            select(Township).where(Township.name.in_(names)))).scalars()}
        township = next((found[name] for name in names if name in found), None)
        if township is None:
            raise UnknownAudience(wanted)
        query = query.where(Person.township_id == township.id)
    elif kind == "village":
        villages = await villages_named(session, name=wanted)
        if not villages:
            raise UnknownAudience(wanted)
        if len(villages) > 1:
            raise AmbiguousVillage(wanted, [f"{v.township.name}/{v.name}" for v in villages])
        query = query.where(Person.village_id == villages[0].id)
    elif kind == "role":
        if wanted not in ROLES:
            raise UnknownAudience(wanted)
        query = query.where(Person.role == wanted)
    elif kind == "unit":
        unit = await session.scalar(select(Unit).where(Unit.name == wanted))
        if unit is None:
            raise UnknownAudience(wanted)
        query = query.where(Person.unit_id == unit.id)
    elif kind != "all":
        raise UnknownAudience(kind)
    return list((await session.execute(query.order_by(Person.id))).unique().scalars())


async def create_broadcast(
    session: AsyncSession,
    *,
    author_id: int,
    text: str,
    kind: str,
    value: str | None,
    render: Callable[[Person], str],
    now: dt.datetime,
    paid: Callable[[int], bool] = lambda recipients: False,
) -> Broadcast:
    """Store the notice, queue one message per recipient (HTML from `render`), audit it;
    on Telegram's paid broadcast lane when `paid` says so of the number of recipients."""
    recipients = await audience(session, kind=kind, value=value)
    broadcast = Broadcast(author_id=author_id, text=text, audience_kind=kind,
                          audience_value=value, recipients=len(recipients), created_at=now)
    session.add(broadcast)
    await session.flush()
    lane = {outbox.PAID_FLAG: True} if paid(len(recipients)) else {}
    messages = [
        Outgoing(chat_id=person.telegram_user_id, method="sendMessage",
                 payload={"text": render(person), "parse_mode": "HTML", **lane}, kind=KIND,
                 person_id=person.id, dedup_key=f"broadcast:{broadcast.id}:{person.id}",
                 broadcast_id=broadcast.id)
        for person in recipients if person.telegram_user_id is not None
    ]
    # Each dedup lookup would flush the rows added before it, one INSERT at a time: new keys
    # cannot collide, so the rows are written together at the end instead.
    with session.no_autoflush:
        await outbox.enqueue(session, messages=messages, now=now)
    label = f"{kind}:{value}" if value else kind
    await record_audit(session, actor_id=author_id, entity="broadcast", entity_id=broadcast.id,
                       action="send", field="audience", new=f"{label} → {len(recipients)}",
                       at=now)
    return broadcast


async def delivery_counts(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    """How many of the broadcast's messages are pending, sent, blocked, failed and withdrawn."""
    return (await deliveries(session, broadcast_ids=[broadcast_id]))[broadcast_id]


async def deliveries(session: AsyncSession, *,
                     broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    """delivery_counts of several broadcasts at once, by broadcast id."""
    result = await session.execute(
        select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status))
    counts: dict[int | None, dict[str, int]] = {
        broadcast_id: dict.fromkeys(STATUSES, 0) for broadcast_id in broadcast_ids}
    for broadcast_id, status, count in result.all():
        found = counts[broadcast_id]  # never None: the query asks for these ids
        found[status] = found.get(status, 0) + int(count)
    return {key: value for key, value in counts.items() if key is not None}


async def by_id(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    """A broadcast, if it exists."""
    return await session.get(Broadcast, broadcast_id)


async def undelivered(session: AsyncSession, *, broadcast_id: int, status: str) -> list[Person]:
    """The recipients whose message ended `blocked` or `failed`, by name."""
    result = await session.execute(
        select(Person).join(OutboxMessage, OutboxMessage.person_id == Person.id)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == status))
    return sorted(result.unique().scalars(), key=lambda p: (p.name, p.id))


async def unreported_finished(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts not yet reported whose every message is final, oldest first."""
    waiting = exists().where(OutboxMessage.broadcast_id == Broadcast.id,
                             OutboxMessage.status.not_in(FINAL))
    result = await session.execute(
        select(Broadcast).where(Broadcast.reported_at.is_(None), ~waiting)
        .order_by(Broadcast.id))
    return list(result.scalars())


async def mark_reported(session: AsyncSession, *, broadcast_id: int, now: dt.datetime) -> bool:
    """Record that the report went out; False if another process recorded it first."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.reported_at.is_(None))
        .values(reported_at=now)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recent(session: AsyncSession, *, limit: int = 5) -> list[Broadcast]:
    """The newest broadcasts, newest first."""
    result = await session.execute(
        select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(limit))
    return list(result.scalars())


async def sent_after(session: AsyncSession, *, after_id: int, author_id: int, text: str,
                     kind: str, value: str | None) -> Broadcast | None:
    """The author's broadcast of this notice to this audience newer than `after_id`, if any:
    a confirm page sent twice finds the first one."""
    result = await session.execute(
        select(Broadcast).where(Broadcast.id > after_id, Broadcast.author_id == author_id,
                                Broadcast.text == text, Broadcast.audience_kind == kind,
                                Broadcast.audience_value.is_(None) if value is None
                                else Broadcast.audience_value == value)
        .order_by(Broadcast.id).limit(1))
    return result.scalar_one_or_none()
