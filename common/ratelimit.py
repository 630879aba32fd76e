"""Telegram's rates, held in one place: about 30 messages a second, about 1 a second per chat,
shared out by lane: replies to people first, scheduled messages next, broadcasts last; and
the paid lane (a broadcast sent with `allow_paid_broadcast`, up to 1000 a second paid in
Stars) with a budget of its own, which takes nothing from the 30 a second."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from storage.outbox import BROADCAST_KIND, goes_paid

log = logging.getLogger(__name__)

# Lanes, best first. A turn's replies (and what a person asked for: an export, a chart) go in
# REPLY whatever their outbox kind, because the call site knows it answers someone; the
# outbox sender takes the lane from the row's kind (`lane_of`).
REPLY, SCHEDULED, BROADCAST, PAID = 0, 1, 2, 3
LANE_NAMES = ("reply", "scheduled", "broadcast", "paid")
# Telegram's paid broadcasts allow 1000 messages a second; kept under it as 28.5 is under 30.
PAID_PER_SECOND = 950.0
# Outbox kinds that a schedule writes. Any other kind
# ("reply", "notice", "menu", "export", "spotcheck") answers something a person did.
SCHEDULED_KINDS = frozenset({"reminder", "warning", "digest", "escalation", "report"})
# A chat in the middle of a dialog may have a reply waiting for its pace at every moment: a
# message of a later lane that has waited this long goes before its chat's replies, so that a
# reminder reaches a busy cadre within seconds, not when they pause.
OVERDUE_SECONDS = 2.0
# With a shared budget, the most sends asked for in one round trip: the ones that may go
# when the dispatcher looks (the replies of a group of turns come back together).
ASKED_AT_ONCE = 16


def lane_of(kind: str, payload: dict[str, Any] | None = None) -> int:
    """The lane of an outbox row the sender picks up, by its kind (and its payload: a request
    that pays for its broadcast goes in the paid lane)."""
    if payload is not None and goes_paid(payload):
        return PAID
    if kind == BROADCAST_KIND:
        return BROADCAST
    return SCHEDULED if kind in SCHEDULED_KINDS else REPLY


def per_window(per_second: float) -> int:
    """The sends allowed in any one-second window: the rate rounded (29 at 28.5 a second)."""
    return max(1, math.floor(per_second + 0.5))


class SharedBudget(Protocol):
    """A budget several processes share (common.sharedbudget): asked after the local limits
    allow sends, for (chat, lane) of each, in order; answers (0, 0) for a send that may go
    (and counts it), else the seconds the bot, or only this chat, must wait. `settle`: a send
    taken for this chat has come back, so it counts from now. `processes`: how many
    processes share it lately (the paid lane's rate is divided among them)."""

    processes: int

    async def take(self, sends: Sequence[tuple[int, int]]) -> list[tuple[float, float]]: ...

    def settle(self, chat_id: int) -> None: ...

    async def close(self) -> None: ...


def last_second(times: deque[float], now: float) -> deque[float]:
    """`times` (monotonic, oldest first) with those over a second before `now` dropped."""
    while times and times[0] <= now - 1.0:
        times.popleft()
    return times


class _BotBucket:
    """The bot's sends of one budget: a token bucket holding `burst`, and a log of the last
    second's sends that caps every one-second window at the rate rounded."""

    def __init__(self, per_second: float, burst: float) -> None:
        self.per_second = per_second
        self.burst = burst
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.sent: deque[float] = deque()

    @property
    def per_window(self) -> int:
        return per_window(self.per_second)

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now

    def wait(self, now: float) -> float:
        need = (1 - self.tokens) / self.per_second if self.tokens < 1 else 0
        last_second(self.sent, now)
        limit = self.per_window
        need_window = self.sent[-limit] + 1.0 - now if len(self.sent) >= limit else 0
        return max(need, need_window)

    def take(self, now: float) -> None:
        self.tokens -= 1
        self.sent.append(now)

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)
        if self.sent:
            self.sent.pop()


@dataclass(eq=False)
class _Waiter:
    chat_id: int
    lane: int
    seq: int
    granted: asyncio.Future[None] = field(repr=False)
    since: float = field(default_factory=time.monotonic)


class RateLimiter:
    """Token buckets: one for the bot, one per chat. `acquire` waits until both allow a send.

    A chat may get a short burst (`burst`, as Telegram allows). The bot's bucket may hold
    `global_burst` sends too, so that a pause (the sender committing one batch and claiming
    the next) is made up for afterwards; but Telegram counts sends in any one-second window,
    and a bucket of b lets b + per_second through in one second. So a log of the last
    second's sends also caps every one-second window at per_second rounded to the nearest
    whole send (29 at the default 28.5/s).

    The paid lane has a bucket of its own (`paid_per_second`, divided among the processes
    sharing the budget): its sends take nothing from the bot's 30 a second, but each chat's
    pacing holds for every lane.

    Waiters are served by lane, then in arrival order: whenever the bot may send, the best
    waiter whose chat may be sent to goes. A waiter held back by its own chat's pacing does
    not hold up other chats, and one chat's waiters of a lane go in their order. Within one
    chat, a waiter that has waited `OVERDUE_SECONDS` goes before the chat's better lanes (its
    chat still competes with the others by its best lane): replies to a person in a dialog
    come one a second and would otherwise keep their chat's reminder waiting as long as the
    dialog goes on."""

    def __init__(self, per_second: float = 28.5, per_chat_per_second: float = 1.0, burst: int = 3,
                 global_burst: float = 3.0, shared: SharedBudget | None = None,
                 paid_per_second: float = PAID_PER_SECOND):
        self.per_second = per_second
        self.per_chat = per_chat_per_second
        self.burst = burst
        self.global_burst = global_burst
        self.per_window = per_window(per_second)
        self.paid_per_second = paid_per_second
        self.shared = shared
        self._free = _BotBucket(per_second, global_burst)
        # A paid burst of a tenth of a second: Telegram's 1000 are counted in any second too.
        self._paid = _BotBucket(paid_per_second, max(global_burst, paid_per_second / 10))
        self._chat_tokens: dict[int, float] = defaultdict(lambda: float(burst))
        self._chat_at: dict[int, float] = {}
        self._held: dict[int, float] = {}  # chats the shared budget holds back, until when
        self._granted: dict[int, float] = {}  # each chat's last grant not yet settled, when
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    def _bucket(self, lane: int) -> _BotBucket:
        return self._paid if lane == PAID else self._free

    def _refill_global(self, now: float) -> None:
        self._free.refill(now)
        # The paid rate is shared out among the processes sending for the bot lately.
        processes = max(1, self.shared.processes) if self.shared is not None else 1
        self._paid.per_second = self.paid_per_second / processes
        self._paid.refill(now)

    def _refill(self, chat_id: int, now: float) -> None:
        self._refill_global(now)
        last = self._chat_at.get(chat_id, now)
        self._chat_tokens[chat_id] = min(
            float(self.burst), self._chat_tokens[chat_id] + (now - last) * self.per_chat
        )
        self._chat_at[chat_id] = now

    def _chat_wait(self, chat_id: int, now: float) -> float:
        tokens = self._chat_tokens[chat_id]
        wait = (1 - tokens) / self.per_chat if tokens < 1 else 0
        held = self._held.get(chat_id)
        if held is not None:
            if held > now:
                return max(wait, held - now)
            del self._held[chat_id]
        return wait

    def delay_for(self, chat_id: int, lane: int = REPLY) -> float:
        """Seconds until a send to this chat in this lane would be allowed (0 if now)."""
        now = time.monotonic()
        self._refill(chat_id, now)
        return max(self._bucket(lane).wait(now), self._chat_wait(chat_id, now))

    def refund(self, chat_id: int, lane: int = REPLY) -> None:
        """Give back the slot of a send that never reached Telegram (a 5xx or network error):
        it counted against no limit, and the sends after it need not wait for it."""
        self._bucket(lane).give_back()
        self._chat_tokens[chat_id] = min(float(self.burst), self._chat_tokens[chat_id] + 1)
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
                wait = await self._grant_some()
            except Exception:  # a shared budget must never leave the waiters hanging
                log.exception("the rate limiter could not grant a send; trying again")
                wait = 0.5
            if wait > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                except TimeoutError:
                    pass

    def _best(self, now: float, picked: list[_Waiter]) -> tuple[_Waiter | None, float]:
        """The best waiter, of those not `picked`, whose bot budget and chat allow a send now;
        else None and the seconds until one might."""
        self._refill_global(now)
        bot_waits = {lane: self._bucket(lane).wait(now) for lane in (REPLY, PAID)}
        soonest = math.inf
        chats: dict[int, list[_Waiter]] = {}
        for waiter in self._waiters:
            if waiter in picked:
                continue
            bot_wait = bot_waits[PAID if waiter.lane == PAID else REPLY]
            if bot_wait > 0:
                soonest = min(soonest, bot_wait)
            else:
                chats.setdefault(waiter.chat_id, []).append(waiter)
        best: _Waiter | None = None
        best_key: tuple[int, int] | None = None
        for chat_id, waiters in chats.items():
            self._refill(chat_id, now)
            chat_wait = self._chat_wait(chat_id, now)
            if chat_wait > 0:
                soonest = min(soonest, chat_wait)
                continue
            overdue = [w for w in waiters if now - w.since >= OVERDUE_SECONDS]
            pick = (min(overdue, key=lambda w: w.seq) if overdue
                    else min(waiters, key=lambda w: (w.lane, w.seq)))
            key = (min(w.lane for w in waiters), pick.seq)
            if best_key is None or key < best_key:
                best, best_key = pick, key
        return best, soonest

    def _picks(self, now: float) -> tuple[list[_Waiter], float]:
        """The waiters that may go now, best first: with a shared budget as many as the bot's
        and their chats' budgets hold (up to ASKED_AT_ONCE, asked for in one round trip),
        else the best one; if none, the seconds until one might."""
        picks: list[_Waiter] = []
        counted: list[_Waiter] = []
        most = ASKED_AT_ONCE if self.shared is not None else 1
        best, soonest = self._best(now, picks)
        while best is not None:
            picks.append(best)
            if len(picks) >= most:
                break
            # Counted for the moment, so that the next pick sees what the others leave.
            self._bucket(best.lane).take(now)
            self._chat_tokens[best.chat_id] -= 1
            counted.append(best)
            best, _ = self._best(now, picks)
        for waiter in reversed(counted):
            self._bucket(waiter.lane).give_back()
            self._chat_tokens[waiter.chat_id] += 1
        return picks, soonest

    async def _grant_some(self) -> float:
        """Grant the waiters that may go now; else the seconds until one might."""
        picks, soonest = self._picks(time.monotonic())
        if not picks:
            return soonest
        answers = [(0.0, 0.0)] * len(picks)
        if self.shared is not None:
            answers = await self.shared.take([(waiter.chat_id, waiter.lane) for waiter in picks])
        wait = 0.0
        now = time.monotonic()
        for waiter, (bot_wait, chat_wait) in zip(picks, answers, strict=True):
            if chat_wait > 0:  # another process sent to this chat: the others may go
                self._held[waiter.chat_id] = now + chat_wait
            if bot_wait > 0 or chat_wait > 0:
                wait = max(wait, bot_wait)
                continue
            if waiter.granted.done():  # cancelled while the database was asked: slot unused
                continue
            self._refill(waiter.chat_id, now)
            self._bucket(waiter.lane).take(now)
            self._chat_tokens[waiter.chat_id] -= 1
            self._granted[waiter.chat_id] = now
            waiter.granted.set_result(None)
        return wait

    def settle(self, chat_id: int) -> None:
        """A send granted to this chat has come back from Telegram: its pace counts from now.

        Telegram counts a chat's messages when they arrive, which may be later than the grant
        (a request waiting for a connection, several in flight at once): measured from the
        grant, a message after a spent burst could arrive a hair early and be refused with 429.
        So the pace credit earned while the request was under way is taken back."""
        if self.shared is not None:  # and in the budget the other processes see
            self.shared.settle(chat_id)
        granted = self._granted.pop(chat_id, None)
        if granted is None:
            return
        now = time.monotonic()
        self._refill(chat_id, now)
        credit = (now - granted) * self.per_chat
        self._chat_tokens[chat_id] = max(0.0, self._chat_tokens[chat_id] - credit)
