"""/publicity through the emulator: a session recorded, checked, and counted in the figures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import Dialog, Person, Publicity
from tests.harness import texts
from tests.test_visits import button

TODAY = dt.date(2026, 11, 28)  # the harness's clock: Saturday


async def _cadre(harness, language="en", user_id=6301):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=user_id, language_code=language)


async def _person(harness, phone="13800138002") -> Person:
    async with harness.db.read() as session:
        found = await session.execute(select(Person).where(Person.phone.like(f"%{phone}")))
        return found.scalar_one()


async def _sessions(harness) -> list[Publicity]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Publicity).order_by(Publicity.id))).scalars())


async def _record(harness, user, *, kind="mass", day=None, people="35", slogans="5",
                  boards="0"):
    """A session without an "other" topic, quickly; returns the save's replies."""
    replies = await harness.send(user, "/publicity")
    replies = await harness.press(user, button(replies, f":{kind}"))
    replies = await harness.press(user, button(replies, f":{(day or TODAY).isoformat()}"))
    replies = await harness.send(user, people)
    replies = await harness.press(user, button(replies, ":resident_pension"))
    replies = await harness.press(user, button(replies, ":d:3"))
    await harness.send(user, slogans)
    replies = await harness.send(user, boards)
    return await harness.press(user, button(replies, ":ok"))


async def test_a_mass_meeting_is_recorded_with_its_topics_in_english(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/publicity")
    assert "What kind of publicity session" in replies[0].plain_text
    assert [label for row in replies[0].buttons for label, _ in row] == [
        "Mobilisation meeting", "Party members' meeting", "Mass meeting",
        "Door-to-door preaching"]
    replies = await harness.press(user, button(replies, ":mass"))
    assert "When was it held" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":2026-11-27"))
    assert "How many people attended" in replies[-1].plain_text
    replies = await harness.send(user, "３５")  # full-width digits
    assert "Which topics" in replies[-1].plain_text
    labels = [label for row in replies[-1].buttons for label, _ in row]
    assert labels[:3] == ["The Fourth Plenary Session of the 20th Central Committee",
                          "Residents' medical insurance", "Residents' pension insurance"]
    assert labels[-2:] == ["Other", "Done ✔"]
    replies = await harness.press(user, button(replies, ":medical_insurance"))
    replies = await harness.press(user, button(replies, ":other"))
    assert "✓ Other" in [label for row in replies[-1].buttons for label, _ in row]
    replies = await harness.press(user, button(replies, ":d:3"))
    assert "Which other topic" in replies[-1].plain_text
    replies = await harness.send(user, "Forest-fire prevention")
    assert "slogans" in replies[-1].plain_text
    replies = await harness.send(user, "五")  # a Chinese numeral
    assert "boards" in replies[-1].plain_text
    replies = await harness.send(user, "1")
    confirm = replies[-1].plain_text
    assert confirm.splitlines()[1:8] == [
        "Kind: Mass meeting", "Date: Yesterday · Fri 27 Nov", "Attendance: 35",
        "Topics: Residents' medical insurance、Other", "Other topic: Forest-fire prevention",
        "Slogans posted: 5", "Boards set up: 1"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert "✅ Publicity recorded: Mass meeting, Fri 27 Nov, 35 people." in texts(replies)
    [held] = await _sessions(harness)
    person = await _person(harness)
    assert (held.person_id, held.village_id, held.township_id, held.unit_id) == (
        person.id, person.village_id, person.township_id, person.unit_id)
    assert (held.kind, held.day, held.attendance, held.topics, held.other_topic, held.slogans,
            held.boards) == ("mass", dt.date(2026, 11, 27), 35,
                             ["medical_insurance", "other"], "Forest-fire prevention", 5, 1)


async def test_door_to_door_preaching_in_chinese_skips_the_other_topic(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/publicity")
    assert "这次宣传是哪种形式" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":door_to_door"))
    replies = await harness.send(user, "昨天")
    assert "参加多少人" in replies[-1].plain_text
    replies = await harness.send(user, "十二人")
    assert "宣讲了哪些内容" in replies[-1].plain_text
    assert await harness.press(user, button(replies, ":d:3")) == []  # nothing picked yet
    assert harness.emu.callback_answers[-1].get("text") == "请至少选择一项。"
    replies = await harness.press(user, button(replies, ":resident_pension"))
    replies = await harness.press(user, button(replies, ":d:3"))
    assert "张贴标语多少条" in replies[-1].plain_text  # no "other": its name is not asked
    await harness.send(user, "0")
    replies = await harness.send(user, "两")
    assert replies[-1].plain_text.splitlines()[1:7] == [
        "形式：入户宣讲", "日期：昨天 · 11月27日（周五）", "参加人数：12",
        "宣讲内容：城乡居民养老保险", "张贴标语：0", "宣传栏：2"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert "✅ 已记录宣传：入户宣讲，11月27日（周五），12 人参加。" in texts(replies)
    [held] = await _sessions(harness)
    assert (held.kind, held.attendance, held.topics, held.other_topic, held.slogans,
            held.boards) == ("door_to_door", 12, ["resident_pension"], None, 0, 2)


async def test_a_bad_attendance_is_refused_and_asked_again(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/publicity")
    replies = await harness.press(user, button(replies, ":mobilisation"))
    await harness.press(user, button(replies, f":{TODAY.isoformat()}"))
    replies = await harness.send(user, "0")
    assert texts(replies)[0] == "The smallest value allowed is 1."
    assert len(replies) == 1  # one line: the question above still waits
    replies = await harness.send(user, "a lot")
    assert texts(replies)[0] == "Please send a whole number, for example 12."
    replies = await harness.send(user, "-5")
    assert texts(replies)[0] == "The smallest value allowed is 1."
    replies = await harness.send(user, "60")
    assert "Which topics" in replies[-1].plain_text
    assert await _sessions(harness) == []


async def test_a_bad_attendance_in_chinese(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/publicity")
    replies = await harness.press(user, button(replies, ":party_members"))
    await harness.press(user, button(replies, f":{TODAY.isoformat()}"))
    replies = await harness.send(user, "零")
    assert texts(replies)[0] == "不能小于 1。"
    replies = await harness.send(user, "很多人")
    assert texts(replies)[0] == "请填写确切的数字，如“30”；“三十多”“十几”这样的约数无法统计。"
    assert len(replies) == 1  # one line: the question above still waits


async def test_a_future_date_and_one_before_the_campaign_are_refused(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/publicity")
    await harness.press(user, button(replies, ":mass"))
    replies = await harness.send(user, "2026-12-01")
    assert texts(replies)[0] == ("That day has not come yet. Please send today's date or an "
                                 "earlier one, such as “yesterday” or “11-26”.")
    assert len(replies) == 1  # one line: the question above still waits
    start = harness.settings.campaign_start
    replies = await harness.send(user, (start - dt.timedelta(days=1)).isoformat())
    assert "before the campaign started on Mon 23 Nov." in texts(replies)[0]
    replies = await harness.send(user, "11-26")
    assert "How many people attended" in replies[-1].plain_text


async def test_a_future_date_in_chinese(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/publicity")
    await harness.press(user, button(replies, ":mass"))
    replies = await harness.send(user, "2026年12月1日")
    assert texts(replies)[0] == "这一天还没到。请输入今天或以前的日期，如“昨天”或“11月26日”。"
    assert len(replies) == 1  # one line: the question above still waits


async def test_back_asks_the_previous_question_again(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/publicity")
    replies = await harness.press(user, button(replies, ":mass"))
    replies = await harness.press(user, button(replies, f":{TODAY.isoformat()}"))
    await harness.send(user, "40")
    replies = await harness.send(user, "/back")
    assert len(texts(replies)) == 1 and "How many people attended" in texts(replies)[0]
    replies = await harness.send(user, "45")
    replies = await harness.press(user, button(replies, ":medical_insurance"))
    replies = await harness.press(user, button(replies, ":d:3"))
    await harness.send(user, "2")
    replies = await harness.send(user, "1")
    assert "Attendance: 45" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [held] = await _sessions(harness)
    assert held.attendance == 45


async def test_back_in_chinese(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/publicity")
    await harness.press(user, button(replies, ":mass"))
    replies = await harness.send(user, "/back")
    assert len(texts(replies)) == 1 and "这次宣传是哪种形式" in texts(replies)[0]


async def test_cancel_leaves_the_dialog_and_saves_nothing(harness):
    await harness.import_roster()
    for phone, language, cancelled in (
            ("13800138002", "en", "Cancelled. Nothing was saved."),
            ("13800138003", "zh-hans", "已取消，未保存任何内容。")):
        user = await harness.register(phone, user_id=int(phone[-4:]), language_code=language)
        replies = await harness.send(user, "/publicity")
        replies = await harness.press(user, button(replies, ":mass"))
        await harness.press(user, button(replies, f":{TODAY.isoformat()}"))
        replies = await harness.send(user, "/cancel")
        assert texts(replies) == [cancelled]
    assert await _sessions(harness) == []
    async with harness.db.read() as session:
        assert (await session.execute(select(Dialog))).first() is None


async def test_stats_and_the_digest_count_the_sessions_recorded(harness):
    user = await _cadre(harness)
    await _record(harness, user, people="35", slogans="5", boards="1")
    await _record(harness, user, kind="door_to_door", people="8", slogans="0", boards="0")
    await _record(harness, user, day=TODAY - dt.timedelta(days=1), people="20", slogans="2")
    held = await _sessions(harness)
    assert len(held) == 3
    leader = await harness.register("13800138001", user_id=6320, language_code="en")
    [reply] = [r for r in await harness.send(leader, "/stats") if r.text is not None]
    week = [p for p in held if p.day >= TODAY - dt.timedelta(days=TODAY.weekday())]
    assert (f"Publicity: sessions {len(week)}, attended by {sum(p.attendance for p in week)}"
            f" · slogans {sum(p.slogans for p in week)}, boards {sum(p.boards for p in week)}"
            ) in reply.plain_text
    today = [p for p in held if p.day == TODAY]
    [digest] = await harness.send(leader, "/digest")
    assert (f"Publicity today: sessions {len(today)}, attended by "
            f"{sum(p.attendance for p in today)} · slogans {sum(p.slogans for p in today)}, "
            f"boards {sum(p.boards for p in today)}") in digest.plain_text
    assert "sessions 2, attended by 43 · slogans 5, boards 1" in digest.plain_text
