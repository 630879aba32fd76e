"""The evening digests and the Monday county report, with its chart."""

from __future__ import annotations

import asyncio
import datetime as dt

from common.clock import week_start
from common.delivery import upload
from reports.charts import township_chart
from reports.digests import REVIEW_LIST, render_county_report, render_for, review_line
from reports.targets import scope_targets, targets_line
from scheduler.runs import Run, message
from scheduler.villagework import village_work
from storage import aid, cases, figures, inspections, people, publicity, reviewqueue
from storage.outbox import Outgoing
from storage.scope import COUNTY_ROLES, Scope

LEADER_ROLES = ("team_leader", "township_leader")


async def evening_digests(run: Run) -> list[Outgoing]:
    """Every team leader's and township leader's digest, from one set of queries."""
    settings = run.ctx.settings
    villages = await figures.village_days(
        run.session, day=run.day, now=run.now, tz=settings.tz,
        overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"))
    # One set of target figures for every leader: each line keeps to the leader's scope.
    targets = await scope_targets(run.session, settings, scope=Scope("county"), today=run.day,
                                details=False)
    leaders = await people.reachable(run.session, roles=LEADER_ROLES)
    # Work waiting for each leader's review is chased here, with the button that lists it.
    waiting_for = await reviewqueue.waiting_for_each(run.session, reviewers=leaders)
    out: list[Outgoing] = []
    for leader in leaders:
        tr = run.tr(leader)
        text = render_for(tr, leader, villages, day=run.day,
                          silent_after_days=settings.silent_after_days)
        if text is None:
            continue
        line = targets_line(tr, leader, targets)
        if line:
            text += "\n" + line
        waiting = waiting_for[leader.id]
        markup = None
        if waiting:
            text += "\n" + review_line(tr, [item.author.name for item in waiting])
            markup = {"inline_keyboard": [[{"text": tr("digest.review_button"),
                                            "callback_data": REVIEW_LIST}]]}
        out.append(message(leader, text, kind="digest", key=f"digest:{run.day}:{leader.id}",
                           markup=markup))
    return out


async def county_report(run: Run) -> list[Outgoing]:
    """Monday: last week's report to everyone who reads the whole county (the leading group,
    the office and the supervision groups), with a chart."""
    settings = run.ctx.settings
    monday = week_start(run.day) - dt.timedelta(days=7)
    townships = await figures.township_weeks(
        run.session, week_start=monday, calendar=settings.calendar)
    disputes = await figures.disputes_by_category_status(run.session)
    totals = await aid.aid_totals(run.session, start=monday, end=monday + dt.timedelta(days=6))
    sunday = monday + dt.timedelta(days=6)
    held = await publicity.publicity_totals(run.session, start=monday, end=sunday)
    featured = await cases.featured_between(run.session, start=monday, end=sunday)
    inspected = await inspections.counts(run.session, start=monday, end=sunday)
    work = await village_work(run)
    targets = await scope_targets(run.session, settings, scope=Scope("county"), today=run.day,
                                details=False)
    out: list[Outgoing] = []
    charts: dict[str, bytes] = {}  # one rendering per language
    for person in await people.reachable(run.session, roles=COUNTY_ROLES):
        tr = run.tr(person)
        text = render_county_report(tr, week_start=monday, townships=townships,
                                    disputes=disputes, aid=totals,
                                    min_days=settings.calendar.required_days(monday),
                                    publicity=held,
                                    featured=featured, village_work=work,
                                    targets=targets_line(tr, person, targets),
                                    inspected=inspected)
        key = f"report:{monday}:{person.id}"
        out.append(message(person, text, kind="report", key=key))
        if townships:
            title = tr("report.chart_title", start=monday)
            if title not in charts:
                # Rendering takes most of a second: off the event loop.
                charts[title] = await asyncio.to_thread(
                    township_chart, [(t.township, t.compliance, t.completeness) for t in townships],
                    title=title, first_label=tr("report.chart_compliance"),
                    second_label=tr("report.chart_completeness"))
            photo = message(person, "", kind="report", key=key + ":chart")
            photo.method = "sendPhoto"
            photo.payload = upload("photo", f"report-{monday}.png", charts[title])
            out.append(photo)
    return out
