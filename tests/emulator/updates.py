"""The update queue behind getUpdates: offsets, limits, long polling, redelivery."""

from __future__ import annotations

import asyncio
from typing import Any

# Telegram leaves these out unless allowed_updates asks for them.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
FIRST_UPDATE_ID = 100_001


def update_type(update: dict[str, Any]) -> str:
    """The kind of an update: its one key besides update_id."""
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue:
    """Pending updates in update_id order, as Telegram keeps them for one bot."""

    def __init__(self) -> None:
        self._next_id = FIRST_UPDATE_ID
        self.pending: list[dict[str, Any]] = []
        self.history: dict[int, dict[str, Any]] = {}
        self.delivered: set[int] = set()
        self.allowed: frozenset[str] | None = None
        self.poll_generation = 0
        self._forced: set[int] = set()  # redelivered: returned once whatever the offset
        self._wakeup = asyncio.Event()

    def push(self, body: dict[str, Any]) -> int:
        """Add an update (the emulator assigns update_id) and wake long polls."""
        update_id = self._next_id
        self._next_id += 1
        update = {"update_id": update_id, **{k: v for k, v in body.items() if k != "update_id"}}
        self.history[update_id] = update
        self.pending.append(update)
        self.wake()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Queue an earlier update again with the same update_id, as Telegram may."""
        update = self.history[update_id]
        self.pending = [u for u in self.pending if u["update_id"] != update_id]
        self.pending.append(update)
        self.pending.sort(key=lambda u: u["update_id"])
        self._forced.add(update_id)
        self.wake()

    def confirm(self, offset: int | None) -> None:
        """Apply getUpdates' offset: drop confirmed updates (negative: keep the last -offset)."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        self.pending = [u for u in self.pending
                        if u["update_id"] >= offset or u["update_id"] in self._forced]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first `limit` pending updates the bot accepts; they stay until confirmed."""
        allowed = self.allowed
        accepted = []
        for update in self.pending:
            kind = update_type(update)
            if (kind in allowed) if allowed else (kind not in NOT_BY_DEFAULT):
                accepted.append(update)
        # Telegram never generates updates of kinds the bot did not allow: drop them.
        self.pending = accepted
        batch = accepted[:limit]
        for update in batch:
            self._forced.discard(update["update_id"])
            self.delivered.add(update["update_id"])
        return batch

    def drop_all(self) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates."""
        self.pending.clear()
        self._forced.clear()

    def wake(self) -> None:
        """Wake every waiting long poll."""
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Sleep until something is pushed or `seconds` pass."""
        event = self._wakeup
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
