"""Item 2 — the deadline spike: 2,000 cadres each complete their weekly summary within 60 s.

The bot runs in a child process as `grassroots run` runs it; the Bot API emulator and the
cadres are in this process. Each cadre starts at a moment spread over the window, answers
each question after a think time, and taps Save. Latency of each update: from the moment the
emulator hands it to the bot (the getUpdates answer) to the moment the last message answering
it reaches the emulator.

    .venv/bin/python bench/spike.py [--backend sqlite|postgresql] [--cadres 2000]
        [--window 60] [--think 1-3] [--repeats 1] [--limiter open|default]

Telegram's sending rates are item 4's subject: by default (--limiter open) the bot's rate
limiter is opened so that the figure is the bot's own; --limiter default keeps 28/s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
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
    free_port,
    fresh_backend,
    median,
    percentile,
    postgres_cpu,
    print_machine,
    seed_week,
    table,
)
from _dialogs import Conversations, WebhookPusher, summary, think_time
from sqlalchemy import func, select

from storage.models import Summary
from tests.emulator import BotApiEmulator

WEBHOOK_SECRET = "bench-webhook-secret"  # bench/_botproc.py's
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI)  # Friday, an hour before the deadline
MONDAY = dt.date(2026, 11, 30)


async def run_spike(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """One spike on a fresh database; the figures of the run."""
    async with fresh_backend(args.backend) as backend:
        db = backend.database()
        now = NOW.astimezone(dt.UTC)
        members = await county(db, now=now, cadres=args.cadres)
        # Checked in every day this week including today, but for those with a short week.
        short = await seed_week(db, members, monday=MONDAY, today=dt.date(2026, 12, 4), now=now)
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        emu.network(args.rtt_ms / 1000)
        conv = Conversations(emu)
        cadres = [m for m in members if m.role in CADRE_ROLES][:args.cadres]
        for m in cadres:
            conv.add(m.user_id, summary(m.person_id in short))
        conv.bystanders(m.user_id for m in members)
        low, high = (float(x) for x in args.think.split("-"))
        steps = max(len(c.script) for c in conv.chats.values())
        latest_start = max(0.0, args.window - steps * high - 2)
        rng = random.Random(seed)
        starts = sorted(rng.uniform(0, latest_start) for _ in cadres)
        await emu.start()
        rates = ([] if args.limiter == "default"
                 else ["--global-rate", "100000", "--per-chat-rate", "100000"])
        common = ["grassroots", "--api", emu.base_url, *backend.args(), "--clock",
                  NOW.isoformat(), *rates]
        if args.workers:  # webhook workers behind one pusher, as `grassroots serve --workers`
            ports = [free_port() for _ in range(args.workers)]
            bots = [BotProcess([*common, "--webhook-port", str(port)]) for port in ports]
        else:
            bots = [BotProcess([*common, "--poller", args.poller])]
        await asyncio.gather(*(bot.start() for bot in bots))
        pusher = (WebhookPusher(conv.queue, [f"http://127.0.0.1:{p}/telegram" for p in ports],
                                WEBHOOK_SECRET) if args.workers else None)
        spies = [Spy(bot.pid, spy_path(args.spy, n, len(bots)), "--gil")
                 for n, bot in enumerate(bots)] if args.spy else []
        try:
            if pusher is not None:
                await pusher.start()
            await asyncio.gather(*(spy.start() for spy in spies))
            before = ([bot.cpu() for bot in bots], cpu_seconds(), postgres_cpu())
            seconds = await conv.run(starts=starts, think=think_time(low, high, seed),
                                     within=args.window * 10)
            bots_cpu = [bot.cpu() - was for bot, was in zip(bots, before[0], strict=True)]
            own_cpu, pg_cpu = cpu_seconds() - before[1], postgres_cpu() - before[2]
        finally:
            await asyncio.gather(*(spy.stop() for spy in spies))
            if pusher is not None:
                await pusher.stop()
            await asyncio.gather(*(bot.stop() for bot in bots))
            await emu.stop()
        async with db.read() as session:
            saved = (await session.execute(select(func.count()).select_from(Summary))).scalar_one()
        await db.dispose()
    checked = conv.check()
    latencies = conv.latencies()
    return {"cadres": len(cadres), "updates": checked["steps"], "seconds": seconds,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan")),
            "saved": saved, "lost": checked["lost"], "extra": checked["extra"],
            "reviews": checked["reviews"],
            "errors": checked["violations"] + checked["http_errors"] + checked["chats_failed"],
            "bot_cpu": sum(bots_cpu), "bots_cpu": bots_cpu, "own_cpu": own_cpu,
            "pg_cpu": pg_cpu if backend.name == "postgresql" else float("nan")}


def spy_path(path: str, n: int, of: int) -> str:
    """The recording of bot process n: the path as given for one process, else numbered."""
    if of == 1:
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}.{n + 1}.{ext}" if dot else f"{path}.{n + 1}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cadres", type=int, default=2000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    parser.add_argument("--think", default="1-3", help="seconds between an answer and the "
                        "cadre's next message, uniform (default 1-3)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--limiter", choices=("open", "default"), default="open")
    parser.add_argument("--poller", choices=("grassroots", "eager"), default="grassroots",
                        help="bot.polling's Poller, or to compare one that does not wait for "
                        "a batch before fetching the next (python-telegram-bot's way)")
    parser.add_argument("--workers", type=int, default=0,
                        help="N webhook workers (as `grassroots serve --workers N`, one process "
                        "each, sharing the database) instead of one polling process")
    parser.add_argument("--py-spy", default=None, dest="spy",
                        help="py-spy recording of the bot: .svg flame graph, else collapsed")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="a network round trip added to every Bot API request (default 0)")
    args = parser.parse_args()
    print_machine()
    serving = f"{args.workers} webhook workers" if args.workers else f"poller {args.poller}"
    print(f"backend {args.backend}: {args.cadres} cadres finish a summary within "
          f"{args.window:g} s (think {args.think} s, limiter {args.limiter}, {serving})",
          flush=True)
    rows, p99s = [], []
    for repeat in range(1, args.repeats + 1):
        fig = await run_spike(args, seed=repeat)
        p99s.append(fig["p99"])
        rows.append([repeat, fig["cadres"], fig["updates"], f"{fig['seconds']:.1f}",
                     f"{fig['updates'] / fig['seconds']:.0f}",
                     *(f"{1000 * fig[k]:.0f}" for k in ("p50", "p95", "p99", "max")),
                     f"{1000 * fig['bot_cpu'] / max(1, fig['updates']):.1f}",
                     fig["saved"], fig["lost"], fig["extra"], fig["errors"]])
        print(f"run {repeat}: p99 {1000 * fig['p99']:.0f} ms; CPU seconds over "
              f"{fig['seconds']:.0f} s on {os.cpu_count()} cores: bot "
              f"{' + '.join(f'{c:.1f}' for c in fig['bots_cpu'])}, this benchmark (emulator, "
              f"chats, pusher) {fig['own_cpu']:.1f}, PostgreSQL {fig['pg_cpu']:.1f}; "
              f"{fig['reviews']} summaries sent to leaders to review", flush=True)
    print()
    print(table(["run", "cadres", "updates", "seconds", "updates/s", "p50 ms", "p95 ms",
                 "p99 ms", "max ms", "bot CPU ms/update", "summaries saved", "lost",
                 "extra", "errors"], rows))
    print(f"\nmedian p99 {1000 * median(p99s):.0f} ms (target < 250 ms)")


if __name__ == "__main__":
    asyncio.run(main())
