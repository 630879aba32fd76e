"""`grassroots demo`: the real bot against a local Bot API emulator, on a fresh SQLite file.

No Telegram account is needed: the emulator plays Telegram and the users, and the real
application talks HTTP to it. The tour prints each exchange as a chat transcript.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
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


def show(who: str, said: str, replies: list[Any]) -> None:
    """Print one exchange of the transcript."""
    print(f"\n👤 {who}: {said}")
    for sent in replies:
        text = sent.plain_text if sent.text is not None else f"[{sent.method}]"
        for line in text.splitlines():
            print(f"   🤖 {line}")
        for row in sent.buttons or []:
            print("      " + "  ".join(f"[{label}]" for label, _ in row))


async def tour() -> None:
    """Register a cadre, a team leader and the office, and show what each may do."""
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
        await _registration(harness)
    finally:
        await harness.stop()
        await db.dispose()
        await emu.stop()
    if emu.violations:
        print("\nBot API violations:\n" + "\n".join(emu.violations))
        raise SystemExit(1)
    print("\nEvery request the bot made was valid Bot API 10.1.")


async def _registration(harness: Any) -> None:
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


def main() -> int:
    """Run the tour on a fresh database file."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    asyncio.run(tour())
    return 0
