"""Item 7 — replies first, one budget: a cadre's message answered while a 5,000-recipient
broadcast and the evening digests are being sent; and several worker processes sending for
one bot through one PostgreSQL budget.

The bot runs in child processes as `grassroots run` (one, polling) or `grassroots serve
--workers N` (N webhook workers) run it, with the default rate limiter (on PostgreSQL, the
shared budget); the emulator, in this process, answers 429 above 30 messages a second and 1 a
second per chat. The broadcast (kind "broadcast") and the digests (kind "digest", queued after
it) are stored in the outbox as the office's broadcast and the digest plan store them. With
one process, cadres not among the broadcast's recipients send /checkin twice a second while
it is sent: the latency is from the moment the emulator has the update to the moment the
bot's answer reaches it.

With `--paid off,on` each process count runs twice, one after the other: the broadcast's rows
as the office queues them with PAID_BROADCAST off, then on (each request carrying
`allow_paid_broadcast`, the emulator counting those in a 1000-a-second window of their own).

    .venv/bin/python bench/lanes.py [--backend sqlite|postgresql] [--recipients 5000]
        [--workers 1,2,4] [--paid off|on|off,on] [--probe-every 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import Any

from _common import (
    BOT_USERNAME,
    CADRE_ROLES,
    TOKEN,
    BotProcess,
    county,
    free_port,
    fresh_backend,
    percentile,
    print_machine,
    table,
)
from _dialogs import SentLog

from storage import outbox
from storage.outbox import Outgoing
from tests.emulator import BotApiEmulator

NOW = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
NOTICE = "县活动办通知：12月7日（周一）9:00在县委礼堂召开推进会，请各工作队队长参加。"
DIGEST = "今日汇总：签到、走访与矛盾纠纷情况见下。"
PROBES = 60  # cadres outside the broadcast who write to the bot while it is sent


async def _queue(db: Any, recipients: list[Any], leaders: list[Any], paid: bool) -> None:
    now = NOW.astimezone(dt.UTC)
    lane = {outbox.PAID_FLAG: True} if paid else {}
    async with db.write() as session:
        await outbox.enqueue(session, now=now, messages=[
            Outgoing(chat_id=m.user_id, method="sendMessage", kind="broadcast",
                     person_id=m.person_id, payload={"text": NOTICE, **lane})
            for m in recipients])
        await outbox.enqueue(session, now=now, messages=[
            Outgoing(chat_id=m.user_id, method="sendMessage", kind="digest",
                     person_id=m.person_id, payload={"text": DIGEST}) for m in leaders])


async def run(backend_name: str, recipients: int, workers: int, paid: bool = False,
              probe_every: float = 0.5) -> dict[str, Any]:
    """One run on a fresh database: the figures."""
    async with fresh_backend(backend_name) as backend:
        db = backend.database()
        members = await county(db, now=NOW, cadres=recipients + PROBES)
        cadres = [m for m in members if m.role in CADRE_ROLES]
        sent_to, probes = cadres[:recipients], cadres[recipients:recipients + PROBES]
        leaders = [m for m in members if m.role not in CADRE_ROLES]
        await _queue(db, sent_to, leaders, paid)
        await db.dispose()
        arrivals: list[tuple[int, float, str]] = []
        emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        emu.sent = SentLog(lambda s, at: arrivals.append((s.chat_id, at, s.text or "")))
        for m in members:
            emu.user(m.user_id, first_name=m.name, language_code="zh-hans")
        emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
        await emu.start()
        common = ["grassroots", "--api", emu.base_url, *backend.args(),
                  "--clock", NOW.isoformat()]
        bots = ([BotProcess(common)] if workers == 1 else
                [BotProcess([*common, "--webhook-port", str(free_port())])
                 for _ in range(workers)])
        latencies: list[float] = []
        begin = time.monotonic()
        try:
            await asyncio.gather(*(b.start(within=240) for b in bots))
            if workers == 1:
                latencies = await _probe(emu, probes, arrivals, recipients, probe_every)
            await _until_sent(arrivals, recipients, len(leaders))
        finally:
            for b in bots:
                await b.stop()
            await emu.stop()
    return _figures(arrivals, begin, recipients, len(leaders), latencies, emu)


async def _probe(emu: BotApiEmulator, probes: list[Any], arrivals: list[tuple[int, float, str]],
                 recipients: int, every: float) -> list[float]:
    """Cadres write /checkin, one every `every` seconds, while the broadcast is being sent."""
    latencies: list[float] = []
    pending: dict[int, float] = {}
    index = 0
    seen = 0
    while sum(1 for _, _, text in arrivals if text == NOTICE) < recipients - 100:
        member = probes[index % len(probes)]
        index += 1
        if member.user_id not in pending:
            emu.user(member.user_id).send("/checkin")
            pending[member.user_id] = time.monotonic()
        await asyncio.sleep(every)
        for chat, at, _ in arrivals[seen:]:
            if chat in pending:
                latencies.append(at - pending.pop(chat))
        seen = len(arrivals)
    return latencies


async def _until_sent(arrivals: list[tuple[int, float, str]], notices: int,
                      digests: int) -> None:
    async with asyncio.timeout(max(900, notices)):
        while True:
            texts = [t for _, _, t in arrivals]
            if texts.count(NOTICE) >= notices and texts.count(DIGEST) >= digests:
                return
            await asyncio.sleep(1.0)


def _figures(arrivals: list[tuple[int, float, str]], begin: float, notices: int, digests: int,
             latencies: list[float], emu: BotApiEmulator) -> dict[str, Any]:
    times = sorted(at for _, at, _ in arrivals)
    notice_times = sorted(at for _, at, t in arrivals if t == NOTICE)
    digest_times = sorted(at for _, at, t in arrivals if t == DIGEST)
    busiest, start = 0, 0
    for end, at in enumerate(times):  # the most messages in any one-second window
        while at - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    per_chat: dict[int, list[float]] = {}
    for chat, at, _ in arrivals:
        per_chat.setdefault(chat, []).append(at)
    chat_busiest = max(sum(1 for t in ts if first <= t < first + 1.0)
                       for ts in per_chat.values() for first in ts)
    span = notice_times[-1] - notice_times[0] if len(notice_times) > 1 else float("nan")
    return {
        "notices": len(notice_times), "digests": len(digest_times),
        "rate": (len(notice_times) - 1) / span,
        "all_rate": (len(times) - 1) / (times[-1] - times[0]),
        "digests_done": digest_times[-1] - begin if digest_times else float("nan"),
        "notices_done": notice_times[-1] - begin if notice_times else float("nan"),
        "busiest": busiest, "chat_busiest": chat_busiest, "429": emu.count_429,
        "paid": emu.count_paid,
        "probes": len(latencies),
        "p50": percentile(latencies, 50) * 1000 if latencies else float("nan"),
        "p99": percentile(latencies, 99) * 1000 if latencies else float("nan"),
        "max": max(latencies) * 1000 if latencies else float("nan"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--paid", default="off", help="off, on, or off,on (one after the other)")
    parser.add_argument("--probe-every", type=float, default=0.5)
    args = parser.parse_args()
    print_machine()
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        if workers > 1 and args.backend == "sqlite":
            continue  # several processes need PostgreSQL
        for mode in args.paid.split(","):
            fig = await run(args.backend, args.recipients, workers, mode == "on",
                            args.probe_every)
            print(fig, flush=True)
            rows.append(_row(workers, mode, fig))
    print()
    print(table(["processes", "paid", "notices", "paid sends", "digests", "s to last digest",
                 "s to last notice", "broadcast msg/s", "all msg/s", "most in 1 s",
                 "most to a chat in 1 s", "429s", "replies timed", "reply p50 ms",
                 "reply p99 ms", "reply max ms"], rows))


def _row(workers: int, mode: str, fig: dict[str, Any]) -> list[Any]:
    return [workers, mode, fig["notices"], fig["paid"], fig["digests"],
            f"{fig['digests_done']:.1f}",
            f"{fig['notices_done']:.1f}", f"{fig['rate']:.2f}", f"{fig['all_rate']:.2f}",
            fig["busiest"], fig["chat_busiest"], fig["429"], fig["probes"],
            f"{fig['p50']:.0f}", f"{fig['p99']:.0f}", f"{fig['max']:.0f}"]


if __name__ == "__main__":
    asyncio.run(main())
