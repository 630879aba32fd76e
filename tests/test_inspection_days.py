"""An inspection's finding is the record of that day: 李娜 checked in as in the village, the
supervisor's unannounced visit finds her away, and her check-in becomes 不在村（督查时不在村）
with an audit entry by the supervisor — so /stats, /team, /laggards, her /me and her weekly
summary all count one day fewer; she and the team leader are told; she cannot check in as in
the village for that day again (away still can), and the morning reminder does not ask one found
away today to check in. 张伟, found present, keeps his day; an inspection typed for an earlier
day strikes that day the same way."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from scheduler.plans import checkin_reminders
from scheduler.runs import Run
from storage import checkins, people
from storage.models import AuditEntry, Checkin, Person
from tests.harness import DEFAULT_ROSTER, texts
from tests.test_export import by_header, fetch_workbook
from tests.test_export import exports as exports  # the fixture, for this module's tests
from tests.test_inspections import SUPERVISOR, inspect_xincun, person_id, registered
from tests.test_leave import settings as settings  # replies paced for tests
from tests.test_spotcheck import until_a_draw_waits

NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
SATURDAY = dt.date(2026, 11, 28)  # the harness's today


async def add_days(harness, name: str, days: list[int]) -> None:
    """Check-ins in the village on these November days, through the ORM (the rollups follow)."""
    async with harness.db.write() as session:
        who = (await session.execute(select(Person).where(Person.name == name))).scalar_one()
        for day in days:
            session.add(Checkin(person_id=who.id, village_id=who.village_id,
                                township_id=who.township_id, in_village=True,
                                day=dt.date(2026, 11, day), created_at=NOW, updated_at=NOW))


async def checkin_of(harness, name: str, day: dt.date) -> Checkin:
    async with harness.db.read() as session:
        return (await session.execute(select(Checkin).join(
            Person, Person.id == Checkin.person_id).where(
            Person.name == name, Checkin.day == day))).scalar_one()


async def figures(harness, users) -> dict[str, object]:
    """The days as /stats, /team, /laggards, /me and /summary show them."""
    stats = texts(await harness.send(users["吴敏"], "/stats"))[-1].splitlines()
    team = texts(await harness.send(users["张伟"], "/team"))[-1].splitlines()
    lagging = texts(await harness.send(users["张伟"], "/laggards 新村"))[-1].splitlines()
    me = texts(await harness.send(users["李娜"], "/me"))[-1].splitlines()
    summary = texts(await harness.send(users["李娜"], "/summary"))[-1].splitlines()[0]
    await harness.send(users["李娜"], "/cancel")
    return {
        "stats": next(line for line in stats if line.startswith("签到：")),
        "team": [line for line in team if line.startswith(("张伟", "李娜"))],
        "laggards": next(line for line in lagging if "李娜" in line),
        "me": me[1],
        "summary": summary,
    }


async def test_a_day_found_away_no_longer_counts_anywhere(harness):
    users = await registered(harness)
    await add_days(harness, "李娜", [23, 24, 25])
    for name in ("李娜", "张伟"):  # today, in the village, through /checkin
        await harness.send(users[name], "/checkin")
        assert texts(await harness.press(users[name], "ci:v"))[-1].startswith(
            "✅ 11月28日（周六）已签到：在村。")
    before = await figures(harness, users)
    assert before == {
        "stats": "签到：5/36 人天 · 在村 5 人天",
        "team": ["张伟（队长）：1 天 · 走访 0 次 · 未交周小结",
                 "李娜：4 天 · 走访 0 次 · 未交周小结"],
        "laggards": "• 李娜（新村）：未交周小结",
        "me": "驻村天数：4",
        "summary": "本周在村 4 天，少于规定的 5 天，请说明原因：",
    }
    lina_seen = len(harness.emu.sent_to(users["李娜"].id))
    leader_seen = len(harness.emu.sent_to(users["张伟"].id))

    replies = await inspect_xincun(harness, users["钱进"], present=["张伟"],
                                   findings="李娜不在村")
    assert "当天已签到在村的，签到改为不在村，不计入驻村天数。" in replies[-1].plain_text
    replies = await harness.tap(users["钱进"], replies, suffix=":ok")
    assert texts(replies)[-1] == (
        "✅ 已记录新村的督查暗访，不在村 2 人。\n"
        "其中 1 人当天签到在村，已改为不在村，不计入驻村天数。\n已告知队长张伟。")

    row = await checkin_of(harness, "李娜", SATURDAY)
    assert (row.in_village, row.reason) == (False, "inspected_away")
    kept = await checkin_of(harness, "张伟", SATURDAY)  # found present: his day stands
    assert (kept.in_village, kept.reason) == (True, None)
    async with harness.db.read() as session:
        [audit] = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "checkin"))).scalars().all()
    assert (audit.entity_id, audit.actor_id, audit.action, audit.field, audit.old_value,
            audit.new_value) == (row.id, await person_id(harness, "钱进"), "correct", "status",
                                 "village", "away:inspected_away")

    told = (await harness.emu.wait_sent(users["李娜"].id, count=lina_seen + 1))[-1]
    assert told.plain_text == (
        "督查组11月28日（周六）到新村暗访时您不在村，当天的签到已改为不在村，不计入驻村天数。"
        "如有异议，请向队长说明。")
    notice = (await harness.emu.wait_sent(users["张伟"].id, count=leader_seen + 1))[-1]
    assert notice.plain_text.splitlines()[-1] == "李娜当天签到在村，已改为不在村，不计入驻村天数。"

    assert await figures(harness, users) == {
        "stats": "签到：5/36 人天 · 在村 4 人天",
        "team": ["张伟（队长）：1 天 · 走访 0 次 · 未交周小结",
                 "李娜：3 天 · 走访 0 次 · 未交周小结"],
        "laggards": "• 李娜（新村）：在村 3 天；未交周小结；督查时不在村 1 次",
        "me": "驻村天数：3",
        "summary": "本周在村 3 天，少于规定的 5 天，请说明原因：",
    }

    # She cannot check in as in the village for the day again; /checkin offers only away.
    offer = (await harness.send(users["李娜"], "/checkin"))[-1]
    assert offer.plain_text == "您今天已经签到：不在村（督查时不在村）。如需更正，请点击下方按钮。"
    assert [data for r in offer.buttons for _, data in r] == ["ci:a"]
    refused = texts(await harness.press(users["李娜"], "ci:v"))[-1]
    assert refused.startswith(
        "11月28日（周六）督查时您不在村，这一天不能签到为在村，不计入驻村天数。")
    row = await checkin_of(harness, "李娜", SATURDAY)
    assert (row.in_village, row.reason) == (False, "inspected_away")
    # Away with a reason is still taken (the day still does not count).
    await harness.press(users["李娜"], "ci:a")
    assert "已更正：不在村（在县里开会）" in texts(
        await harness.press(users["李娜"], "ci:r:meeting"))[-1]
    row = await checkin_of(harness, "李娜", SATURDAY)
    assert (row.in_village, row.reason) == (False, "meeting")
    assert (await figures(harness, users))["me"] == "驻村天数：3"


async def test_an_earlier_day_is_struck_and_the_reminder_spares_one_found_away(harness,
                                                                                exports):
    users = await registered(harness)
    users["王芳"] = await harness.register("13800138003", user_id=7103)
    await add_days(harness, "李娜", [23, 24, 25])
    replies = await inspect_xincun(harness, users["钱进"], present=["张伟", "王芳"],
                                   findings="李娜不在村", day="11.25")
    assert texts(await harness.tap(users["钱进"], replies, suffix=":ok"))[-1].startswith(
        "✅ 已记录新村的督查暗访，不在村 1 人。\n其中 1 人当天签到在村，已改为不在村")
    row = await checkin_of(harness, "李娜", dt.date(2026, 11, 25))
    assert (row.in_village, row.reason) == (False, "inspected_away")
    assert (await checkin_of(harness, "李娜", dt.date(2026, 11, 24))).in_village
    me = texts(await harness.send(users["李娜"], "/me"))[-1].splitlines()
    assert me[1] == "驻村天数：2"
    told = harness.emu.sent_to(users["李娜"].id)
    assert any(m.plain_text.startswith("督查组11月25日（周三）到新村暗访时您不在村") for m in told)
    # The export reads the reason and the correction in words.
    await harness.send(users["吴敏"], "/export")
    _, book, _ = await fetch_workbook(harness, users["吴敏"])
    [struck] = [r for r in by_header(book, "签到") if r["日期"] == dt.datetime(2026, 11, 25)]
    assert (struck["干部"], struck["不在村原因"]) == ("李娜", "督查时不在村")
    assert [(r["操作人"], r["对象"], r["原值"], r["新值"]) for r in by_header(book, "操作日志")
            if r["原值"] == "在村"] == [("钱进", "签到", "在村", "不在村（督查时不在村）")]

    # Today: 王芳 found away, with no check-in: none is added, and the morning reminder does
    # not ask her to check in (she cannot as in the village); others without one are asked.
    replies = await inspect_xincun(harness, users["钱进"], present=["张伟", "李娜"],
                                   findings="王芳不在村")
    assert texts(await harness.tap(users["钱进"], replies, suffix=":ok"))[-1] == (
        "✅ 已记录新村的督查暗访，不在村 1 人。\n已告知队长张伟。")
    async with harness.db.read() as session:
        assert (await session.execute(select(Checkin).where(
            Checkin.person_id == await person_id(harness, "王芳")))).first() is None
    now = harness.clock.now()
    async with harness.db.write() as session:
        out = await checkin_reminders(Run(harness.ctx, session, now, now))
    reminded = {m.person_id for m in out}
    assert await person_id(harness, "王芳") not in reminded
    assert {await person_id(harness, n) for n in ("李娜", "张伟", "刘洋")} <= reminded
    refused = texts(await harness.send(users["王芳"], "/checkin"))[-1]
    assert refused.startswith("11月28日（周六）督查时您不在村，这一天不能签到为在村")


async def test_a_check_in_racing_the_inspection_on_postgresql_is_struck(harness):
    """李娜's turn (her person row locked, as the router does) checks in as in the village and
    has not committed when the supervisor's inspection strikes the day: the strike waits for
    her turn, then finds her check-in and strikes it — it is never left counted."""
    if harness.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the two turns cannot overlap there")
    await harness.import_roster(DEFAULT_ROSTER + SUPERVISOR)
    li, qian = await person_id(harness, "李娜"), await person_id(harness, "钱进")
    checked_in = asyncio.Event()
    release = asyncio.Event()

    async def her_turn() -> None:
        async with harness.db.write() as session:
            me = await people.by_id(session, person_id=li, lock=True)
            assert me is not None
            await checkins.check_in(session, person=me, day=SATURDAY, in_village=True,
                                    reason=None, now=NOW)
            checked_in.set()
            await release.wait()

    turn = asyncio.create_task(her_turn())
    await checked_in.wait()

    async def strike() -> list[int]:
        async with harness.db.write() as session:
            by = await people.by_id(session, person_id=qian)
            assert by is not None
            return await checkins.strike(session, person_ids=[li], day=SATURDAY, by=by, now=NOW)

    striking = asyncio.create_task(strike())
    await until_a_draw_waits(harness)  # a connection waits on a lock: the strike, on her row
    release.set()
    await turn
    assert await striking == [li]
    row = await checkin_of(harness, "李娜", SATURDAY)
    assert (row.in_village, row.reason) == (False, "inspected_away")
