"""When each schedule is next due: pure functions of the settings and the current instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from common.settings import Settings

NextRun = Callable[[Settings, dt.datetime], dt.datetime]


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tz).astimezone(dt.UTC)


def daily(time_of: Callable[[Settings], dt.time]) -> NextRun:
    """Every day at a local time the settings give."""

    def next_after(settings: Settings, now: dt.datetime) -> dt.datetime:
        today = now.astimezone(settings.tz).date()
        for offset in (0, 1, 2):  # two days cover any daylight-saving gap
            candidate = _at(today + dt.timedelta(days=offset), time_of(settings), settings.tz)
            if candidate > now:
                return candidate
        raise AssertionError("unreachable")

    return next_after


def weekly(
    weekday_of: Callable[[Settings], int],
    time_of: Callable[[Settings], dt.time],
    shift: Callable[[Settings], dt.timedelta] = lambda s: dt.timedelta(0),
) -> NextRun:
    """Every week on a local weekday and time, moved by `shift` (a reminder before a deadline)."""

    def next_after(settings: Settings, now: dt.datetime) -> dt.datetime:
        today = now.astimezone(settings.tz).date()
        monday = today - dt.timedelta(days=today.weekday())
        for week in (-1, 0, 1, 2):
            day = monday + dt.timedelta(days=7 * week + weekday_of(settings))
            candidate = _at(day, time_of(settings), settings.tz) + shift(settings)
            if candidate > now:
                return candidate
        raise AssertionError("unreachable")

    return next_after


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def every(seconds: float | Callable[[Settings], float]) -> NextRun:
    """Every so many seconds (a number, or read from the settings), on a fixed grid.

    The grid makes the next run the same whenever it is asked before that run is due, as the
    schedule row needs: `now + seconds` would move on at every tick and never come due."""

    def next_after(settings: Settings, now: dt.datetime) -> dt.datetime:
        value = seconds(settings) if callable(seconds) else seconds
        step = dt.timedelta(seconds=max(float(value), 0.001))
        return _EPOCH + ((now - _EPOCH) // step + 1) * step

    return next_after


def in_campaign(settings: Settings, day: dt.date) -> bool:
    """The run's local day is one of the campaign's (CAMPAIGN_START to CAMPAIGN_END)."""
    return settings.calendar.in_campaign(day)


def reports_campaign_week(settings: Settings, day: dt.date) -> bool:
    """A weekly report run on `day` covers last week: due if that week had campaign days, so
    the last part week is reported the Monday after the end, and nothing before the start."""
    monday = day - dt.timedelta(days=day.weekday() + 7)
    return settings.calendar.overlaps(monday, monday + dt.timedelta(days=6))


def summary_deadline(settings: Settings, week_start: dt.date) -> dt.datetime:
    """The weekly summary deadline of the week starting on this Monday (UTC)."""
    day = week_start + dt.timedelta(days=settings.summary_deadline_weekday)
    return _at(day, settings.summary_deadline_time, settings.tz)
