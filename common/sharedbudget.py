"""Telegram's rates shared by every process sending for one bot (PostgreSQL): asked after a
process's own limits allow a send (common.ratelimit), one short transaction a send.

SQLite deployments are one process: the process's own limiter is the whole budget there.
A database that fails or hangs (over `timeout`) must neither stop sending nor send above the
rate: for `RETRY_SECONDS` the process then sends at its share of the rate, the rate divided
by the processes that shared it lately, and asks the database again after that.

Until the budget has answered a process once, that share is not known: the process may be
one of several workers started together. Its first take opens the connection and installs
the take on a machine busy starting them all, so it is allowed `first_timeout`; if even that
fails, the process waits and asks again rather than send at a share that may be too large.

A send that has come back from Telegram is settled (storage.sendbudget): with the process's
next take, or on its own after `SETTLE_AFTER` if no take comes first.

A process that has asked for `BUSY_SENDS` sends within a second asks for a lease with its
takes: granted when nobody else sends for the bot, it sends on its own limiter for
`LEASE_SECONDS` without asking, then asks again (storage.sendbudget)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from common.ratelimit import PAID, REPLY, last_second, per_window
from storage import sendbudget
from storage.db import Database
from storage.sendbudget import Ask, Limits, Settled

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
SWEEP_EVERY = 500  # sends between removals of idle chats' buckets
IDLE_CHAT_SECONDS = 60.0
# A send that came back waits this long for a take to settle it with, then goes on its own:
# much less than the second in which it counts, so that its place there moves in time.
SETTLE_AFTER = 0.05
# Sending alone: asked for by a process that asked for this many sends within a second (a
# dialog's replies or a lone reminder never do, so another process that starts to answer
# someone seldom finds a lease to wait out), for this long, ended this much early on the
# process's own clock (the lease is counted from the database's moment of the take).
BUSY_SENDS = 10
LEASE_SECONDS = 0.8
LEASE_MARGIN = 0.1


def bot_id_of(token: str) -> int:
    """The bot's id, the digits before the token's colon; the budget's key (never the token)."""
    head = token.partition(":")[0]
    return int(head) if head.isdigit() else 0


class DatabaseBudget:
    """The budget of one bot in the database, with this process's fallback share."""

    def __init__(self, db: Database, *, bot_id: int, per_second: float,
                 per_chat_per_second: float, burst: int = 3, headroom: int = 2,
                 timeout: float = 1.0, first_timeout: float = 10.0) -> None:
        self.db = db
        self.bot_id = bot_id
        self.limits = Limits(per_window=per_window(per_second),
                             per_chat=per_chat_per_second, burst=float(burst), headroom=headroom)
        self.timeout = timeout
        self.first_timeout = first_timeout
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.processes = 1  # as last seen in the database
        self.answered = False  # whether `processes` has been seen there yet
        # A process waiting out a lease must still count as a sender when it asks again, or
        # the lease would be renewed meanwhile: leases only where that wait is short enough.
        self.leases = LEASE_SECONDS + self.limits.after_lease < sendbudget.HOLDER_SECONDS - 0.5
        self.alone_until = 0.0  # monotonic: sending on the process's own limiter until then
        self._asked: deque[float] = deque()  # when sends were asked, over the last second
        self.falling_back_until = 0.0
        self._fallback_sent: deque[float] = deque()
        self._takes = 0
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._granted: dict[int, float] = {}  # each chat's last take, not yet back (db clock)
        self._back: list[tuple[int, float, float]] = []  # (chat, granted_at, back: monotonic)
        self._settler: asyncio.Task[None] | None = None

    def settle(self, chat_id: int) -> None:
        """The chat's last send taken here has come back from Telegram: the budget counts it
        from now (with the next take, or on its own in a moment)."""
        granted = self._granted.pop(chat_id, None)
        if granted is None:
            return
        self._back.append((chat_id, granted, time.monotonic()))
        if self._settler is None or self._settler.done():
            self._settler = asyncio.get_running_loop().create_task(self._settle_later())

    async def _settle_later(self) -> None:
        """Settle on its own what no take has carried for `SETTLE_AFTER` (while sends go on,
        a take carries them: this costs a round trip only when sending pauses)."""
        while self._back:
            wait = self._back[0][2] + SETTLE_AFTER - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if time.monotonic() < self.falling_back_until:
                return  # the take after the outage carries them
            try:
                async with asyncio.timeout(self.timeout):
                    await self._take([])
            except Exception as exc:  # lost: they count from their grants, as before
                log.info("settling sends in the shared budget: %s", type(exc).__name__)
                return

    def _settled(self) -> list[Settled]:
        back, self._back = self._back, []
        now = time.monotonic()
        return [Settled(chat, granted, now - at) for chat, granted, at in back]

    async def close(self) -> None:
        """Give the connection back, at a stop."""
        settler, self._settler = self._settler, None
        if settler is not None:
            settler.cancel()
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        """Close the connection (at a stop, or after a failure: the next take opens one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception as exc:  # already broken: nothing to give back
                log.info("closing the budget's connection: %s", type(exc).__name__)

    async def take(self, sends: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
        """For each (chat, lane) asked, in order: (0, 0) when the send may go; else the
        seconds the bot, or only this chat, must wait. One round trip for them all (none
        while the process sends alone under a lease)."""
        now = time.monotonic()
        if self.leases:
            last_second(self._asked, now).extend([now] * len(sends))
        if sends and now < self.alone_until:  # alone: the process's own limiter is the rate
            return [(0.0, 0.0)] * len(sends)
        if now >= self.falling_back_until:
            try:
                async with asyncio.timeout(self.timeout if self.answered else self.first_timeout):
                    return await self._take(sends)
            except Exception as exc:  # an outage or a hang: send at this process's share
                if self.answered:
                    log.warning("the shared sending budget is unavailable (%s); sending at "
                                "1/%d of the rate for %.0f s", type(exc).__name__,
                                self.processes, RETRY_SECONDS)
                else:
                    log.warning("the shared sending budget has not answered yet (%s); "
                                "waiting for it, as the processes sharing it are not known",
                                type(exc).__name__)
                self.falling_back_until = time.monotonic() + RETRY_SECONDS
        if not self.answered:  # this process's share is not known: ask again, then send
            return [(max(0.05, self.falling_back_until - time.monotonic()), 0.0)] * len(sends)
        # The paid lane's rate is the limiter's paid bucket, shared out by processes.
        return [(0.0, 0.0) if lane == PAID else self._fallback() for _, lane in sends]

    async def _connection(self) -> AsyncConnection:
        """This process's own connection to the budget, opened (and the take installed) on
        first use and after a failure."""
        if self._conn is None:
            conn = await self.db.engine.connect()
            try:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await sendbudget.install(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _take(self, sends: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
        async with self._lock:
            settled = self._settled()
            if not sends and not settled:  # a take carried them meanwhile
                return []
            asks = [Ask(chat, reply=lane == REPLY, paid=lane == PAID) for chat, lane in sends]
            lease = LEASE_SECONDS if self.leases and len(self._asked) >= BUSY_SENDS else 0.0
            try:
                connection = await self._connection()
                asked_at = time.monotonic()  # no later than the database's moment of the take
                answers = await sendbudget.take(connection, bot_id=self.bot_id,
                                                asks=asks, holder=self.holder,
                                                limits=self.limits, settled=settled,
                                                lease=lease)
            except BaseException:
                await self._drop_connection()  # a broken or cancelled one is opened afresh
                raise
        if answers:
            self.processes = max(1, answers[0].processes)
            self.answered = True
            if answers[0].lease > 0:
                self.alone_until = asked_at + answers[0].lease - LEASE_MARGIN
        answers = answers[:len(sends)]  # a settle alone is answered too, for `processes`
        for (chat_id, _), answer in zip(sends, answers, strict=True):
            if answer.bot_wait <= 0 and answer.chat_wait <= 0:
                self._granted[chat_id] = answer.granted_at
                self._takes += 1
                if self._takes % SWEEP_EVERY == 0:
                    async with self.db.write() as session:
                        await sendbudget.sweep(session, bot_id=self.bot_id,
                                               idle=IDLE_CHAT_SECONDS)
        return [(answer.bot_wait, answer.chat_wait) for answer in answers]

    def _fallback(self) -> tuple[float, float]:
        """This process's share of the one-second window, on its own clock."""
        share = max(1, self.limits.per_window // self.processes)
        now = time.monotonic()
        if len(last_second(self._fallback_sent, now)) >= share:
            return self._fallback_sent[0] + 1.0 - now, 0.0
        self._fallback_sent.append(now)
        return 0.0, 0.0
