"""Telegram's rates, held in one place: about 30 messages a second, about 1 a second per chat."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque


class RateLimiter:
    """Token buckets: one for the bot, one per chat. `acquire` waits until both allow a send.

    A chat may get a short burst (`burst`, as Telegram allows). The bot's bucket may hold
    `global_burst` sends too, so that a pause (the sender committing one batch and claiming
    the next) is made up for afterwards; but Telegram counts sends in any one-second window,
    and a bucket of b lets b + per_second through in one second. So a log of the last
    second's sends also caps every one-second window at per_second rounded to the nearest
    whole send (29 at the default 28.5/s)."""

    def __init__(self, per_second: float = 28.5, per_chat_per_second: float = 1.0, burst: int = 3,
                 global_burst: float = 3.0):
        self.per_second = per_second
        self.per_chat = per_chat_per_second
        self.burst = burst
        self.global_burst = global_burst
        self.per_window = max(1, math.floor(per_second + 0.5))
        self._sent: deque[float] = deque()  # the bot's sends in the last second
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

    def _wait_needed(self, chat_id: int, now: float) -> float:
        need_global = (1 - self._global_tokens) / self.per_second if self._global_tokens < 1 else 0
        tokens = self._chat_tokens[chat_id]
        need_chat = (1 - tokens) / self.per_chat if tokens < 1 else 0
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        need_window = self._sent[0] + 1.0 - now if len(self._sent) >= self.per_window else 0
        return max(need_global, need_chat, need_window)

    def delay_for(self, chat_id: int) -> float:
        """Seconds until a send to this chat would be allowed (0 if now)."""
        now = time.monotonic()
        self._refill(chat_id, now)
        return self._wait_needed(chat_id, now)

    def refund(self, chat_id: int) -> None:
        """Give back the slot of a send that never reached Telegram (a 5xx or network error):
        it counted against no limit, and the sends after it need not wait for it."""
        self._global_tokens = min(float(self.global_burst), self._global_tokens + 1)
        self._chat_tokens[chat_id] = min(float(self.burst), self._chat_tokens[chat_id] + 1)
        if self._sent:
            self._sent.pop()

    async def acquire(self, chat_id: int) -> None:
        """Wait for a send slot for this chat, then take it."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._refill(chat_id, now)
                wait = self._wait_needed(chat_id, now)
                if wait <= 0:
                    self._global_tokens -= 1
                    self._chat_tokens[chat_id] -= 1
                    self._sent.append(now)
                    return
                await asyncio.sleep(wait)
