"""Parsing what people type: full-width digits, Chinese numerals, money, dates and periods.

Dates come as people write them: 2026-12-04, 12-4, 12月4日, 4号, 明天, 下周五, 周五,
next friday, dec 4. A date without a year, or a weekday, is read in the direction the
question looks: a deadline forward, a record's day back, a period's end nearest.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import cn2an

Direction = Literal["past", "future", "nearest"]
# Chinese numerals as cn2an reads them (smart mode also takes digits mixed in: 1.5万).
NUMERAL = "零〇一二三四五六七八九十两百千万亿壹贰叁肆伍陆柒捌玖拾佰仟廿"
NUMBER = re.compile(rf"[-+]?[\d{NUMERAL}]+(?:[.点][\d{NUMERAL}]+)?[万亿]?")


class ParseError(ValueError):
    """The text is not what was asked for."""


class VagueNumber(ParseError):
    """A count or amount given as an estimate: 三十多, 十几, 百余, over 30."""


class ReversedPeriod(ParseError):
    """A period that ends before it starts."""


def fold(text: str) -> str:
    """Full-width digits and letters to ASCII; surrounding white space removed."""
    return unicodedata.normalize("NFKC", text).strip()


def _number(text: str) -> Decimal:
    """A number in digits, Chinese numerals or both (40, 四十, 两百五, 1.5万), exactly."""
    if not text or not NUMBER.fullmatch(text):
        raise ParseError(text)
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        return Decimal(text)
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError) as exc:  # cn2an's refusal of a malformed numeral
        raise ParseError(text) from exc
    return Decimal(str(value))


# An estimate is no figure: 三十多, 十几, 百余, 三十来, 30+, over 30, 30-ish.
VAGUE = re.compile(r"多|余|几|来|若干|好些|\+$|^(?:over|more than|almost|nearly)\b|ish$|odd$",
                   re.I)
ABOUT = re.compile(r"^(?:约|大约|大概|大致|差不多|about|around|approx\.?|approximately|~)\s*|"
                   r"\s*(?:左右|上下)$", re.I)
COUNT_UNIT = re.compile(r"\s*(?:个人|人次|个|人|户|位|名|家|次|场|块|条|幅|张|处|项|期|"
                        r"people|persons?|households?|times?)$", re.I)
MONEY_UNIT = re.compile(r"\s*(?:元整|元钱|块钱|元|块|yuan|rmb|cny)$", re.I)
CURRENCY = re.compile(r"^(?:¥|￥|rmb|cny)\s*", re.I)


def _figure(text: str, unit: re.Pattern[str]) -> Decimal:
    """The number in an answer, without its unit or an 'about' (约40人 is 40)."""
    folded = fold(text).replace(",", "").replace("，", "")
    for pattern in (ABOUT, unit, ABOUT, CURRENCY):
        folded = pattern.sub("", folded).strip()
    if VAGUE.search(folded):
        raise VagueNumber(text)
    return _number(folded)


def parse_int(text: str) -> int:
    """A whole number: 12, １２, 十二, 12人, 六个人, 约40人, 二十户, 两百. 三十多 is refused
    (VagueNumber): a count is a figure, not an estimate."""
    value = _figure(text, COUNT_UNIT)
    if value != value.to_integral_value():
        raise ParseError(text)
    return int(value)


def parse_money(text: str) -> Decimal:
    """An amount of money with at most two decimals: 200, ¥200.5, 200元, 200块, 两百元, 1.5万."""
    value = _figure(text, MONEY_UNIT)
    if value < 0 or value != value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise ParseError(text)
    return value.quantize(Decimal("0.01"))


# --- days ------------------------------------------------------------------------------------

RELATIVE_DAYS = {
    "today": 0, "今天": 0, "今日": 0, "yesterday": -1, "昨天": -1, "昨日": -1, "前天": -2,
    "大前天": -3, "the day before yesterday": -2, "day before yesterday": -2,
    "tomorrow": 1, "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
    "the day after tomorrow": 2, "day after tomorrow": 2,
}
ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
EN_WEEKDAYS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
               "fri": 4, "sat": 5, "sun": 6, "monday": 0, "tuesday": 1, "wednesday": 2,
               "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
EN_MONTHS = {name: number for number, names in enumerate(
    ("", "jan january", "feb february", "mar march", "apr april", "may", "jun june",
     "jul july", "aug august", "sep sept september", "oct october", "nov november",
     "dec december")) for name in names.split()}
_N = r"\d{1,2}|[零〇一二三四五六七八九十]{1,3}"  # a month's or a day's number
_MON = "|".join(sorted(EN_MONTHS, key=len, reverse=True))
_WEEKDAY_EN = "|".join(sorted(EN_WEEKDAYS, key=len, reverse=True))
ZH_WEEKDAY = re.compile(r"(?:(?P<shift>上+|下+)个?|(?P<this>本|这个?))?(?:周|星期|礼拜)"
                        r"(?P<day>[一二三四五六日天七1-7])")
EN_WEEKDAY = re.compile(rf"(?:(?P<rel>last|next|this)\s+)?(?P<day>{_WEEKDAY_EN})\.?")
DAYS_AWAY = re.compile(r"(?P<n>\d+|[零〇一二三四五六七八九十两]+)\s*天"
                       r"(?P<way>以?前|之前|以?后|之后)")
DAYS_AWAY_EN = re.compile(r"(?:(?P<ago>\d+)\s+days?\s+ago|in\s+(?P<ahead>\d+)\s+days?)")
NUMERIC_DAY = re.compile(
    rf"(?:(?P<year>\d{{4}})\s*[-/.年]\s*)?(?P<month>{_N})\s*[-/.月]\s*(?P<day>{_N})\s*[日号]?")
MONTH_DAY_EN = re.compile(
    rf"(?:(?P<m1>{_MON})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?|"
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MON})\.?)(?:,?\s+(?P<year>\d{{4}}))?")
DAY_OF_MONTH = re.compile(rf"(?P<day>{_N})\s*[日号]")


def _clean(text: str) -> str:
    """Folded, lower case, single spaces, no closing full stop: what the patterns read."""
    return re.sub(r"\s+", " ", fold(text).lower()).rstrip(".。 ")


def _small(text: str) -> int:
    """A month's or day's number, in digits or Chinese numerals."""
    return int(_number(text))


def _choose(candidates: list[dt.date], today: dt.date, direction: Direction) -> dt.date:
    """The candidate the direction picks: the latest on or before today (past), the earliest
    on or after it (future), or the closest (nearest; a tie goes back)."""
    if direction == "past":
        fitting = [day for day in candidates if day <= today]
        if fitting:
            return max(fitting)
    elif direction == "future":
        fitting = [day for day in candidates if day >= today]
        if fitting:
            return min(fitting)
    return min(candidates, key=lambda day: (abs((day - today).days), day > today))


def _month_day(month: int, day: int, year: int | None, *, today: dt.date,
               direction: Direction) -> dt.date:
    if year is not None:
        try:
            return dt.date(year, month, day)
        except ValueError as exc:
            raise ParseError(f"{year}-{month}-{day}") from exc
    candidates = []
    for shift in range(-4, 5):  # 29 February comes back every four years
        try:
            candidates.append(dt.date(today.year + shift, month, day))
        except ValueError:
            continue
    if not candidates:
        raise ParseError(f"{month}-{day}")
    return _choose(candidates, today, direction)


def _day_of_month(day: int, *, today: dt.date, direction: Direction) -> dt.date:
    candidates = []
    for shift in (-2, -1, 0, 1, 2):
        month_index = today.year * 12 + today.month - 1 + shift
        try:
            candidates.append(dt.date(month_index // 12, month_index % 12 + 1, day))
        except ValueError:
            continue
    if not candidates:
        raise ParseError(str(day))
    return _choose(candidates, today, direction)


def _weekday(day: int, *, today: dt.date, direction: Direction) -> dt.date:
    back = today - dt.timedelta(days=(today.weekday() - day) % 7)
    ahead = today + dt.timedelta(days=(day - today.weekday()) % 7)
    return _choose([back, ahead], today, direction)


def parse_day(text: str, *, today: dt.date, direction: Direction) -> dt.date:
    """A day as people type it, read in the direction the question looks.

    today, 昨天, 前天, 明天, 后天, 3天前; 周五, 星期五, 上周三, 下周五, friday, last wednesday,
    next friday; 2026-12-04, 12-4, 12/4, 12.4, 12月4日, 十二月四日, 4号, dec 4, 4 december.
    A date without a year (or month) is the one nearest today in `direction`: past, the
    latest on or before it; future, the earliest on or after it; nearest, the closest. A
    bare weekday is today or the one `direction` reaches; 本周/上周/下周 name this calendar
    week's, the one before or the one after (weeks start on Monday); English `last`/`next`
    the closest such day before or after today."""
    folded = _clean(text)
    if folded in RELATIVE_DAYS:
        return today + dt.timedelta(days=RELATIVE_DAYS[folded])
    try:
        return _typed_day(folded, today=today, direction=direction)
    except OverflowError as exc:  # a shift off the calendar's ends
        raise ParseError(text) from exc
    except ParseError:
        raise ParseError(text) from None


def _typed_day(folded: str, *, today: dt.date, direction: Direction) -> dt.date:
    if match := ZH_WEEKDAY.fullmatch(folded):
        day = ZH_WEEKDAYS[match["day"]]
        monday = today - dt.timedelta(days=today.weekday())
        if match["shift"]:
            weeks = len(match["shift"]) * (1 if match["shift"][0] == "下" else -1)
            return monday + dt.timedelta(days=7 * weeks + day)
        if match["this"]:
            return monday + dt.timedelta(days=day)
        return _weekday(day, today=today, direction=direction)
    if match := EN_WEEKDAY.fullmatch(folded):
        day = EN_WEEKDAYS[match["day"]]
        if match["rel"] == "next":
            return today + dt.timedelta(days=(day - today.weekday()) % 7 or 7)
        if match["rel"] == "last":
            return today - dt.timedelta(days=(today.weekday() - day) % 7 or 7)
        if match["rel"] == "this":
            return today - dt.timedelta(days=today.weekday() - day)
        return _weekday(day, today=today, direction=direction)
    if match := DAYS_AWAY.fullmatch(folded):
        days = int(_number(match["n"]))
        return today + dt.timedelta(days=-days if "前" in match["way"] else days)
    if match := DAYS_AWAY_EN.fullmatch(folded):
        return (today - dt.timedelta(days=int(match["ago"])) if match["ago"]
                else today + dt.timedelta(days=int(match["ahead"])))
    if match := NUMERIC_DAY.fullmatch(folded):
        year = int(match["year"]) if match["year"] else None
        return _month_day(_small(match["month"]), _small(match["day"]), year, today=today,
                          direction=direction)
    if match := MONTH_DAY_EN.fullmatch(folded):
        month = EN_MONTHS[match["m1"] or match["m2"]]
        year = int(match["year"]) if match["year"] else None
        return _month_day(month, int(match["d1"] or match["d2"]), year, today=today,
                          direction=direction)
    if match := DAY_OF_MONTH.fullmatch(folded):
        return _day_of_month(_small(match["day"]), today=today, direction=direction)
    raise ParseError(folded)


# --- periods ---------------------------------------------------------------------------------

PERIOD_WORDS = {
    "today": "today", "今天": "today", "今日": "today",
    "week": "week", "this week": "week", "本周": "week", "这周": "week", "本星期": "week",
    "这星期": "week", "这个星期": "week", "这礼拜": "week", "这个礼拜": "week",
    "last week": "last_week", "上周": "last_week", "上星期": "last_week",
    "上个星期": "last_week", "上礼拜": "last_week", "上个礼拜": "last_week",
    "month": "month", "this month": "month", "本月": "month", "这个月": "month",
    "last month": "last_month", "上月": "last_month", "上个月": "last_month",
    "campaign": "campaign", "全程": "campaign", "全部": "campaign",
}
MONTH = re.compile(rf"(?:(?P<year>\d{{4}})\s*[-/.年]\s*)?(?P<month>{_N})\s*月份?|"
                   rf"(?P<y2>\d{{4}})-(?P<m2>\d{{1,2}})|(?P<name>{_MON})\.?(?:\s+(?P<y3>\d{{4}}))?")
# Between a period's two days: 至 到 .. ~ — –; a hyphen needs spaces or a 日 before it
# (11-30 is a day, 11月30日-12月6日 and 11-30 - 12-06 are ranges).
RANGE = re.compile(r"\s*(?:\.\.|~|至|到|—+|–|―|\bto\b|\buntil\b)\s*|\s+-\s+|(?<=[日号])\s*-\s*")
# Separators a command's arguments may hold with spaces around; joined before splitting words.
GLUED = re.compile(r"\s*(\.\.|~|至|到|—+|–|―)\s*")
# What reads as a period (or a day), not a place: digits, 上上周, 周八, 十三月, last, fortnight…
PERIODISH = re.compile(
    rf"\d|^[上下本这今昨前明后大去近]+个?(?:天|日|周|星期|礼拜|月|年)[一二三四五六日天七]?$|"
    rf"^(?:周|星期|礼拜).?$|^[零〇一二三四五六七八九十两]+[月日号](?:[零〇一二三四五六七八九十]+[日号]?)?$|"
    rf"^(?:today|yesterday|tomorrow|week|month|year|last|next|this|days?|fortnight|"
    rf"{_MON}|{_WEEKDAY_EN})")
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


class SecondPeriod(ParseError):
    """Command arguments that name two periods (`week month`): the second is the text."""


class FuturePeriod(ParseError):
    """A period asked of figures that lies wholly after today."""


class LongPeriod(ParseError):
    """A period asked of figures longer than a year."""


def period_refusal(error: ParseError, tr: Callable[..., str], *, today: dt.date) -> str:
    """The sentence refusing a period, in the reader's language: what was wrong with it, and
    for a word not understood the words that would do (last week's days as the range)."""
    if isinstance(error, PeriodOutOfRange):
        return error.sentence(tr)
    monday = today - dt.timedelta(days=today.weekday())
    start, end = monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    example = {"start": f"{start.month}-{start.day}", "end": f"{end.month}-{end.day}"}
    if isinstance(error, ReversedPeriod):
        return tr("input.period.reversed", text=str(error), **example)
    if isinstance(error, SecondPeriod):
        return tr("input.period.twice", text=str(error))
    if isinstance(error, FuturePeriod):
        return tr("input.period.future", text=str(error))
    if isinstance(error, LongPeriod):
        return tr("input.period.too_long", text=str(error))
    return tr("input.period.unknown", text=str(error), **example)


def period_bounds(*, today: dt.date, campaign_start: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a period may name: a year before the campaign to a year ahead."""
    def shifted(day: dt.date, delta: dt.timedelta) -> dt.date:
        try:
            return day + delta
        except OverflowError:
            return dt.date.min if delta < dt.timedelta(0) else dt.date.max

    return shifted(min(campaign_start, today), -PERIOD_MARGIN), shifted(today, PERIOD_MARGIN)


def looks_like_period(text: str) -> bool:
    """Whether the text is meant as a period or a day (so a failure to read it is a period
    error, not an unknown place): it has digits, or starts like 上周, 周五, 十一月, last week."""
    return bool(PERIODISH.search(_clean(text)))


def _month_span(year: int, month: int) -> tuple[dt.date, dt.date]:
    if not 1 <= month <= 12:
        raise ParseError(str(month))
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _named_span(
    word: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[dt.date, dt.date] | None:
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    if word == "today":
        return today, today
    if word == "week":
        return monday, today
    if word == "last_week":
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    if word == "month":
        return first, today
    if word == "last_month":
        end = first - dt.timedelta(days=1)
        return end.replace(day=1), end
    if word == "campaign":
        return campaign_start, today
    return None


def _part_span(text: str, *, today: dt.date, direction: Direction) -> tuple[dt.date, dt.date]:
    """A month (its days) or a day (itself); one without a year as `direction` reads it:
    past, the latest month begun by today; nearest, the month closest to today."""
    match = MONTH.fullmatch(text)
    if match is None:
        day = parse_day(text, today=today, direction=direction)
        return day, day
    year_text = match["year"] or match["y2"] or match["y3"]
    if match["name"]:
        month = EN_MONTHS[match["name"]]
    else:
        month = _small(match["month"] or match["m2"])
    if year_text:
        return _month_span(int(year_text), month)
    spans = [_month_span(today.year + shift, month) for shift in (-1, 0, 1)]
    if direction == "past":
        return max(span for span in spans if span[0] <= today)
    return min(spans, key=lambda span: 0 if span[0] <= today <= span[1]
               else min(abs((span[0] - today).days), abs((span[1] - today).days)))


def parse_period(
    text: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[dt.date, dt.date] | None:
    """A period as people name it; (start, end) inclusive, or None when `text` is no period
    (it may be a place).

    今天 昨天 本周 上周 本月 上月 全程 (today, yesterday, this week, last week, this month,
    last month, campaign); a month: 11月, 2026年11月, november, nov; a day (parse_day; one
    without a year is the nearest); a range of two: 11-30至12-06, 11月30日—12月6日,
    11-30..12-06, nov 30 - dec 6 (each end without a year the nearest such day or month).
    Raises ParseError for text that looks like a period but is none, ReversedPeriod for a
    range that ends before it starts, and PeriodOutOfRange for a day outside period_bounds."""
    cleaned = _clean(text)
    span = _named_span(PERIOD_WORDS.get(cleaned, ""), today=today, campaign_start=campaign_start)
    if span is None:
        try:
            span = _typed_span(cleaned, today=today)
        except ParseError:
            raise ParseError(text) from None
        except OverflowError as exc:
            raise PeriodOutOfRange(text, **dict(zip(
                ("earliest", "latest"), period_bounds(today=today,
                                                      campaign_start=campaign_start),
                strict=True))) from exc
    if span is None:
        if looks_like_period(cleaned):
            raise ParseError(text)
        return None
    start, end = span
    earliest, latest = period_bounds(today=today, campaign_start=campaign_start)
    if start < earliest or end > latest:
        raise PeriodOutOfRange(text, earliest=earliest, latest=latest)
    if end < start:
        raise ReversedPeriod(text)
    return start, end


def _typed_span(cleaned: str, *, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """A month, a day or a range of them; None when no part reads as a day or a month."""
    parts = RANGE.split(cleaned)
    if len(parts) > 2 or not all(parts):
        return None
    if len(parts) == 1:
        if MONTH.fullmatch(cleaned):
            return _part_span(cleaned, today=today, direction="past")
        try:
            day = parse_day(cleaned, today=today, direction="nearest")
        except ParseError:
            return None
        return day, day
    try:
        start = _part_span(parts[0], today=today, direction="nearest")[0]
        end = _part_span(parts[1], today=today, direction="nearest")[1]
    except ParseError:
        if any(looks_like_period(part) for part in parts):
            raise
        return None
    return start, end


def split_period(
    args: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, str, str]:
    """A period, the words that named it and a place name from command arguments in any
    order ('上周 新村', '新村 last week', '11-24 .. 11-26'); the place is what is left, ''
    when nothing is.

    Words are read longest first (up to five, so `nov 30 - dec 6` is one period). Raises
    ParseError naming a word that looks like a period but is none (上上周), SecondPeriod for
    a second period, and parse_period's ReversedPeriod and PeriodOutOfRange."""
    words = [word for word in re.split(r"[\s,;、]+", GLUED.sub(r"\1", fold(args))) if word]
    period: tuple[dt.date, dt.date] | None = None
    named = ""
    place: list[str] = []
    index = 0
    while index < len(words):
        found, length = _longest_period(words, index, today=today,
                                        campaign_start=campaign_start)
        if found is None:
            place.append(words[index])
            index += 1
            continue
        if period is not None:
            raise SecondPeriod(" ".join(words[index:index + length]))
        period, named = found, " ".join(words[index:index + length])
        index += length
    return period, named, " ".join(place)


def _longest_period(
    words: list[str], index: int, *, today: dt.date, campaign_start: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, int]:
    """The longest run of words from `index` that names a period, and its length."""
    for length in range(min(5, len(words) - index), 1, -1):
        try:
            found = parse_period(" ".join(words[index:index + length]), today=today,
                                 campaign_start=campaign_start)
        except (PeriodOutOfRange, ReversedPeriod):
            raise
        except ParseError:
            continue
        if found is not None:
            return found, length
    return parse_period(words[index], today=today, campaign_start=campaign_start), 1
