"""The campaign calendar: nothing reminded or accepted outside CAMPAIGN_START..CAMPAIGN_END,
one rule for the days a week asks (part weeks, public holidays), the same everywhere."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from storage.calendar import CampaignCalendar, public_holiday
from storage.models import Checkin, Person
from tests.scheduling import local, tick
from tests.test_export import sheet_rows
from tests.test_reminders import people_by_name, stay
from tests.test_schedules import bind_everyone, messages

START, END = dt.date(2026, 11, 25), dt.date(2027, 2, 17)  # a Wednesday and a Wednesday
CHECKIN_REMINDER = "You have not checked in today"


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def workbook(harness, user):
    """The workbook the export sends (the charts of /stats are documents too)."""
    found = await harness.emu.wait_for(lambda: [
        d for d in harness.emu.documents if d[0] == user.id and d[1].endswith(".xlsx")],
        within=20)
    return load_workbook(BytesIO(found[-1][2]))


def days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(count)]


def test_the_rule_asks_proportionally_fewer_days_of_part_weeks_and_holiday_weeks():
    calendar = CampaignCalendar(START, END, 5)
    assert calendar.required_days(dt.date(2026, 11, 23)) == 4  # Wed–Sun: ceil(5 × 5 / 7)
    assert calendar.required_days(dt.date(2026, 11, 30)) == 5
    assert calendar.required_days(dt.date(2027, 2, 15)) == 3  # Mon–Wed: ceil(5 × 3 / 7)
    assert calendar.required_days(dt.date(2027, 2, 22)) == 0  # after the end
    # A period cut inside a week counts only its own days (today alone: 1).
    assert calendar.required_days(dt.date(2026, 11, 30), end=dt.date(2026, 11, 30)) == 1
    # National Day 2026 from chinese_calendar: Thu 1 – Wed 7 October off; Sat 10 worked.
    october = CampaignCalendar(dt.date(2026, 9, 1), dt.date(2026, 12, 31), 5)
    assert public_holiday(dt.date(2026, 10, 1)) and not public_holiday(dt.date(2026, 10, 10))
    assert not public_holiday(dt.date(2026, 11, 28))  # an ordinary Saturday is no holiday
    assert october.required_days(dt.date(2026, 9, 28)) == 3  # Mon–Wed count: ceil(5 × 3 / 7)
    assert october.required_days(dt.date(2026, 10, 5)) == 3  # Thu–Sun count, Sat worked
    assert october.required_days(dt.date(2026, 10, 12)) == 5
    counted = CampaignCalendar(dt.date(2026, 9, 1), dt.date(2026, 12, 31), 5,
                               holidays_count_as_workdays=True)
    assert counted.required_days(dt.date(2026, 9, 28)) == 5
    # New Year's Day 2027 (Fri 1 – Sun 3 January), from the county's list whether or not the
    # installed library knows 2027 yet: 4 days count.
    new_year = frozenset(days(dt.date(2027, 1, 1), 3))
    listed = CampaignCalendar(START, END, 5, extra_holidays=new_year)
    assert listed.required_days(dt.date(2026, 12, 28)) == 3
    assert october.required_days(dt.date(2026, 9, 21)) == 3  # Mid-Autumn: Fri–Sun off
    # One holiday alone in a week does not lower it: ceil(5 × 6 / 7) is still 5.
    one = CampaignCalendar(START, END, 5, extra_holidays=frozenset([dt.date(2026, 12, 2)]))
    assert one.required_days(dt.date(2026, 11, 30)) == 5


async def test_no_reminder_digest_or_check_goes_out_before_the_start_or_after_the_end(harness):
    harness.ctx.settings = harness.ctx.settings.model_copy(update={"campaign_start": START})
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 11, 24, 7, 0))  # the day before the start
    for hour in (8, 9, 10, 20, 21):  # check-in reminder, problems, disputes, digest, attendance
        await tick(harness, local(2026, 11, 24, hour, 0))
    assert {name: messages(harness, chat) for name, chat in chats.items()} == {
        name: [] for name in chats}
    await tick(harness, local(2026, 11, 25, 8, 0))  # the first day: reminded
    assert [m for m in messages(harness, chats["李娜"]) if CHECKIN_REMINDER in m] == [
        "Good morning. You have not checked in today: send /checkin (one tap if you are in the "
        "village)."]
    await tick(harness, local(2027, 2, 17, 7, 0))
    await tick(harness, local(2027, 2, 17, 8, 0))  # the last day: reminded
    assert len([m for m in messages(harness, chats["李娜"]) if CHECKIN_REMINDER in m]) == 2
    await tick(harness, local(2027, 2, 17, 21, 0))  # the last day's digest and check
    before = {name: len(messages(harness, chat)) for name, chat in chats.items()}
    for hour in (8, 9, 10, 20, 21):
        await tick(harness, local(2027, 2, 18, hour, 0))  # the day after the end
    assert {name: messages(harness, chat)[before[name]:] for name, chat in chats.items()} == {
        name: [] for name in chats}
    # The Monday after the end reports the campaign's last part week, and only that.
    await tick(harness, local(2027, 2, 22, 8, 0))
    office = messages(harness, chats["吴敏"])[before["吴敏"]:]
    assert [m.splitlines()[0] for m in office] == ["County report · week 15 – 21 Feb"]
    await tick(harness, local(2027, 3, 1, 8, 0))
    assert len(messages(harness, chats["吴敏"])) == before["吴敏"] + 1


async def _checkin_rows(harness) -> list[Checkin]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Checkin))).scalars())


async def test_a_checkin_before_the_start_or_after_the_end_is_refused_in_chinese_and_english(
    harness,
):
    harness.ctx.settings = harness.ctx.settings.model_copy(update={"campaign_start": START})
    await harness.import_roster()
    harness.at(local(2026, 11, 24, 9, 0))
    zh = await harness.register("13800138002", user_id=6101, language_code="zh-hans")
    en = await harness.register("13800138003", user_id=6102, language_code="en")
    [reply] = await harness.send(zh, "/checkin")
    assert reply.plain_text == "活动11月25日（周三）开始，从那天起每天签到。今天不用签到。"
    [reply] = await harness.send(en, "/checkin")
    assert reply.plain_text == (
        "The campaign starts on Wed 25 Nov; check in every day from then on. "
        "There is no check-in today.")
    harness.at(local(2027, 2, 17, 9, 0))  # the last day: accepted
    prompt = (await harness.send(en, "/checkin"))[0]
    assert "Wed 17 Feb" in prompt.plain_text
    harness.at(local(2027, 2, 18, 9, 0))
    [reply] = await harness.send(zh, "/checkin")
    assert reply.plain_text == (
        "活动已于2月17日（周三）结束，不再签到。您在活动期间的驻村天数可用 /me 查看。")
    # Yesterday's button, pressed today, is refused the same way.
    [reply] = await harness.press(en, "ci:v", message_id=prompt.message_id)
    assert reply.plain_text == (
        "The campaign ended on Wed 17 Feb; there are no more check-ins. "
        "Your days in the village during the campaign are in /me.")
    assert await _checkin_rows(harness) == []
    # A weekly summary of a week wholly after the end is refused too; a typed visit day as well.
    harness.at(local(2027, 2, 22, 9, 0))
    [reply] = await harness.send(zh, "/summary")
    assert reply.plain_text == "活动已于2月17日（周三）结束，这一周不在活动期间，不用写周小结。"
    harness.at(local(2026, 11, 22, 9, 0))  # Sunday: a week wholly before the start
    [reply] = await harness.send(en, "/summary")
    assert reply.plain_text == (
        "The campaign starts on Wed 25 Nov; this week is not part of it, so it has no weekly "
        "summary.")


async def test_a_record_dated_after_the_end_is_refused_and_the_day_not_offered(harness):
    """The day of a publicity session (as of a visit: the same question) after the end."""
    await harness.import_roster()
    harness.at(local(2027, 2, 18, 9, 0))
    en = await harness.register("13800138003", user_id=6102, language_code="en")
    first = await harness.send(en, "/publicity")
    asked = await harness.tap(en, first, position=0)
    labels = [label for s in asked for row in s.buttons for label, _ in row]
    assert not any("Thu 18 Feb" in label for label in labels)
    assert any("Wed 17 Feb" in label for label in labels)
    replies = await harness.send(en, "2-18")
    assert replies[0].plain_text.startswith(
        "That day is after the campaign ended on Wed 17 Feb. Please send a day of the campaign "
        "(Mon 23 Nov 2026 to Wed 17 Feb)")


async def test_the_first_part_week_is_judged_by_the_same_days_everywhere(harness, exports):
    """Wednesday 25 November to Sunday: 5 campaign days ask 4, in the evening check, /stats,
    /laggards, the county report and the export alike (it was 5 in the evening check, 4 in
    /stats)."""
    harness.ctx.settings = harness.ctx.settings.model_copy(update={"campaign_start": START})
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    await tick(harness, local(2026, 11, 28, 12, 0))
    await stay(harness, people["李娜"], days(START, 4))  # Wed–Sat: 4, meets the week
    await stay(harness, people["王芳"], days(START, 3))  # Wed–Fri: 3, must stay Sunday
    await tick(harness, local(2026, 11, 28, 21, 0))  # Saturday evening, Sunday left
    assert [m for m in messages(harness, chats["王芳"]) if "This week" in m] == [
        "This week you have 3 days in the village so far. To reach 4, you must stay every "
        "remaining day (1 left)."]
    assert [m for m in messages(harness, chats["李娜"]) if "This week" in m] == []
    await tick(harness, local(2026, 11, 29, 21, 0))  # Sunday: 王芳's week is lost
    assert [m for m in messages(harness, chats["张伟"]) if "can no longer" in m] == [
        "王芳 (新村) can no longer reach 4 days in the village this week: 3 so far, 0 days left."]
    await tick(harness, local(2026, 11, 30, 8, 0))  # Monday: the county report
    [report] = [m for m in messages(harness, chats["吴敏"]) if m.startswith("County report")]
    assert "cadres with at least 4 days in the village" in report
    assert "黄金埠镇: summaries 0/5 (0%) · in the village 1/5 (20%)" in report
    leader = harness.emu.user(chats["张伟"], first_name="张伟", language_code="en")
    [laggards] = [r.plain_text for r in await harness.send(leader, "/laggards last week")]
    assert "Fewer than 4 days in the village" in laggards
    assert "• 王芳 (新村): 3 days in the village" in laggards
    assert "• 李娜 (新村): no weekly summary" in laggards  # her days are enough
    office = harness.emu.user(chats["吴敏"], first_name="吴敏", language_code="en")
    replies = await harness.send(office, "/stats last week")
    [stats] = [r.plain_text for r in replies if r.method == "sendMessage"]
    assert ("Week of Mon 23 Nov (4 needed: the campaign's first or last days, or public "
            "holidays): 1 of 6 cadres") in stats
    # Check-ins are expected of the campaign's days only: 6 cadres × 5 days.
    assert "Check-ins: 7 of 30 cadre-days" in stats
    await harness.send(office, "/export last week")
    book = await workbook(harness, office)
    summary = dict(row[:2] for row in sheet_rows(book, "Summary") if row and row[0])
    assert summary["Week of Mon 23 Nov: 4 days asked; cadres who met them, of 6"] == 1


async def test_a_holiday_week_asks_fewer_days_and_has_no_morning_reminder(harness):
    """National Day 2026 (Thursday 1 – Wednesday 7 October), from chinese_calendar."""
    harness.ctx.settings = harness.ctx.settings.model_copy(
        update={"campaign_start": dt.date(2026, 9, 1)})
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    await tick(harness, local(2026, 9, 30, 7, 0))
    await tick(harness, local(2026, 9, 30, 8, 0))  # Wednesday: an ordinary day, reminded
    assert len([m for m in messages(harness, chats["李娜"]) if CHECKIN_REMINDER in m]) == 1
    await tick(harness, local(2026, 10, 1, 8, 0))  # National Day: no reminder
    assert len([m for m in messages(harness, chats["李娜"]) if CHECKIN_REMINDER in m]) == 1
    # Week of 28 September: Mon–Wed count, so 3 are asked; 王芳 stayed 2 with Sunday left.
    await stay(harness, people["王芳"], days(dt.date(2026, 9, 28), 2))
    await stay(harness, people["李娜"], days(dt.date(2026, 9, 28), 3))
    await tick(harness, local(2026, 10, 3, 21, 0))  # Saturday evening
    assert [m for m in messages(harness, chats["王芳"]) if "This week" in m] == [
        "This week you have 2 days in the village so far. To reach 3, you must stay every "
        "remaining day (1 left)."]
    assert [m for m in messages(harness, chats["李娜"]) if "This week" in m] == []


async def test_a_county_that_counts_holidays_as_workdays_reminds_and_asks_the_whole_week(
    harness,
):
    harness.ctx.settings = harness.ctx.settings.model_copy(
        update={"campaign_start": dt.date(2026, 9, 1), "holidays_count_as_workdays": True})
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    await tick(harness, local(2026, 10, 1, 7, 0))
    await tick(harness, local(2026, 10, 1, 8, 0))
    assert len([m for m in messages(harness, chats["李娜"]) if CHECKIN_REMINDER in m]) == 1
    await stay(harness, people["王芳"], days(dt.date(2026, 9, 28), 4))
    await tick(harness, local(2026, 10, 3, 21, 0))
    assert [m for m in messages(harness, chats["王芳"]) if "This week" in m] == [
        "This week you have 4 days in the village so far. To reach 5, you must stay every "
        "remaining day (1 left)."]


async def test_english_speakers_are_told_in_english_while_others_read_chinese(harness):
    """The evening check's words follow each person's language, with the week's own days."""
    harness.ctx.settings = harness.ctx.settings.model_copy(update={"campaign_start": START})
    chats = await bind_everyone(harness, language="zh")
    people = await people_by_name(harness)
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "王芳")
                              .values(telegram_language="en"))
    await tick(harness, local(2026, 11, 28, 12, 0))
    await stay(harness, people["李娜"], days(START, 3))
    await stay(harness, people["王芳"], days(START, 3))
    await tick(harness, local(2026, 11, 28, 21, 0))
    assert [m for m in messages(harness, chats["李娜"]) if "本周" in m] == [
        "本周您已驻村 3 天。要达到 4 天，剩余 1 天须全部在村。"]
    assert [m for m in messages(harness, chats["王芳"]) if "This week" in m] == [
        "This week you have 3 days in the village so far. To reach 4, you must stay every "
        "remaining day (1 left)."]
