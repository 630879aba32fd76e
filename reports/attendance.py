"""Attendance in words, for the chat and the schedule alike: the days approved leave excused.

An excused day counts as present when a week's days in the village are judged against the days
it requires; every place that judges says which days they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from common.i18n import Translator


def excused_line(tr: Translator, days: Iterable[dt.date | str]) -> str | None:
    """The days approved leave excused, named (None when there are none)."""
    named = [tr("leave.day", day=d if isinstance(d, dt.date) else dt.date.fromisoformat(d))
             for d in sorted(days, key=str)]
    if not named:
        return None
    return tr("leave.excused", count=len(named), days=tr("common.list_sep").join(named))
