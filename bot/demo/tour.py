"""`grassroots demo`: the real bot against a local Bot API emulator, on a fresh SQLite file.

No Telegram account is needed: the emulator plays Telegram and the users, and the real
application talks HTTP to it. The tour prints each exchange as a chat transcript; the user
taps the very buttons the bot sent. The clock is frozen, so every run tells the same story.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.cases import model_cases
from bot.demo.problems import problem_ledger
from bot.demo.speaker import Speaker, show
from bot.demo.stage import summary_stage
from bot.demo.villages import village_work
from common.clock import FrozenClock
from common.settings import Settings
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
DEMO_DB = Path("grassroots-demo.db")


def _emulator_modules() -> tuple[Any, Any]:
    """The emulator and harness live with the tests, in a source checkout."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.emulator import BotApiEmulator
        from tests.harness import DEFAULT_ROSTER, BotHarness
    except ImportError as exc:  # pragma: no cover - only without a checkout
        raise SystemExit("grassroots demo runs from a source checkout (it needs tests/).") from exc
    return BotApiEmulator, (BotHarness, DEFAULT_ROSTER)


async def tour() -> None:
    """Register a cadre, a team leader and the office, show what each may do, then follow the
    cadre through a week: check-ins, a visit, a dispute, a publicity session and the weekly
    summary."""
    # Imported here, not above: importing Alembic logs INFO lines, and main() quieted them.
    from storage.migrate import upgrade

    emulator_cls, (harness_cls, roster) = _emulator_modules()
    url = f"sqlite+aiosqlite:///{DEMO_DB}"
    await asyncio.to_thread(upgrade, url)
    emu = emulator_cls(token="123456:DEMO", bot_username="grassroots_demo_bot")
    await emu.start()
    db = Database(url)
    clock = FrozenClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    settings = Settings(
        _env_file=None,
        telegram_bot_token=emu.token,
        bot_api_base_url=emu.base_url,
        database_url=url,
        bot_username="grassroots_demo_bot",
        campaign_start=dt.date(2026, 11, 23),
    )
    harness = harness_cls(settings, db, clock, emu)
    await harness.start()
    try:
        await harness.import_roster(roster)
        print(f"Roster imported into {DEMO_DB}; the bot talks to the emulator at {emu.base_url}.")
        cadre = await _registration(harness)
        await _cadre_week(harness, cadre)
        await _what_was_saved(harness)
        await problem_ledger(harness, cadre)
        await village_work(harness)
        await model_cases(harness, cadre)
        from bot.demo.rhythm import rhythm_and_office

        await rhythm_and_office(harness)
        await summary_stage(harness)
    finally:
        await harness.stop()
        await db.dispose()
        await emu.stop()
    if emu.violations:
        print("\nBot API violations:\n" + "\n".join(emu.violations))
        raise SystemExit(1)
    print("\nEvery request the bot made was valid Bot API 10.1.")


async def _registration(harness: Any) -> Any:
    from sqlalchemy import select

    from storage.models import Person

    print("\n== Registration and /help: a cadre, a team leader, the office ==")
    cadre = harness.emu.user(7001, first_name="Li Na", language_code="zh-hans")
    show("李娜 (cadre)", "/start", await harness.send(cadre, "/start"))
    show(
        "李娜 (cadre)",
        "[shares her phone +86 138 0013 8002]",
        await harness.contact(cadre, "+86 138 0013 8002"),
    )
    show("李娜 (cadre)", "/help", await harness.send(cadre, "/help"))
    async with harness.db.read() as session:
        leader = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
    team_leader = harness.emu.user(7002, first_name="Zhang Wei", language_code="en")
    show(
        "Zhang Wei (team leader)",
        f"/start {leader.invite_code}",
        await harness.send(team_leader, f"/start {leader.invite_code}"),
    )
    show("Zhang Wei (team leader)", "/help", await harness.send(team_leader, "/help"))
    office = harness.emu.user(7003, first_name="Wu Min", language_code="en")
    show(
        "Wu Min (office)",
        "[shares her phone 13800138009]",
        await harness.contact(office, "13800138009"),
    )
    show("Wu Min (office)", "/help", await harness.send(office, "/help"))
    stranger = harness.emu.user(7004, first_name="Stranger", language_code="en")
    show(
        "Stranger",
        "[shares someone else's contact]",
        await harness.contact(stranger, "13800138003", user_id=9999),
    )
    return cadre


def _at(harness: Any, when: dt.datetime, *, quietly: bool = False) -> None:
    harness.at(when)
    if not quietly:
        print(f"\n-- {when:%A %d %B, %H:%M} --")


def _day(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo("Asia/Shanghai"))


async def _cadre_week(harness: Any, user: Any) -> None:
    """李娜's week in English: check-ins, a visit, a dispute, a publicity session, and Friday's
    summary."""
    print("\n== A cadre's week: /checkin, /visit, /dispute, /publicity, /summary ==")
    monday = harness.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    _at(harness, _day(monday, 9))
    li = Speaker(harness, user, "李娜 (cadre)")
    await li.send("/language")
    await li.tap("English")
    await li.send("/checkin")
    await li.tap(suffix="ci:v")
    await li.share("shares her location", user.location(28.69, 116.69))
    _at(harness, _day(monday, 15, 30))
    await _visit(li)
    await _dispute(li)
    await _publicity(li)
    for offset in range(1, 5):  # Tuesday to Friday: the same one tap each morning
        _at(harness, _day(monday + dt.timedelta(days=offset), 8, 30), quietly=True)
        await harness.press(user, _find(await harness.send(user, "/checkin"), "ci:v"))
    print("\n(Tuesday to Friday she checks in the same way: five days in the village.)")
    _at(harness, _day(monday + dt.timedelta(days=4), 16, 30))  # before the 17:00 deadline
    await li.send("/summary")
    await li.send("Visited 12 households; Mr Li's clinic trips are arranged.")
    await li.send("The road to the east hamlet floods when it rains.")
    await li.send("Take the boundary dispute to the township's land office.")
    await li.tap("Save")


def _find(replies: list[Any], suffix: str) -> str:
    from tests.harness import find_button

    return str(find_button(replies, suffix=suffix)[1])


async def _visit(li: Speaker) -> None:
    """A visit to the weak, to the confirm screen and saved."""
    await li.send("/visit")
    await li.tap(suffix=":weak")
    await li.tap(suffix=":ill")
    await li.send("李大爷")
    await li.send("Needs medicine every month; the clinic is 15 km away.")
    await li.send("A doctor who comes to the village once a month.")
    await li.tap(suffix=":yes")
    await li.tap(suffix=":health")
    await li.share("sends a photo", li.user.photo())
    await li.tap("Skip")
    await li.tap(position=0)  # today
    await li.tap("Save")


async def _dispute(li: Speaker) -> None:
    """A land dispute with a petition flag, to the confirm screen and saved."""
    await li.send("/dispute")
    await li.tap(suffix=":ownership")
    await li.send("The Zhang and Li families")
    await li.send("六")
    await li.tap(suffix=":repeated")
    await li.tap(suffix=":d:3")  # Done
    await li.send("A field boundary moved when the canal was rebuilt; both families farm it.")
    await li.tap(suffix=":high")
    await li.tap("Save")


async def _publicity(li: Speaker) -> None:
    """A mass meeting on two policies, with the slogans and a board put up for it."""
    await li.send("/publicity")
    await li.tap(suffix=":mass")
    await li.tap(position=0)  # today
    await li.send("４２")
    await li.tap(suffix=":cooperative_medical")
    await li.tap(suffix=":rural_pension")
    await li.tap(suffix=":d:3")  # Done
    await li.send("六")
    await li.send("1")
    await li.tap("Save")


async def _what_was_saved(harness: Any) -> None:
    from sqlalchemy import func, select

    from storage.models import Checkin, Dispute, Problem, Publicity, Summary, Visit

    counts = []
    async with harness.db.read() as session:
        for name, model in (("check-ins", Checkin), ("visits", Visit),
                            ("problems in the ledger", Problem), ("disputes", Dispute),
                            ("publicity sessions", Publicity), ("weekly summaries", Summary)):
            count = (await session.execute(select(func.count()).select_from(model))).scalar()
            counts.append(f"{name}: {count}")
    print(f"\nIn {DEMO_DB} now — " + ", ".join(counts) + ".")


def main() -> int:
    """Run the tour on a fresh database file."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output; keep warnings
    asyncio.run(tour())
    return 0
