"""The outbox: every outgoing message is a row first, then one sender delivers it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import dialect_name
from storage.models import OutboxMessage, Person
from storage.textsplit import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    cut,
    split_html,
    split_plain,
    units_in,
)

# How long the process that wrote a reply owns it before the sender may take it over.
INLINE_CLAIM = dt.timedelta(seconds=30)
SENDER_CLAIM = dt.timedelta(seconds=60)
# The kind of a broadcast's rows: the sender takes them after everything else that is due.
BROADCAST_KIND = "broadcast"
# The Bot API parameter of a request that pays (in Stars) for Telegram's broadcast lane.
PAID_FLAG = "allow_paid_broadcast"


def goes_paid(payload: dict[str, Any]) -> bool:
    """Whether a stored request pays for Telegram's broadcast lane."""
    return payload.get(PAID_FLAG) is True


@dataclass
class Outgoing:
    """A request to Telegram, not yet stored."""

    chat_id: int
    method: str
    payload: dict[str, Any]
    kind: str = "reply"
    person_id: int | None = None
    dedup_key: str | None = None
    broadcast_id: int | None = None
    not_before: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def enqueue(
    session: AsyncSession,
    *,
    messages: Sequence[Outgoing],
    now: dt.datetime,
    claim: bool = False,
    claim_for: dt.timedelta = INLINE_CLAIM,
) -> list[OutboxMessage]:
    """Store messages, a text too long for one as several; with `claim` the caller sends them.

    The rows go in as one Core INSERT … RETURNING (not through the session's unit of work, the
    costlier half of a turn's writes); the objects returned are the stored rows' values, for
    sending, outside the session."""
    return (await enqueue_each(session, batches=[(messages, now)], claim=claim,
                               claim_for=claim_for))[0]


async def enqueue_each(
    session: AsyncSession,
    *,
    batches: Sequence[tuple[Sequence[Outgoing], dt.datetime]],
    claim: bool = False,
    claim_for: dt.timedelta = INLINE_CLAIM,
) -> list[list[OutboxMessage]]:
    """enqueue for several batches (the replies of a group's turns, each with its turn's
    time) in one statement, as if enqueued one after another; the rows of each batch."""
    values: list[dict[str, Any]] = []
    counts: list[int] = []
    keys: set[str] = set()
    for messages, now in batches:
        before = len(values)
        for message in messages:
            key = message.dedup_key
            if key and (key in keys or await _exists(session, key)):
                continue
            for part in split_long(fit_captions(message)):
                values.append({
                    "chat_id": part.chat_id, "person_id": part.person_id,
                    "method": part.method, "payload": _with_chat(part),
                    "dedup_key": part.dedup_key, "kind": part.kind, "status": "pending",
                    "attempts": 0, "next_attempt_at": part.not_before or now,
                    "claimed_until": now + claim_for if claim else None, "created_at": now,
                    "sent_at": None, "error": None, "broadcast_id": part.broadcast_id,
                })
                if part.dedup_key:
                    keys.add(part.dedup_key)
        counts.append(len(values) - before)
    rows: list[OutboxMessage] = []
    if values:
        table = cast(Table, OutboxMessage.__table__)
        # PostgreSQL returns the ids in the rows' order when asked; SQLite numbers the rows of
        # one INSERT in order but may return them in any (asked for the order, SQLAlchemy would
        # insert them one by one), so there the ids are sorted.
        ordered = dialect_name(session) != "sqlite"
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=ordered)
        ids = list((await session.execute(statement, values)).scalars())
        if not ordered:
            ids.sort()
        rows = [OutboxMessage(id=id, **row) for id, row in zip(ids, values, strict=True)]
    each: list[list[OutboxMessage]] = []
    for count in counts:
        each.append(rows[:count])
        rows = rows[count:]
    return each


def split_long(message: Outgoing) -> list[Outgoing]:
    """A sendMessage too long for Telegram as several in order, its keyboard on the last; an
    editMessageText too long cut to fit, since an edit cannot become two messages."""
    text = message.payload.get("text")
    parse_mode = message.payload.get("parse_mode")
    # Markdown has other rules; Telegram will judge it.
    if not isinstance(text, str) or parse_mode not in ("HTML", None):
        return [message]
    if units_in(text, parse_mode) <= TELEGRAM_TEXT_LIMIT:
        return [message]
    if message.method == "editMessageText":  # one message stays one: its head, then '…'
        return [replace(message, payload={**message.payload, "text": _cut(
            text, TELEGRAM_TEXT_LIMIT, parse_mode)})]
    if message.method != "sendMessage":
        return [message]
    try:
        chunks = split_html(text) if parse_mode == "HTML" else split_plain(text)
    except ValueError:  # no room for one character: let Telegram refuse it whole
        return [message]
    common = {key: value for key, value in message.payload.items() if key != "reply_markup"}
    parts: list[Outgoing] = []
    for number, chunk in enumerate(chunks, start=1):
        payload = {**common, "text": chunk}
        if number == len(chunks) and "reply_markup" in message.payload:
            payload["reply_markup"] = message.payload["reply_markup"]
        key = message.dedup_key
        if key is not None and number > 1:
            key = f"{key}#{number}"
        parts.append(replace(message, payload=payload, dedup_key=key))
    return parts


def fit_captions(message: Outgoing) -> Outgoing:
    """Captions (a photo's, a document's, each of an album's) cut to Telegram's 1,024."""
    payload = message.payload
    caption = payload.get("caption")
    if isinstance(caption, str):
        payload = {**payload, "caption": _cut(caption, TELEGRAM_CAPTION_LIMIT,
                                              payload.get("parse_mode"))}
    media = payload.get("media")
    if isinstance(media, list):
        payload = {**payload, "media": [
            {**item, "caption": _cut(item["caption"], TELEGRAM_CAPTION_LIMIT,
                                     item.get("parse_mode"))}
            if isinstance(item, dict) and isinstance(item.get("caption"), str) else item
            for item in media]}
    return replace(message, payload=payload) if payload is not message.payload else message


def _cut(text: str, limit: int, parse_mode: str | None) -> str:
    if parse_mode not in ("HTML", None):
        return text
    try:
        return cut(text, limit, parse_mode)
    except ValueError:  # no room for one character: let Telegram refuse it whole
        return text


# Bot API methods that address no chat: the row's chat_id only orders and rate-limits them.
CHATLESS_METHODS = frozenset({"setMyCommands", "deleteMyCommands", "answerCallbackQuery"})


def _with_chat(message: Outgoing) -> dict[str, Any]:
    if message.method in CHATLESS_METHODS:
        return dict(message.payload)
    return {**message.payload, "chat_id": message.chat_id}


async def _exists(session: AsyncSession, dedup_key: str) -> bool:
    result = await session.execute(
        select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)
    )
    return result.first() is not None


async def claim_due(
    session: AsyncSession, *, now: dt.datetime, limit: int, owner_claim: dt.timedelta = SENDER_CLAIM
) -> list[OutboxMessage]:
    """Take the oldest due messages, one chat's in order; a claim keeps other senders off.

    A message waits only for its chat's earlier messages (one claimed, or waiting to be tried
    again), never for later ones: a chat in the middle of a dialog always has a reply of its
    turn claimed for a moment, and a reminder queued before it would otherwise wait until the
    person paused.

    Broadcasts come after every other due message (a reminder queued behind a broadcast of
    thousands goes first); a broadcast's own rows keep their order."""
    earlier = aliased(OutboxMessage)
    waits = and_(earlier.status == "pending",
                 or_(earlier.next_attempt_at > now, earlier.claimed_until > now))
    # The chats with a message that waits (few) are read once; only a message of one of them
    # asks whether one of its chat's earlier messages waits. Asked of every due message, the
    # planner may take it for an anti-join and, on a table filled since it was last analysed
    # (a broadcast just queued), scan the table once for each: 0.35 s a claim of 60 rows out
    # of 5,000, which slowed a broadcast by a tenth.
    waiting_chats = select(earlier.chat_id).where(waits).scalar_subquery()
    held_back = and_(
        OutboxMessage.chat_id.in_(waiting_chats),
        exists().where(earlier.chat_id == OutboxMessage.chat_id,
                       earlier.id < OutboxMessage.id, waits),
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            ~held_back,
        )
        .order_by(case((OutboxMessage.kind == BROADCAST_KIND, 1), else_=0), OutboxMessage.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    rows = list((await session.execute(query)).scalars())
    for row in rows:
        row.claimed_until = now + owner_claim
    await session.flush()
    return rows


async def any_pending(session: AsyncSession, *, ids: Sequence[int]) -> bool:
    """Whether any of these messages is still waiting to be sent."""
    if not ids:
        return False
    result = await session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending").limit(1))
    return result.first() is not None


async def mark_sent(session: AsyncSession, *, ids: Sequence[int], now: dt.datetime) -> None:
    """Record delivery."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status="sent", sent_at=now, claimed_until=None, error=None)
        )


async def mark_retry(session: AsyncSession, *, id: int, at: dt.datetime, error: str) -> None:
    """Try again later: Telegram asked us to wait, or it was unreachable."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == id)
        .values(
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=at,
            claimed_until=None,
            error=error[:500],
        )
    )


async def mark_final(
    session: AsyncSession, *, id: int, status: str, error: str, now: dt.datetime
) -> Person | None:
    """Give up on a message: the user blocked the bot, or Telegram refused it for good.

    A block marks the row's person (`blocked_at`, only if not marked yet); returns the person
    this marking newly blocked, so that the office is told once per block."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == id)
        .values(
            status=status,
            error=error[:500],
            claimed_until=None,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    if status != "blocked":
        return None
    row = await session.get(OutboxMessage, id)
    if row is None or row.person_id is None:
        return None
    # Conditional, so that of two processes failing at once only one reports the block.
    marked = await session.execute(
        update(Person).where(Person.id == row.person_id, Person.blocked_at.is_(None))
        .values(blocked_at=now).execution_options(synchronize_session=False)
    )
    if not marked.rowcount:  # type: ignore[attr-defined]
        return None
    person = await session.get(Person, row.person_id)
    if person is not None:
        await session.refresh(person, ["blocked_at"])
    return person


async def unpay(session: AsyncSession, *, broadcast_id: int) -> int:
    """Take the paid lane off a broadcast's messages still waiting (Telegram refused it: the
    bot's Stars ran out), so that they go at the free rate. Returns how many were changed."""
    rows = (await session.execute(
        select(OutboxMessage.id, OutboxMessage.payload)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)  # two processes falling back lock the rows in one order
    )).all()
    changed = [{"row_id": id, "unpaid": {k: v for k, v in payload.items() if k != PAID_FLAG}}
               for id, payload in rows if goes_paid(payload)]
    if changed:
        table = cast(Table, OutboxMessage.__table__)
        await session.execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values(payload=bindparam("unpaid")), changed)
    return len(changed)


# Requests still owed to a person whose access ended: the notice of it and their menu's removal.
KEPT_ON_DEACTIVATION = ("notice", "menu")


async def withdraw_for_person(session: AsyncSession, *, person_id: int) -> int:
    """Withdraw what still waits for a person whose access ended (reminders, digests, a
    broadcast, an export): it is no longer theirs to read. Returns how many were withdrawn."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person_id, OutboxMessage.status == "pending",
               OutboxMessage.kind.not_in(KEPT_ON_DEACTIVATION))
        .values(status="withdrawn", claimed_until=None, error="recipient deactivated")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def depth(session: AsyncSession) -> int:
    """How many messages wait to be sent."""
    result = await session.execute(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    )
    return int(result.scalar_one())


async def next_due_at(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending message becomes due, for the sender's sleep."""
    result = await session.execute(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            and_(OutboxMessage.status == "pending")
        )
    )
    value = result.scalar_one()
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
