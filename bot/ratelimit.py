"""Telegram's rates, held in one place: about 30 messages a second, about 1 a second per chat."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict


class RateLimiter:
    """Token buckets: one for the bot, one per chat. `acquire` waits until both allow a send.

    A chat may get a short burst (`burst`, as Telegram allows). The bot's bucket is smaller:
    Telegram counts sends in any one-second window, and a bucket of b lets b + per_second
    through in one second — 31 at 28/s with b = 3, over 30. It holds one send: at the default
    28.5/s, 29.5 at most in any second, and 28 a second sustained once the pauses between
    the sender's batches are paid for (bench/fanout.py)."""

    def __init__(self, per_second: float = 28.5, per_chat_per_second: float = 1.0, burst: int = 3,
                 global_burst: float = 1.0):
        self.per_second = per_second
        self.per_chat = per_chat_per_second
        self.burst = burst
        self.global_burst = global_burst
        self._global_tokens = float(global_burst)
        self._global_at = time.monotonic()
        self._chat_tokens: dict[int, float] = defaultdict(lambda: float(burst))
        self._chat_at: dict[int, float] = {}
        self._lock = asyncio.Lock()

    def _refill(self, chat_id: int, now: float) -> None:
        self._global_tokens = min(
            float(self.global_burst),
            self._global_tokens + (now - self._global_at) * self.per_second,
        )
        self._global_at = now
        last = self._chat_at.get(chat_id, now)
        self._chat_tokens[chat_id] = min(
            float(self.burst), self._chat_tokens[chat_id] + (now - last) * self.per_chat
        )
        self._chat_at[chat_id] = now

    def _wait_needed(self, chat_id: int) -> float:
        need_global = (1 - self._global_tokens) / self.per_second if self._global_tokens < 1 else 0
        tokens = self._chat_tokens[chat_id]
        need_chat = (1 - tokens) / self.per_chat if tokens < 1 else 0
        return max(need_global, need_chat)

    def delay_for(self, chat_id: int) -> float:
        """Seconds until a send to this chat would be allowed (0 if now)."""
        self._refill(chat_id, time.monotonic())
        return self._wait_needed(chat_id)

    def refund(self, chat_id: int) -> None:
        """Give back the slot of a send that never reached Telegram (a 5xx or network error):
        it counted against no limit, and the sends after it need not wait for it."""
        self._global_tokens = min(float(self.global_burst), self._global_tokens + 1)
        self._chat_tokens[chat_id] = min(float(self.burst), self._chat_tokens[chat_id] + 1)

    async def acquire(self, chat_id: int) -> None:
        """Wait for a send slot for this chat, then take it."""
        async with self._lock:
            while True:
                self._refill(chat_id, time.monotonic())
                wait = self._wait_needed(chat_id)
                if wait <= 0:
                    self._global_tokens -= 1
                    self._chat_tokens[chat_id] -= 1
                    return
                await asyncio.sleep(wait)
