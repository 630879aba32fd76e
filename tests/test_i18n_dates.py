"""Dates, moments, ranges and money as people read them, in both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from common.i18n import (
    Markup,
    Money,
    Span,
    format_day,
    format_moment,
    format_money,
    format_short_day,
    format_span,
    translate,
    translator,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize(("locale", "day", "shown"), [
    ("zh", dt.date(2026, 12, 4), "12月4日（周五）"),
    ("en", dt.date(2026, 12, 4), "Fri 4 Dec"),
    ("zh", dt.date(2025, 12, 4), "2025年12月4日（周四）"),
    ("en", dt.date(2025, 12, 4), "Thu 4 Dec 2025"),
    ("zh", dt.date(2027, 1, 1), "2027年1月1日（周五）"),
    ("en", dt.date(2027, 1, 1), "Fri 1 Jan 2027"),
    ("zh", dt.date(2026, 1, 1), "1月1日（周四）"),
])
def test_a_day_has_its_weekday_and_the_year_only_when_another(locale: str, day: dt.date,
                                                              shown: str) -> None:
    assert format_day(locale, day, today=TODAY) == shown


def test_the_year_follows_today_across_new_year() -> None:
    new_year = dt.date(2027, 1, 2)
    assert format_day("zh", dt.date(2026, 12, 31), today=new_year) == "2026年12月31日（周四）"
    assert format_day("en", dt.date(2026, 12, 31), today=new_year) == "Thu 31 Dec 2026"
    assert format_day("zh", dt.date(2027, 1, 1), today=new_year) == "1月1日（周五）"
    assert format_day("en", dt.date(2026, 12, 31)) == "Thu 31 Dec"


def test_a_short_day_for_a_chart_axis() -> None:
    assert format_short_day("zh", dt.date(2026, 12, 4)) == "12月4日"
    assert format_short_day("en", dt.date(2025, 12, 4)) == "4 Dec"


def test_a_moment_is_shown_in_the_county_zone() -> None:
    utc = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    assert format_moment("zh", utc, tz=SHANGHAI, today=TODAY) == "12月4日（周五）17:00"
    assert format_moment("en", utc, tz=SHANGHAI, today=TODAY) == "Fri 4 Dec 17:00"
    # 16:30 UTC on New Year's Eve is already the new year in Shanghai.
    eve = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert format_moment("zh", eve, tz=SHANGHAI, today=TODAY) == "2027年1月1日（周五）00:30"
    assert format_moment("en", eve, tz=SHANGHAI, today=TODAY) == "Fri 1 Jan 2027 00:30"


@pytest.mark.parametrize(("locale", "start", "end", "shown"), [
    ("zh", dt.date(2026, 11, 30), dt.date(2026, 12, 6), "11月30日—12月6日"),
    ("en", dt.date(2026, 11, 30), dt.date(2026, 12, 6), "30 Nov – 6 Dec"),
    ("zh", dt.date(2026, 12, 1), dt.date(2026, 12, 3), "12月1日—12月3日"),
    ("en", dt.date(2026, 12, 1), dt.date(2026, 12, 3), "1 – 3 Dec"),
    ("zh", dt.date(2026, 12, 28), dt.date(2027, 1, 3), "2026年12月28日—2027年1月3日"),
    ("en", dt.date(2026, 12, 28), dt.date(2027, 1, 3), "28 Dec 2026 – 3 Jan 2027"),
    ("zh", dt.date(2025, 11, 30), dt.date(2025, 12, 6), "2025年11月30日—12月6日"),
    ("en", dt.date(2025, 11, 30), dt.date(2025, 12, 6), "30 Nov – 6 Dec 2025"),
    ("zh", dt.date(2026, 12, 4), dt.date(2026, 12, 4), "12月4日（周五）"),
    ("en", dt.date(2026, 12, 4), dt.date(2026, 12, 4), "Fri 4 Dec"),
])
def test_a_range(locale: str, start: dt.date, end: dt.date, shown: str) -> None:
    assert format_span(locale, start, end, today=TODAY) == shown


@pytest.mark.parametrize(("locale", "amount", "shown"), [
    ("zh", 200, "200 元"),
    ("en", 200, "¥200"),
    ("zh", Decimal("200.50"), "200.50 元"),
    ("en", Decimal("200.50"), "¥200.50"),
    ("zh", Decimal("0.00"), "0 元"),
    ("en", Decimal("0.00"), "¥0"),
    ("zh", Decimal("12000.00"), "12,000 元"),
    ("en", Decimal("12000.5"), "¥12,000.50"),
])
def test_money(locale: str, amount: Decimal | int, shown: str) -> None:
    assert format_money(locale, amount) == shown


def test_translate_formats_the_values_it_is_given() -> None:
    zh = translator("zh", today=TODAY, tz=SHANGHAI)
    en = translator("en", today=TODAY, tz=SHANGHAI)
    assert zh("checkin.prompt", day=TODAY) == "11月28日（周六）签到：您今天在哪里？"
    assert en("checkin.prompt", day=dt.date(2025, 11, 28)) == (
        "Check-in for Fri 28 Nov 2025: where are you today?")
    at = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    assert en("checkin.prompt", day=at) == "Check-in for Sat 28 Nov 10:00: where are you today?"
    week = Span(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert en("checkin.prompt", day=week) == "Check-in for 23 – 29 Nov: where are you today?"
    assert en("checkin.prompt", day=Money(Decimal("0.00"))).startswith("Check-in for ¥0:")
    # Money only where the caller asks: a bare number stays a number.
    assert en("checkin.prompt", day=Decimal("2.50")).startswith("Check-in for 2.50:")
    # Without a day to read against, no year; without a zone, the moment's own.
    assert translate("en", "checkin.prompt", day=dt.date(2025, 11, 28)).startswith(
        "Check-in for Fri 28 Nov:")
    assert translate("en", "checkin.prompt", day=at).startswith("Check-in for Sat 28 Nov 02:00:")
    assert "&lt;b&gt;" in translate("en", "checkin.prompt", day="<b>")
    assert translate("en", "checkin.prompt", day=Markup("<b>x</b>")).count("<b>x</b>") == 1
