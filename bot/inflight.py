"""Updates in hand: Telegram is told an update is done once its turn has committed, while its
replies are still going out.

A turn's replies are rows of the outbox, written in the turn's transaction; once it commits,
the update is safe (processed_updates holds its id, the outbox its replies, which the outbox
sender delivers if this process dies before they leave). The poller waited for the replies
to reach Telegram before confirming a batch (the next getUpdates offset), so every chat's next
update waited for the slowest reply of the batch before it. Here the confirmation waits only
for the commit (handlers.router tells, through `TURNS_SETTLED`); each chat's updates still run
one after another (the chat's lock is held until its replies are sent), so its next update
waits for them and nothing is said out of order. (A batch holding that next update waits with
it: the offset confirms every update below it.)

The webhook (bot.web) still answers once the replies are sent: with several workers, a
chat's next update could reach another worker as soon as this one answered, and only the
chat's lock within one process keeps its replies in order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update

from handlers.router import TURNS_SETTLED

log = logging.getLogger(__name__)


class InFlight:
    """Runs updates through the application's update processor and keeps them until done."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, update: Update) -> asyncio.Future[None]:
        """Run the update; the future is done once its turn committed (or, for an update that
        had none, failed or was answered otherwise, once it is wholly processed)."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[None] = loop.create_future()
        self.application.bot_data.setdefault(TURNS_SETTLED, {})[update.update_id] = settled
        processor = self.application.update_processor
        task = loop.create_task(
            processor.process_update(update, self.application.process_update(update)))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(update, settled, done))
        return settled

    def _finished(self, update: Update, settled: asyncio.Future[None],
                  task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        waiting = self.application.bot_data.get(TURNS_SETTLED, {})
        if waiting.get(update.update_id) is settled:
            del waiting[update.update_id]
        if not task.cancelled() and task.exception() is not None:  # the router answers errors
            log.error("update %s escaped the router: %r", update.update_id, task.exception())
        if not settled.done():
            settled.set_result(None)

    async def drain(self) -> None:
        """Wait for every update in hand to be wholly processed, its replies sent."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
