"""Time: logic never calls datetime.now(); it takes a clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from lunardate import LunarDate


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """The current time in UTC."""
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock the tests and the demo set and move by hand."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        """The pinned time."""
        return self._at

    def set(self, at: dt.datetime) -> None:
        """Pin the clock to another moment."""
        self._at = at.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward."""
        self._at += delta


def local_now(clock: Clock, tz: ZoneInfo) -> dt.datetime:
    """The current time in the county's zone."""
    return clock.now().astimezone(tz)


def local_today(clock: Clock, tz: ZoneInfo) -> dt.date:
    """Today's date in the county's zone: the day rolls over at local midnight."""
    return local_now(clock, tz).date()


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week that holds `day`."""
    return day - dt.timedelta(days=day.weekday())


def spring_festival(year: int) -> dt.date:
    """The first day of the first month of lunar `year`, on the Gregorian calendar."""
    lunar = LunarDate(year, 1, 1)
    # lunardate 0.3 renamed toSolarDate (which now warns); 0.2 has only the old name.
    to_solar = getattr(lunar, "to_solar_date", None) or lunar.toSolarDate
    solar: dt.date = to_solar()
    return solar


def upcoming_holidays(today: dt.date, *, within_days: int) -> list[tuple[str, dt.date]]:
    """New Year's Day and the Spring Festival in (today, today + within_days], by date."""
    last = today + dt.timedelta(days=within_days)
    found: list[tuple[str, dt.date]] = []
    for year in range(today.year, last.year + 1):
        found.append(("new_year", dt.date(year, 1, 1)))
        found.append(("spring_festival", spring_festival(year)))
    return sorted(
        ((name, day) for name, day in found if today < day <= last), key=lambda h: h[1]
    )
