"""Drive the real application through the Bot API emulator, as transcripts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

from telegram import Update

from bot.app import PerChatUpdateProcessor, build_application
from bot.polling import Poller
from common.clock import FrozenClock
from common.context import AppContext
from common.ratelimit import RateLimiter
from common.rosternames import roster_names
from common.settings import Settings
from storage.db import Database
from storage.roster import import_roster_file
from tests.emulator import BotApiEmulator, EmuUser, Sent

ROSTER_HEADER = "name,phone,rank,unit,township,village,role\n"
DEFAULT_ROSTER = (
    ROSTER_HEADER
    + "\n".join(
        [
            "张伟,13800138001,county,县财政局,黄金埠镇,新村,team_leader",
            "李娜,13800138002,department,县教育局,黄金埠镇,新村,cadre",
            "王芳,13800138003,ordinary,黄金埠镇政府,黄金埠镇,新村,cadre",
            "刘洋,13800138004,department,县水利局,黄金埠镇,东岗村,team_leader",
            "陈静,13800138005,ordinary,县农业局,黄金埠镇,东岗村,cadre",
            "赵强,13800138006,county,县委办,古埠镇,古埠村,cadre",
            "孙丽,13800138007,county,县人大,黄金埠镇,,township_leader",
            "周杰,13800138008,county,县委,,,leading_group",
            "吴敏,13800138009,ordinary,县委活动办,,,office",
        ]
    )
    + "\n"
)


class BotHarness:
    """Starts the application against the emulator and waits for each update to finish."""

    def __init__(
        self, settings: Settings, db: Database, clock: FrozenClock, emulator: BotApiEmulator
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.emu = emulator
        # Transcripts are not about Telegram's rates (the outbox tests are): no waiting here.
        self.ctx = AppContext(
            settings=settings, db=db, clock=clock,
            limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000),
        )
        self.application: Any = None
        self.poller: Poller | None = None
        self._done: Counter[int] = Counter()
        self._changed = asyncio.Condition()

    async def start(self, *, jobs: bool = False) -> None:
        """Build and start a new application instance (polling) on the same database."""
        self.application = build_application(self.ctx)
        if not jobs and self.application.job_queue is not None:
            self.application.job_queue.scheduler.remove_all_jobs()
        processor = self.application.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        processor.listeners.append(self._on_processed)
        await self.application.initialize()
        if self.application.post_init is not None:  # run_polling() calls it after initialize()
            await self.application.post_init(self.application)
        await self.application.start()
        self.poller = Poller(self.application, timeout=1)
        await self.poller.start()

    async def stop(self) -> None:
        """Stop the application as `run_polling` would."""
        if self.application is None:
            return
        app, self.application = self.application, None
        if self.poller is not None:
            await self.poller.stop()
        if app.running:
            await app.stop()
            if app.post_stop is not None:  # as run_polling() does after stop()
                await app.post_stop(app)
        await app.shutdown()

    async def restart(self) -> None:
        """A new application instance: nothing survives but the database."""
        await self.stop()
        await self.start()

    def _on_processed(self, update: Update) -> None:
        self._done[update.update_id] += 1
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_processed(self, update_id: int, times: int = 1, timeout: float = 15) -> None:
        """Wait until the application has finished an update (`times` deliveries of it)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self._done[update_id] >= times)

    async def roundtrip(self, user: EmuUser, update_id: int, times: int = 1) -> list[Sent]:
        """What the bot sent to the user's chat while it handled this update."""
        before = len(self.emu.sent_to(user.id))
        await self.wait_processed(update_id, times)
        return self.emu.sent_to(user.id)[before:]

    async def send(self, user: EmuUser, text: str) -> list[Sent]:
        """The user sends a text; the bot's replies."""
        return await self.roundtrip(user, user.send(text))

    async def press(self, user: EmuUser, data: str, message_id: int | None = None) -> list[Sent]:
        """The user taps a button; the bot's replies."""
        return await self.roundtrip(user, user.press(data, message_id=message_id))

    async def contact(self, user: EmuUser, phone: str, user_id: int | None = None) -> list[Sent]:
        """The user shares a contact; the bot's replies."""
        return await self.roundtrip(user, user.contact(phone=phone, user_id=user_id))

    async def import_roster(self, text: str = DEFAULT_ROSTER) -> None:
        """Import a roster CSV (English codes or the Chinese names, as the chat takes them)."""
        result = await import_roster_file(
            self.db, text.encode(), "roster.csv", now=self.clock.now(), names=roster_names()
        )
        assert not result.errors, result.errors

    async def register(
        self, phone: str, *, user_id: int, language_code: str = "zh-hans"
    ) -> EmuUser:
        """A user on the roster who has registered by sharing their phone."""
        user = self.emu.user(user_id, first_name=f"U{user_id}", language_code=language_code)
        await self.contact(user, phone)
        return user

    def at(self, when: dt.datetime) -> None:
        """Pin the clock."""
        self.clock.set(when)

    async def tap(
        self, user: EmuUser, replies: list[Sent], label: str | None = None, *,
        suffix: str | None = None, position: int | None = None,
    ) -> list[Sent]:
        """The user taps a button the bot offered in `replies` (see `find_button`)."""
        _, data, message_id = find_button(replies, label, suffix=suffix, position=position)
        return await self.press(user, data, message_id=message_id)


def keyboard_dropped(sent: list[Sent]) -> bool:
    """An old button's press: nothing said, only its message's keyboard taken off."""
    return [s.method for s in sent] == ["editMessageReplyMarkup"] and not sent[0].buttons


def texts(sent: list[Sent]) -> list[str]:
    """The plain text of each message, for transcript assertions."""
    return [s.plain_text for s in sent if s.text is not None]


def offered_buttons(sent: list[Sent]) -> list[tuple[str, str, int]]:
    """Every inline button in `sent` as (label, callback_data, message_id): the newest
    message first, each message's buttons in reading order."""
    return [(label, data, s.message_id) for s in reversed(sent)
            for row in s.buttons for label, data in row if data is not None]


def find_button(
    sent: list[Sent], label: str | None = None, *, suffix: str | None = None,
    position: int | None = None,
) -> tuple[str, str, int]:
    """The newest offered button whose label contains `label`, or whose callback_data ends
    with `suffix`, or the one at `position` (0 first) of the newest keyboard:
    (label, callback_data, message_id)."""
    buttons = offered_buttons(sent)
    if position is not None and buttons:
        newest = [b for b in buttons if b[2] == buttons[0][2]]  # in reading order
        if 0 <= position < len(newest):
            return newest[position]
    for button in buttons:
        if (label is not None and label in button[0]) or (
                suffix is not None and button[1].endswith(suffix)):
            return button
    raise LookupError(f"no button {label or suffix or position!r} in "
                      f"{[(b[0], b[1]) for b in buttons]}")
