"""What each schedule sends: reminders, warnings, escalations, digests and the county report.

A builder gets one due run and returns the messages for the outbox. It runs in the transaction
that claimed the run, so the claim and the messages commit together or not at all; every
message has a dedup key, so even a second run of the same day could not send it twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from common.clock import upcoming_holidays, week_start
from common.i18n import Money
from reports.attendance import excused_line
from scheduler.broadcasts import broadcast_reports
from scheduler.escalation import dispute_escalations, handover_climbs
from scheduler.problems import problem_reminders
from scheduler.reports import county_report, evening_digests
from scheduler.runs import Plan, Run, above, leaders, message
from scheduler.stage import stage_notices
from scheduler.timing import daily, every, reports_campaign_week, summary_deadline, weekly
from storage import checkins, pairings, people, summaries
from storage import leave as leave_store
from storage.figures import CADRE_ROLES
from storage.models import Person
from storage.outbox import Outgoing

# Those in no village team who may pair (/pair) and record their condolences (/condolence).
OUTSIDE_TEAM_ROLES = tuple(role for role in people.ROLES if role not in CADRE_ROLES)


async def checkin_reminders(run: Run) -> list[Outgoing]:
    """Morning: cadres without a check-in today, except those on approved leave today (a
    request waiting for a decision, or declined, spares nothing); none on a public holiday,
    unless the county counts holidays as working days; none to those an inspection of today
    found away already (the day cannot be checked in as in the village)."""
    calendar = run.ctx.settings.calendar
    if calendar.holiday(run.day) and not calendar.holidays_count_as_workdays:
        return []
    cadres = await people.reachable(run.session, roles=CADRE_ROLES)
    done = await checkins.people_with_checkin(run.session, day=run.day)
    done |= await checkins.found_away(run.session, day=run.day, person_ids=[p.id for p in cadres])
    leave = await leave_store.on_leave(run.session, day=run.day)
    return [message(p, run.tr(p)("remind.checkin"), key=f"checkin:{run.day}:{p.id}",
                    kind="reminder")
            for p in cadres if p.id not in done and p.id not in leave]


async def attendance_warnings(run: Run) -> list[Outgoing]:
    """Evening: warn a cadre who must stay every remaining day; tell leaders once it is lost.

    The week asks what storage.calendar's rule asks (fewer in a part week or a holiday week),
    and only the campaign's days left this week can still be stayed."""
    calendar, day = run.ctx.settings.calendar, run.day
    monday, remaining = week_start(day), calendar.days_left(day)
    minimum = calendar.required_days(monday)
    if minimum == 0:
        return []
    cadres = await people.reachable(run.session, roles=CADRE_ROLES)
    ids = [p.id for p in cadres]
    days = await checkins.days_in_village_by_person(
        run.session, person_ids=ids, start=monday, end=day)
    # Approved leave counts as present (the days required are not changed): a day of leave
    # so far that was not a day in the village, and every day of leave still to come.
    leave = await leave_store.excused(run.session, person_ids=ids, start=monday,
                                      end=monday + dt.timedelta(days=6))
    teams, townships = await leaders(run.session)
    out: list[Outgoing] = []
    for cadre in cadres:
        stayed = days.get(cadre.id, 0)
        excused = leave.get(cadre.id, set())
        # Days still to come on leave are excused already, not days left to stay.
        free = max(0, remaining - sum(1 for d in excused if d > day))
        best = stayed + len(excused) + free
        if best == minimum and free > 0:
            tr = run.tr(cadre)
            text = _with_excused(tr, tr("remind.attendance_warn", days=stayed, remaining=free,
                                        minimum=minimum), excused)
            out.append(message(cadre, text, key=f"attend-warn:{monday}:{cadre.id}",
                               kind="reminder"))
        elif best < minimum:
            for leader in above(cadre, teams, townships):
                tr = run.tr(leader)
                text = _with_excused(tr, tr(
                    "remind.attendance_miss", name=cadre.name, days=stayed, remaining=free,
                    village=cadre.village.name if cadre.village else "",
                    minimum=minimum), excused)
                out.append(message(leader, text, kind="warning",
                                   key=f"attend-miss:{monday}:{cadre.id}:{leader.id}"))
    return out


def _with_excused(tr: Any, text: str, excused: set[dt.date]) -> str:
    """The text, with the days approved leave excused under it when there are some."""
    line = excused_line(tr, excused)
    return text if line is None else f"{text}\n{line}"


async def _missing_summaries(run: Run, monday: dt.date) -> list[Person]:
    cadres = await people.reachable(run.session, roles=CADRE_ROLES)
    done = await summaries.people_with_summary(run.session, week_start=monday)
    return [p for p in cadres if p.id not in done]


async def summary_reminders(run: Run) -> list[Outgoing]:
    """Before the deadline: everyone who has not submitted this week's summary."""
    settings = run.ctx.settings
    monday = week_start((run.local_due + _reminder_lead(settings)).date())
    deadline = summary_deadline(settings, monday).astimezone(settings.tz)
    return [message(p, run.tr(p)("remind.summary", deadline=deadline),
                    key=f"summary-remind:{monday}:{p.id}", kind="reminder")
            for p in await _missing_summaries(run, monday)]


def _reminder_lead(settings: Any) -> dt.timedelta:
    return dt.timedelta(hours=settings.summary_reminder_hours_before)


def _names(group: list[Person]) -> str:
    return "、".join(p.name for p in group)


async def summaries_missing_to_teams(run: Run) -> list[Outgoing]:
    """At the deadline: each team leader gets the team's missing summaries."""
    monday = week_start(run.day)
    teams, _ = await leaders(run.session)
    by_village: dict[int, list[Person]] = defaultdict(list)
    for person in await _missing_summaries(run, monday):
        by_village[person.village_id or 0].append(person)
    out: list[Outgoing] = []
    for village_id, group in by_village.items():
        for leader in teams.get(village_id, []):
            names = [p for p in group if p.id != leader.id]
            if names:
                text = run.tr(leader)("remind.summary_missing_team", week=monday,
                                      names=_names(names))
                out.append(message(leader, text, kind="warning",
                                   key=f"summary-missing:{monday}:{leader.id}"))
    return out


async def summaries_missing_to_townships(run: Run) -> list[Outgoing]:
    """A day after the deadline: each township leader gets the missing, village by village."""
    monday = week_start((run.local_due - dt.timedelta(days=1)).date())
    _, townships = await leaders(run.session)
    by_township: dict[int, dict[str, list[Person]]] = defaultdict(lambda: defaultdict(list))
    for person in await _missing_summaries(run, monday):
        village = person.village.name if person.village else ""
        by_township[person.township_id or 0][village].append(person)
    out: list[Outgoing] = []
    for township_id, villages in by_township.items():
        for leader in townships.get(township_id, []):
            tr = run.tr(leader)
            lines = [tr("remind.summary_missing_township", week=monday)]
            lines += [tr("remind.summary_missing_line", village=v, names=_names(g))
                      for v, g in sorted(villages.items())]
            out.append(message(leader, "\n".join(lines), kind="warning",
                               key=f"summary-missing-t:{monday}:{leader.id}"))
    return out


async def holiday_reminders(run: Run) -> list[Outgoing]:
    """Before New Year's Day and the Spring Festival: plan condolence visits to paired homes.
    Every cadre is reminded (/aid); someone in no village team only when they have paired
    households, which they record with /condolence."""
    settings = run.ctx.settings
    holidays = upcoming_holidays(run.day, within_days=settings.holiday_reminder_days_before)
    if not holidays:
        return []
    cadres = await people.reachable(run.session, roles=CADRE_ROLES)
    outside = [p for p in await people.reachable(run.session, roles=OUTSIDE_TEAM_ROLES)
               if p.village_id is None]
    paired = await pairings.pair_counts(run.session,
                                        person_ids=[p.id for p in cadres + outside])
    reminded = [(p, "remind.holiday") for p in cadres] + [
        (p, "remind.holiday_paired") for p in outside if paired.get(p.id)]
    out: list[Outgoing] = []
    for name, date in holidays:
        for person, msgid in reminded:
            tr = run.tr(person)
            text = tr(msgid, holiday=tr(f"holiday.{name}"), date=date,
                      paired=paired.get(person.id, 0), quota=settings.pair_quota(person.rank),
                      minimum=Money(settings.condolence_min_amount))
            out.append(message(person, text, kind="reminder",
                               key=f"holiday:{name}:{date}:{person.id}"))
    return out


def plans() -> list[Plan]:
    """Every schedule, with the settings that time it."""
    return [
        Plan("checkin_reminder", daily(lambda s: s.checkin_reminder_time), checkin_reminders,
             same_day_only=True),
        Plan("attendance_check", daily(lambda s: s.attendance_check_time), attendance_warnings,
             same_day_only=True),
        Plan("summary_reminder",
             weekly(lambda s: s.summary_deadline_weekday, lambda s: s.summary_deadline_time,
                    lambda s: -_reminder_lead(s)), summary_reminders, same_day_only=True),
        Plan("summary_missing_team",
             weekly(lambda s: s.summary_deadline_weekday, lambda s: s.summary_deadline_time),
             summaries_missing_to_teams),
        Plan("summary_missing_township",
             weekly(lambda s: s.summary_deadline_weekday, lambda s: s.summary_deadline_time,
                    lambda s: dt.timedelta(days=1)), summaries_missing_to_townships),
        Plan("dispute_escalation", daily(lambda s: s.dispute_check_time), dispute_escalations),
        Plan("handover_climb", every(15 * 60), handover_climbs, campaign=None),
        Plan("problem_reminder", daily(lambda s: s.problem_check_time), problem_reminders,
             same_day_only=True),
        Plan("evening_digest", daily(lambda s: s.digest_time), evening_digests),
        Plan("county_report",
             weekly(lambda s: s.county_report_weekday, lambda s: s.county_report_time),
             county_report, campaign=reports_campaign_week),
        Plan("holiday_reminder", daily(lambda s: s.holiday_reminder_time), holiday_reminders,
             same_day_only=True),
        Plan("broadcast_report", every(lambda s: s.scheduler_tick_seconds), broadcast_reports,
             campaign=None),
        Plan("stage_notices", daily(lambda s: s.stage_reminder_time), stage_notices,
             same_day_only=True),
    ]
