"""What every handler and job shares: settings, the database, the clock, the rate limiter,
the delivery marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.ratelimit import RateLimiter
from bot.sentmarks import SentMarks
from bot.settings import Settings
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

    def __post_init__(self) -> None:
        self.sent = SentMarks(self.db)
        if self.limiter is None:
            self.limiter = RateLimiter(
                per_second=self.settings.outbox_global_per_second,
                per_chat_per_second=self.settings.outbox_per_chat_per_second,
            )

    @classmethod
    def of(cls, context: Any) -> AppContext:
        """The AppContext of a python-telegram-bot CallbackContext or Application."""
        return context.bot_data[KEY]  # type: ignore[no-any-return]
