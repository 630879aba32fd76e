"""Recording that turn replies were delivered, a moment later and for many turns at once.

A turn's replies are stored and claimed in the turn's transaction, then sent at once; marking
them sent took a second write transaction per update, about a fifth of the CPU of a dialog
step (docs/benchmarks.md §1). Here the marks wait up to FLUSH_SECONDS and go in one UPDATE.
Until they are written the claim keeps every sender off those rows, so nothing is sent twice
unless the process dies in that moment and the lease (OUTBOX_CLAIM_SECONDS) runs out: the
narrow at-least-once window of docs/reliability.md, a quarter of a second wider.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

from storage import outbox
from storage.db import Database

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
RETRIES = 30


class SentMarks:
    """Outbox rows delivered but not yet marked sent, written together."""

    def __init__(self, db: Database, *, delay: float = FLUSH_SECONDS) -> None:
        self.db = db
        self.delay = delay
        self._ids: list[int] = []
        self._last: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, ids: Sequence[int], now: dt.datetime) -> None:
        """Note rows sent at `now`; they are marked within `delay` seconds."""
        if not ids:
            return
        self._ids.extend(ids)
        self._last = now
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        delay = self.delay
        for _ in range(RETRIES):
            await asyncio.sleep(delay)
            if await self.flush():
                return
            delay = max(1.0, 4 * self.delay)  # the database is away: try again a bit later
        # Still away: the next turn or the outbox sender tries again.

    async def flush(self) -> bool:
        """Write the marks noted so far; False (they are kept) if the database refused."""
        ids, now = self._ids, self._last
        if not ids or now is None:
            return True
        self._ids = []
        try:
            async with self.db.write() as session:
                await outbox.mark_sent(session, ids=ids, now=now)
        except Exception as exc:  # kept for the next try; the claims still hold the rows
            log.warning("could not mark %d messages sent: %s", len(ids), type(exc).__name__)
            self._ids = ids + self._ids
            return False
        return True

    @property
    def waiting(self) -> int:
        """How many rows wait for their mark."""
        return len(self._ids)
