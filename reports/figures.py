"""The figures of /stats, /merit and /laggards read with the county's settings: one number, one
query, whether the chat, the HTTP API or the county report (reports/county_docx.py) asks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import Translator
from common.settings import Settings
from storage import merit, stats
from storage.scope import Scope


async def scope_figures(session: AsyncSession, settings: Settings, *, scope: Scope,
                        start: dt.date, end: dt.date, now: dt.datetime) -> stats.Stats:
    """Every figure of /stats for a scope and period (storage.stats.scope_stats)."""
    return await stats.scope_stats(
        session, scope=scope, start=start, end=end, now=now, tz=settings.tz,
        calendar=settings.calendar, overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"),
        deadline_weekday=settings.summary_deadline_weekday,
        deadline_time=settings.summary_deadline_time)


def merit_period(settings: Settings, start: dt.date, end: dt.date,
                 now: dt.datetime) -> merit.Period:
    """What /merit's figures cover, and when weekly summaries fall due."""
    return merit.Period(start=start, end=end, now=now, tz=settings.tz,
                        calendar=settings.calendar,
                        deadline_weekday=settings.summary_deadline_weekday,
                        deadline_time=settings.summary_deadline_time)


async def week_laggards(session: AsyncSession, settings: Settings, *, scope: Scope,
                        week_start: dt.date, today: dt.date,
                        now: dt.datetime) -> stats.Laggards:
    """The cadres of a scope behind in the week of `week_start`, as /laggards lists them."""
    due_day = week_start + dt.timedelta(days=settings.summary_deadline_weekday)
    deadline = dt.datetime.combine(due_day, settings.summary_deadline_time, settings.tz)
    return await stats.laggards(
        session, scope=scope, week_start=week_start, today=today, now=now,
        calendar=settings.calendar, silent_after_days=settings.silent_after_days,
        summary_due=deadline)


def counted(tr: Translator, template: str, order: tuple[str, ...],
            counts: Mapping[str, int]) -> str:
    """Counts by key, in `order`, named by the catalog (`template` with the key): 访弱势群体 2、
    访普通群众 1; the keys counted zero are left out."""
    return tr("common.list_sep").join(f"{tr(template.format(key))} {counts[key]}"
                                      for key in order if counts.get(key))


def share(value: float) -> str:
    """A percentage as the figures show it (85%), or — when there was nothing to count."""
    return "—" if math.isnan(value) else f"{value:.0f}%"
