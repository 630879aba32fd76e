"""Approved leave counted one way in every figure (storage.leave.excused): /stats, /laggards,
the team digest, /merit and the export say which days approved leave excused and count them as
present; declined leave changes nothing. And a county-level leader outside the village teams
pairs with a household and /pairs shows them against their quota."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from scheduler.reports import county_report, evening_digests
from scheduler.runs import Run
from storage import pairings
from storage.models import LeaveRequest, Pairing, Person, Summary, Village
from storage.scope import OutOfScope
from tests import test_leave
from tests.harness import texts
from tests.scheduling import local
from tests.test_export import fetch_workbook
from tests.test_leave import ask_leave, checked_in, person
from tests.test_report import fetch_report

# The same fixtures as /leave's tests: replies paced for tests, a workbook folder per test.
settings, exports = test_leave.settings, test_leave.exports

LAST_WEEK = dt.date(2026, 11, 23)  # the harness's week (today: Saturday 28 November)


async def _week_with_leave(harness, *, approve: bool) -> dict[str, object]:
    """新村's week of 23 November: 李娜 3 days in the village and leave for Saturday and
    Sunday asked in chat, decided by 张伟 in one tap; 王芳 2 days and leave for Thursday and
    Friday, decided the same way. Both summaries in, everyone seen today."""
    await harness.import_roster()
    users = {"张伟": await harness.register("13800138001", user_id=7201),
             "李娜": await harness.register("13800138002", user_id=7202),
             "王芳": await harness.register("13800138003", user_id=7203),
             "吴敏": await harness.register("13800138009", user_id=7209)}
    li, wang = await person(harness, "李娜"), await person(harness, "王芳")
    await checked_in(harness, li, [23, 24, 25])
    await checked_in(harness, wang, [23, 24])
    tap = "批准" if approve else "不批准"
    seen = len(harness.emu.sent_to(users["张伟"].id))
    await ask_leave(harness, users["李娜"], "今天", "明天", "家中老人住院", "提交")
    notice = (await harness.emu.wait_sent(users["张伟"].id, count=seen + 1))[-1]
    await harness.tap(users["张伟"], [notice], tap)
    now = harness.clock.now()
    async with harness.db.write() as session:  # asked on Wednesday, decided the same way
        session.add(LeaveRequest(
            person_id=wang.id, village_id=wang.village_id, township_id=wang.township_id,
            first_day=dt.date(2026, 11, 26), last_day=dt.date(2026, 11, 27), reason="培训",
            status="approved" if approve else "declined", requested_at=now, decided_at=now,
            decided_by=(await person(harness, "张伟")).id))
        for who in (li, wang):
            session.add(Summary(person_id=who.id, village_id=who.village_id,
                                week_start=LAST_WEEK, status="submitted",
                                figures={"days_in_village": 0}, submitted_at=now))
    return users


async def _seen_now(harness) -> None:
    async with harness.db.write() as session:
        for someone in (await session.execute(select(Person))).scalars():
            someone.last_seen_at = harness.clock.now()


async def _digest_of(harness, name: str) -> str:
    evening = local(2026, 11, 28, 21, 0)
    harness.at(evening)
    now = harness.clock.now()
    async with harness.db.write() as session:
        out = await evening_digests(Run(harness.ctx, session, now, now))
    leader = await person(harness, name)
    [digest] = [m for m in out if m.person_id == leader.id]
    return str(digest.payload["text"])


async def _excused_in_export(harness, user) -> object:
    await harness.send(user, "/export 上周")
    _name, book, _params = await fetch_workbook(harness, user)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row[0]}
    return summary["批准请假（人天，视同在村）"], summary["批准请假人数"]


async def _county_texts(harness, user) -> tuple[str, list[str]]:
    """Monday's report to the office (the scheduler's) and /report's Word draft of last week."""
    now = harness.clock.now()
    async with harness.db.write() as session:
        out = await county_report(Run(harness.ctx, session, now, now))
    office = await person(harness, "吴敏")
    [monday] = [m for m in out if m.person_id == office.id and m.method == "sendMessage"]
    await harness.send(user, "/report 上周")
    emu = harness.emu
    await emu.wait_for(lambda: [d for d in emu.documents
                                if d[0] == user.id and d[1].endswith(".docx")], within=30)
    _name, document, _params = await fetch_report(harness, user)
    return str(monday.payload["text"]), [p.text for p in document.paragraphs]


@pytest.mark.usefixtures("exports")
async def test_approved_leave_is_counted_as_present_in_every_figure(harness):
    users = await _week_with_leave(harness, approve=True)
    # Saturday evening: 李娜 is on approved leave, not missing a check-in.
    digest = await _digest_of(harness, "张伟")
    assert "批准请假：李娜" in digest.splitlines()
    assert "未签到：张伟、王芳" in digest.splitlines()

    harness.at(local(2026, 11, 30, 10, 0))  # Monday: last week is over
    await _seen_now(harness)
    reply = texts(await harness.send(users["张伟"], "/stats 上周"))[0]
    assert "批准请假：4 人天（2 人），视同在村计入达标" in reply
    assert "达标 1/3 人" in reply  # 李娜: 3 days + 2 excused reach 5; 王芳: 2 + 2 do not

    lines = texts(await harness.send(users["张伟"], "/laggards 上周"))[0].splitlines()
    assert "• 王芳（新村）：在村 2 天、批准请假 2 天" in lines
    assert not any(line.startswith("• 李娜") for line in lines)

    merit = texts(await harness.send(users["吴敏"], "/merit 县教育局 上周"))[0].splitlines()
    assert merit[1].startswith("1. 李娜：驻村 3 天，100% 的周次达到 5 天；")
    assert merit[1].endswith("；批准请假 2 天（视同在村）")
    assert merit[-1] == "经批准的请假天数视同在村，不计为未达标；待批或未批准的请假不予扣除。"

    assert await _excused_in_export(harness, users["吴敏"]) == (4, 2)
    monday, document = await _county_texts(harness, users["吴敏"])
    assert "全县批准请假：4 人天，视同在村计入达标" in monday.splitlines()
    assert ("本期经批准请假 4 人天（2 人），视同在村，已计入上述达标人数；待批或未批准的请假不计。"
            in document)


@pytest.mark.usefixtures("exports")
async def test_declined_leave_changes_no_figure(harness):
    users = await _week_with_leave(harness, approve=False)
    digest = await _digest_of(harness, "张伟")
    assert not any(line.startswith("批准请假") for line in digest.splitlines())
    assert "未签到：张伟、李娜、王芳" in digest.splitlines()

    harness.at(local(2026, 11, 30, 10, 0))
    await _seen_now(harness)
    reply = texts(await harness.send(users["张伟"], "/stats 上周"))[0]
    assert "批准请假" not in reply and "达标 0/3 人" in reply
    lines = texts(await harness.send(users["张伟"], "/laggards 上周"))[0].splitlines()
    assert "• 王芳（新村）：在村 2 天" in lines and "• 李娜（新村）：在村 3 天" in lines
    merit = texts(await harness.send(users["吴敏"], "/merit 县教育局 上周"))[0].splitlines()
    assert merit[1].startswith("1. 李娜：驻村 3 天，0% 的周次达到 5 天；")
    assert "批准请假 " not in merit[1]
    assert await _excused_in_export(harness, users["吴敏"]) == (0, 0)
    monday, document = await _county_texts(harness, users["吴敏"])
    assert "批准请假" not in monday
    assert ("本期经批准请假 0 人天（0 人），视同在村，已计入上述达标人数；待批或未批准的请假不计。"
            in document)


async def pair_outside(harness, user, township: str, village: str, household: str) -> list:
    """A person in no village team pairs by /pair in Chinese: the township and the village by
    buttons, the household typed (a new one joins the village's list), 提交. Every reply, in
    order."""
    replies = await harness.send(user, "/pair")
    said = list(replies)
    for label in (township, village):
        replies = await harness.tap(user, replies, label)
        said += replies
    replies = await harness.tap(user, await harness.send(user, household), "提交")
    return said + replies


async def test_a_county_leader_pairs_in_any_village_and_pairs_shows_the_quota(harness):
    """周杰 (leading group, county rank, no village) picks 古埠镇 → 古埠村 → a new household
    by buttons and typing; /pairs lists him at 1/3 among the leaders outside the teams. The
    save re-checks the village: a forged village outside a township leader's scope is refused."""
    await harness.import_roster()
    zhou = await harness.register("13800138008", user_id=7208, language_code="zh-hans")
    office = await harness.register("13800138009", user_id=7209, language_code="zh-hans")
    said = texts(await pair_outside(harness, zhou, "古埠镇", "古埠村", "刘大爷"))
    assert "您的结对帮扶户：0 户，按职级应结对 3 户（—）。" in said[0]
    asked = "\n".join(said)
    assert asked.index("请先选择结对户所在的乡镇") < asked.index("请选择结对户所在的村")
    assert "✅ 已与刘大爷结成帮扶对子。" in said[-1]
    async with harness.db.read() as session:
        [pairing] = (await session.execute(select(Pairing))).scalars().all()
        assert pairing.person_id == (await person(harness, "周杰")).id
    reply = texts(await harness.send(office, "/pairs"))[0]
    assert ("不驻村的县级领导（已结对户数/任务户数）：周杰（县级）1/3、孙丽（县级）0/3"
            in reply.splitlines())


async def test_pairing_outside_the_scope_is_refused_in_the_save(harness):
    """孙丽, 黄金埠镇's township leader in no village, cannot pair in 古埠村 even by a forged
    answer: pairings.pair re-checks the village against her scope and nothing is saved."""
    await harness.import_roster()
    sun = await person(harness, "孙丽")
    async with harness.db.read() as session:
        gubu = (await session.execute(select(Village).where(Village.name == "古埠村"))
                ).scalar_one()
        xin = (await session.execute(select(Village).where(Village.name == "新村"))
               ).scalar_one()
    async with harness.db.write() as session:
        with pytest.raises(OutOfScope):
            await pairings.pair(session, person=sun, now=harness.clock.now(),
                                village_id=gubu.id, household_name="某户")
        _household, created = await pairings.pair(
            session, person=sun, now=harness.clock.now(), village_id=xin.id,
            household_name="某户")
        assert created
    async with harness.db.read() as session:
        assert len((await session.execute(select(Pairing))).scalars().all()) == 1
