"""Item 4 — fan-out at Telegram's limit: 2,000 reminders through an emulator that answers 429
above 30 messages a second (and 1 a second per chat), then the same with 5% of the requests
failing with 502.

The reminders are stored in the outbox as the schedules store them (one transaction) and the
real sender (scheduler.sender.drain, called every second as its job is) sends them with the
settings' rate limiter (28 a second, 1 a second per chat), on the real clock.

    .venv/bin/python bench/fanout.py [--backend sqlite|postgresql] [--messages 2000]
        [--repeats 3] [--shared]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

from _common import (
    BOT_USERNAME,
    CADRE_ROLES,
    TOKEN,
    county,
    fresh_backend,
    median,
    print_machine,
    table,
)
from _dialogs import SentLog
from telegram import Bot

from common.clock import SystemClock
from common.context import AppContext
from common.ratelimit import RateLimiter
from common.settings import Settings
from scheduler.sender import drain
from storage import outbox
from storage.outbox import Outgoing
from tests.emulator import BotApiEmulator

TEXT = "本周小结截止时间：2026-12-04 17:00。发送 /summary，机器人会根据您的记录起草。"


async def run_fanout(backend_name: str, messages: int, fail: float,
                     shared: bool = False) -> dict[str, Any]:
    """One fan-out on a fresh database; what arrived, when."""
    async with fresh_backend(backend_name) as backend:
        db = backend.database()
        clock = SystemClock()
        members = await county(db, now=clock.now(), cadres=max(2000, messages))
        cadres = [m for m in members if m.role in CADRE_ROLES][:messages]
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        arrivals: list[tuple[int, float]] = []
        emu.sent = SentLog(lambda sent, at: arrivals.append((sent.chat_id, at)))
        for m in cadres:
            emu.user(m.user_id, first_name=m.name, language_code="zh-hans")
        emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
        if fail:
            emu.fail_rate(502, fail)
        await emu.start()
        settings = Settings(_env_file=None, telegram_bot_token=TOKEN,
                            bot_api_base_url=emu.base_url, database_url=backend.url)
        # --shared: the limiter `grassroots run` makes on PostgreSQL, with the bot's budget in
        # the database; otherwise the process's own limiter alone.
        ctx = AppContext(settings=settings, db=db, clock=clock,
                         limiter=None if shared else RateLimiter(
                             settings.outbox_global_per_second,
                             settings.outbox_per_chat_per_second))
        async with db.write() as session:
            await outbox.enqueue(session, now=clock.now(), messages=[
                Outgoing(chat_id=m.user_id, method="sendMessage", kind="reminder",
                         person_id=m.person_id, dedup_key=f"bench:summary:{m.person_id}",
                         payload={"text": TEXT, "parse_mode": "HTML"}) for m in cadres])
        bot = Bot(TOKEN, base_url=f"{emu.base_url}/bot", base_file_url=f"{emu.base_url}/file/bot")
        await bot.initialize()
        begin = time.monotonic()
        try:
            async with asyncio.timeout(max(600, messages)):
                while len({chat for chat, _ in arrivals}) < messages:
                    await drain(ctx, bot)
                    async with db.read() as session:
                        if await outbox.depth(session) == 0:
                            break
                    await asyncio.sleep(1.0)  # the sender job's interval
        except TimeoutError:
            pass
        finally:
            await bot.shutdown()
            await emu.stop()
            assert ctx.limiter is not None
            await ctx.limiter.close()
        async with db.read() as session:
            left = await outbox.depth(session)
        await db.dispose()
    return _figures(arrivals, messages, begin, emu, left)


def _figures(arrivals: list[tuple[int, float]], messages: int, begin: float,
             emu: BotApiEmulator, left: int) -> dict[str, Any]:
    per_chat = Counter(chat for chat, _ in arrivals)
    times = sorted(at for _, at in arrivals)
    seconds = times[-1] - times[0] if len(times) > 1 else float("nan")
    busiest = 0
    start = 0
    for end, at in enumerate(times):  # the most messages in any one-second window
        while at - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    failed = sum(1 for e in emu.errors if "-> 502" in e)
    # Sustained: from the 2nd to the 98th percentile of the arrivals; the rest is the start
    # and the tail of the last retries (a 502 is tried again a second later, then 2 s, ...).
    low, high = int(len(times) * 0.02), max(0, int(len(times) * 0.98) - 1)
    steady = (high - low) / (times[high] - times[low]) if high > low else float("nan")
    return {"delivered": len(per_chat), "seconds": seconds,
            "rate": (len(times) - 1) / seconds if len(times) > 1 else 0.0, "steady": steady,
            "to_98": times[high] - begin if times else float("nan"),
            "to_all": times[-1] - begin if times else float("nan"),
            "busiest": busiest, "first": times[0] - begin if times else float("nan"),
            "429": emu.count_429, "502": failed, "lost": messages - len(per_chat),
            "duplicated": sum(n - 1 for n in per_chat.values() if n > 1), "left": left}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shared", action="store_true",
                        help="PostgreSQL: the bot's budget in the database, as run and serve")
    args = parser.parse_args()
    print_machine()
    print(f"backend {args.backend}: {args.messages} reminders, emulator limits 30/s and "
          f"1/s per chat", flush=True)
    rows = []
    rates: dict[str, list[float]] = {}
    for name, fail in (("429 above 30/s", 0.0), ("429 above 30/s, 5% 502", 0.05)):
        for repeat in range(1, args.repeats + 1):
            fig = await run_fanout(args.backend, args.messages, fail, args.shared)
            rates.setdefault(name, []).append(fig["steady"])
            rows.append([name, repeat, fig["delivered"], f"{fig['to_98']:.1f}",
                         f"{fig['to_all']:.1f}", f"{fig['steady']:.2f}", f"{fig['rate']:.2f}",
                         fig["busiest"], fig["429"], fig["502"], fig["lost"],
                         fig["duplicated"], fig["left"]])
            print(f"{name}, run {repeat}: {fig['steady']:.2f}/s sustained, {fig['429']} 429s",
                  flush=True)
    print()
    print(table(["emulator", "run", "delivered", "s to 98%", "s to all", "sustained msg/s",
                 "first to last msg/s", "most in 1 s", "429s", "502s", "lost", "duplicated",
                 "left in outbox"], rows))
    print("\nsustained: from the 2nd to the 98th percentile of the arrivals (the rest is the "
          "start and the last retries)")
    for name, values in rates.items():
        print(f"{name}: median sustained {median(values):.2f} messages/s (target >= 28, "
              f"no 429, none lost or duplicated)")


if __name__ == "__main__":
    asyncio.run(main())
