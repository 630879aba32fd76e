"""Cadres talking to the bot through the emulator: scripted dialogs, timed at the emulator.

Each chat runs its script closed-loop, as a person does: a step is sent once the bot's answer
to the previous one has arrived (optionally after a think time). The emulator is instrumented
without changing it: its update queue stamps when each update is handed to the bot (the
getUpdates answer) and its record of sent messages stamps when each answer arrived.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import _common  # noqa: F401 (the repository root on sys.path)
import aiohttp

from tests.emulator import BotApiEmulator, EmuUser, Sent
from tests.emulator.updates import UpdateQueue


class StampedQueue(UpdateQueue):
    """The emulator's update queue, noting when each update was first handed to the bot."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: dict[int, float] = {}

    def take(self, limit: int) -> list[dict[str, Any]]:
        batch = super().take(limit)
        now = time.monotonic()
        for update in batch:
            self.handed.setdefault(update["update_id"], now)
        return batch


class SentLog(list[Sent]):
    """emu.sent that also tells the driver about each message the moment it arrives."""

    def __init__(self, on_sent: Callable[[Sent, float], None]) -> None:
        super().__init__()
        self.on_sent = on_sent

    def append(self, item: Sent) -> None:
        super().append(item)
        self.on_sent(item, time.monotonic())


@dataclass(frozen=True)
class Step:
    """What the user does, and how many messages (sent or edited) the bot answers with."""

    kind: str  # "text" or "press"
    value: str  # the text, or the end of the button's callback_data
    expect: int


def text(value: str, expect: int = 1) -> Step:
    """The user types something."""
    return Step("text", value, expect)


def press(suffix: str, expect: int) -> Step:
    """The user taps the newest button whose callback_data ends with `suffix`."""
    return Step("press", suffix, expect)


def checkin() -> list[Step]:
    """/checkin, then "in the village": the prompt; the keyboard removed and the confirmation."""
    return [text("/checkin"), press("ci:v", 2)]


def visit(day: str) -> list[Step]:
    """A visit to the masses, answered as quickly as a cadre can: ten steps."""
    return [
        text("/visit"),
        press(":masses", 2),  # the choice marked on the question, the next question
        text("王大妈"),
        text("路不好走，下雨天出不了门"),
        text("修一条水泥路"),
        press(":no", 2),
        press(":s:7", 2),  # no photo: the location question with its keyboard
        text("跳过", 2),  # the location keyboard's Skip: the keyboard removed, which day
        press(f":{day}", 2),
        press(":ok", 2),  # the confirm keyboard removed, "recorded"
    ]


def summary(short_week: bool) -> list[Step]:
    """The weekly summary; a short week asks for the reason first."""
    steps = [text("/summary")]
    if short_week:
        steps.append(text("本周两天在县里开会"))
    steps += [text("走访了十二户，调解一起土地纠纷"), text("村道需要硬化"),
              text("下周召开村民代表会"), press(":ok", 2)]
    return steps


@dataclass
class Chat:
    """One user's conversation: what was pushed, what came back, when."""

    user: EmuUser
    script: list[Step]
    sent: list[Sent] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    steps: list[tuple[int, int]] = field(default_factory=list)  # (update_id, answers so far)
    error: str = ""
    expected: int = 0  # answers expected to the steps played so far
    reviews: int = 0  # others' work sent to this chat to review: no answer to its own steps
    _want: int = 0
    _ready: asyncio.Future[None] | None = None

    def on_sent(self, sent: Sent, at: float) -> None:
        if is_review_request(sent):
            self.reviews += 1
            return
        self.sent.append(sent)
        self.arrived.append(at)
        if self._ready is not None and len(self.sent) >= self._want and not self._ready.done():
            self._ready.set_result(None)

    async def answered(self, count: int) -> None:
        """Wait until the bot has sent `count` messages to this chat."""
        if len(self.sent) >= count:
            return
        self._want = count
        self._ready = asyncio.get_running_loop().create_future()
        await self._ready

    def button(self, suffix: str) -> tuple[str, int]:
        """The newest offered button whose callback_data ends with `suffix`."""
        for sent in reversed(self.sent):
            for row in sent.buttons:
                for _label, data in row:
                    if data and data.endswith(suffix):
                        return data, sent.message_id
        raise LookupError(f"no button ending {suffix!r} in chat {self.user.id}")


def is_review_request(sent: Sent) -> bool:
    """A member's work sent to a leader with 通过 / 退回修改 (handlers.reviews): it comes when
    the member submits, whatever the leader's own dialog is doing."""
    return not sent.is_edit and any(
        (data or "").startswith("rv:") for row in sent.buttons for _label, data in row)


class Conversations:
    """Many chats driven at once against one emulator."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu
        self.queue = StampedQueue()
        emu.updates = self.queue
        emu.sent = SentLog(self._on_sent)
        self.chats: dict[int, Chat] = {}
        self.stray = 0

    def _on_sent(self, sent: Sent, at: float) -> None:
        chat = self.chats.get(sent.chat_id) if isinstance(sent.chat_id, int) else None
        if chat is None:
            self.stray += 1
        else:
            chat.on_sent(sent, at)

    def add(self, user_id: int, script: Sequence[Step], language: str = "zh-hans") -> Chat:
        """A user with a script to play."""
        user = self.emu.user(user_id, first_name=f"U{user_id}", language_code=language)
        chat = Chat(user, list(script))
        self.chats[user_id] = chat
        return chat

    def bystanders(self, user_ids: Iterable[int]) -> None:
        """Chats for the others on the roster, with nothing to play: the leaders a summary is
        sent to for review must exist, or Telegram (the emulator) refuses those messages."""
        for user_id in user_ids:
            if user_id not in self.chats:
                self.emu.user(user_id, first_name=f"U{user_id}", language_code="zh-hans")

    async def play(self, chat: Chat, steps: Sequence[Step], *, start: float = 0.0,
                   think: Callable[[], float] | None = None) -> None:
        """Play steps of one chat closed-loop, starting `start` seconds from now."""
        if start > 0:
            await asyncio.sleep(start)
        for step in steps:
            await chat.answered(chat.expected)
            if think is not None:
                await asyncio.sleep(think())
            if step.kind == "text":
                update_id = chat.user.send(step.value)
            else:
                data, message_id = chat.button(step.value)
                update_id = chat.user.press(data, message_id=message_id)
            chat.expected += step.expect
            chat.steps.append((update_id, chat.expected))
        await chat.answered(chat.expected)

    async def run(self, *, starts: Sequence[float] | None = None,
                  think: Callable[[], float] | None = None, within: float = 600.0,
                  more: Sequence[Step] | None = None) -> float:
        """Play every chat's script (or, with `more`, these further steps in every chat);
        the seconds from the first update pushed to the last answer."""
        chats = list(self.chats.values())
        if more is not None:
            for chat in chats:
                chat.script = [*chat.script, *more]
        begin = time.monotonic()

        async def one(index: int, chat: Chat) -> None:
            steps = chat.script[len(chat.steps):]
            try:
                await self.play(chat, steps, start=starts[index] if starts else 0.0,
                                think=think)
            except LookupError as exc:
                chat.error = str(exc)

        try:
            async with asyncio.timeout(within):
                await asyncio.gather(*(one(i, c) for i, c in enumerate(chats)))
        except TimeoutError:
            for chat in chats:
                if not chat.error and len(chat.sent) < chat.expected:
                    chat.error = "no answer in time"
        last = max((c.arrived[-1] for c in chats if c.arrived), default=begin)
        return last - begin

    def latencies(self) -> list[float]:
        """Seconds from each update handed to the bot to the last message answering it."""
        result: list[float] = []
        for chat in self.chats.values():
            for update_id, answers in chat.steps:
                handed = self.queue.handed.get(update_id)
                if handed is not None and answers <= len(chat.arrived):
                    result.append(chat.arrived[answers - 1] - handed)
        return result

    def check(self) -> dict[str, int]:
        """Steps done, steps lost (never answered), answers beyond those expected, and others'
        work sent to the chats to review (not answers)."""
        done = lost = extra = errors = reviews = 0
        for chat in self.chats.values():
            reviews += chat.reviews
            expected = sum(step.expect for step in chat.script)
            answered = sum(1 for _, n in chat.steps if n <= len(chat.sent))
            done += answered
            lost += len(chat.script) - answered
            extra += max(0, len(chat.sent) - expected)
            errors += bool(chat.error)
        return {"steps": done, "lost": lost, "extra": extra, "reviews": reviews,
                "chats_failed": errors,
                "violations": len(self.emu.violations), "http_errors": len(self.emu.errors)}


def think_time(low: float, high: float, seed: int = 7) -> Callable[[], float]:
    """A person's pause between an answer and their next message, uniform in [low, high]."""
    rng = random.Random(seed)
    return lambda: rng.uniform(low, high)



class WebhookPusher:
    """Telegram's side of a webhook: each pending update is POSTed to a worker, the same worker
    for a chat (as a load balancer hashing on the chat would), up to `connections` at once
    (Telegram's max_connections); an update not answered with 200 is delivered again later."""

    def __init__(self, queue: UpdateQueue, urls: Sequence[str], secret: str,
                 connections: int = 100) -> None:
        self.queue, self.urls, self.secret = queue, list(urls), secret
        self.slots = asyncio.Semaphore(connections)
        self.failures = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.loop_task: asyncio.Task[None] | None = None
        self.client: Any = None

    async def start(self) -> None:
        # aiohttp, not httpx: httpx's pool scans every connection for each request, and with a
        # hundred in use it took 70 % of this process, which then could not push faster than
        # two workers took (a limit of the benchmark, not of the workers).
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60))
        self.loop_task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            batch = self.queue.take(100)
            if not batch:
                await self.queue.wait(1.0)
                continue
            self.queue.confirm(batch[-1]["update_id"] + 1)
            for update in batch:
                task = asyncio.create_task(self._post(update))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _post(self, update: dict[str, Any]) -> None:
        chat = _chat_of(update)
        url = self.urls[chat % len(self.urls)]
        async with self.slots:
            try:
                async with self.client.post(
                        url, json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": self.secret}) as response:
                    await response.read()
                    ok = response.status == 200
            except Exception:  # a worker that is down: Telegram tries again later
                ok = False
        if not ok:
            self.failures += 1
            await asyncio.sleep(1.0)
            self.queue.redeliver(update["update_id"])

    async def stop(self) -> None:
        if self.loop_task is not None:
            self.loop_task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()


def _chat_of(update: dict[str, Any]) -> int:
    for key in ("message", "edited_message", "callback_query"):
        if key in update:
            return int(update[key]["from"]["id"])
    return 0
