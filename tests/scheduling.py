"""Test helpers for scheduled work: run what is due, then let the sender deliver it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from scheduler.jobs import run_due
from scheduler.sender import drain
from tests.harness import BotHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment in the county's time zone."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def tick(harness: BotHarness, at: dt.datetime | None = None) -> dict[str, int]:
    """Move the clock (if given), run every due schedule and deliver the outbox."""
    if at is not None:
        harness.at(at)
    ran = await run_due(harness.ctx)
    await drain(harness.ctx, harness.application.bot)
    return ran
