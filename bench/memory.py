"""Item 5 — memory: resident memory of the bot with 2,000 open dialogs.

The bot runs in a child process as `grassroots run` runs it. 2,000 cadres each open a visit
(the dialog waits for the household), then each answers two more questions (the dialog stays
open); resident memory (VmRSS) of the bot's process is read after start-up, after each phase,
and every 0.5 s in between (the peak). Dialogs live in the database, so it should stay flat.

    .venv/bin/python bench/memory.py [--backend sqlite|postgresql] [--dialogs 2000]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from _common import (
    BOT_USERNAME,
    CADRE_ROLES,
    TOKEN,
    BotProcess,
    county,
    fresh_backend,
    median,
    print_machine,
    rss_kb,
    table,
)
from _dialogs import Conversations, press, text

from storage import dialogs
from tests.emulator import BotApiEmulator

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI)


class Peak:
    """The highest RSS of a process, sampled every half second while running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.kb = rss_kb(pid)
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.kb = max(self.kb, rss_kb(self.pid))
            await asyncio.sleep(0.5)

    def __enter__(self) -> Peak:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def run_memory(backend_name: str, count: int) -> dict[str, Any]:
    """Open `count` dialogs and follow the bot's resident memory."""
    async with fresh_backend(backend_name) as backend:
        db = backend.database()
        members = await county(db, now=NOW.astimezone(dt.UTC), cadres=max(2000, count))
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        conv = Conversations(emu)
        for m in [m for m in members if m.role in CADRE_ROLES][:count]:
            conv.add(m.user_id, [text("/visit")])
        await emu.start()
        bot = BotProcess(["grassroots", "--api", emu.base_url, *backend.args(), "--clock",
                          NOW.isoformat(), "--global-rate", "100000", "--per-chat-rate",
                          "100000"])
        await bot.start()
        figures: dict[str, Any] = {}
        try:
            await asyncio.sleep(2.0)  # the first ticks of the outbox sender
            figures["started"] = rss_kb(bot.pid)
            with Peak(bot.pid) as peak:
                await conv.run()  # every cadre opens a visit: "which of the eight visits?"
                figures["opened"] = rss_kb(bot.pid)
                async with db.read() as session:
                    figures["open_after_first"] = await dialogs.count_open(session)
                # Two more answers each: the kind, then the household by name.
                await conv.run(more=[press(":masses", 2), text("王大妈")])
                figures["answered"] = rss_kb(bot.pid)
            figures["peak"] = peak.kb
            async with db.read() as session:
                figures["open"] = await dialogs.count_open(session)
        finally:
            await bot.stop()
            await emu.stop()
        await db.dispose()
    checked = conv.check()
    figures.update(steps=checked["steps"], lost=checked["lost"],
                   errors=checked["violations"] + checked["http_errors"] + checked["chats_failed"])
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dialogs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print_machine()
    print(f"backend {args.backend}: {args.dialogs} open dialogs", flush=True)
    rows, peaks = [], []
    for repeat in range(1, args.repeats + 1):
        fig = await run_memory(args.backend, args.dialogs)
        peaks.append(fig["peak"] / 1024)
        rows.append([repeat, *(f"{fig[k] / 1024:.1f}" for k in
                               ("started", "opened", "answered", "peak")),
                     fig["open"], fig["steps"], fig["lost"], fig["errors"]])
        print(f"run {repeat}: peak {fig['peak'] / 1024:.1f} MB", flush=True)
    print()
    print(table(["run", "RSS after start MB", f"after {args.dialogs} dialogs opened MB",
                 "after 2 more answers each MB", "peak MB", "dialogs open", "steps",
                 "lost", "errors"], rows))
    print(f"\nmedian peak {median(peaks):.1f} MB (target < 200 MB)")


if __name__ == "__main__":
    asyncio.run(main())
