"""Long polling that confirms an update to Telegram only once it has been processed.

python-telegram-bot's Updater confirms a batch (by asking for the next offset) as soon as the
batch is queued, before any of it is handled: a process killed in between loses those updates.
Here a batch is processed first (different chats concurrently, each chat in order) and only
then confirmed, so a crash means redelivery, which the processed-updates table makes harmless.
A batch counts as processed once each of its turns has committed (bot.inflight): its replies,
in the outbox by then, may still be on their way while the next batch is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.inflight import InFlight

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


class Poller:
    """getUpdates in a loop; each batch is handled before its offset is confirmed."""

    def __init__(self, application: Any, *, timeout: int = 10, limit: int = 100) -> None:
        self.application = application
        self.timeout = timeout
        self.limit = limit
        self.offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.in_flight = InFlight(application)

    async def start(self) -> None:
        """Remove any webhook (polling and a webhook exclude each other) and start polling."""
        await self.application.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._loop(), name="grassroots-poller")

    async def stop(self) -> None:
        """Stop polling, and let the updates in hand finish (their replies sent); the offset of
        the last batch stays unconfirmed: Telegram sends it again, and what committed is not
        done twice."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.in_flight.drain()

    async def _loop(self) -> None:
        delay = 1.0
        while True:
            try:
                updates = await self.application.bot.get_updates(
                    offset=self.offset, timeout=self.timeout, limit=self.limit,
                    allowed_updates=ALLOWED_UPDATES)
            except InvalidToken:
                log.critical("Telegram refused the bot token; polling stops")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except TelegramError as exc:  # network trouble, 5xx, a conflicting poller
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if updates:
                await self.handle(updates)
                self.offset = updates[-1].update_id + 1

    async def handle(self, updates: list[Update]) -> None:
        """Process one batch through the application's per-chat update processor; return once
        each of its turns committed (their replies may still be going out: `in_flight`)."""
        if updates:
            await asyncio.wait([self.in_flight.start(update) for update in updates])


def _seconds(value: Any) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def run_until_stopped(application: Any) -> None:
    """`grassroots run`: start the application and the poller, stop on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    poller = Poller(application)
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        await poller.start()
        await stop.wait()
        await poller.stop()
        await application.stop()
        if application.post_stop is not None:  # as run_polling() does after stop()
            await application.post_stop(application)
