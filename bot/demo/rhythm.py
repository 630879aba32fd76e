"""The second half of `grassroots demo`: the clock runs on to the evening digest and the Monday
county report, then the office asks for figures and an export, written to the current folder."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.speaker import show
from scheduler.jobs import run_due
from scheduler.sender import drain
from storage.files import FILE_MODE, make_private

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPORT_FILE = Path("grassroots-demo-export.xlsx")
PEOPLE = {7001: "李娜 (cadre)", 7002: "Zhang Wei (team leader)", 7003: "Wu Min (office)"}


def save_private(path: Path, content: bytes) -> None:
    """Write a workbook readable by this user only, as /export keeps its own (names and phone
    numbers, if only the demo's)."""
    path.touch(mode=FILE_MODE)
    make_private(path)  # a file left by an earlier run keeps its old mode through touch()
    path.write_bytes(content)


async def _tick(harness: Any, when: dt.datetime, title: str) -> None:
    """Move the clock, run what is due and print what each person received."""
    harness.at(when)
    before = {chat: len(harness.emu.sent_to(chat)) for chat in PEOPLE}
    ran = await run_due(harness.ctx)
    await drain(harness.ctx, harness.application.bot)
    print(f"\n-- {title}: {', '.join(sorted(ran)) or 'nothing due'} --")
    for chat, who in PEOPLE.items():
        for sent in harness.emu.sent_to(chat)[before[chat]:]:
            print(f"\n📨 to {who}:")
            text = sent.plain_text if sent.text is not None else f"[{sent.method}: the chart]"
            for line in text.splitlines():
                print(f"   {line}")


async def rhythm_and_office(harness: Any) -> None:
    """Run the schedules through a weekend, then the office's /stats and /export."""
    print("\n== What the bot sends by itself: digests, reminders, the county report ==")
    # The schedules' rows are written on first sight; from then on each run happens once.
    await _tick(harness, dt.datetime(2026, 12, 4, 19, 0, tzinfo=SHANGHAI), "Friday 19:00")
    await _tick(harness, dt.datetime(2026, 12, 4, 20, 0, tzinfo=SHANGHAI), "Friday 20:00")
    await _tick(harness, dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI),
                "Monday 08:00 (the bot catches up on the weekend once)")
    print("\n== The office: figures and an export ==")
    office = harness.emu.user(7003, first_name="Wu Min", language_code="en")
    before = len(harness.emu.sent_to(office.id))
    await harness.send(office, "/stats 2026-11-30..2026-12-06")
    # The charts are drawn after the answer, and follow it: a day-by-day one and the townships'.
    await harness.emu.wait_for(lambda: sum(
        s.method == "sendPhoto" for s in harness.emu.sent_to(office.id)[before:]) >= 2, within=30)
    show("Wu Min (office)", "/stats 2026-11-30..2026-12-06",
         harness.emu.sent_to(office.id)[before:])
    show("Wu Min (office)", "/export", await harness.send(office, "/export"))
    found = await harness.emu.wait_for(
        lambda: [d for d in harness.emu.documents
                 if d[0] == office.id and d[1].endswith(".xlsx")], within=30)
    _chat, filename, content, _params = found[-1]
    await asyncio.to_thread(save_private, EXPORT_FILE, content)
    print(f"\n📎 {filename} ({len(content):,} bytes) written to ./{EXPORT_FILE}")
