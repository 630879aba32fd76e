"""`grassroots demo`: the real bot against a local Bot API emulator, on a fresh SQLite file.

No Telegram account is needed: the emulator plays Telegram and the users, and the real
application talks HTTP to it. The tour prints each exchange as a chat transcript; the user
taps the very buttons the bot sent. The clock is frozen, so every run tells the same story.
The whole tour is told in one language (--lang, Chinese by default): the people's phones speak
it, they type in it, and the narration is in it. Its files (the database, the roster it imports,
the export and the charts the office receives) are written to one folder (--out).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import html
import io
import logging
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.cases import model_cases
from bot.demo.handover import escalation_handover
from bot.demo.problems import problem_ledger
from bot.demo.review import weekly_review
from bot.demo.speaker import PHONES, Speaker, Tour
from bot.demo.stage import summary_stage
from bot.demo.villages import village_work
from common.clock import FrozenClock
from common.i18n import translate
from common.settings import Settings
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
OUT_DIR = Path("grassroots-demo")
DB_NAME = "grassroots-demo.db"


def _emulator_modules() -> tuple[Any, Any]:
    """The emulator and harness live with the tests, in a source checkout."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.emulator import BotApiEmulator
        from tests.harness import DEFAULT_ROSTER, BotHarness
    except ImportError as exc:  # pragma: no cover - only without a checkout
        raise SystemExit("grassroots demo runs from a source checkout (it needs tests/).") from exc
    return BotApiEmulator, (BotHarness, DEFAULT_ROSTER)


def roster_workbook(tour: Tour, roster_csv: str) -> bytes:
    """The county's roster as an office would keep it in Excel or WPS: the column names, ranks and
    roles in the tour's language (Chinese: 姓名、手机号、职级、派出单位 …, 队长、县活动办 …)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = tour.say("roster.sheet")
    rows = list(csv.reader(io.StringIO(roster_csv)))
    columns = rows[0]
    sheet.append([tour.say(f"roster.column.{column}") for column in columns])
    for row in rows[1:]:
        values = dict(zip(columns, row, strict=True))
        values["rank"] = tour.say(f"roster.rank.{values['rank']}")
        values["role"] = tour.say(f"roster.role.{values['role']}")
        sheet.append([values[column] for column in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _import_roster(tour: Tour, roster_csv: str) -> None:
    """The office's roster, written as an .xlsx into the demo's folder and imported as
    `grassroots roster import` does."""
    from bot.demo.rhythm import save_private
    from common.rosternames import roster_error, roster_names, roster_report, roster_warnings
    from storage.roster import import_roster_file

    harness = tour.harness
    path = tour.out / tour.say("roster.file")
    workbook = roster_workbook(tour, roster_csv)
    await asyncio.to_thread(save_private, path, workbook)
    print(tour.say("roster.command", file=str(path)))
    result = await import_roster_file(harness.db, workbook, path.name, now=harness.clock.now(),
                                      names=roster_names())
    if result.errors:
        print(html.unescape(translate(tour.locale, "roster.rejected", count=len(result.errors))))
        for error in result.errors:
            print(html.unescape(roster_error(tour.locale, error)))
        raise SystemExit(1)
    print(html.unescape(roster_report(tour.locale, result)))
    if result.warnings:
        print(html.unescape(roster_warnings(tour.locale, result.warnings)))


async def tour(locale: str = "zh", out: Path = OUT_DIR) -> dt.datetime:
    """Register a cadre, a team leader, a township leader and the office, show what each may
    do, then follow the cadre through a week: check-ins, a visit, a dispute, a publicity session
    and the weekly summary; the dispute's escalation, taken by the township leader; then the
    problem ledger, the village work, a model case, what the bot sends by itself, the leaders'
    and the office's figures, an export, and the summary stage."""
    # Imported here, not above: importing Alembic logs INFO lines, and main() quieted them.
    from storage.migrate import upgrade

    emulator_cls, (harness_cls, roster) = _emulator_modules()
    database = out / DB_NAME
    url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade, url)
    emu = emulator_cls(token="123456:DEMO", bot_username="grassroots_demo_bot")
    await emu.start()
    db = Database(url)
    clock = FrozenClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    settings = Settings(
        _env_file=None,
        telegram_bot_token=emu.token,
        bot_api_base_url=emu.base_url,
        database_url=url,
        bot_username="grassroots_demo_bot",
        campaign_start=dt.date(2026, 11, 23),
        default_locale=locale,
        export_dir=str(out / "exports"),
    )
    harness = harness_cls(settings, db, clock, emu)
    story = Tour(harness, locale, out)
    await harness.start()
    try:
        await _import_roster(story, roster)
        print(story.say("started", database=str(database), url=emu.base_url))
        await _registration(story)
        await _cadre_week(story)
        await escalation_handover(story)
        await _what_was_saved(story, database)
        await problem_ledger(story)
        await village_work(story)
        await model_cases(story)
        from bot.demo.rhythm import rhythm_and_office

        await rhythm_and_office(story)
        await summary_stage(story)
    finally:
        await harness.stop()
        await db.dispose()
        await emu.stop()
    if emu.violations:
        print("\n" + story.say("violations") + "\n" + "\n".join(emu.violations))
        raise SystemExit(1)
    print("\n" + story.say("valid"))
    return clock.now()


async def _registration(tour: Tour) -> None:
    from sqlalchemy import select

    from storage.models import Person

    harness = tour.harness
    tour.heading("heading.registration")
    li = tour.person("cadre")
    await li.send("/start")
    await li.share("her_phone", li.user.contact(phone=PHONES["cadre"]))
    await li.send("/help")
    async with harness.db.read() as session:
        leader = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
    zhang = tour.person("leader")
    await zhang.send(f"/start {leader.invite_code}")
    sun = tour.person("township")
    await sun.share("her_phone", sun.user.contact(phone=PHONES["township"]))
    wu = tour.person("office")
    await wu.share("her_phone", wu.user.contact(phone=PHONES["office"]))
    await wu.send("/help")
    stranger = tour.person("stranger")
    await stranger.share("someone_elses_contact",
                         stranger.user.contact(phone="13800138003", user_id=9999))


def _at(tour: Tour, when: dt.datetime, *, quietly: bool = False) -> None:
    tour.harness.at(when)
    if not quietly:
        print(f"\n-- {tour.say('clock', when=when)} --")


def _day(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def _cadre_week(tour: Tour) -> None:
    """李娜's week: check-ins, a visit, a dispute, a publicity session, and Friday's summary."""
    harness = tour.harness
    tour.heading("heading.week")
    monday = harness.clock.now().astimezone(SHANGHAI).date()
    _at(tour, _day(monday, 9))
    li = tour.person("cadre")
    await li.send("/checkin")
    await li.tap(suffix="ci:v")
    await li.share("her_location", li.user.location(28.69, 116.69))
    _at(tour, _day(monday, 15, 30))
    await _dispute(li)
    await _publicity(li)
    for offset in range(1, 5):  # Tuesday to Friday: the same one tap each morning
        _at(tour, _day(monday + dt.timedelta(days=offset), 8, 30), quietly=True)
        await harness.press(li.user, _find(await harness.send(li.user, "/checkin"), "ci:v"))
        if offset == 1:  # on Tuesday she records the visit she made on Monday afternoon
            _at(tour, _day(monday + dt.timedelta(days=offset), 9))
            await _visit(li)
    print("\n" + tour.say("checks_in_all_week"))
    _at(tour, _day(monday + dt.timedelta(days=4), 16, 30))  # before the 17:00 deadline
    before_leader = len(harness.emu.sent_to(tour.user("leader").id))
    await li.send("/summary")
    await li.type("summary.done")
    await li.type("summary.problems")
    await li.type("summary.plan")
    await li.tap(suffix=":ok")
    await weekly_review(tour, before_leader)


def _find(replies: list[Any], suffix: str) -> str:
    from tests.harness import find_button

    return str(find_button(replies, suffix=suffix)[1])


async def _visit(li: Speaker) -> None:
    """A visit to the weak, made yesterday: the date typed as people say it."""
    await li.send("/visit")
    await li.tap(suffix=":weak")
    await li.tap(suffix=":ill")
    await li.type("visit.household")
    await li.type("visit.heard")
    await li.type("visit.wants")
    await li.tap(suffix=":yes")
    await li.tap(suffix=":health")
    await li.share("a_photo", li.user.photo())
    await li.key("form.button.skip")  # no location
    await li.type("visit.date")  # 昨天 / yesterday
    await li.tap(suffix=":ok")


async def _dispute(li: Speaker) -> None:
    """A land dispute reported (上报) with a petition flag; a count the bot cannot read is
    answered in one line, and the urgency button is pressed again after the report is saved."""
    await li.send("/dispute")
    await li.tap(suffix=":ownership")
    await li.type("dispute.parties")
    await li.type("dispute.people_wrong")  # 好多人: not a number
    await li.type("dispute.people")
    await li.tap(suffix=":repeated")
    await li.tap(bot="form.button.done")
    await li.type("dispute.description")
    urgency = await li.tap(suffix=":high")
    await li.tap(suffix=":ok")
    await li.tap(suffix=":ok", among=urgency)  # the saved report's button, pressed again


async def _publicity(li: Speaker) -> None:
    """A mass meeting on two policies, with the slogans and a board put up for it."""
    await li.send("/publicity")
    await li.tap(suffix=":mass")
    await li.tap(position=0)  # today
    await li.type("publicity.attendance")
    await li.tap(position=0)
    await li.tap(position=1)
    await li.tap(bot="form.button.done")
    await li.type("publicity.slogans")
    await li.send("1")
    await li.tap(suffix=":ok")


async def _what_was_saved(tour: Tour, database: Path) -> None:
    from sqlalchemy import func, select

    from storage.models import Checkin, Dispute, Problem, Publicity, Summary, Visit

    values = {}
    async with tour.harness.db.read() as session:
        for name, model in (("checkins", Checkin), ("visits", Visit), ("problems", Problem),
                            ("disputes", Dispute), ("publicity", Publicity),
                            ("summaries", Summary)):
            values[name] = (await session.execute(select(func.count()).select_from(model))).scalar()
    print("\n" + tour.say("saved", database=str(database), **values))


def main(locale: str = "zh", out: Path = OUT_DIR, *, serve: bool = False) -> int:
    """Run the tour on a fresh database file in the output folder, then open the console over
    it (`serve`: until Ctrl-C)."""
    out.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (out / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output; keep warnings
    end = asyncio.run(tour(locale, out))
    print(html.unescape(translate(locale, "demo.files", folder=str(out))))
    for path in sorted(out.iterdir()):
        if path.is_file() and not path.name.startswith(DB_NAME):
            print(f"   {path}")
    from bot.demo.console import open_console

    try:
        asyncio.run(open_console(locale, out / DB_NAME, end, serve=serve))
    except KeyboardInterrupt:
        pass
    return 0
