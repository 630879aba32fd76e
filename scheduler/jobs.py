"""The JobQueue wakes the work up; the database decides what is due and who owns it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from common.context import AppContext
from common.settings import Settings
from scheduler.plans import plans
from scheduler.runs import Plan, Run
from scheduler.sender import sender_job
from scheduler.sweep import SWEEP_INTERVAL_SECONDS, sweep_job
from storage import outbox, schedules

log = logging.getLogger(__name__)

SENDER_INTERVAL_SECONDS = 1.0


async def run_plan(ctx: AppContext, plan: Plan) -> int | None:
    """Run `plan` if it is due and this process wins the claim; how many messages it queued.

    The claim, the records the run changes and its messages commit in one transaction: a crash
    leaves the run due, and a second process finds the row already moved on.
    """
    now, settings = ctx.clock.now(), ctx.settings
    upcoming = plan.next_after(settings, now)
    async with ctx.db.write() as session:
        state = await schedules.get(session, name=plan.name)
        if state is None:
            await schedules.start(session, name=plan.name, next_run_at=upcoming)
            return None
        due = state.next_run_at
        if due > now:
            if due != upcoming:  # the schedule's settings changed since the row was written
                await schedules.take(session, name=plan.name, due_at=due, next_run_at=upcoming,
                                     now=None)
            return None
        if not await schedules.take(session, name=plan.name, due_at=due, next_run_at=upcoming,
                                    now=now):
            return None
        run = Run(ctx, session, latest_due(plan, settings, due, now), now)
        if plan.same_day_only and run.day != now.astimezone(settings.tz).date():
            log.info("schedule %s due %s skipped: its day is over", plan.name, due)
            return 0
        if plan.campaign is not None and not plan.campaign(settings, run.day):
            log.info("schedule %s due %s skipped: outside the campaign", plan.name, due)
            return 0
        stored = await outbox.enqueue(session, messages=await plan.build(run), now=now)
    if stored:  # the frequent schedules mostly find nothing to send: no line for that
        log.info("schedule %s due %s ran: %d messages queued", plan.name, due, len(stored))
    return len(stored)


def latest_due(plan: Plan, settings: Settings, due: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The last occurrence at or before now: a bot down for days catches up once, on that."""
    for _ in range(10_000):
        following = plan.next_after(settings, due)
        if following > now:
            break
        due = following
    return due


async def run_due(ctx: AppContext) -> dict[str, int]:
    """Run every due schedule once; one failing schedule does not stop the others."""
    ran: dict[str, int] = {}
    for plan in plans():
        try:
            count = await run_plan(ctx, plan)
        except Exception:  # retried at the next tick: the claim rolled back with the failure
            log.exception("schedule %s failed; it stays due", plan.name)
            continue
        if count is not None:
            ran[plan.name] = count
    return ran


async def scheduler_job(context: Any) -> None:
    """The JobQueue callback that runs due schedules."""
    await run_due(AppContext.of(context))


def register(application: Any) -> None:
    """Add the repeating jobs."""
    queue = application.job_queue
    if queue is None:
        return
    ctx = AppContext.of(application)
    queue.run_repeating(sender_job, interval=SENDER_INTERVAL_SECONDS, first=0.5, name="outbox")
    queue.run_repeating(scheduler_job, interval=ctx.settings.scheduler_tick_seconds, first=1.0,
                        name="schedules")
    # First at start-up (0 would mean "after one interval" to the JobQueue): a file a crash
    # left behind goes without waiting ten minutes.
    queue.run_repeating(sweep_job, interval=SWEEP_INTERVAL_SECONDS, first=0.5,
                        name="export-sweep")
