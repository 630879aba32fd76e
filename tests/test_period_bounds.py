"""Periods at the edge of the calendar: parse_period bounds every day a period names, and each
chat command that reads a period answers a sentence naming the days it can report on."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing import PeriodOutOfRange, parse_period, period_bounds
from tests.harness import texts

TODAY = dt.date(2026, 11, 28)  # the clock fixture's day
START = dt.date(2026, 11, 23)  # the settings fixture's campaign start
ZH_RANGE = "请输入2025年11月22日至2027年11月29日之间的日期。"
EN_RANGE = "choose days from 11/22/2025 to 11/29/2027."


def test_the_bounds_are_a_year_either_side_and_never_overflow():
    assert period_bounds(today=TODAY, campaign_start=START) == (
        dt.date(2025, 11, 22), dt.date(2027, 11, 29))
    assert period_bounds(today=dt.date.max, campaign_start=dt.date.min) == (
        dt.date.min, dt.date.max)


@pytest.mark.parametrize("text", ["0001-01-01..0001-01-02", "2026-01-01..9999-12-31",
                                  "9999-12-31", "2062-11-01..2062-11-02", "1月1日至2028年1月1日"])
def test_a_period_outside_the_bounds_is_refused_with_them(text):
    with pytest.raises(PeriodOutOfRange) as refused:
        parse_period(text, today=TODAY, campaign_start=START)
    assert (refused.value.earliest, refused.value.latest) == (
        dt.date(2025, 11, 22), dt.date(2027, 11, 29))


@given(st.dates(), st.dates())
def test_no_two_days_make_a_period_outside_the_bounds(first, second):
    text = f"{first:%Y-%m-%d}..{second:%Y-%m-%d}" if first.year >= 1000 else "x"
    try:
        found = parse_period(text, today=TODAY, campaign_start=START)
    except PeriodOutOfRange:
        return
    except ValueError:  # a range that ends before it starts
        assert second < first
        return
    earliest, latest = period_bounds(today=TODAY, campaign_start=START)
    assert found is None or earliest <= found[0] <= found[1] <= latest


async def _office(harness, *, language_code: str):
    await harness.import_roster()
    return await harness.register("13800138009", user_id=9009, language_code=language_code)


@pytest.mark.parametrize("command", ["/stats", "/merit", "/laggards"])
async def test_the_figures_commands_name_the_days_they_can_report_on_in_chinese(
    harness, command
):
    wu = await _office(harness, language_code="zh-hans")
    [reply] = texts(await harness.send(wu, f"{command} 0001-01-01..0001-01-02"))
    assert reply == f"“0001-01-01..0001-01-02”超出了可查询的日期范围，{ZH_RANGE}"
    [reply] = texts(await harness.send(wu, f"{command} 9999-12-31"))
    assert reply == f"“9999-12-31”超出了可查询的日期范围，{ZH_RANGE}"


@pytest.mark.parametrize("command", ["/stats", "/merit", "/laggards"])
async def test_the_figures_commands_name_the_days_they_can_report_on_in_english(
    harness, command
):
    wu = await _office(harness, language_code="en")
    [reply] = texts(await harness.send(wu, f"{command} 2026-01-01..9999-12-31"))
    assert reply == ("“2026-01-01..9999-12-31” reaches outside the days I can report on: "
                     + EN_RANGE)


async def test_export_refuses_a_period_at_the_calendars_edge_at_once_in_both_languages(
    harness
):
    wu = await _office(harness, language_code="zh-hans")
    [reply] = texts(await harness.send(wu, "/export 2026-01-01..9999-12-31 黄金埠镇"))
    assert reply == f"“2026-01-01..9999-12-31”超出了可查询的日期范围，{ZH_RANGE}"
    zhou = await harness.register("13800138008", user_id=9008, language_code="en")
    [reply] = texts(await harness.send(zhou, "/export 0001-01-01 .. 0001-01-02"))
    assert reply == ("“0001-01-01..0001-01-02” reaches outside the days I can report on: "
                     + EN_RANGE)


def test_a_single_day_is_a_period_and_is_bounded_too():
    assert parse_period("11-25", today=TODAY, campaign_start=START) == (
        dt.date(2026, 11, 25), dt.date(2026, 11, 25))
    assert parse_period("昨天", today=TODAY, campaign_start=START) == (
        dt.date(2026, 11, 27), dt.date(2026, 11, 27))
    assert parse_period("新村", today=TODAY, campaign_start=START) is None
