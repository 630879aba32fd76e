"""/leave transcripts: a request goes to the one above with 批准 / 不批准, the asker hears the
decision, only approved leave excuses days (in /summary, /me and the evening check), and
nobody else — nor the asker — decides it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from scheduler.plans import attendance_warnings
from scheduler.runs import Run
from storage.models import AuditEntry, Checkin, LeaveRequest, Person, Summary
from tests.emulator import Sent
from tests.harness import texts
from tests.scheduling import local
from tests.test_export import by_header, fetch_workbook

SATURDAY = dt.date(2026, 11, 28)  # the harness's today


@pytest.fixture
def settings(settings):
    """Replies paced for tests: the emulator does not rate-limit, and 1/s per chat is slow."""
    return settings.model_copy(update={"outbox_per_chat_per_second": 50.0})


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def person(harness, name: str) -> Person:
    async with harness.db.read() as session:
        return (await session.execute(select(Person).where(Person.name == name))).scalar_one()


async def requests(harness) -> list[LeaveRequest]:
    async with harness.db.read() as session:
        return list((await session.execute(
            select(LeaveRequest).order_by(LeaveRequest.id))).scalars())


async def checked_in(harness, who: Person, days: list[int]) -> None:
    """Days in the village this week (November)."""
    now = harness.clock.now()
    async with harness.db.write() as session:
        for day in days:
            session.add(Checkin(person_id=who.id, village_id=who.village_id, in_village=True,
                                day=dt.date(2026, 11, day), created_at=now, updated_at=now))


async def ask_leave(harness, user, first: str, last: str, reason: str, save: str) -> list[Sent]:
    for answer in ("/leave", first, last):
        await harness.send(user, answer)
    replies = await harness.send(user, reason)
    return await harness.tap(user, replies, save)


async def test_approved_leave_is_told_and_excuses_its_days_in_the_week(harness):
    """In Chinese: 李娜 asks for Saturday and Sunday; 张伟 gets it at once with 批准 / 不批准 and
    approves in one tap; she is told; a second tap answers once; her week counts the two
    days as excused and says which; the audit log has the request and the decision."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=7101)
    user = await harness.register("13800138002", user_id=7102)
    cadre, leader = await person(harness, "李娜"), await person(harness, "张伟")
    await checked_in(harness, cadre, [23, 24, 25])
    welcome = len(harness.emu.sent_to(leader_user.id))
    replies = await harness.send(user, "/leave")
    assert "原则上不得请假" not in replies[-1].plain_text  # the rule is on the confirm card
    await harness.send(user, "今天")
    await harness.send(user, "明天")
    replies = await harness.send(user, "家中老人住院")
    confirm = replies[-1].plain_text
    assert "原则上不得请假" in confirm and "开始日期：11月28日（周六）" in confirm
    assert "结束日期：11月29日（周日）" in confirm and "事由：家中老人住院" in confirm
    replies = await harness.tap(user, replies, "提交")
    assert texts(replies)[-1] == ("📨 请假申请（11月28日—11月29日）已送张伟审核。"
                                  "批准前不算请假，仍须按时驻村签到。")
    [row] = await requests(harness)
    assert (row.status, row.first_day, row.last_day) == ("pending", SATURDAY,
                                                           dt.date(2026, 11, 29))
    notice = (await harness.emu.wait_sent(leader_user.id, count=welcome + 1))[-1]
    assert notice.plain_text.splitlines() == [
        "🗓 李娜申请请假：11月28日—11月29日，共 2 天，请审核。", "事由：家中老人住院"]
    assert [label for r in notice.buttons for label, _ in r] == ["批准", "不批准"]

    # Pending leave excuses nothing yet: the week is short by the records.
    replies = await harness.send(user, "/summary")
    assert "本周在村 3 天，少于规定的 5 天" in replies[-1].plain_text
    await harness.send(user, "/cancel")

    seen = len(harness.emu.sent_to(user.id))
    replies = await harness.tap(leader_user, [notice], "批准")
    assert texts(replies)[-1] == "✅ 已批准李娜请假（11月28日—11月29日）。已通知李娜。"
    assert any(r.method == "editMessageReplyMarkup" for r in replies)  # the buttons are spent
    told = (await harness.emu.wait_sent(user.id, count=seen + 1))[-1]
    assert told.plain_text == "✅ 您的请假申请（11月28日—11月29日）已由张伟批准。"
    again = await harness.tap(leader_user, [notice], "不批准")
    assert not texts(again)  # answered once, on the button: nothing changes
    [row] = await requests(harness)
    assert (row.status, row.decided_by) == ("approved", leader.id)
    team = texts(await harness.send(leader_user, "/team"))[-1].splitlines()
    assert team[team.index(next(t for t in team if t.startswith("李娜："))) + 1] == (
        "　└ 批准请假：2 天（11月28日（周六）、11月29日（周日）），计入驻村要求")

    # The week: 3 days in the village and 2 excused reach the 5 required; no reason asked.
    replies = await harness.send(user, "/summary")
    assert "本周主要工作成效" in replies[-1].plain_text
    replies = await harness.send(user, "走访")
    replies = await harness.send(user, "无")
    replies = await harness.send(user, "继续")
    assert ("批准请假：2 天（11月28日（周六）、11月29日（周日）），计入驻村要求"
            in replies[-1].plain_text)
    assert "驻村天数：3" in replies[-1].plain_text
    await harness.tap(user, replies, "提交")
    me = texts(await harness.send(user, "/me"))[-1]
    assert "批准请假：1 天（11月28日（周六））" in me and "驻村天数：3" in me  # the week so far
    async with harness.db.read() as session:
        audit = [(a.action, a.field, a.old_value, a.new_value, a.actor_id) for a in (
            await session.execute(select(AuditEntry).where(AuditEntry.entity == "leave")
                                  .order_by(AuditEntry.id))).scalars()]
    assert audit == [("request", "status", None, "pending", cadre.id),
                     ("approve", "status", "pending", "approved", leader.id)]


async def test_declined_leave_excuses_nothing_and_the_asker_is_told(harness):
    """In English: 张伟 declines; 李娜 hears it; her week is short and asks the reason."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=7111, language_code="en")
    user = await harness.register("13800138002", user_id=7112, language_code="en")
    await checked_in(harness, await person(harness, "李娜"), [23, 24, 25])
    welcome = len(harness.emu.sent_to(leader_user.id))
    replies = await ask_leave(harness, user, "today", "tomorrow", "Family", "Save")
    assert texts(replies)[-1].startswith("📨 Your leave request (28 – 29 Nov) went to 张伟")
    notice = (await harness.emu.wait_sent(leader_user.id, count=welcome + 1))[-1]
    assert notice.plain_text.startswith("🗓 李娜 asks for leave: 28 – 29 Nov, days: 2.")
    seen = len(harness.emu.sent_to(user.id))
    replies = await harness.tap(leader_user, [notice], "Decline")
    assert texts(replies)[-1] == "Declined 李娜's leave (28 – 29 Nov). 李娜 has been told."
    told = (await harness.emu.wait_sent(user.id, count=seen + 1))[-1]
    assert "was declined by 张伟" in told.plain_text
    [row] = await requests(harness)
    assert row.status == "declined"
    replies = await harness.send(user, "/summary")
    assert "this week: 3, fewer than the 5 required" in replies[-1].plain_text


async def test_a_team_leaders_leave_goes_to_the_township_leader_and_nobody_decides_their_own(
    harness
):
    """张伟's own leave goes to 孙丽, not to himself; another village's team leader, a cadre
    and 张伟 himself cannot decide it, even with the button's data."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=7121, language_code="en")
    cadre_user = await harness.register("13800138002", user_id=7122, language_code="en")
    other = await harness.register("13800138004", user_id=7123, language_code="en")
    township = await harness.register("13800138007", user_id=7124, language_code="en")
    welcome = len(harness.emu.sent_to(township.id))
    replies = await ask_leave(harness, leader_user, "12-1", "12-3", "Training", "Save")
    assert "went to 孙丽" in texts(replies)[-1]
    [row] = await requests(harness)
    for who in (leader_user, other, cadre_user):
        last = harness.emu.sent_to(who.id)[-1].message_id
        assert not texts(await harness.press(who, f"lv:a:{row.id}", message_id=last))
    [row] = await requests(harness)
    assert row.status == "pending"
    notice = (await harness.emu.wait_sent(township.id, count=welcome + 1))[-1]
    await harness.tap(township, [notice], "Approve")
    [row] = await requests(harness)
    assert row.status == "approved"


async def test_a_leader_moved_away_before_tapping_cannot_decide(harness):
    """Authority is checked again when the button is pressed: 张伟, no longer 新村's team
    leader, finds the request is not his."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=7131, language_code="en")
    user = await harness.register("13800138002", user_id=7132, language_code="en")
    welcome = len(harness.emu.sent_to(leader_user.id))
    await ask_leave(harness, user, "tomorrow", "tomorrow", "Exam", "Save")
    notice = (await harness.emu.wait_sent(leader_user.id, count=welcome + 1))[-1]
    async with harness.db.write() as session:
        zhang = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        zhang.role, zhang.authority_changed_at = "cadre", harness.clock.now()
    replies = await harness.tap(leader_user, [notice], "Approve")
    assert [r for r in replies if r.method == "sendMessage"] == []  # refused on the button
    [row] = await requests(harness)
    assert row.status == "pending"


async def test_a_request_runs_forward_from_today_and_within_a_month(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=7141, language_code="en")
    await harness.send(user, "/leave")
    replies = await harness.send(user, "yesterday")
    assert "That day has passed" in replies[-1].plain_text
    await harness.send(user, "12-5")
    replies = await harness.send(user, "12-3")
    assert "cannot be before the first (Sat 5 Dec)" in replies[-1].plain_text
    replies = await harness.send(user, "2027-01-20")
    assert "at most 31 days" in replies[-1].plain_text
    assert await requests(harness) == []


async def test_the_evening_check_counts_approved_leave_as_present_and_says_which_days(harness):
    """Thursday evening, 2 days in the village. With only Friday on approved leave (Saturday
    and Sunday still waiting), 李娜 must stay Saturday and Sunday, and the warning names the
    excused Friday; once the weekend is approved too, 2 + 3 reach 5 and nothing is said."""
    await harness.import_roster()
    await harness.register("13800138002", user_id=7151, language_code="en")
    cadre = await person(harness, "李娜")
    thursday = local(2026, 12, 3, 20, 0)
    harness.at(thursday)
    now = harness.clock.now()
    async with harness.db.write() as session:
        for day in (1, 2):
            session.add(Checkin(person_id=cadre.id, village_id=cadre.village_id, in_village=True,
                                day=dt.date(2026, 12, day), created_at=now, updated_at=now))
        session.add(LeaveRequest(person_id=cadre.id, village_id=cadre.village_id,
                                 township_id=cadre.township_id, first_day=dt.date(2026, 12, 4),
                                 last_day=dt.date(2026, 12, 4), reason="r", status="approved",
                                 requested_at=now))
        session.add(LeaveRequest(person_id=cadre.id, village_id=cadre.village_id,
                                 township_id=cadre.township_id, first_day=dt.date(2026, 12, 5),
                                 last_day=dt.date(2026, 12, 6), reason="r", status="pending",
                                 requested_at=now))
    async with harness.db.write() as session:
        out = await attendance_warnings(Run(harness.ctx, session, now, now))
    [warning] = [m for m in out if m.person_id == cadre.id]
    assert warning.payload["text"].splitlines() == [
        "This week you have 2 days in the village so far. To reach 5, you must stay every "
        "remaining day (2 left).",
        "Approved leave, counted towards the days required (1): Fri 4 Dec"]
    async with harness.db.write() as session:
        pending = (await session.execute(select(LeaveRequest).where(
            LeaveRequest.status == "pending"))).scalar_one()
        pending.status = "approved"
    async with harness.db.write() as session:
        out = await attendance_warnings(Run(harness.ctx, session, now, now))
    assert [m for m in out if m.person_id == cadre.id] == []


async def test_the_office_sees_every_request_and_decision_in_the_export(harness, exports):
    """The office's /export has a 请假 sheet with every request in the period (approved,
    declined, waiting) and the audit sheet names each step; a team leader's has only their
    village's."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=7161)
    user = await harness.register("13800138002", user_id=7162)
    other = await harness.register("13800138005", user_id=7163)  # 陈静, 东岗村
    office = await harness.register("13800138009", user_id=7164)
    welcome = len(harness.emu.sent_to(leader_user.id))
    await ask_leave(harness, user, "今天", "今天", "看病", "提交")
    notice = (await harness.emu.wait_sent(leader_user.id, count=welcome + 1))[-1]
    await harness.tap(leader_user, [notice], "不批准")
    await ask_leave(harness, other, "今天", "明天", "培训", "提交")
    cadre = await person(harness, "李娜")
    async with harness.db.write() as session:  # a summary whose week had a day excused
        session.add(Summary(person_id=cadre.id, village_id=cadre.village_id,
                            week_start=dt.date(2026, 11, 23), status="submitted",
                            figures={"days_in_village": 4, "excused_days": ["2026-11-27"]},
                            submitted_at=harness.clock.now()))
    await harness.send(office, "/export")
    _name, book, _params = await fetch_workbook(harness, office)
    rows = by_header(book, "请假")
    assert [(r["干部"], r["村"], r["事由"], r["审核结果"], r["审核人"]) for r in rows] == [
        ("李娜", "新村", "看病", "未批准", "张伟"), ("陈静", "东岗村", "培训", "待审核", None)]
    audit = [(r["对象"], r["操作"]) for r in by_header(book, "操作日志")
             if str(r["对象"]).startswith("请假申请")]
    assert audit == [("请假申请 #1", "申请"), ("请假申请 #1", "不批准"), ("请假申请 #2", "申请")]
    [summary] = by_header(book, "周小结")
    assert "批准请假：11月27日" in summary["本周数据"]
    await harness.send(leader_user, "/export")
    _name, book, _params = await fetch_workbook(harness, leader_user)
    assert [r["干部"] for r in by_header(book, "请假")] == ["李娜"]
