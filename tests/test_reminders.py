"""Reminders, warnings, escalations and the county report: who gets what, once, when."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage.models import Checkin, Dispute, ModelCase, OutboxMessage, Person, Publicity, Summary
from tests.scheduling import local, tick
from tests.test_schedules import bind_everyone, messages


async def people_by_name(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.name: p for p in (await session.execute(select(Person))).scalars()}


async def stay(harness, who: Person, days: list[dt.date], *, in_village: bool = True) -> None:
    now = harness.clock.now()
    async with harness.db.write() as session:
        for day in days:
            session.add(Checkin(person_id=who.id, village_id=who.village_id, day=day,
                                in_village=in_village, reason=None if in_village else "other",
                                created_at=now, updated_at=now))


async def test_a_cadre_who_must_stay_every_remaining_day_is_warned_a_lost_week_goes_up(
    harness,
):
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    monday = dt.date(2026, 11, 30)
    await tick(harness, local(2026, 12, 3, 12, 0))
    # Thursday evening, three days left (Fri, Sat, Sun).
    await stay(harness, people["李娜"], [monday, monday + dt.timedelta(days=1)])  # 2 + 3 = 5
    await stay(harness, people["王芳"], [monday])  # 1 + 3 = 4: lost
    await stay(harness, people["张伟"], [monday + dt.timedelta(days=i) for i in range(4)])
    await tick(harness, local(2026, 12, 3, 21, 0))
    assert [m for m in messages(harness, chats["李娜"]) if "This week" in m] == [
        "This week you have 2 days in the village so far. To reach 5, you must stay every "
        "remaining day (3 left)."]
    assert [m for m in messages(harness, chats["王芳"]) if "This week" in m] == []
    assert [m for m in messages(harness, chats["张伟"]) if "can no longer" in m] == [
        "王芳 (新村) can no longer reach 5 days in the village this week: 1 so far, 3 days left."]
    # A team leader's lost week goes to the township leader.
    township = messages(harness, chats["孙丽"])
    assert any(m.startswith("刘洋 (东岗村) can no longer") for m in township)
    before = {name: len(messages(harness, chat)) for name, chat in chats.items()}
    await tick(harness, local(2026, 12, 4, 21, 0))  # Friday: each warning once a week
    assert [m for m in messages(harness, chats["张伟"])[before["张伟"]:]
            if "王芳" in m and "can no longer" in m] == []


async def test_summary_reminder_before_the_deadline_then_the_missing_to_the_team_then_the_township(
    harness,
):
    chats = await bind_everyone(harness, language="zh")
    people = await people_by_name(harness)
    now = harness.clock.now()
    async with harness.db.write() as session:
        session.add(Summary(person_id=people["李娜"].id, week_start=dt.date(2026, 11, 30),
                            submitted_at=now))
    await tick(harness, local(2026, 12, 4, 9, 0))
    await tick(harness, local(2026, 12, 4, 14, 0))
    assert messages(harness, chats["王芳"]) == [
        "本周小结截止时间：12月4日（周五）17:00。发送 /summary，机器人会根据您的记录起草。"]
    assert messages(harness, chats["李娜"]) == []
    await tick(harness, local(2026, 12, 4, 17, 0))
    team = [m for m in messages(harness, chats["张伟"]) if "已过截止" in m]
    assert team == ["11月30日（周一）当周的周小结已过截止时间仍未提交：王芳"]
    assert [m for m in messages(harness, chats["孙丽"]) if "周小结" in m] == []
    await tick(harness, local(2026, 12, 5, 17, 0))
    [township] = [m for m in messages(harness, chats["孙丽"]) if "周小结" in m]
    assert township == ("11月30日（周一）当周的周小结截止一天后仍未提交：\n"
                        "东岗村：刘洋、陈静\n新村：张伟、王芳")


async def add_dispute(harness, who: Person, *, idle_days: int, flags: dict | None = None) -> int:
    now = harness.clock.now()
    async with harness.db.write() as session:
        dispute = Dispute(person_id=who.id, village_id=who.village_id,
                          township_id=who.township_id, category="land", parties="甲, 乙",
                          people_count=4, flags=flags or {}, description="", urgency="normal",
                          opened_on=dt.date(2026, 11, 25), created_at=now,
                          last_step_at=now - dt.timedelta(days=idle_days, minutes=1))
        session.add(dispute)
        await session.flush()
        return dispute.id


async def test_an_idle_dispute_reminds_its_cadre_then_climbs_and_a_beijing_petition_starts_higher(
    harness,
):
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    await tick(harness, local(2026, 12, 1, 9, 0))
    harness.at(local(2026, 12, 1, 9, 30))
    quiet = await add_dispute(harness, people["李娜"], idle_days=3)
    urgent = await add_dispute(harness, people["陈静"], idle_days=3, flags={"beijing": True})
    await tick(harness, local(2026, 12, 1, 10, 0))
    assert messages(harness, chats["李娜"]) == [
        f"Dispute #{quiet} (Rural land expropriation; 甲, 乙) has had no step for 3 days. "
        "Record mediation, a resolution or an escalation with /disputes."]
    assert messages(harness, chats["张伟"]) == []
    assert len(messages(harness, chats["陈静"])) == 1
    [to_leader] = messages(harness, chats["刘洋"])
    assert to_leader == (
        f"Overdue dispute #{urgent} in 东岗村: Rural land expropriation; 甲, 乙; 4 people; "
        "reported by 陈静; no step for 3 days.\nFlags: To Beijing")
    # Three days later the quiet one reaches the team leader; the urgent one the township.
    await tick(harness, local(2026, 12, 4, 10, 0))
    assert next(m for m in messages(harness, chats["张伟"]) if f"#{quiet}" in m).startswith(
        f"Overdue dispute #{quiet} in 新村")
    assert any(f"#{urgent}" in m for m in messages(harness, chats["孙丽"]))
    assert not any(f"#{quiet}" in m for m in messages(harness, chats["孙丽"]))
    await tick(harness, local(2026, 12, 7, 10, 0))
    await tick(harness, local(2026, 12, 10, 10, 0))
    assert sum(f"#{urgent}" in m for m in messages(harness, chats["吴敏"])) == 1
    assert sum(f"#{quiet}" in m for m in messages(harness, chats["吴敏"])) == 1


async def test_the_monday_county_report_reaches_the_county_with_a_chart(harness):
    chats = await bind_everyone(harness)
    people = await people_by_name(harness)
    week = [dt.date(2026, 11, 23) + dt.timedelta(days=i) for i in range(7)]
    await stay(harness, people["李娜"], week[:5])
    await stay(harness, people["王芳"], week[:4])
    # Sunday 23:59 in Shanghai (15:59 UTC) still belongs to the week.
    harness.at(local(2026, 11, 29, 23, 59))
    await stay(harness, people["王芳"], [week[6]])
    async with harness.db.write() as session:
        session.add(Summary(person_id=people["李娜"].id, week_start=week[0],
                            submitted_at=harness.clock.now()))
        session.add_all(_publicity_and_cases(people, week, harness.clock.now()))
    await tick(harness, local(2026, 11, 30, 7, 0))
    await tick(harness, local(2026, 11, 30, 8, 0))
    for name in ("吴敏", "周杰"):
        sent = harness.emu.sent_to(chats[name])
        assert [s.method for s in sent] == ["sendMessage", "sendPhoto"]
    report = messages(harness, chats["吴敏"])[0]
    assert "黄金埠镇: summaries 1/5 (20%) · in the village 2/5 (40%)" in report
    # the week's publicity (not the Saturday before it) and the cases featured in the week
    lines = report.splitlines()
    publicity = lines.index("Publicity: sessions 2, attended by 48 · slogans 5, boards 1")
    assert lines[publicity + 1:publicity + 5] == [
        "", "Model cases featured for publicity (2)", "· 夜校 — 新村, 李娜",
        "· 护林队 — 古埠村, 赵强"]
    assert messages(harness, chats["张伟"]) == [] or all(
        "County report" not in m for m in messages(harness, chats["张伟"]))


def _publicity_and_cases(
    people: dict[str, Person], week: list[dt.date], now: dt.datetime
) -> list[object]:
    li, zhao = people["李娜"], people["赵强"]

    def held(who: Person, day: dt.date, attendance: int, slogans: int) -> Publicity:
        return Publicity(person_id=who.id, village_id=who.village_id, day=day, kind="mass",
                         attendance=attendance, topics=[], slogans=slogans, boards=1 if
                         slogans else 0, created_at=now)

    def case(who: Person, title: str, status: str, decided: dt.date | None) -> ModelCase:
        return ModelCase(person_id=who.id, village_id=who.village_id, day=week[0],
                         kind="model", title=title, text="…", photos=[], status=status,
                         created_at=now, decided_on=decided,
                         decided_at=now if decided else None)

    return [held(li, week[1], 40, 5), held(zhao, week[6], 8, 0),
            held(li, week[0] - dt.timedelta(days=2), 99, 9),
            case(li, "夜校", "featured", week[2]), case(zhao, "护林队", "featured", week[6]),
            case(li, "set aside", "set_aside", week[3]), case(li, "waiting", "submitted", None),
            case(zhao, "last week's", "featured", week[0] - dt.timedelta(days=1))]


@pytest.mark.parametrize("today, expected", [
    (dt.date(2026, 12, 24), []),
    (dt.date(2026, 12, 25), ["new_year"]),
])
def test_holiday_window(today, expected):
    from common.clock import upcoming_holidays

    assert [name for name, _ in upcoming_holidays(today, within_days=7)] == expected


async def test_holiday_reminders_go_once_to_every_cadre_before_new_year_and_spring_festival(
    harness,
):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 25, 8, 0))
    await tick(harness, local(2026, 12, 25, 9, 0))
    await tick(harness, local(2026, 12, 26, 9, 0))
    reminders = [m for m in messages(harness, chats["王芳"]) if "condolence" in m]
    assert reminders == [
        "New Year's Day is on Fri 1 Jan 2027. Plan condolence visits to your paired households "
        "(0 of 1 paired), at least ¥200 each, and record them with /aid."]
    assert [m for m in messages(harness, chats["吴敏"]) if "condolence" in m] == []
    await tick(harness, local(2027, 1, 30, 9, 0))
    assert any("Spring Festival is on Sat 6 Feb." in m for m in messages(harness, chats["王芳"]))


async def test_reminders_survive_telegram_answering_429_and_502_and_arrive_once(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 7, 0))
    harness.emu.fail_rate(status=502, fraction=0.3)
    harness.emu.rate_limit(global_per_sec=2, per_chat_per_sec=1)
    await tick(harness, local(2026, 12, 1, 8, 0))
    for minute in range(1, 40):
        await tick(harness, local(2026, 12, 1, 8, minute))
    harness.emu.no_rate_limit()
    harness.emu.fail_rate(status=502, fraction=0.0)
    for minute in range(40, 50):
        await tick(harness, local(2026, 12, 1, 8, minute))
    for name in ("张伟", "李娜", "王芳", "刘洋", "陈静"):
        assert [m for m in messages(harness, chats[name]) if m.startswith("Good morning")] == [
            "Good morning. You have not checked in today: send /checkin "
            "(one tap if you are in the village)."], name
    async with harness.db.read() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert set(statuses) == {"sent"}


async def test_telegram_unreachable_for_an_hour_holds_every_digest_and_delivers_each_once(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 19, 0))
    harness.emu.down()  # every connection refused from 19:30 to 20:55
    for minute in range(30, 60, 5):
        await tick(harness, local(2026, 12, 1, 19, minute))
    for minute in range(0, 60, 5):
        ran = await tick(harness, local(2026, 12, 1, 20, minute))
        if minute == 0:
            assert ran["evening_digest"] == 3  # queued on time, though nothing can go out
    assert all(harness.emu.sent_to(chat) == [] for chat in chats.values())
    async with harness.db.read() as session:
        held = (await session.execute(select(OutboxMessage.status, OutboxMessage.attempts).where(
            OutboxMessage.kind == "digest"))).all()
    assert len(held) == 3 and {status for status, _ in held} == {"pending"}
    assert min(attempts for _, attempts in held) >= 3  # tried again and again, with backoff
    harness.emu.up()
    for minute in range(0, 15, 5):
        await tick(harness, local(2026, 12, 1, 21, minute))
    for name in ("张伟", "刘洋", "孙丽"):
        assert len([m for m in messages(harness, chats[name]) if "digest" in m]) == 1, name
    async with harness.db.read() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert set(statuses) == {"sent"}
