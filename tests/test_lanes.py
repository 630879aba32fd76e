"""Replies first: a cadre's answer overtakes a broadcast being sent, and a reminder due
after a broadcast was queued is sent before it, through Telegram's rate limits."""

from __future__ import annotations

import asyncio
import datetime as dt

from common.ratelimit import REPLY, RateLimiter
from scheduler.sender import drain
from storage import outbox
from storage.outbox import Outgoing
from tests.harness import texts
from tests.test_broadcast import (
    NOTICE,
    OFFICE_CHAT,
    _bind_big,
    most_in_one_second,
    paid_broadcasts,
    to_every_cadre,
)
from tests.test_schedules import bind_everyone
from tests.test_visits import button


async def _broadcast_to_every_cadre(harness, size: int) -> dict[int, int]:
    await bind_everyone(harness)
    office = harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code="en")
    chats = await _bind_big(harness, size)
    replies = await to_every_cadre(harness, office)
    await harness.press(office, button(replies, ":ok"))
    return chats


async def _drain_all(harness) -> None:
    while True:
        await drain(harness.ctx, harness.application.bot)
        async with harness.db.read() as session:
            if await outbox.depth(session) == 0:
                return
        await asyncio.sleep(0.2)


def _notices(harness) -> int:
    return sum(1 for s in harness.emu.sent
               if s.chat_id != OFFICE_CHAT and s.text and NOTICE in s.plain_text)


async def _a_cadre_checks_in(harness, size: int) -> None:
    """李娜, among the broadcast's recipients too, checks in: answered with it far from done."""
    cadre = harness.emu.user(7002, first_name="李娜", language_code="en")
    assert "Sat 28 Nov" in texts(await harness.send(cadre, "/checkin"))[0]
    replies = await harness.press(cadre, "ci:v")
    during = _notices(harness)
    assert "Checked in for Sat 28 Nov: in the village" in texts(replies)[-1]
    assert during < size + 3 - 30, during

async def test_a_cadres_dialog_step_is_answered_while_a_broadcast_is_still_being_sent(harness):
    size = 150 if harness.db.is_sqlite else 90  # 5 s and 3 s at 28 messages a second
    await _broadcast_to_every_cadre(harness, size)
    harness.emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
    harness.ctx.limiter = RateLimiter(per_second=28.5, per_chat_per_second=1)
    sender = asyncio.create_task(_drain_all(harness))
    await harness.emu.wait_for(lambda: _notices(harness) >= 30, within=30)
    await _a_cadre_checks_in(harness, size)
    await sender
    assert _notices(harness) == size + 3
    assert harness.emu.count_429 == 0


async def test_a_paid_broadcast_leaves_the_thirty_a_second_to_a_cadres_dialog(harness):
    size = 300  # about 4 s at the paid lane's pace through this emulator on both backends
    paid_broadcasts(harness, size)
    await _broadcast_to_every_cadre(harness, size)
    harness.emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
    harness.emu.network(0.05)  # each request takes 50 ms, as across a network
    harness.ctx.limiter = limiter = RateLimiter(per_second=28.5, per_chat_per_second=1)
    sender = asyncio.create_task(_drain_all(harness))
    await harness.emu.wait_for(lambda: _notices(harness) >= 60, within=30)
    assert limiter.delay_for(999, REPLY) == 0  # 60 paid sends took nothing from the 30
    await _a_cadre_checks_in(harness, size)
    await sender
    assert _notices(harness) == size + 3 and harness.emu.count_429 == 0
    paid = [r.at for r in harness.emu.requests if r.params.get("allow_paid_broadcast")]
    assert len(paid) == size + 3 and most_in_one_second(paid) > 30


async def test_a_reminder_queued_after_a_broadcast_is_claimed_before_the_broadcasts_rows(
        database, clock):
    now = clock.now()

    def note(chat: int, kind: str) -> Outgoing:
        return Outgoing(chat_id=chat, method="sendMessage", payload={"text": kind}, kind=kind)

    async with database.write() as session:
        await outbox.enqueue(session, now=now,
                             messages=[note(100 + n, "broadcast") for n in range(5)])
        await outbox.enqueue(session, now=now, messages=[note(100, "broadcast")])  # 2nd to 100
        await outbox.enqueue(session, now=now + dt.timedelta(seconds=1),
                             messages=[note(200, "reminder"), note(201, "digest")])
    async with database.write() as session:
        rows = await outbox.claim_due(session, now=now + dt.timedelta(seconds=2), limit=4)
    assert [(r.chat_id, r.kind) for r in rows] == [
        (200, "reminder"), (201, "digest"), (100, "broadcast"), (101, "broadcast")]
    async with database.write() as session:
        rows = await outbox.claim_due(session, now=now + dt.timedelta(seconds=2), limit=10)
    # Chat 100's second notice waits for its first (claimed above) to be done: in order.
    assert [(r.chat_id, r.kind) for r in rows] == [(102, "broadcast"), (103, "broadcast"),
                                                   (104, "broadcast")]


async def test_a_chat_s_message_waits_for_its_earlier_messages_only(database, clock):
    """A reminder is not held back by a reply its chat's turn claimed after it (a cadre in
    the middle of a dialog always has one claimed for a moment); a message queued after a
    claimed or retried one of its chat still waits for it."""
    now = clock.now()

    def note(chat: int, kind: str) -> Outgoing:
        return Outgoing(chat_id=chat, method="sendMessage", payload={"text": kind}, kind=kind)

    async with database.write() as session:
        await outbox.enqueue(session, now=now, messages=[note(300, "reminder")])
        await outbox.enqueue(session, now=now, messages=[note(300, "reply")], claim=True)
        await outbox.enqueue(session, now=now, messages=[note(301, "reply")], claim=True)
        await outbox.enqueue(session, now=now, messages=[note(301, "reminder")])
        [retried] = await outbox.enqueue(session, now=now, messages=[note(302, "digest")])
        await outbox.mark_retry(session, id=retried.id, at=now + dt.timedelta(minutes=5),
                                error="429")
        await outbox.enqueue(session, now=now, messages=[note(302, "reminder")])
    async with database.write() as session:
        rows = await outbox.claim_due(session, now=now + dt.timedelta(seconds=1), limit=10)
    assert [(r.chat_id, r.kind) for r in rows] == [(300, "reminder")]
