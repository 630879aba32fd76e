"""The second half of `grassroots demo`: the clock runs on to the evening digest and the Monday
county report; then the team leader, the township leader and the office ask for last week's
figures, and the office's charts and export are written to the demo's folder."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.speaker import Tour, received, show
from scheduler.jobs import run_due
from scheduler.sender import drain
from storage.files import FILE_MODE, make_private

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLES = ("cadre", "leader", "township", "office")


def save_private(path: Path, content: bytes) -> None:
    """Write a file readable by this user only, as /export keeps its own (names and phone
    numbers, if only the demo's)."""
    path.touch(mode=FILE_MODE)
    make_private(path)  # a file left by an earlier run keeps its old mode through touch()
    path.write_bytes(content)


async def _tick(tour: Tour, when: dt.datetime, title: str) -> None:
    """Move the clock, run what is due and print what each person received."""
    harness = tour.harness
    harness.at(when)
    people = {role: tour.user(role) for role in ROLES}
    before = {role: len(harness.emu.sent_to(user.id)) for role, user in people.items()}
    ran = await run_due(harness.ctx)
    await drain(harness.ctx, harness.application.bot)
    print(f"\n-- {tour.say(title)}{'' if ran else tour.say('nothing_due')} --")
    for role, user in people.items():
        received(tour, role, harness.emu.sent_to(user.id)[before[role]:])


async def _with_charts(tour: Tour, role: str, command: str, charts: int,
                       keep: bool = False) -> list[Any]:
    """Send a /stats command and wait for its charts, which are drawn after the answer; `keep`
    writes them to the demo's folder."""
    harness = tour.harness
    user = tour.user(role)
    before = len(harness.emu.sent_to(user.id))
    documents = len(harness.emu.documents)
    await harness.send(user, command)
    await harness.emu.wait_for(lambda: sum(
        s.method == "sendPhoto" for s in harness.emu.sent_to(user.id)[before:]) >= charts,
        within=30)
    replies = harness.emu.sent_to(user.id)[before:]
    show(tour.say(f"who.{role}"), command, replies)
    for chat, filename, content, _params in harness.emu.documents[documents:]:
        if keep and chat == user.id and filename.endswith(".png"):
            await _keep(tour, filename, content)
    return replies


async def _keep(tour: Tour, filename: str, content: bytes) -> None:
    """Write a file the bot sent into the demo's folder, under the name the bot gave it."""
    path = tour.out / Path(filename).name
    await asyncio.to_thread(save_private, path, content)
    print(f"\n📎 {tour.say('written', file=filename, size=len(content), path=str(path))}")


async def rhythm_and_office(tour: Tour) -> None:
    """Run the schedules through a weekend, then the leaders' figures, the office's /stats and
    /export of last week, typed as a period (上周, last week)."""
    harness = tour.harness
    tour.heading("heading.team")
    harness.at(dt.datetime(2026, 12, 4, 17, 30, tzinfo=SHANGHAI))
    await tour.person("leader").send("/team")
    tour.heading("heading.rhythm")
    # The schedules' rows are written on first sight; from then on each run happens once.
    await _tick(tour, dt.datetime(2026, 12, 4, 19, 0, tzinfo=SHANGHAI), "tick.friday_19")
    await _tick(tour, dt.datetime(2026, 12, 4, 20, 0, tzinfo=SHANGHAI), "tick.friday_20")
    await _tick(tour, dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI), "tick.monday_08")
    last_week = tour.say("types.last_week")
    tour.heading("heading.leaders")
    await _with_charts(tour, "leader", f"/stats {last_week}", charts=1)
    sun = tour.person("township")
    await sun.send(f"/laggards {last_week}")
    tour.heading("heading.office")
    await _with_charts(tour, "office", f"/stats {last_week}", charts=2, keep=True)
    office = tour.person("office")
    documents = len(harness.emu.documents)
    await office.send(f"/export {last_week}")
    found = await harness.emu.wait_for(
        lambda: [d for d in harness.emu.documents[documents:]
                 if d[0] == office.user.id and d[1].endswith(".xlsx")], within=30)
    _chat, filename, content, _params = found[-1]
    await _keep(tour, filename, content)
