"""What every handler and job shares: settings, the database, the clock, the rate limiter,
the delivery marks."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from common.clock import Clock
from common.ratelimit import RateLimiter
from common.sentmarks import SentMarks
from common.settings import Settings
from common.sharedbudget import DatabaseBudget, bot_id_of
from storage.db import Database

KEY = "grassroots"


@dataclass
class AppContext:
    """The application's shared state, kept in the PTB application's bot_data."""

    settings: Settings
    db: Database
    clock: Clock
    limiter: RateLimiter | None = None
    sent: SentMarks = field(init=False)  # turn replies delivered, marked sent a moment later
    # Work a turn leaves running after it (charts, exports): a stop settles it (settle()).
    tasks: set[asyncio.Task[Any]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.sent = SentMarks(self.db)
        if self.limiter is None:
            self.limiter = RateLimiter(
                per_second=self.settings.outbox_global_per_second,
                per_chat_per_second=self.settings.outbox_per_chat_per_second,
                shared=None if self.db.is_sqlite else self.shared_budget(),
            )

    def shared_budget(self) -> DatabaseBudget:
        """The bot's sending budget in the database, shared with every process that sends
        for the same bot (PostgreSQL; a SQLite deployment is one process)."""
        return DatabaseBudget(
            self.db, bot_id=bot_id_of(self.settings.telegram_bot_token),
            per_second=self.settings.outbox_global_per_second,
            per_chat_per_second=self.settings.outbox_per_chat_per_second)

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run work in the background, kept referenced until it ends and settled at a stop."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def settle(self, timeout: float) -> None:
        """Let the background work finish for `timeout` seconds, then cancel what is left and
        wait for it to clean up (they write to the database: none may outlive a stop)."""
        if not self.tasks:
            return
        _, late = await asyncio.wait(list(self.tasks), timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    @classmethod
    def of(cls, context: Any) -> AppContext:
        """The AppContext of a python-telegram-bot CallbackContext or Application."""
        return context.bot_data[KEY]  # type: ignore[no-any-return]
