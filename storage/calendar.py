"""The campaign's calendar: its first and last day, China's public holidays, and the one rule
for the days in the village a week asks of a cadre.

Every place that judges days against the minimum (the evening attendance check, /stats,
/laggards, /merit, the county report) asks `CampaignCalendar.required_days`; approved leave,
when it is excused, sits on top of it.

The rule: of a week's seven days, those that count are inside the campaign (and inside the
period asked, when a figure covers part of a week) and are not public holidays; the week asks
ceil(MIN_DAYS_IN_VILLAGE × counted days / 7). A whole ordinary week asks the minimum; the
campaign's first week from a Wednesday (5 days) asks ceil(5 × 5 / 7) = 4; a week with the
three days of New Year's Day asks ceil(5 × 4 / 7) = 3. With HOLIDAYS_COUNT_AS_WORKDAYS a
public holiday counts like any other day. An adjusted working day (调休上班, a Saturday or
Sunday worked in exchange for a holiday) is an ordinary day: it counts.

Public holidays are those of `chinese_calendar` (the State Council's yearly notice, updated by
its maintainers once the notice is out), plus EXTRA_PUBLIC_HOLIDAYS for a year the installed
version does not know yet; a year it does not know has no holidays but those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import chinese_calendar

DAY = dt.timedelta(days=1)


@lru_cache(maxsize=4096)
def public_holiday(day: dt.date) -> bool:
    """A day off for a public holiday in China (weekends in lieu included, ordinary weekends
    not); False for a year the installed chinese_calendar has no data for."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False
    return bool(off and name is not None)


@dataclass(frozen=True)
class CampaignCalendar:
    """The campaign's days and the days in the village each week asks."""

    start: dt.date
    end: dt.date
    min_days: int
    holidays_count_as_workdays: bool = False
    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def in_campaign(self, day: dt.date) -> bool:
        """The day is one of the campaign's."""
        return self.start <= day <= self.end

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        """Some day from `first` to `last` is one of the campaign's."""
        return first <= self.end and last >= self.start

    def holiday(self, day: dt.date) -> bool:
        """A public holiday (whether or not it counts as a working day for the rule)."""
        return day in self.extra_holidays or public_holiday(day)

    def counted_days(self, week_start: dt.date, *, start: dt.date | None = None,
                     end: dt.date | None = None) -> int:
        """The days of the week from Monday `week_start` that count towards its minimum:
        inside the campaign and [start, end], and not public holidays unless they count."""
        first = max(week_start, self.start, start or week_start)
        last = min(week_start + 6 * DAY, self.end, end or self.end)
        counted = 0
        day = first
        while day <= last:
            if self.holidays_count_as_workdays or not self.holiday(day):
                counted += 1
            day += DAY
        return counted

    def required_days(self, week_start: dt.date, *, start: dt.date | None = None,
                      end: dt.date | None = None) -> int:
        """Days in the village the week from Monday `week_start` asks of a cadre (the part
        from `start` to `end` when given): ceil(min_days × counted days / 7)."""
        counted = self.counted_days(week_start, start=start, end=end)
        return -(-self.min_days * counted // 7)

    def days_left(self, day: dt.date) -> int:
        """Campaign days of `day`'s week after `day`: the days a cadre can still check in."""
        sunday = day + (6 - day.weekday()) * DAY
        last = min(sunday, self.end)
        first = max(day + DAY, self.start)
        return max(0, (last - first).days + 1)


def from_dates(start: dt.date, end: dt.date, min_days: int, *, holidays_count: bool = False,
               extra: Iterable[dt.date] = ()) -> CampaignCalendar:
    """A calendar from its settings."""
    return CampaignCalendar(start, end, min_days, holidays_count, frozenset(extra))
