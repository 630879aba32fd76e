"""The sender's rate limiter: whatever the bucket holds, no one-second window gets more sends
than Telegram's limit allows, and a chat gets about one a second after a short burst."""

from __future__ import annotations

import asyncio
import time

from common import ratelimit
from common.ratelimit import BROADCAST, PAID, REPLY, SCHEDULED, RateLimiter, lane_of


def most_in_one_second(times: list[float]) -> int:
    """The most sends in any window of one second less 10 ms: the times are taken just after
    `acquire` returns, a little later than the limiter's own, and by differing amounts."""
    return max(sum(1 for t in times if start <= t < start + 0.99) for start in times)


async def test_no_one_second_window_holds_more_than_the_rate_even_after_a_pause():
    limiter = RateLimiter(per_second=40, global_burst=5)
    sent: list[float] = []
    for number in range(100):
        if number == 30:
            await asyncio.sleep(0.3)  # a pause fills the bucket: it may be made up, not exceeded
        await limiter.acquire(number)  # a chat each: only the bot's limit applies
        sent.append(time.monotonic())
    assert limiter.per_window == 40
    assert most_in_one_second(sent) <= 40


async def test_a_chat_gets_its_burst_then_waits_for_its_bucket():
    limiter = RateLimiter(per_second=1000, per_chat_per_second=20, burst=3)
    sent: list[float] = []
    for _ in range(23):
        await limiter.acquire(7)
        sent.append(time.monotonic())
    assert most_in_one_second(sent) <= 3 + 20


async def test_a_refunded_send_frees_its_place_in_the_window():
    limiter = RateLimiter(per_second=3, global_burst=3)
    for chat in range(3):
        await limiter.acquire(chat)
    limiter.refund(2)  # never reached Telegram
    assert limiter.delay_for(3) == 0


async def test_a_reply_goes_before_the_broadcasts_already_waiting_for_the_same_budget():
    limiter = RateLimiter(per_second=20, global_burst=1)
    order: list[str] = []

    async def send(name: str, chat: int, lane: int) -> None:
        await limiter.acquire(chat, lane)
        order.append(name)

    broadcasts = [asyncio.create_task(send(f"b{n}", 100 + n, BROADCAST)) for n in range(8)]
    reminders = [asyncio.create_task(send(f"r{n}", 200 + n, SCHEDULED)) for n in range(2)]
    await asyncio.sleep(0.12)  # two or three broadcasts' slots have come and gone meanwhile
    reply = asyncio.create_task(send("reply", 7, REPLY))
    await asyncio.gather(*broadcasts, *reminders, reply)
    assert order[0] == "r0"  # the reminders were waiting first, before any broadcast
    assert order.index("reply") <= order.index("r1") + 2
    assert order.index("reply") < len(order) - 4  # well before the last broadcasts
    assert [n for n in order if n.startswith("b")] == [f"b{n}" for n in range(8)]


async def test_a_chat_waiting_for_its_own_pace_holds_up_no_other_chat():
    limiter = RateLimiter(per_second=1000, per_chat_per_second=2, burst=1)
    await limiter.acquire(1)
    held = asyncio.create_task(limiter.acquire(1))  # chat 1 must wait half a second
    await asyncio.sleep(0.01)
    await limiter.acquire(2, BROADCAST)  # another chat, even a broadcast, goes first
    assert not held.done()
    await held


def test_the_sender_takes_a_rows_lane_from_its_kind():
    assert lane_of("reply") == REPLY and lane_of("export") == REPLY
    assert lane_of("reminder") == SCHEDULED and lane_of("digest") == SCHEDULED
    assert lane_of("broadcast") == BROADCAST
    assert lane_of("broadcast", {"text": "x", "allow_paid_broadcast": True}) == PAID
    assert lane_of("broadcast", {"text": "x"}) == BROADCAST


async def test_paid_sends_take_nothing_from_the_bots_own_rate():
    limiter = RateLimiter(per_second=10, global_burst=1, paid_per_second=200)
    paid: list[float] = []
    free: list[float] = []

    async def send(chat: int, lane: int, times: list[float]) -> None:
        await limiter.acquire(chat, lane)
        times.append(time.monotonic())

    start = time.monotonic()
    await asyncio.gather(*(send(1000 + n, PAID, paid) for n in range(150)),
                         *(send(2000 + n, REPLY, free) for n in range(10)))
    # At the bot's 10 a second these 160 would take 16 s; its lanes take about 0.7 s and 0.9 s.
    assert max(paid) - start < 3
    assert most_in_one_second(paid) <= 200 and most_in_one_second(free) <= 10
    assert len(free) == 10 and max(free) - start < 3


async def test_a_chat_is_paced_on_the_paid_lane_as_on_any_other():
    limiter = RateLimiter(per_second=1000, per_chat_per_second=20, burst=3)
    sent: list[float] = []
    for _ in range(23):
        await limiter.acquire(7, PAID)
        sent.append(time.monotonic())
    assert most_in_one_second(sent) <= 3 + 20
    assert sent[-1] - sent[0] > 0.9


async def test_a_reminder_reaches_a_chat_whose_replies_never_stop(monkeypatch):
    """A cadre in a dialog may have a reply waiting for the chat's pace at every moment; the
    reminder queued meanwhile goes once it is overdue, not when the dialog ends."""
    monkeypatch.setattr(ratelimit, "OVERDUE_SECONDS", 0.3)
    limiter = RateLimiter(per_second=1000, per_chat_per_second=10, burst=1)
    order: list[str] = []
    stop = asyncio.Event()

    async def replies() -> None:  # the next reply waits as soon as the last one is granted
        while not stop.is_set():
            await limiter.acquire(7, REPLY)
            order.append("reply")

    dialog = asyncio.create_task(replies())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(limiter.acquire(7, SCHEDULED), 5)
    order.append("reminder")
    stop.set()
    await dialog
    assert 3 <= order.index("reminder") <= 6  # replies first, then the overdue reminder
