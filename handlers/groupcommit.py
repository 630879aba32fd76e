"""Group commit: the turns that arrive while one transaction runs share the next one.

A commit is the dearest part of a short turn (on SQLite a BEGIN IMMEDIATE, a WAL append and
the lock handed over; on PostgreSQL a round trip and a flush to disk). The updates of a
getUpdates batch, or webhook requests arriving together, are for different chats (the chat's
lock lets one update of a chat in at a time), so they may share a transaction: the first turn
to arrive leads, and while its transaction runs the others queue for the next one. No timer,
so a lone update waits for nothing.

A group that fails is rolled back whole and each of its turns runs again alone (RunAlone), so
one broken update costs the others nothing but a second try: an update id is in
processed_updates only if its turn committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# The most turns in one transaction: a getUpdates batch holds up to 100 updates and the
# webhook's processor lets 256 run at once. A bigger group saves little more (the commit is
# already shared by dozens) while it holds SQLite's write lock longer and, if it fails, runs
# more turns twice.
GROUP_MOST = 32


class RunAlone(Exception):
    """The group this turn was in failed and was rolled back: run it in its own transaction."""


@dataclass
class _Waiting(Generic[Item, Result]):
    key: int
    item: Item
    done: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommitter(Generic[Item, Result]):
    """Runs `step(session, item)` for the items submitted together in one transaction."""

    def __init__(self, db: Database,
                 step: Callable[[AsyncSession, Item], Awaitable[Result]],
                 first: Callable[[AsyncSession, list[Item]], Awaitable[None]] | None = None,
                 last: Callable[[AsyncSession, list[Result]], Awaitable[None]] | None = None,
                 ) -> None:
        """`first(session, items)` and `last(session, results)`, if given, run in the
        transaction of a group of several items, before and after their steps, for what the
        steps can do together in one statement."""
        self._db = db
        self._step = step
        self._first = first
        self._last = last
        self._queue: list[_Waiting[Item, Result]] = []
        self._leader: asyncio.Task[None] | None = None

    async def run(self, key: int, item: Item) -> Result:
        """The item's result once its group committed. Items of one group run in the order of
        their keys (two processes lock the people of their groups in the same order). Raises
        RunAlone when a group of several failed, and a lone item's own error as it is."""
        waiting: _Waiting[Item, Result] = _Waiting(key, item)
        self._queue.append(waiting)
        if self._leader is None:
            # A task, not this coroutine: the other updates of the batch, already scheduled,
            # submit theirs before it starts, and none of them waits for another's reply.
            self._leader = asyncio.get_running_loop().create_task(self._lead())
        return await waiting.done

    async def _lead(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[:GROUP_MOST], self._queue[GROUP_MOST:]
                await self._commit(group)
        finally:
            # At once, not in a done callback a moment later: a turn submitted meanwhile
            # would count this leader as running and wait for a group that never comes.
            self._leader = None

    async def _commit(self, group: list[_Waiting[Item, Result]]) -> None:
        live = sorted((w for w in group if not w.done.done()), key=lambda w: w.key)
        results: list[Result] = []
        try:
            async with self._db.write() as session:
                together = len(live) > 1
                if together and self._first is not None:
                    await self._first(session, [waiting.item for waiting in live])
                for waiting in live:
                    results.append(await self._step(session, waiting.item))
                if together and self._last is not None:
                    await self._last(session, results)
        except Exception as exc:
            if len(live) > 1:
                log.warning("a group of %d turns failed (%s); each runs alone", len(live),
                            type(exc).__name__)
            failed: BaseException = exc if len(live) == 1 else RunAlone()
            _settle(live, lambda waiting: waiting.done.set_exception(failed))
            return
        except BaseException:
            _settle(live + self._queue, lambda waiting: waiting.done.cancel())
            self._queue = []
            raise
        for waiting, result in zip(live, results, strict=True):
            if not waiting.done.done():
                waiting.done.set_result(result)


def _settle(waiting: list[_Waiting[Any, Any]], how: Callable[[_Waiting[Any, Any]], object]
            ) -> None:
    """Tell each waiter its outcome, unless it stopped waiting (cancelled)."""
    for one in waiting:
        if not one.done.done():
            how(one)
