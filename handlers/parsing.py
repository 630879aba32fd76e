"""Parsing what people type: full-width digits, Chinese numerals, money, dates."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000}
MYRIAD = {"万": 10_000, "亿": 100_000_000}


class ParseError(ValueError):
    """The text is not what was asked for."""


def fold(text: str) -> str:
    """Full-width digits and letters to ASCII; surrounding white space removed."""
    return unicodedata.normalize("NFKC", text).strip()


def chinese_number(text: str) -> int:
    """An integer written in Chinese numerals: 十二, 二十三, 一百零五, 两千, 三万五千."""
    if not text or any(ch not in DIGITS and ch not in UNITS and ch not in MYRIAD for ch in text):
        raise ParseError(text)
    total = section = number = 0
    for ch in text:
        if ch in DIGITS:
            number = DIGITS[ch]
        elif ch in UNITS:
            section += (number or 1) * UNITS[ch]
            number = 0
        else:
            total += (section + number) * MYRIAD[ch]
            section = number = 0
    return total + section + number


def parse_int(text: str) -> int:
    """A whole number: 12, １２, 十二, '12人'."""
    folded = fold(text).replace(",", "").replace("，", "")
    folded = re.sub(r"\s*(人|个|户|位|名|people|persons?)$", "", folded, flags=re.I)
    if re.fullmatch(r"[+-]?\d+", folded):
        return int(folded)
    return chinese_number(folded)


def parse_money(text: str) -> Decimal:
    """An amount of money with at most two decimals: 200, ¥200.5, 200元, 两百."""
    folded = fold(text).replace(",", "").replace("，", "")
    folded = re.sub(r"^(¥|￥|RMB|CNY)\s*", "", folded, flags=re.I)
    folded = re.sub(r"\s*(元|块|yuan|RMB|CNY)$", "", folded, flags=re.I)
    try:
        value = Decimal(folded) if re.fullmatch(r"\d+(\.\d+)?", folded) else None
    except InvalidOperation:
        value = None
    if value is None:
        value = Decimal(chinese_number(folded))
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise ParseError(text)
    return value.quantize(Decimal("0.01"))


RELATIVE_DAYS = {"today": 0, "今天": 0, "今日": 0, "yesterday": 1, "昨天": 1, "昨日": 1, "前天": 2}


def parse_day(text: str, *, today: dt.date) -> dt.date:
    """A date: today/yesterday (今天/昨天/前天), 2026-11-28, 11-28, 11/28, 11月28日."""
    folded = fold(text).lower().rstrip(".。")
    if folded in RELATIVE_DAYS:
        return today - dt.timedelta(days=RELATIVE_DAYS[folded])
    match = re.fullmatch(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?", folded)
    if not match:
        raise ParseError(text)
    year = int(match.group(1)) if match.group(1) else today.year
    try:
        day = dt.date(year, int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ParseError(text) from exc
    if not match.group(1) and day > today:
        day = day.replace(year=year - 1)  # "12-30" typed in January means last December
    return day


PERIODS = {"today": "today", "今天": "today", "今日": "today", "week": "week", "本周": "week",
           "month": "month", "本月": "month", "campaign": "campaign", "全程": "campaign",
           "全部": "campaign"}
# A year either side keeps every honest question (a range typed across the campaign's start,
# an end typed ahead) while a mistyped year (0001, 9999, 2062) is refused with a sentence, and
# every date a period leads to (week starts, the next day, a UTC window) stays far from the
# calendar's ends, where date arithmetic overflows.
PERIOD_MARGIN = dt.timedelta(days=366)


class PeriodOutOfRange(ParseError):
    """A period with a day outside what can be asked about: `earliest`..`latest`."""

    def __init__(self, text: str, *, earliest: dt.date, latest: dt.date) -> None:
        super().__init__(text)
        self.text, self.earliest, self.latest = text, earliest, latest

    def sentence(self, tr: Callable[..., str]) -> str:
        """The refusal in the reader's language, naming the days that can be asked about."""
        def day(value: dt.date) -> str:
            return tr("input.day", year=value.year, month=value.month, day=value.day)

        return tr("input.period_out_of_range", text=self.text, earliest=day(self.earliest),
                  latest=day(self.latest))


def period_bounds(*, today: dt.date, campaign_start: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a period may name: a year before the campaign to a year ahead."""
    def shifted(day: dt.date, delta: dt.timedelta) -> dt.date:
        try:
            return day + delta
        except OverflowError:
            return dt.date.min if delta < dt.timedelta(0) else dt.date.max

    return shifted(min(campaign_start, today), -PERIOD_MARGIN), shifted(today, PERIOD_MARGIN)


def parse_period(
    text: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[dt.date, dt.date] | None:
    """A period word (today, week, month, campaign, in either language), a day or `start..end`.

    Returns (start, end) inclusive, or None when `text` is no period (it may be a place).
    Raises ParseError for a range that ends before it starts and PeriodOutOfRange for a day
    outside period_bounds."""
    folded = fold(text).lower()
    word = PERIODS.get(folded)
    if word == "today":
        return today, today
    if word == "week":
        return today - dt.timedelta(days=today.weekday()), today
    if word == "month":
        return today.replace(day=1), today
    if word == "campaign":
        return campaign_start, today
    parts = re.split(r"\.\.|～|~|至", folded)
    if len(parts) > 2:
        return None
    try:
        days = [parse_day(part.strip(), today=today) for part in parts]
    except ParseError:
        return None
    start, end = days[0], days[-1]
    earliest, latest = period_bounds(today=today, campaign_start=campaign_start)
    if start < earliest or end > latest:
        raise PeriodOutOfRange(text, earliest=earliest, latest=latest)
    if end < start:
        raise ParseError(text)
    return start, end
