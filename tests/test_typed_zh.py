"""Dates, periods and counts typed the way Chinese (and English) users type them.

The parsers table by table against the test clock (Saturday 28 November 2026, campaign from
Monday 23 November), then the dialogs and commands through the emulator: a deadline typed
12-11 or 下周五, a visit dated 昨天 or 11月27日, a future visit day refused with days that
would do while the dialog keeps what was answered, /stats 上周 · 11月 · last week, /export 上周,
and /stats 上上周 named as the word not understood.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from common.i18n import format_span
from handlers.parsing import (
    ParseError,
    ReversedPeriod,
    SecondPeriod,
    VagueNumber,
    looks_like_period,
    parse_day,
    parse_int,
    parse_money,
    parse_period,
    split_period,
)
from storage import problems as store
from storage.models import Person, Problem, Visit
from tests.harness import texts
from tests.test_api_input import api  # noqa: F401 (the fixture: a client of the running API)
from tests.test_export import exports  # noqa: F401 (the fixture: a folder for the workbooks)
from tests.test_schedules import bind_everyone
from tests.test_stats import with_charts
from tests.test_visits import button

TODAY = dt.date(2026, 11, 28)  # the clock fixture's day, a Saturday
START = dt.date(2026, 11, 23)  # the settings fixture's campaign start, a Monday
D = dt.date


# --- days --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, direction, day", [
    # a deadline looks forward
    ("12-11", "future", D(2026, 12, 11)),
    ("12月20日", "future", D(2026, 12, 20)),
    ("１２月２０日", "future", D(2026, 12, 20)),  # full-width digits
    ("明天", "future", D(2026, 11, 29)),
    ("后天", "future", D(2026, 11, 30)),
    ("下周五", "future", D(2026, 12, 4)),
    ("下个星期五", "future", D(2026, 12, 4)),
    ("周五", "future", D(2026, 12, 4)),
    ("星期五", "future", D(2026, 12, 4)),
    ("周六", "future", D(2026, 11, 28)),  # today is Saturday
    ("tomorrow", "future", D(2026, 11, 29)),
    ("next friday", "future", D(2026, 12, 4)),
    ("Friday", "future", D(2026, 12, 4)),
    ("20号", "future", D(2026, 12, 20)),
    ("十二月四日", "future", D(2026, 12, 4)),
    ("dec 4", "future", D(2026, 12, 4)),
    ("11-3", "future", D(2027, 11, 3)),  # a year ahead: forms refuse it as a past day
    # a record's day looks back
    ("昨天", "past", D(2026, 11, 27)),
    ("前天", "past", D(2026, 11, 26)),
    ("上周三", "past", D(2026, 11, 18)),
    ("本周一", "past", D(2026, 11, 23)),
    ("11月27日", "past", D(2026, 11, 27)),
    ("11月30日", "past", D(2025, 11, 30)),
    ("12-3", "past", D(2025, 12, 3)),
    ("周五", "past", D(2026, 11, 27)),
    ("yesterday", "past", D(2026, 11, 27)),
    ("last wednesday", "past", D(2026, 11, 25)),
    ("3天前", "past", D(2026, 11, 25)),
    ("2026年11月24日", "past", D(2026, 11, 24)),
    ("2026-12-01", "past", D(2026, 12, 1)),  # a year typed is kept; forms refuse the future
    ("26 Nov", "past", D(2026, 11, 26)),
    # the nearest, as a period's days are read
    ("12-3", "nearest", D(2026, 12, 3)),
    ("11-26", "nearest", D(2026, 11, 26)),
    ("周五", "nearest", D(2026, 11, 27)),
])
def test_a_day_is_read_in_the_direction_the_question_looks(text, direction, day):
    assert parse_day(text, today=TODAY, direction=direction) == day


@pytest.mark.parametrize("text", ["", "someday", "13-01", "2-30", "周八", "上下周五", "32号",
                                  "12-11-10-9"])
def test_what_is_no_day_is_refused(text):
    with pytest.raises(ParseError):
        parse_day(text, today=TODAY, direction="nearest")


def test_29_february_without_a_year_is_the_nearest_leap_day():
    assert parse_day("2-29", today=TODAY, direction="future") == D(2028, 2, 29)
    assert parse_day("2-29", today=TODAY, direction="past") == D(2024, 2, 29)


# --- periods -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, period", [
    ("今天", (TODAY, TODAY)),
    ("昨天", (D(2026, 11, 27), D(2026, 11, 27))),
    ("本周", (START, TODAY)),
    ("上周", (D(2026, 11, 16), D(2026, 11, 22))),
    ("上个星期", (D(2026, 11, 16), D(2026, 11, 22))),
    ("本月", (D(2026, 11, 1), TODAY)),
    ("上月", (D(2026, 10, 1), D(2026, 10, 31))),
    ("上个月", (D(2026, 10, 1), D(2026, 10, 31))),
    ("11月", (D(2026, 11, 1), D(2026, 11, 30))),
    ("十月", (D(2026, 10, 1), D(2026, 10, 31))),
    ("12月", (D(2025, 12, 1), D(2025, 12, 31))),  # a month reaches back
    ("2026年11月", (D(2026, 11, 1), D(2026, 11, 30))),
    ("11-30至12-06", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11-30到12-06", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11月30日—12月6日", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11月30日——12月6日", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11月30日-12月6日", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11-30..12-06", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11-30 ～ 12-06", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11-23 - 11-27", (START, D(2026, 11, 27))),
    ("11月至12月", (D(2026, 11, 1), D(2026, 12, 31))),
    ("today", (TODAY, TODAY)),
    ("Yesterday", (D(2026, 11, 27), D(2026, 11, 27))),
    ("this week", (START, TODAY)),
    ("last week", (D(2026, 11, 16), D(2026, 11, 22))),
    ("this month", (D(2026, 11, 1), TODAY)),
    ("last month", (D(2026, 10, 1), D(2026, 10, 31))),
    ("November", (D(2026, 11, 1), D(2026, 11, 30))),
    ("nov", (D(2026, 11, 1), D(2026, 11, 30))),
    ("nov 30 - dec 6", (D(2026, 11, 30), D(2026, 12, 6))),
    ("11-26", (D(2026, 11, 26), D(2026, 11, 26))),
    ("全程", (START, TODAY)),
])
def test_a_period_is_read_as_people_name_it(text, period):
    assert parse_period(text, today=TODAY, campaign_start=START) == period


@pytest.mark.parametrize("text", ["上上周", "去年", "周八", "十三月", "lastweek", "11-31",
                                  "fortnight", "第3村"])
def test_a_word_that_looks_like_a_period_but_is_none_is_refused(text):
    assert looks_like_period(text)
    with pytest.raises(ParseError) as refused:
        parse_period(text, today=TODAY, campaign_start=START)
    assert str(refused.value) == text


@pytest.mark.parametrize("text", ["新村", "东岗村", "明月村", "周家村", "前进村", "三月村",
                                  "黄金埠镇"])
def test_a_place_name_is_no_period(text):
    assert not looks_like_period(text)
    assert parse_period(text, today=TODAY, campaign_start=START) is None


def test_a_range_typed_backwards_is_refused_as_such():
    with pytest.raises(ReversedPeriod):
        parse_period("11-28..11-25", today=TODAY, campaign_start=START)


@pytest.mark.parametrize("args, period, named, place", [
    ("上周 新村", (D(2026, 11, 16), D(2026, 11, 22)), "上周", "新村"),
    ("新村 last week", (D(2026, 11, 16), D(2026, 11, 22)), "last week", "新村"),
    ("LAST  WEEK", (D(2026, 11, 16), D(2026, 11, 22)), "LAST WEEK", ""),
    ("新村，上周", (D(2026, 11, 16), D(2026, 11, 22)), "上周", "新村"),
    ("11-24 .. 11-26 新村", (D(2026, 11, 24), D(2026, 11, 26)), "11-24..11-26", "新村"),
    ("nov 30 - dec 6 东岗村", (D(2026, 11, 30), D(2026, 12, 6)), "nov 30 - dec 6", "东岗村"),
    ("黄金埠镇 11月", (D(2026, 11, 1), D(2026, 11, 30)), "11月", "黄金埠镇"),
    ("新村", None, "", "新村"),
    ("", None, "", ""),
])
def test_command_arguments_hold_a_period_of_several_words_and_a_place(args, period, named,
                                                                      place):
    assert split_period(args, today=TODAY, campaign_start=START) == (period, named, place)


def test_command_arguments_name_the_word_not_understood_and_a_second_period():
    with pytest.raises(ParseError) as refused:
        split_period("新村 上上周", today=TODAY, campaign_start=START)
    assert str(refused.value) == "上上周"
    with pytest.raises(SecondPeriod) as twice:
        split_period("上周 本月", today=TODAY, campaign_start=START)
    assert str(twice.value) == "本月"


# --- counts and money --------------------------------------------------------------------------

@pytest.mark.parametrize("text, count", [
    ("12", 12), ("１２", 12), ("十二", 12), ("12人", 12), ("六个人", 6), ("约40人", 40),
    ("大约 40 人", 40), ("40人左右", 40), ("二十户", 20), ("两百", 200), ("一百零五", 105),
    ("两千", 2000), ("三万五千", 35000), ("1,200", 1200), ("8 people", 8), ("三块", 3),
])
def test_a_count_is_read_in_digits_or_chinese_numerals(text, count):
    assert parse_int(text) == count


@pytest.mark.parametrize("text", ["三十多人", "十几个", "百余户", "三十来人", "很多人", "30+"])
def test_an_estimate_is_no_count(text):
    with pytest.raises(VagueNumber):
        parse_int(text)


@pytest.mark.parametrize("text", ["", "abc", "3.5", "三点五", "十二三四五六"])
def test_what_is_no_whole_number_is_refused(text):
    with pytest.raises(ParseError):
        parse_int(text)


@pytest.mark.parametrize("text, amount", [
    ("200", "200.00"), ("两百元", "200.00"), ("200块", "200.00"), ("200块钱", "200.00"),
    ("¥200.5", "200.50"), ("￥200", "200.00"), ("1.5万", "15000.00"), ("两万元", "20000.00"),
    ("三百五十点五元", "350.50"), ("约两百元", "200.00"), ("200 yuan", "200.00"),
])
def test_money_is_read_in_digits_or_chinese_numerals(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["200.555", "-5", "两百多元", "abc"])
def test_money_that_is_no_exact_amount_is_refused(text):
    with pytest.raises(ParseError):
        parse_money(text)


# --- through the chat --------------------------------------------------------------------------

async def _cadre(harness, *, language="zh-hans"):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=6201, language_code=language)


async def _visit_to_the_day(harness, user):
    """A visit answered up to its day question (the photo and location sent, not skipped)."""
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":masses"))
    await harness.send(user, "王大妈")
    await harness.send(user, "路不好走")
    replies = await harness.send(user, "修路")
    await harness.press(user, button(replies, ":no"))
    await harness.roundtrip(user, user.photo())
    return await harness.roundtrip(user, user.location(28.69, 116.69))


async def _visits(harness) -> list[Visit]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Visit).order_by(Visit.id))).scalars())


@pytest.mark.parametrize("typed", ["昨天", "11月27日"])
async def test_a_visit_is_dated_as_typed_in_chinese(harness, typed):
    user = await _cadre(harness)
    await _visit_to_the_day(harness, user)
    replies = await harness.send(user, typed)
    assert "王大妈" in replies[-1].plain_text  # the confirm card
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert visit.day == D(2026, 11, 27)


async def test_a_future_visit_day_is_refused_with_days_that_would_do_and_nothing_is_lost(
    harness
):
    user = await _cadre(harness)
    await _visit_to_the_day(harness, user)
    replies = await harness.send(user, "12-3")
    assert texts(replies)[0] == "这一天还没到。请输入今天或以前的日期，如“昨天”或“11月26日”。"
    replies = await harness.send(user, "明天")
    assert texts(replies)[0] == "这一天还没到。请输入今天或以前的日期，如“昨天”或“11月26日”。"
    replies = await harness.send(user, "哪天来着")
    assert texts(replies)[0] == "请输入今天或以前的日期，如“昨天”或“11月26日”。"
    replies = await harness.send(user, "11-20")
    assert texts(replies)[0] == ("这一天早于活动开始的11月23日（周一）。请输入活动开始以来的日期，"
                                 "如“昨天”或“11月26日”。")
    assert await _visits(harness) == []
    replies = await harness.send(user, "11月26日")  # the dialog still waits for the day
    card = replies[-1].plain_text
    assert "王大妈" in card and "路不好走" in card and "修路" in card
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert (visit.day, visit.heard, visit.wants) == (D(2026, 11, 26), "路不好走", "修路")


async def test_a_future_visit_day_is_refused_in_english_too(harness):
    user = await _cadre(harness, language="en")
    await _visit_to_the_day(harness, user)
    replies = await harness.send(user, "next friday")
    assert texts(replies)[0] == ("That day has not come yet. Please send today's date or an "
                                 "earlier one, such as “yesterday” or “11-26”.")
    replies = await harness.send(user, "last wednesday")
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert visit.day == D(2026, 11, 25)


async def _problem(harness) -> Problem:
    async with harness.db.write() as session:
        person = (await session.execute(
            select(Person).where(Person.phone.like("%13800138002")))).scalar_one()
        return await store.raise_problem(
            session, person=person, category="infrastructure", description="村口的桥断了",
            priority="normal", day=TODAY, now=harness.clock.now(),
            next_due_on=TODAY + dt.timedelta(days=7))


async def _take_with_deadline(harness, user, problem_id, typed):
    """Take a problem in hand, typing its deadline; returns what the deadline answer got."""
    await harness.send(user, "/problems")  # a keyboard to press on
    await harness.press(user, f"prs:{problem_id}:t")
    await harness.send(user, "组织村民义务投工修桥")
    await harness.send(user, "村主任王明")
    return await harness.send(user, typed)


@pytest.mark.parametrize("typed, due", [("12-11", D(2026, 12, 11)), ("下周五", D(2026, 12, 4)),
                                        ("12月20日", D(2026, 12, 20)), ("明天", D(2026, 11, 29))])
async def test_a_deadline_is_typed_forward(harness, typed, due):
    user = await _cadre(harness)
    problem = await _problem(harness)
    replies = await _take_with_deadline(harness, user, problem.id, typed)
    assert "村主任王明" in replies[-1].plain_text  # the confirm card
    await harness.press(user, button(replies, ":ok"))
    async with harness.db.read() as session:
        taken = await session.get(Problem, problem.id)
    assert (taken.status, taken.due_on) == ("in_hand", due)


async def test_a_past_deadline_is_refused_with_days_that_would_do(harness):
    user = await _cadre(harness)
    problem = await _problem(harness)
    replies = await _take_with_deadline(harness, user, problem.id, "昨天")
    assert texts(replies)[0] == ("这一天已经过去了。请输入今天或以后的日期，如“12-5”或“12月5日”。")
    replies = await harness.send(user, "11-3")  # a year ahead is not what was meant
    assert texts(replies)[0] == ("这一天已经过去了。请输入今天或以后的日期，如“12-5”或“12月5日”。")
    replies = await harness.send(user, "改天")
    assert texts(replies)[0] == "请输入今天或以后的日期，如“12-5”或“12月5日”。"
    replies = await harness.send(user, "12-5")
    await harness.press(user, button(replies, ":ok"))
    async with harness.db.read() as session:
        assert (await session.get(Problem, problem.id)).due_on == D(2026, 12, 5)


async def _leader(harness, name="张伟", language="zh-hans"):
    chats = await bind_everyone(harness, language)
    return harness.emu.user(chats[name], first_name=name, language_code=language)


@pytest.mark.parametrize("args, start, end", [
    ("上周", D(2026, 11, 16), D(2026, 11, 22)),
    ("11月", D(2026, 11, 1), TODAY),  # nothing after today
    ("新村 11-23至11-27", START, D(2026, 11, 27)),
])
async def test_stats_of_a_period_typed_in_chinese(harness, args, start, end):
    user = await _leader(harness)
    answer, _sent = await with_charts(harness, user, f"/stats {args}")
    title = answer[0].plain_text.splitlines()[0]
    assert "新村" in title
    assert format_span("zh", start, end, today=TODAY) in title


async def test_stats_of_last_week_in_english(harness):
    user = await _leader(harness, language="en")
    answer, _sent = await with_charts(harness, user, "/stats last week")
    title = answer[0].plain_text.splitlines()[0]
    assert "新村" in title and format_span("en", D(2026, 11, 16), D(2026, 11, 22),
                                          today=TODAY) in title


async def test_a_period_not_understood_is_named_not_taken_for_a_place(harness):
    user = await _leader(harness)
    [answer] = texts(await harness.send(user, "/stats 上上周"))
    assert answer == ("无法识别“上上周”。可用：今天、昨天、本周、上周、本月、上月、11月，"
                      "或“11-16至11-22”这样的日期区间。")
    [answer] = texts(await harness.send(user, "/stats 新村 上周 本月"))
    assert answer == "只能指定一个时段，“本月”是第二个。"
    [answer] = texts(await harness.send(user, "/stats 12-3"))
    assert answer == "“12-3”还没到，只能查询今天及以前的日子。"
    english = await _leader(harness, "孙丽", language="en")
    [answer] = texts(await harness.send(english, "/stats fortnight"))
    assert answer.startswith("“fortnight” is not a period I know. Use today, yesterday, this "
                             "week, last week")


async def test_the_laggards_and_the_team_of_last_week(harness):
    user = await _leader(harness)
    [answer] = texts(await harness.send(user, "/laggards 上周"))
    assert format_span("zh", D(2026, 11, 16), D(2026, 11, 22), today=TODAY) in answer
    [answer] = texts(await harness.send(user, "/team 上周"))
    assert format_span("zh", D(2026, 11, 16), D(2026, 11, 22), today=TODAY) in answer
    [answer] = texts(await harness.send(user, "/team 上上周"))
    assert answer.startswith("无法识别“上上周”。")


async def test_export_of_last_week_typed_in_chinese(harness, exports):  # noqa: F811
    user = await _leader(harness)
    [answer] = texts(await harness.send(user, "/export 上周"))
    assert format_span("zh", D(2026, 11, 16), D(2026, 11, 22), today=TODAY) in answer
    assert answer.startswith("正在导出新村")
    # The file is written off the event loop: wait for it (and what follows it) before the next
    # command, or its delivery lands among that command's replies.
    emu = harness.emu
    await emu.wait_for(lambda: [d for d in emu.documents if d[0] == user.id], within=60)
    await emu.wait_idle()
    [answer] = texts(await harness.send(user, "/export 上上周"))
    assert answer.startswith("无法识别“上上周”。")


class TestTheApi:
    """The API's `period` (its tests migrate their own database, as in test_api_input)."""

    @pytest.fixture
    def database(self, empty_database):
        return empty_database

    async def test_it_reads_a_period_as_people_type_it(self, api):  # noqa: F811
        for period, days in (("上周", ["2026-11-16", "2026-11-22"]),
                             ("last week", ["2026-11-16", "2026-11-22"]),
                             ("11月", ["2026-11-01", "2026-11-30"]),
                             ("11-23至11-27", ["2026-11-23", "2026-11-27"])):
            response = await api.get("/api/v1/visits", params={"period": period})
            assert response.status_code == 200, response.text
            assert response.json()["period"] == days
        response = await api.get("/api/v1/stats", params={"period": "上上周"})
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "period"] and error["msg"].startswith(
            "“上上周” is not understood")
