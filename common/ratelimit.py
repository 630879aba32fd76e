"""Telegram's rates, held in one place: about 30 messages a second, about 1 a second per chat,
shared out by lane: replies to people first, scheduled messages next, broadcasts last."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Protocol

from storage.outbox import BROADCAST_KIND

log = logging.getLogger(__name__)

# Lanes, best first. A turn's replies (and what a person asked for: an export, a chart) go in
# REPLY whatever their outbox kind, because the call site knows it answers someone; the
# outbox sender takes the lane from the row's kind (`lane_of`).
REPLY, SCHEDULED, BROADCAST = 0, 1, 2
LANE_NAMES = ("reply", "scheduled", "broadcast")
# Outbox kinds that a schedule writes. Any other kind
# ("reply", "notice", "menu", "export", "spotcheck") answers something a person did.
SCHEDULED_KINDS = frozenset({"reminder", "warning", "digest", "escalation", "report"})


def lane_of(kind: str) -> int:
    """The lane of an outbox row the sender picks up, by its kind."""
    if kind == BROADCAST_KIND:
        return BROADCAST
    return SCHEDULED if kind in SCHEDULED_KINDS else REPLY


def per_window(per_second: float) -> int:
    """The sends allowed in any one-second window: the rate rounded (29 at 28.5 a second)."""
    return max(1, math.floor(per_second + 0.5))


class SharedBudget(Protocol):
    """A budget several processes share (common.sharedbudget): asked after the local limits
    allow a send; answers (0, 0) when the send may go (and counts it), else the seconds the
    bot, or only this chat, must wait."""

    async def take(self, chat_id: int, lane: int) -> tuple[float, float]: ...

    async def close(self) -> None: ...


@dataclass(eq=False)
class _Waiter:
    chat_id: int
    lane: int
    seq: int
    granted: asyncio.Future[None] = field(repr=False)


class RateLimiter:
    """Token buckets: one for the bot, one per chat. `acquire` waits until both allow a send.

    A chat may get a short burst (`burst`, as Telegram allows). The bot's bucket may hold
    `global_burst` sends too, so that a pause (the sender committing one batch and claiming
    the next) is made up for afterwards; but Telegram counts sends in any one-second window,
    and a bucket of b lets b + per_second through in one second. So a log of the last
    second's sends also caps every one-second window at per_second rounded to the nearest
    whole send (29 at the default 28.5/s).

    Waiters are served by lane, then in arrival order: whenever the bot may send, the best
    waiter whose chat may be sent to goes. A waiter held back by its own chat's pacing does
    not hold up other chats, and one chat's waiters of a lane go in their order."""

    def __init__(self, per_second: float = 28.5, per_chat_per_second: float = 1.0, burst: int = 3,
                 global_burst: float = 3.0, shared: SharedBudget | None = None):
        self.per_second = per_second
        self.per_chat = per_chat_per_second
        self.burst = burst
        self.global_burst = global_burst
        self.per_window = per_window(per_second)
        self.shared = shared
        self._sent: deque[float] = deque()  # the bot's sends in the last second
        self._global_tokens = float(global_burst)
        self._global_at = time.monotonic()
        self._chat_tokens: dict[int, float] = defaultdict(lambda: float(burst))
        self._chat_at: dict[int, float] = {}
        self._held: dict[int, float] = {}  # chats the shared budget holds back, until when
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    def _refill_global(self, now: float) -> None:
        self._global_tokens = min(
            float(self.global_burst),
            self._global_tokens + (now - self._global_at) * self.per_second,
        )
        self._global_at = now

    def _refill(self, chat_id: int, now: float) -> None:
        self._refill_global(now)
        last = self._chat_at.get(chat_id, now)
        self._chat_tokens[chat_id] = min(
            float(self.burst), self._chat_tokens[chat_id] + (now - last) * self.per_chat
        )
        self._chat_at[chat_id] = now

    def _global_wait(self, now: float) -> float:
        need = (1 - self._global_tokens) / self.per_second if self._global_tokens < 1 else 0
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        need_window = self._sent[0] + 1.0 - now if len(self._sent) >= self.per_window else 0
        return max(need, need_window)

    def _chat_wait(self, chat_id: int, now: float) -> float:
        tokens = self._chat_tokens[chat_id]
        wait = (1 - tokens) / self.per_chat if tokens < 1 else 0
        held = self._held.get(chat_id)
        if held is not None:
            if held > now:
                return max(wait, held - now)
            del self._held[chat_id]
        return wait

    def _wait_needed(self, chat_id: int, now: float) -> float:
        return max(self._global_wait(now), self._chat_wait(chat_id, now))

    def delay_for(self, chat_id: int) -> float:
        """Seconds until a send to this chat would be allowed (0 if now)."""
        now = time.monotonic()
        self._refill(chat_id, now)
        return self._wait_needed(chat_id, now)

    def refund(self, chat_id: int) -> None:
        """Give back the slot of a send that never reached Telegram (a 5xx or network error):
        it counted against no limit, and the sends after it need not wait for it."""
        self._global_tokens = min(float(self.global_burst), self._global_tokens + 1)
        self._chat_tokens[chat_id] = min(float(self.burst), self._chat_tokens[chat_id] + 1)
        if self._sent:
            self._sent.pop()
        self._wake.set()

    def waiting(self) -> dict[str, int]:
        """How many sends wait in each lane (for the health check and the benchmarks)."""
        counts = dict.fromkeys(LANE_NAMES, 0)
        for waiter in self._waiters:
            counts[LANE_NAMES[waiter.lane]] += 1
        return counts

    async def close(self) -> None:
        """Let go of the shared budget's connection, at a stop."""
        if self.shared is not None:
            await self.shared.close()

    async def acquire(self, chat_id: int, lane: int = REPLY) -> None:
        """Wait for a send slot for this chat in this lane, then take it."""
        granted = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(chat_id, lane, next(self._seq), granted))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        self._wake.set()
        await granted

    async def _dispatch(self) -> None:
        """Grant slots while anyone waits; sleep until the next slot or a new waiter."""
        while True:
            self._waiters = [w for w in self._waiters if not w.granted.done()]
            if not self._waiters:
                return
            self._wake.clear()
            try:
                wait = await self._grant_one()
            except Exception:  # a shared budget must never leave the waiters hanging
                log.exception("the rate limiter could not grant a send; trying again")
                wait = 0.5
            if wait > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                except TimeoutError:
                    pass

    async def _grant_one(self) -> float:
        """Grant the best waiter that may go now; else the seconds until one might."""
        now = time.monotonic()
        self._refill_global(now)
        wait = self._global_wait(now)
        if wait > 0:
            return wait
        best: _Waiter | None = None
        soonest = math.inf
        for waiter in self._waiters:
            self._refill(waiter.chat_id, now)
            chat_wait = self._chat_wait(waiter.chat_id, now)
            if chat_wait > 0:
                soonest = min(soonest, chat_wait)
            elif best is None or (waiter.lane, waiter.seq) < (best.lane, best.seq):
                best = waiter
        if best is None:
            return soonest
        if self.shared is not None:
            bot_wait, chat_wait = await self.shared.take(best.chat_id, best.lane)
            if chat_wait > 0:  # another process sent to this chat: the others may go
                self._held[best.chat_id] = time.monotonic() + chat_wait
            if bot_wait > 0 or chat_wait > 0:
                return max(bot_wait, 0)
            if best.granted.done():  # cancelled while the database was asked: slot unused
                return 0
        now = time.monotonic()
        self._refill(best.chat_id, now)
        self._global_tokens -= 1
        self._chat_tokens[best.chat_id] -= 1
        self._sent.append(now)
        best.granted.set_result(None)
        return 0
