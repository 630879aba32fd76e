"""Weekly summaries and the figures drafted for them from the week's own records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leave, reviews, visits
from storage.audit import record_audit
from storage.checkins import days_in_village
from storage.figures import local_bounds
from storage.models import Aid, Dispute, DisputeStep, LeaveRequest, Person, Summary
from storage.scope import Scope, in_place

# The counts of a summary, in the order they are shown: computed from the records when it is
# submitted (and again when it is corrected), never typed.
FIGURES = ("days_in_village", "visits", "disputes_opened", "disputes_resolved", "aid")
TEXTS = ("achievements", "problems", "plan", "short_reason", "figures_note")


class SummaryLocked(Exception):
    """The one above has accepted this summary: it can no longer be changed."""


class ReasonNeeded(Exception):
    """The records give fewer days in the village than the week asks: a reason is needed."""


@dataclass(frozen=True)
class SummaryText:
    """The written part of a summary."""

    achievements: str
    problems: str
    plan: str
    short_reason: str | None = None
    figures_note: str | None = None  # the cadre's explanation beside the computed figures


def week_end(week_start: dt.date) -> dt.date:
    """The Sunday that ends the week starting on this Monday."""
    return week_start + dt.timedelta(days=6)


def _figures() -> Any:
    """A person's counts over a period in one statement, built once (its parameters: person,
    start and end, the local days' bounds low and high): help, disputes opened and resolved,
    days in the village, and approved leave overlapping the period (without any, no day is
    excused and the leave is not read)."""
    person = bindparam("person", type_=Dispute.person_id.type)
    start, end = bindparam("start", type_=Aid.day.type), bindparam("end", type_=Aid.day.type)
    low, high = bindparam("low", type_=DisputeStep.at.type), bindparam(
        "high", type_=DisputeStep.at.type)
    aid = select(func.count(Aid.id)).where(Aid.person_id == person, Aid.day >= start,
                                           Aid.day <= end)
    opened = select(func.count(Dispute.id)).where(
        Dispute.person_id == person, Dispute.opened_on >= start, Dispute.opened_on <= end)
    resolved = (
        select(func.count(func.distinct(DisputeStep.dispute_id)))
        .join(Dispute, Dispute.id == DisputeStep.dispute_id)
        .where(Dispute.person_id == person, DisputeStep.status == "resolved",
               DisputeStep.at >= low, DisputeStep.at < high)
    )
    on_leave = select(func.count(LeaveRequest.id)).where(
        LeaveRequest.person_id == person, *leave.approved_between(start, end))
    return select(*(query.scalar_subquery() for query in (
        aid, opened, resolved, days_in_village(person, start, end), on_leave)))


_FIGURES = _figures()


async def figures_between(
    session: AsyncSession, *, person_id: int, start: dt.date, end: dt.date, tz: dt.tzinfo
) -> dict[str, Any]:
    """A person's counts over local days `start`..`end`: the figures of a summary and of /me."""
    by_kind = await visits.visits_by_kind(session, person_id=person_id, start=start, end=end)
    # Local days, so a step at Sunday 23:59 county time counts in that week.
    low, high = local_bounds(start, tz, days=(end - start).days + 1)
    aided, disputes_opened, disputes_resolved, days, leaves = (await session.execute(
        _FIGURES, {"person": person_id, "start": start, "end": end, "low": low, "high": high}
    )).one()
    # Days approved leave excused (not days in the village): they count as present.
    excused = await leave.excused_days(
        session, person_id=person_id, start=start, end=end) if leaves else []
    return {
        "days_in_village": int(days),
        "visits": sum(by_kind.values()),
        "visits_by_kind": by_kind,
        "disputes_opened": int(disputes_opened),
        "disputes_resolved": int(disputes_resolved),
        "aid": int(aided),
        "excused_days": [day.isoformat() for day in excused],
    }


def counted_days(figures: dict[str, Any]) -> int:
    """Days in the village and days approved leave excused: what the week's days required
    are judged against."""
    return int(figures.get("days_in_village", 0)) + len(figures.get("excused_days") or [])


async def week_figures(
    session: AsyncSession, *, person_id: int, week_start: dt.date, tz: dt.tzinfo
) -> dict[str, Any]:
    """The drafted figures of a person's week (Monday `week_start` to Sunday)."""
    return await figures_between(session, person_id=person_id, start=week_start,
                                 end=week_end(week_start), tz=tz)


async def summary_for(
    session: AsyncSession, *, person_id: int, week_start: dt.date
) -> Summary | None:
    """The person's summary of that week, if they have submitted one."""
    result = await session.execute(
        select(Summary).where(Summary.person_id == person_id, Summary.week_start == week_start)
    )
    return result.scalar_one_or_none()


async def submit_summary(
    session: AsyncSession,
    *,
    person: Person,
    week_start: dt.date,
    text: SummaryText,
    now: dt.datetime,
    tz: dt.tzinfo,
    minimum: int,
    figures: dict[str, Any] | None = None,
) -> tuple[Summary, bool]:
    """Submit a week's summary, or correct the one submitted (each change audited). Its
    figures are counted from the records now, whatever was shown before (`figures`: counted
    already in this transaction, so not counted twice); the short-week
    reason is kept only when the days (with those approved leave excused) are fewer than
    `minimum`, and required then.

    Returns the summary and whether it was new. Raises SummaryLocked once accepted,
    ReasonNeeded when the week is short and no reason is given.
    """
    existing = await summary_for(session, person_id=person.id, week_start=week_start)
    if existing is not None and existing.status == "accepted":
        raise SummaryLocked(existing.id)
    if figures is None:
        figures = await week_figures(session, person_id=person.id, week_start=week_start, tz=tz)
    short = counted_days(figures) < minimum
    if short and not (text.short_reason or "").strip():
        raise ReasonNeeded(week_start)
    if not short and text.short_reason is not None:
        text = replace(text, short_reason=None)
    if existing is None:
        row = Summary(
            person_id=person.id, village_id=person.village_id, township_id=person.township_id,
            unit_id=person.unit_id, week_start=week_start, figures=dict(figures),
            achievements=text.achievements, problems=text.problems, plan=text.plan,
            short_reason=text.short_reason, figures_note=text.figures_note,
            status="submitted", submitted_at=now,
        )
        session.add(row)
        await session.flush()
        return row, True
    await reviews.resubmit(session, existing, entity="summary", by=person, now=now)
    await _correct(session, existing, person=person, figures=figures, text=text, now=now)
    return existing, False


async def _correct(
    session: AsyncSession, row: Summary, *, person: Person, figures: dict[str, Any],
    text: SummaryText, now: dt.datetime,
) -> None:
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(row.figures) | set(figures)):
        if row.figures.get(key) != figures.get(key):
            changes.append((f"figures.{key}", row.figures.get(key), figures.get(key)))
    for key in TEXTS:
        if getattr(row, key) != getattr(text, key):
            changes.append((key, getattr(row, key), getattr(text, key)))
            setattr(row, key, getattr(text, key))
    row.figures = dict(figures)  # a new dict, so the JSON column is seen as changed
    # submitted_at stays the first submission: a correction after the deadline must not make
    # a summary that was on time late (the corrections' times are in the audit log).
    for field, old, new in changes:  # a figure changes only because the records did
        action = "recount" if field.startswith("figures.") else "correct"
        await record_audit(session, actor_id=person.id, entity="summary", entity_id=row.id,
                           action=action, at=now, field=field, old=old, new=new)
    await session.flush()


async def summary_to_review(
    session: AsyncSession, *, summary_id: int, by: Person
) -> tuple[Summary, Person] | None:
    """The summary and its author, locked, if `by` is now the one who reviews it."""
    return await reviews.locked_for_weekly_review(session, Summary, summary_id, by=by)


async def person_overview(
    session: AsyncSession, *, person_id: int, today: dt.date, campaign_start: dt.date,
    tz: dt.tzinfo,
) -> dict[str, Any]:
    """A cadre's own week so far and campaign so far, with this week's summary status."""
    monday = today - dt.timedelta(days=today.weekday())
    summary = await summary_for(session, person_id=person_id, week_start=monday)
    return {
        "week_start": monday,
        "today": today,
        "campaign_start": campaign_start,
        "week": await figures_between(session, person_id=person_id, start=monday, end=today,
                                      tz=tz),
        "campaign": await figures_between(session, person_id=person_id,
                                          start=campaign_start, end=today, tz=tz),
        "summary_status": summary.status if summary is not None else None,
    }


async def people_with_summary(session: AsyncSession, *, week_start: dt.date) -> set[int]:
    """Who has submitted a summary for the week starting on this Monday."""
    result = await session.execute(
        select(Summary.person_id).where(Summary.week_start == week_start))
    return set(result.scalars())


async def review_counts(session: AsyncSession, *, scope: Scope, start: dt.date,
                        end: dt.date) -> dict[str, int]:
    """The weekly summaries of the weeks a period touches, in the scope (each summary's own
    village or township), by where their review stands (reviews.STATUSES)."""
    monday = start - dt.timedelta(days=start.weekday())
    place: dict[str, Any] = scope.filters
    query = in_place(select(Summary.status, func.count()).where(
        Summary.week_start >= monday, Summary.week_start <= end), Summary,
        **place).group_by(Summary.status)
    return {status: int(count) for status, count in (await session.execute(query)).all()}
