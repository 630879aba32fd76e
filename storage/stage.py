"""The summary stage: personal, team and township summaries of the whole campaign.

Figures are drafted from the records by the queries /summary and /stats already use (a person's
from storage.summaries, a village's or township's from storage.stats); the texts are the
author's. One summary per author and kind, correctable until the one above accepts it: the team
leader a member's personal summary, the township leader a team summary and a team leader's
personal one, the office a township summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people, reviews
from storage.audit import record_audit
from storage.calendar import CampaignCalendar
from storage.figures import SOLVED, local_bounds
from storage.models import Person, Problem, StageSummary
from storage.publicity import publicity_totals
from storage.scope import Scope
from storage.stats import scope_stats
from storage.summaries import figures_between

KINDS = ("personal", "team", "township")
TEXTS = ("achievements", "experience", "problems", "suggestions")
WRITERS = ("cadre", "team_leader", "township_leader")
# The figures of each kind, in the order they are shown.
PERSONAL_FIGURES = ("days_in_village", "visits", "disputes_opened", "disputes_resolved",
                    "problems_raised", "problems_solved", "aid", "publicity")
PLACE_FIGURES = ("cadres", "days_in_village", "compliance", "visits", "disputes_opened",
                 "disputes_resolved", "problems_raised", "problems_solved", "aid", "publicity",
                 "summaries", "summaries_expected")


class StageLocked(Exception):
    """The summary has been accepted: it can no longer be changed."""


@dataclass(frozen=True)
class StageText:
    """The written part of a stage summary."""

    achievements: str
    experience: str
    problems: str
    suggestions: str


def kinds_for(person: Person) -> tuple[str, ...]:
    """The summaries a person writes: a cadre a personal one, a team leader a personal and the
    team's, a township leader the township's."""
    if person.role == "cadre" and person.village_id is not None:
        return ("personal",)
    if person.role == "team_leader" and person.village_id is not None:
        return ("personal", "team")
    if person.role == "township_leader" and person.township_id is not None:
        return ("township",)
    return ()


async def _problems(session: AsyncSession, *, person_id: int, low: dt.datetime,
                    high: dt.datetime) -> tuple[int, int]:
    raised = select(func.count(Problem.id), func.count(case((Problem.status.in_(SOLVED), 1)))
                    ).where(Problem.person_id == person_id, Problem.created_at >= low,
                            Problem.created_at < high)
    total, solved = (await session.execute(raised)).one()
    return int(total), int(solved)


async def personal_figures(
    session: AsyncSession, *, person_id: int, start: dt.date, end: dt.date, tz: dt.tzinfo
) -> dict[str, Any]:
    """A person's figures over the campaign: those of the weekly summary, with the problems
    they raised (and how many are solved) and the publicity sessions they held."""
    figures = await figures_between(session, person_id=person_id, start=start, end=end, tz=tz)
    low, high = local_bounds(start, tz, days=(end - start).days + 1)
    figures["problems_raised"], figures["problems_solved"] = await _problems(
        session, person_id=person_id, low=low, high=high)
    held = await publicity_totals(session, start=start, end=end, person_id=person_id)
    figures["publicity"] = held.sessions
    return figures


async def place_figures(
    session: AsyncSession, *, scope: Scope, start: dt.date, end: dt.date, now: dt.datetime,
    tz: dt.tzinfo, calendar: CampaignCalendar, deadline_weekday: int, deadline_time: dt.time,
) -> dict[str, Any]:
    """A village's or township's figures over the campaign, from the queries of /stats."""
    stats = await scope_stats(
        session, scope=scope, start=start, end=end, now=now, tz=tz, calendar=calendar,
        overdue_days={}, default_overdue_days=1, deadline_weekday=deadline_weekday,
        deadline_time=deadline_time)
    weeks = sum(p.cadre_weeks for p in stats.places)
    met = sum(p.compliant for p in stats.places)
    return {
        "cadres": stats.cadres, "days_in_village": stats.days_in_village,
        "compliance": round(100 * met / weeks) if weeks else 0,
        "visits": stats.visits, "visits_by_kind": dict(stats.visits_by_kind),
        "disputes_opened": sum(stats.disputes_by_status.values()),
        "disputes_resolved": stats.disputes_by_status.get("resolved", 0),
        "problems_raised": stats.problems_raised, "problems_solved": stats.problems_solved,
        "aid": int(stats.aid.get("count", 0)), "publicity": stats.publicity.sessions,
        "summaries": stats.summaries_submitted, "summaries_expected": stats.summaries_expected,
    }


def scope_of(person: Person, kind: str) -> Scope:
    """The place a team or township summary is about: the author's village or township."""
    if kind == "team":
        return Scope("village", person.village.name if person.village else "",
                     person.township_id, person.village_id)
    return Scope("township", person.township.name if person.township else "",
                 person.township_id)


async def stage_summary_for(
    session: AsyncSession, *, person_id: int, kind: str
) -> StageSummary | None:
    """The person's stage summary of this kind, if submitted."""
    query = select(StageSummary).where(StageSummary.person_id == person_id,
                                       StageSummary.kind == kind)
    return (await session.execute(query)).scalar_one_or_none()


def _places(person: Person, kind: str) -> dict[str, int | None]:
    places = people.places(person)
    if kind == "township":
        places["village_id"] = None
    return places


async def submit_stage_summary(
    session: AsyncSession, *, person: Person, kind: str, figures: dict[str, Any],
    text: StageText, now: dt.datetime,
) -> tuple[StageSummary, bool]:
    """Submit a stage summary, or correct the one submitted (each change audited; the first
    submission time kept).

    Returns the summary and whether it was new. Raises StageLocked once accepted."""
    if kind not in kinds_for(person):
        raise ValueError(f"{person.role} does not write a {kind} summary")
    row = await stage_summary_for(session, person_id=person.id, kind=kind)
    if row is None:
        row = StageSummary(person_id=person.id, kind=kind, **_places(person, kind),
                           figures=dict(figures), status="submitted", submitted_at=now,
                           **{key: getattr(text, key) for key in TEXTS})
        session.add(row)
        await session.flush()
        return row, True
    if row.status == "accepted":
        raise StageLocked(row.id)
    await reviews.resubmit(session, row, entity="stage_summary", by=person, now=now)
    for key in TEXTS:
        old, new = getattr(row, key), getattr(text, key)
        if old != new:
            setattr(row, key, new)
            await record_audit(session, actor_id=person.id, entity="stage_summary",
                               entity_id=row.id, action="correct", at=now, field=key, old=old,
                               new=new)
    row.figures = dict(figures)  # re-drafted: the records may have grown since
    # submitted_at stays the first submission: a correction after the deadline must not make
    # a summary that was on time late (the corrections' times are in the audit log).
    await session.flush()
    return row, False


def may_accept(reviewer: Person, row: StageSummary, author: Person) -> bool:
    """Whether the reviewer is the one above the summary's author."""
    return reviews.may_review(reviewer, kind=row.kind, author=author, village_id=row.village_id,
                              township_id=row.township_id)


async def reviewers(session: AsyncSession, *, author: Person, kind: str) -> list[Person]:
    """The people reachable on Telegram who accept this author's summary of this kind."""
    return await reviews.reviewers(session, kind=kind, author=author,
                                   village_id=author.village_id, township_id=author.township_id)


def reviewable(role: str, places: Sequence[int]) -> ColumnElement[bool] | None:
    """The stage summaries reviewers of this role accept in these places (team leaders'
    villages, township leaders' townships; the office's the county's), joined to the author as
    `Person`; None for a role that accepts none."""
    if role == "office":
        return StageSummary.kind == "township"
    if role == "township_leader":
        return and_(StageSummary.township_id.in_(places), (StageSummary.kind == "team") | (
            (StageSummary.kind == "personal") & (Person.role == "team_leader")))
    if role == "team_leader":
        return and_(StageSummary.village_id.in_(places), StageSummary.kind == "personal",
                    Person.role == "cadre")
    return None


async def to_review(session: AsyncSession, *, reviewer: Person) -> list[StageSummary]:
    """The summaries this reviewer accepts, those still waiting first, then by submission."""
    place = reviewer.village_id if reviewer.role == "team_leader" else reviewer.township_id
    where = reviewable(reviewer.role, [place] if place is not None else [])
    if where is None:
        return []
    query = (select(StageSummary).join(Person, Person.id == StageSummary.person_id)
             .where(where, Person.id != reviewer.id))
    found = list((await session.execute(query)).scalars())
    return sorted(found, key=lambda r: (r.status != "submitted", r.submitted_at, r.id))


async def stage_summary_to_review(
    session: AsyncSession, *, summary_id: int, by: Person
) -> tuple[StageSummary, Person] | None:
    """The summary and its author, locked, if `by` is now the one above its author."""
    row = await session.get(StageSummary, summary_id, with_for_update=True)
    author = None if row is None else await session.get(Person, row.person_id)
    if row is None or author is None or not may_accept(by, row, author):
        return None
    return row, author


async def writers(session: AsyncSession) -> list[tuple[Person, str]]:
    """Everyone reachable who must write a stage summary, with each kind they write."""
    found = await people.reachable(session, roles=WRITERS)
    return [(person, kind) for person in found for kind in kinds_for(person)]


async def missing(session: AsyncSession) -> list[tuple[Person, str]]:
    """The stage summaries not yet submitted: (author, kind)."""
    rows = (await session.execute(select(StageSummary.person_id, StageSummary.kind))).all()
    done = {(person_id, kind) for person_id, kind in rows}
    return [(p, kind) for p, kind in await writers(session) if (p.id, kind) not in done]


async def personal_of(session: AsyncSession, *, person_id: int) -> StageSummary | None:
    """A person's personal stage summary (shown beside their appraisal)."""
    return await stage_summary_for(session, person_id=person_id, kind="personal")
