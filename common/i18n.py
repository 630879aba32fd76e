"""Translations: every user-facing string lives in the gettext catalogs under common/locales.

Message ids are symbolic (``checkin.prompt``); each locale's catalog holds the text, as
HTML for Telegram's parse_mode=HTML. Values formatted into a message are escaped, so a
user's ``<b>`` comes back as text, never as markup. Each feature keeps its own .po file
per locale; the files of a locale are merged.

Dates, times, ranges and money are shown the way people read them, through Babel's locale
data (Chinese, and English written day-month as in ``en_GB``), by one set of formatters:

- ``format_day(locale, day, today=...)``: zh ``12月4日（周五）``, en ``Fri 4 Dec``; a day in
  another year than ``today``'s gets the year (``2025年12月4日（周四）``, ``Thu 4 Dec 2025``).
- ``format_moment(locale, moment, tz=..., today=...)``: the day and the clock time in ``tz``,
  zh ``12月4日（周五）17:00``, en ``Fri 4 Dec 17:00``.
- ``format_span(locale, start, end, today=...)``: zh ``11月30日—12月6日``, en
  ``30 Nov – 6 Dec``; a one-day range is that day, as ``format_day`` shows it.
- ``format_money(locale, amount)``: zh ``200 元`` (``200.50 元`` only with cents), en ``¥200``.
- ``format_short_day(locale, day)``: zh ``12月4日``, en ``4 Dec``, for tight places (a chart's
  axis) where the weekday and year would crowd it.
- ``format_date_line(locale, day)``: zh ``2026年12月4日``, en ``4 December 2026``, the date line
  of a written report (always with the year, never the weekday).

``translate`` applies them to the values it formats in, so callers pass the objects, never
text made by ``isoformat()``: a ``dt.date`` is shown as a day, a ``dt.datetime`` as a moment,
a ``Span(start, end)`` as a range and a ``Money(amount)`` as money (a bare number stays a
number). ``translator(locale, today=..., tz=...)`` fixes the day and zone those values are read
against; a turn's and a scheduled run's ``tr`` pass the county's. Without ``today`` no year is
shown, and without ``tz`` a moment is shown in its own zone.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from babel.dates import format_date, format_interval, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = ("zh", "en")
LOCALE_DIR = Path(__file__).parent / "locales"


class Markup(str):
    """Text that is already HTML and must not be escaped again."""

    __slots__ = ()


def N_(msgid: str) -> str:
    """Mark a message id for extraction without translating it here."""
    return msgid


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """Every message of one locale, from all its .po files."""
    messages: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def normalise_locale(code: str | None, default: str = "zh") -> str:
    """Chinese for zh*, English for anything else; the default when unknown."""
    if not code:
        return default
    return "zh" if code.lower().startswith("zh") else "en"


def locale_of(chosen: str | None, telegram_language: str | None, default: str = "zh") -> str:
    """A person's language: the one they picked with /language, else their Telegram one."""
    return chosen or normalise_locale(telegram_language, default)


class Span(NamedTuple):
    """A range of days, both ends included, shown as one range (``11月30日—12月6日``)."""

    start: dt.date
    end: dt.date


class Money(NamedTuple):
    """An amount of yuan, shown as money (``200 元``, ``¥200``)."""

    amount: Decimal | int


# Babel's locale for each of ours: English is written day before month, as in en_GB.
_BABEL = {"zh": "zh_Hans_CN", "en": "en_GB"}
_DAY = {"zh": "M月d日（EEE）", "en": "EEE d MMM"}
_DAY_YEAR = {"zh": "y年M月d日（EEE）", "en": "EEE d MMM y"}
_DATE = {"zh": "M月d日", "en": "d MMM"}
_DATE_YEAR = {"zh": "y年M月d日", "en": "d MMM y"}
_DATE_LINE = {"zh": "y年M月d日", "en": "d MMMM y"}


def _babel(locale: str) -> str:
    return _BABEL.get(locale, _BABEL["en"])


def _pattern(patterns: Mapping[str, str], locale: str) -> str:
    return patterns.get(locale, patterns["en"])


def format_day(locale: str, day: dt.date, *, today: dt.date | None = None) -> str:
    """A day with its weekday; with the year when that is not today's year."""
    patterns = _DAY if today is None or day.year == today.year else _DAY_YEAR
    return format_date(day, _pattern(patterns, locale), locale=_babel(locale))


def format_short_day(locale: str, day: dt.date) -> str:
    """A day without weekday or year (``12月4日``, ``4 Dec``), for a chart's axis."""
    return format_date(day, _pattern(_DATE, locale), locale=_babel(locale))


def format_date_line(locale: str, day: dt.date) -> str:
    """A document's date line: the full date with its year, without the weekday."""
    return format_date(day, _pattern(_DATE_LINE, locale), locale=_babel(locale))


def format_moment(locale: str, moment: dt.datetime, *, tz: dt.tzinfo | None = None,
                  today: dt.date | None = None) -> str:
    """A day and its clock time, in the zone `tz` (the moment's own zone without one)."""
    local = moment.astimezone(tz) if tz is not None and moment.tzinfo is not None else moment
    day = format_day(locale, local.date(), today=today)
    clock = format_time(local, "HH:mm", locale=_babel(locale))
    return f"{day}{clock}" if locale == "zh" else f"{day} {clock}"


def format_span(locale: str, start: dt.date, end: dt.date, *,
                today: dt.date | None = None) -> str:
    """A range of days; one day when both ends are the same; years when not today's year."""
    if end < start:
        start, end = end, start
    with_year = today is not None and (start.year != today.year or end.year != today.year)
    if start == end:
        return format_day(locale, start, today=today)
    if locale == "zh":
        # Babel's Chinese range reads 11月30日至12月6日; the house style joins with a dash.
        patterns = _DATE_YEAR if with_year else _DATE
        first = format_date(start, patterns["zh"], locale=_babel(locale))
        if with_year and start.year == end.year:
            patterns = _DATE
        return f"{first}—{format_date(end, patterns['zh'], locale=_babel(locale))}"
    shown = format_interval(start, end, "yMMMd" if with_year else "MMMd", locale=_babel(locale))
    # CLDR puts thin spaces around the dash; a plain space reads the same and types the same.
    return str(shown).replace("\u2009", " ")


def format_money(locale: str, amount: Decimal | int | float) -> str:
    """Yuan: zh ``200 元``, en ``¥200``; cents only when there are some."""
    value = Decimal(str(amount))
    whole = value == value.to_integral_value()
    number = format_decimal(value, format="#,##0" if whole else "#,##0.00",
                            locale=_babel(locale))
    return f"{number} 元" if locale == "zh" else f"¥{number}"


def _shown(locale: str, value: Any, today: dt.date | None, tz: dt.tzinfo | None) -> Any:
    """A value as it is shown in a message: escaped text, or a date, range or sum in words."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, dt.datetime):
        return format_moment(locale, value, tz=tz, today=today)
    if isinstance(value, dt.date):
        return format_day(locale, value, today=today)
    if isinstance(value, Span):
        return format_span(locale, value.start, value.end, today=today)
    if isinstance(value, Money):
        return format_money(locale, value.amount)
    return value


def _render(locale: str, msgid: str, values: Mapping[str, Any], today: dt.date | None,
            tz: dt.tzinfo | None) -> str:
    text = catalog(locale).get(msgid) or catalog("en").get(msgid)
    if text is None:
        raise KeyError(f"no translation for {msgid!r}")
    if not values:
        return text
    return text.format(**{key: _shown(locale, value, today, tz) for key, value in values.items()})


def translate(locale: str, msgid: str, /, **values: Any) -> str:
    """The message in this locale, with values escaped and formatted in (dates without a
    year, moments in their own zone: a ``translator`` with ``today`` and ``tz`` knows more)."""
    return _render(locale, msgid, values, None, None)


Translator = Callable[..., str]


def translator(locale: str, *, today: dt.date | None = None,
               tz: dt.tzinfo | None = None) -> Translator:
    """A function that translates message ids into one locale, showing dates against
    `today` (the year only when another) and moments in the zone `tz`."""

    def tr(msgid: str, /, **values: Any) -> str:
        return _render(locale, msgid, values, today, tz)

    return tr
