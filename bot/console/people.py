"""The console's people pages: a cadre's week and a village team's week.

- GET /console/people: a cadre goes to their own week, a team leader to their team; a township
  leader sees the township's villages with their teams, the county's roles the townships and
  their villages.
- GET /console/people/me: the viewer's own week.
- GET /console/people/{person_id}?week=YYYY-MM-DD: the week (Monday to Sunday) holding that
  day: each day's check-in, the days approved leave excused, what inspections found, and the
  week's records. Its counts are /me's (`summaries.figures_between`).
- GET /console/people/team/{village_id}?week=…: each member's week as /team shows it.

A person or village outside the viewer's scope is refused; a cadre sees only their own week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import Refused, Viewer, Who
from bot.console.render import PREFIX, page
from common.context import AppContext
from handlers.team import TEAM_SUMMARY
from reports.attendance import excused_line
from storage import checkins, leave, people, stats, summaries, weeks
from storage.models import Checkin, Person
from storage.rollups import monday_of
from storage.scope import Scope


def record_href(kind: str, record_id: int) -> str:
    """The address of a record's page (`kind`: visits, disputes, problems, summaries, aid, as
    the records pages name them)."""
    return f"{PREFIX}/records/{kind}/{record_id}"


def asked_day(text: str | None, *, today: dt.date) -> dt.date:
    """The day a query parameter names (YYYY-MM-DD), never after today; today without one."""
    try:
        day = dt.date.fromisoformat(text) if text else today
    except ValueError:
        day = today
    return min(day, today)


def week_href(person_id: int, monday: dt.date) -> str:
    return f"{PREFIX}/people/{person_id}?week={monday.isoformat()}"


def place_of(person: Person) -> Scope:
    """Where a person is placed, as a scope a viewer's may contain."""
    if person.village_id is not None:
        return Scope("village", township_id=person.township_id, village_id=person.village_id)
    if person.township_id is not None:
        return Scope("township", township_id=person.township_id)
    return Scope("county")


def may_open(who: Viewer, person: Person | None) -> bool:
    """Whether the viewer may open this person's week: their own, or one placed in their
    scope."""
    if person is None:
        return False
    return person.id == who.person_id or who.may_see(place_of(person))


@dataclass
class Day:
    """One day of a person's week on the calendar."""

    day: dt.date
    future: bool
    checkin: Checkin | None = None
    excused: bool = False
    inspections: list[weeks.Seen] = field(default_factory=list)
    visits: int = 0


def calendar(monday: dt.date, today: dt.date, records: weeks.WeekRecords,
             excused: set[dt.date]) -> list[Day]:
    """The seven days of the week with what each holds."""
    days = [Day(monday + dt.timedelta(days=n), monday + dt.timedelta(days=n) > today)
            for n in range(7)]
    by_day = {d.day: d for d in days}
    for day, row in records.checkins.items():
        by_day[day].checkin = row
    for day in excused:
        if day in by_day:
            by_day[day].excused = True
    for seen in records.inspections:
        by_day[seen.inspection.day].inspections.append(seen)
    for visit in records.visits:
        by_day[visit.day].visits += 1
    return days


def weeks_offered(today: dt.date, monday: dt.date) -> dict[str, Any]:
    """The period selector's weeks: this week, last week, and the one shown."""
    this = monday_of(today)
    return {"this_week": this, "last_week": this - dt.timedelta(days=7), "monday": monday,
            "sunday": monday + dt.timedelta(days=6)}


async def _week_page(ctx: AppContext, who: Viewer, person_id: int, week: str | None,
                     ) -> Response:
    settings = ctx.settings
    monday = monday_of(asked_day(week, today=who.today))
    last = min(monday + dt.timedelta(days=6), who.today)
    async with ctx.db.read() as session:
        person = await people.by_id(session, person_id=person_id)
        if not may_open(who, person):
            raise Refused("console.refused.scope", locale=who.locale)
        assert person is not None
        # /me's figures: the same query over the same days.
        figures = await summaries.figures_between(session, person_id=person.id, start=monday,
                                                  end=last, tz=settings.tz)
        summary = await summaries.summary_for(session, person_id=person.id, week_start=monday)
        records = await weeks.week_records(session, person_id=person.id, start=monday,
                                           end=last, tz=settings.tz)
    excused = {dt.date.fromisoformat(d) for d in figures["excused_days"]}
    return page(who, "people_week.html", person=person, figures=figures, summary=summary,
                records=records, days=calendar(monday, who.today, records, excused),
                excused=sorted(excused), excused_text=excused_line(who.tr, excused),
                summary_msgid=TEAM_SUMMARY.get(summary.status if summary else None,
                                               TEAM_SUMMARY["submitted"]),
                required=settings.calendar.required_days(monday),
                counted=summaries.counted_days(figures), record_href=record_href,
                week_href=week_href, base=f"{PREFIX}/people/{person.id}",
                **weeks_offered(who.today, monday))


async def _team_page(ctx: AppContext, who: Viewer, village_id: int, week: str | None,
                     ) -> Response:
    monday = monday_of(asked_day(week, today=who.today))
    sunday = monday + dt.timedelta(days=6)
    async with ctx.db.read() as session:
        village = await people.village_by_id(session, village_id=village_id)
        if village is None or not who.may_see(Scope("village", township_id=village.township_id,
                                                    village_id=village.id)):
            raise Refused("console.refused.scope", locale=who.locale)
        # /team's queries, the same days.
        members = await stats.team_week(session, village_id=village.id, week_start=monday,
                                        today=who.today)
        excused = await leave.excused(session, person_ids=[m.person_id for m in members],
                                      start=monday, end=sunday)
        reference = await checkins.village_location(
            session, village_id=village.id, first_week=ctx.settings.campaign_start)
        far = {} if reference is None else await checkins.far_checkins(
            session, village_id=village.id, start=monday, end=sunday, reference=reference)
    return page(who, "people_team.html", village=village, members=members,
                excused={pid: sorted(days) for pid, days in excused.items()}, far=far,
                summary_msgids=TEAM_SUMMARY,
                required=ctx.settings.calendar.required_days(monday), week_href=week_href,
                ended=sunday < who.today,
                base=f"{PREFIX}/people/team/{village.id}", **weeks_offered(who.today, monday))


async def _index(ctx: AppContext, who: Viewer) -> Response:
    if who.scope is None:
        return RedirectResponse(f"{PREFIX}/people/{who.person_id}", status_code=303)
    if who.scope.kind == "village":
        return RedirectResponse(f"{PREFIX}/people/team/{who.scope.village_id}",
                                status_code=303)
    async with ctx.db.read() as session:
        if who.scope.kind == "township":
            assert who.scope.township_id is not None
            villages = await people.villages_of(session, township_id=who.scope.township_id)
            members = await stats.members_in(session, scope=who.scope)
        else:
            villages = await people.all_villages(session)
            members = []
    teams: dict[int, list[Person]] = {}
    for member in members:
        teams.setdefault(member.village_id or 0, []).append(member)
    townships: dict[str, list[Any]] = {}
    for village in villages:
        townships.setdefault(village.township.name, []).append(village)
    return page(who, "people_index.html", townships=townships, teams=teams,
                with_members=who.scope.kind == "township")


def router(ctx: AppContext) -> APIRouter:
    """The people pages."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/people")
    async def people_index(who: Who) -> Response:
        return await _index(ctx, who)

    @routes.get("/people/me")
    async def own_week(who: Who) -> Response:
        return RedirectResponse(f"{PREFIX}/people/{who.person_id}", status_code=303)

    @routes.get("/people/team/{village_id:int}")
    async def team_week(who: Who, village_id: int, week: str | None = None) -> Response:
        return await _team_page(ctx, who, village_id, week)

    @routes.get("/people/{person_id:int}")
    async def person_week(who: Who, person_id: int, week: str | None = None) -> Response:
        return await _week_page(ctx, who, person_id, week)

    return routes
