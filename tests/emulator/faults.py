"""Rate limits and injected failures, both off by default."""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

NGINX_502 = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
}


def is_send_method(name: str) -> bool:
    """Methods that put a message into a chat and so count against Telegram's limits."""
    return name.startswith(("send", "edit", "copy", "forward")) and name != "sendChatAction"


def api_error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    """A Bot API error answer: JSON with ok=false, like Telegram's."""
    body: dict = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


def injected_response(status: int, retry_after: int | None = None) -> web.Response:
    """The answer for an injected failure; gateway errors come from nginx, not the Bot API."""
    if status == 429:
        seconds = retry_after if retry_after is not None else 1
        return api_error(429, f"Too Many Requests: retry after {seconds}", seconds)
    if status in (502, 503, 504):
        reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                  504: "Gateway Time-out"}[status]
        html = NGINX_502.format(status=status, reason=reason)
        return web.Response(status=status, text=html, content_type="text/html")
    return api_error(status, DESCRIPTIONS.get(status, f"Error {status}"))


@dataclass
class RateLimiter:
    """Telegram's broadcast limits, as this emulator models them.

    - globally at most `global_per_sec` sends in any sliding one-second window;
    - per private chat a token bucket: `per_chat_per_sec` tokens a second, holding up to
      `burst` (3) so a reply of two or three messages in a row passes, as it does on Telegram;
    - per group (negative chat id or "@name") at most `group_per_min` in a sliding minute;
    - a paid send (`allow_paid_broadcast`) counts in a window of its own, at most
      `paid_per_sec` in any second, and not in the global one; the chat's limits still apply.
    A refused send consumes no budget. retry_after is the configured value, or the real wait
    when that is longer, rounded up to whole seconds.
    """

    global_per_sec: int = 30
    per_chat_per_sec: float = 1.0
    group_per_min: int = 20
    retry_after: int = 1
    burst: float = 3.0
    paid_per_sec: int = 1000
    _global: deque[float] = field(default_factory=deque)
    _paid: deque[float] = field(default_factory=deque)
    _buckets: dict[int | str, tuple[float, float]] = field(default_factory=dict)
    _groups: dict[int | str, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: int | str | None, now: float, *, paid: bool = False) -> int | None:
        """None if the send may go now (and it is counted), else the seconds to wait."""
        window, limit = (self._paid, self.paid_per_sec) if paid else (
            self._global, self.global_per_sec)
        waits = [self._window_wait(window, limit, now)]
        is_group = isinstance(chat_id, str) or (chat_id is not None and chat_id < 0)
        if chat_id is not None and is_group:
            waits.append(self._group_wait(chat_id, now))
        elif chat_id is not None:
            waits.append(self._bucket_wait(chat_id, now))
        wait = max(waits)
        if wait > 0:
            return max(self.retry_after, math.ceil(wait))
        window.append(now)
        if chat_id is not None and is_group:
            self._groups[chat_id].append(now)
        elif chat_id is not None:
            tokens, _ = self._buckets[chat_id]
            self._buckets[chat_id] = (tokens - 1, now)
        return None

    @staticmethod
    def _window_wait(window: deque[float], limit: int, now: float) -> float:
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) < limit:
            return 0.0
        return window[0] + 1.0 - now

    def _bucket_wait(self, chat_id: int | str, now: float) -> float:
        tokens, last = self._buckets.get(chat_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_chat_per_sec)
        self._buckets[chat_id] = (tokens, now)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_chat_per_sec

    def _group_wait(self, chat_id: int | str, now: float) -> float:
        window = self._groups.setdefault(chat_id, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) < self.group_per_min:
            return 0.0
        return window[0] + 60.0 - now


@dataclass
class FailRate:
    """A deterministic share of requests to some methods fails: a seeded random stream."""

    status: int
    fraction: float
    methods: frozenset[str] | None
    seed: int
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def hits(self, method: str) -> bool:
        """Draw for one request; only requests to the chosen methods draw."""
        if self.methods is not None and method not in self.methods:
            return False
        return self.rng.random() < self.fraction


@dataclass
class Faults:
    """Failures injected by the test: next-N, a random share, down, blocked chats."""

    # keyed by (method, chat): chat None answers whichever request to the method comes next
    next: dict[tuple[str, int | str | None], deque[tuple[int, int | None]]] = field(
        default_factory=dict)
    rate: FailRate | None = None
    is_down: bool = False
    blocked: set[int | str] = field(default_factory=set)
    # (method, chat) -> released: its requests go unanswered until the event is set
    held: dict[tuple[str, int | str | None], asyncio.Event] = field(default_factory=dict)

    def take(self, method: str, chat_id: int | str | None = None) -> web.Response | None:
        """The injected answer for this request, if any; one aimed at its chat comes first."""
        queue = (chat_id is not None and self.next.get((method, chat_id))) or self.next.get(
            (method, None))
        if queue:
            status, retry_after = queue.popleft()
            return injected_response(status, retry_after)
        if self.rate is not None and self.rate.hits(method):
            return injected_response(self.rate.status)
        return None

