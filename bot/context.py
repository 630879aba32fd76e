"""What every handler and job shares: settings, the database, the clock, the rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from storage.db import Database

KEY = "grassroots"


@dataclass
class AppContext:
    """The application's shared state, kept in the PTB application's bot_data."""

    settings: Settings
    db: Database
    clock: Clock
    limiter: RateLimiter = field(default_factory=RateLimiter)

    @classmethod
    def of(cls, context: Any) -> AppContext:
        """The AppContext of a python-telegram-bot CallbackContext or Application."""
        return context.bot_data[KEY]  # type: ignore[no-any-return]
