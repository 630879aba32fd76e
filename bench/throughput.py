"""Item 1 — update throughput: Grassroots against python-telegram-bot's plainest echo bot.

Both bots run in a child process and poll the same Bot API emulator class (loopback HTTP) in
this process. The echo bot (a MessageHandler that replies with the text, python-telegram-bot's
default sequential processing) gets N text updates; Grassroots gets N real dialog steps of
many registered cadres (a check-in, a visit, the weekly summary: 18 or 19 steps each).
Figure: updates per second from the first update pushed to the last answer at the emulator.

    .venv/bin/python bench/throughput.py [--backend sqlite|postgresql] [--chats 300]
        [--repeats 3]

Telegram's sending rates are item 4's subject: here, as in the transcript tests, the bot's
rate limiter is opened (--global-rate/--per-chat-rate) so that the figure is the bot's own.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from _common import (
    BOT_USERNAME,
    CADRE_ROLES,
    TOKEN,
    BotProcess,
    Spy,
    county,
    cpu_seconds,
    fresh_backend,
    median,
    print_machine,
    seed_week,
    table,
)
from _dialogs import Conversations, checkin, summary, text, visit

from tests.emulator import BotApiEmulator

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI)  # a Friday, an hour before the deadline
MONDAY = dt.date(2026, 11, 30)


@dataclass
class Figure:
    """One bot's run: updates answered and the seconds it took."""

    updates: int
    seconds: float
    lost: int = 0
    errors: int = 0
    bot_cpu: float = 0.0  # CPU seconds of the bot's process during the run
    emu_cpu: float = 0.0  # CPU seconds of this process (emulator and users) during the run

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def per_update_ms(self, cpu: float) -> float:
        return 1000 * cpu / self.updates if self.updates else 0.0


class CpuWatch:
    """CPU seconds used by the bot's process and by this one between start() and stop()."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.bot_cpu = self.emu_cpu = 0.0

    def start(self) -> None:
        self.bot_cpu, self.emu_cpu = -self.bot.cpu(), -cpu_seconds()

    def stop(self) -> None:
        self.bot_cpu += self.bot.cpu()
        self.emu_cpu += cpu_seconds()


async def echo_open(updates: int, users: int, rtt: float) -> Figure:
    """Push every update at once (the echo bot's best case: full batches) and time them."""
    emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    emu.network(rtt)
    conv = Conversations(emu)
    await emu.start()
    bot = BotProcess(["echo", "--api", emu.base_url])
    await bot.start()
    try:
        people = [emu.user(9_000_000 + i, first_name=f"E{i}") for i in range(users)]
        arrived = asyncio.Event()
        count = 0

        def on_sent(sent: Any, at: float) -> None:
            nonlocal count
            count += 1
            if count >= updates:
                arrived.set()

        conv.emu.sent.on_sent = on_sent  # type: ignore[attr-defined]
        watch = CpuWatch(bot)
        watch.start()
        begin = time.monotonic()
        for i in range(updates):
            people[i % users].send(f"message {i}")
        async with asyncio.timeout(600):
            await arrived.wait()
        seconds = time.monotonic() - begin
        watch.stop()
    finally:
        await bot.stop()
        await emu.stop()
    return Figure(updates, seconds, errors=len(emu.violations) + len(emu.errors),
                  bot_cpu=watch.bot_cpu, emu_cpu=watch.emu_cpu)


async def echo_closed(users: int, steps: int, rtt: float) -> Figure:
    """The same closed loop the cadres run: each user sends the next text after the answer."""
    emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
    emu.network(rtt)
    conv = Conversations(emu)
    for i in range(users):
        conv.add(9_000_000 + i, [text(f"message {n}") for n in range(steps)])
    await emu.start()
    bot = BotProcess(["echo", "--api", emu.base_url])
    await bot.start()
    watch = CpuWatch(bot)
    try:
        watch.start()
        seconds = await conv.run()
        watch.stop()
    finally:
        await bot.stop()
        await emu.stop()
    checked = conv.check()
    return Figure(checked["steps"], seconds, checked["lost"],
                  checked["violations"] + checked["http_errors"] + checked["chats_failed"],
                  watch.bot_cpu, watch.emu_cpu)


async def grassroots(backend_name: str, chats: int, rtt: float, profile: str | None = None,
                     spy: str | None = None, http_pool: int | None = None,
                     count_sql: str | None = None) -> Figure:
    """Many cadres at once: /checkin, a visit and the summary each, closed-loop."""
    async with fresh_backend(backend_name) as backend:
        db = backend.database()
        now = NOW.astimezone(dt.UTC)
        members = await county(db, now=now)
        # Checked in until yesterday (those with a short week, twice): today's check-in is
        # part of the run, and with it the others reach five days.
        short = await seed_week(db, members, monday=MONDAY, today=dt.date(2026, 12, 3), now=now)
        await db.dispose()
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        emu.network(rtt)
        conv = Conversations(emu)
        cadres = [m for m in members if m.role in CADRE_ROLES][:chats]
        for m in cadres:
            conv.add(m.user_id, [*checkin(), *visit("2026-12-04"),
                                 *summary(m.person_id in short)])
        conv.bystanders(m.user_id for m in members)
        await emu.start()
        args = ["grassroots", "--api", emu.base_url, *backend.args(), "--clock",
                NOW.isoformat(), "--global-rate", "100000", "--per-chat-rate", "100000"]
        if profile:
            args += ["--profile", profile]
        if http_pool:
            args += ["--http-pool", str(http_pool)]
        if count_sql:
            args += ["--count-sql", count_sql]
        bot = BotProcess(args)
        await bot.start()
        watch = CpuWatch(bot)
        spying = Spy(bot.pid, spy, "--gil") if spy else None
        try:
            if spying is not None:
                await spying.start()
            watch.start()
            seconds = await conv.run()
            watch.stop()
        finally:
            if spying is not None:
                await spying.stop()
            await bot.stop()
            await emu.stop()
    checked = conv.check()
    return Figure(checked["steps"], seconds, checked["lost"] + checked["extra"],
                  checked["violations"] + checked["http_errors"] + checked["chats_failed"],
                  watch.bot_cpu, watch.emu_cpu)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chats", type=int, default=300, help="cadres talking at once")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--http-pool", type=int, default=None,
                        help="Grassroots' connections to the Bot API (default: bot.app's)")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="a network round trip added to every Bot API request (default 0)")
    parser.add_argument("--profile", default=None, help="pyinstrument HTML of Grassroots")
    parser.add_argument("--py-spy", default=None, dest="spy",
                        help="py-spy recording of Grassroots: .svg flame graph, else collapsed")
    parser.add_argument("--count-sql", default=None,
                        help="write Grassroots' SQL statements (text -> count) to this JSON file")
    args = parser.parse_args()
    print_machine()
    print(f"backend {args.backend}, {args.chats} cadres at once, round trip {args.rtt_ms:g} ms")
    rows = []
    ratios: list[float] = []
    for repeat in range(1, args.repeats + 1):
        rtt = args.rtt_ms / 1000
        ours = await grassroots(args.backend, args.chats, rtt, args.profile, args.spy,
                                args.http_pool, args.count_sql)
        steps_each = max(1, round(ours.updates / args.chats))
        open_ = await echo_open(ours.updates, args.chats, rtt)
        closed = await echo_closed(args.chats, steps_each, rtt)
        ratio = ours.rate / open_.rate if open_.rate else 0.0
        ratios.append(ratio)
        for name, fig in (("echo bot, all pushed at once", open_),
                          ("echo bot, closed loop", closed),
                          (f"Grassroots ({args.backend})", ours)):
            rows.append([repeat, name, fig.updates, f"{fig.seconds:.2f}", f"{fig.rate:.0f}",
                         f"{fig.per_update_ms(fig.bot_cpu):.2f}",
                         f"{fig.per_update_ms(fig.emu_cpu):.2f}", fig.lost, fig.errors])
        print(f"run {repeat}: Grassroots {ours.rate:.0f}/s, echo {open_.rate:.0f}/s "
              f"(closed loop {closed.rate:.0f}/s): ratio {ratio:.2f}", flush=True)
    print()
    print(table(["run", "bot", "updates", "seconds", "updates/s", "bot CPU ms/update",
                 "emulator CPU ms/update", "lost", "errors"], rows))
    print(f"\nratio Grassroots / echo bot (all pushed at once), per run: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; median {median(ratios):.2f} "
          f"(target >= 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
