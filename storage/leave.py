"""Leave: a request (from, to, reason) that the one above approves or declines.

The notice allows leave only in principle by exception, so leave is never something a cadre
declares: it is asked, and the team leader (a team leader's own, the township leader) decides,
re-checked in the transaction that saves the decision, never by the person asking. Only
approved leave excuses a day: an excused day counts as present when a week's days in the
village are judged against the days it requires (how many it requires is not changed here).
`excused` is the one count of those days every figure reads. Every request and decision is
audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import checkins, reviews
from storage.audit import record_audit
from storage.models import LeaveRequest, Person

STATUSES = ("pending", "approved", "declined")
MAX_REASON = 500
MAX_DAYS = 31  # one request covers at most a month; longer leave is asked again


def days_of(row: LeaveRequest) -> list[dt.date]:
    """Every day the request covers."""
    return [row.first_day + dt.timedelta(days=n)
            for n in range((row.last_day - row.first_day).days + 1)]


async def request(session: AsyncSession, *, person: Person, first_day: dt.date,
                  last_day: dt.date, reason: str, now: dt.datetime) -> LeaveRequest:
    """Record a request, pending until decided."""
    if last_day < first_day or (last_day - first_day).days >= MAX_DAYS:
        raise ValueError("a leave request runs forward, at most MAX_DAYS days")
    row = LeaveRequest(person_id=person.id, village_id=person.village_id,
                       township_id=person.township_id, first_day=first_day, last_day=last_day,
                       reason=reason.strip()[:MAX_REASON], status="pending", requested_at=now)
    session.add(row)
    await session.flush()
    await record_audit(session, actor_id=person.id, entity="leave", entity_id=row.id,
                       action="request", at=now, field="status", new="pending")
    return row


async def to_decide(session: AsyncSession, *, leave_id: int, by: Person
                    ) -> tuple[LeaveRequest, Person] | None:
    """The request and its author, locked, if `by` is now the one who decides it: the same
    one above as for the weekly summary (storage.reviews.weekly_reviewers says who)."""
    return await reviews.locked_for_weekly_review(session, LeaveRequest, leave_id, by=by)


async def decide(session: AsyncSession, row: LeaveRequest, *, by: Person, approve: bool,
                 now: dt.datetime) -> bool:
    """Approve or decline; False (and nothing changed) unless it is pending — a second tap,
    or a second leader, finds it decided."""
    if row.status != "pending" or by.id == row.person_id:
        return False
    row.status = "approved" if approve else "declined"
    row.decided_at, row.decided_by = now, by.id
    await record_audit(session, actor_id=by.id, entity="leave", entity_id=row.id,
                       action="approve" if approve else "decline", at=now, field="status",
                       old="pending", new=row.status)
    await session.flush()
    return True


def approved_between(start: Any, end: Any) -> tuple[ColumnElement[bool], ...]:
    """Approved leave that overlaps `start`..`end` (dates or bound parameters)."""
    return (LeaveRequest.status == "approved", LeaveRequest.first_day <= end,
            LeaveRequest.last_day >= start)


async def approved_days(session: AsyncSession, *, start: dt.date, end: dt.date,
                        person_ids: Collection[int] | None = None,
                        where: Sequence[ColumnElement[bool]] = ()) -> dict[int, set[dt.date]]:
    """The days from `start` to `end` each person is on approved leave: of `person_ids`, or
    of the people `where` (conditions on Person) selects. Pending and declined count nothing."""
    query = select(LeaveRequest).where(*approved_between(start, end))
    if person_ids is not None:
        if not person_ids:
            return {}
        query = query.where(LeaveRequest.person_id.in_(list(person_ids)))
    if where:
        query = query.join(Person, Person.id == LeaveRequest.person_id).where(*where)
    found: dict[int, set[dt.date]] = defaultdict(set)
    for row in (await session.execute(query)).scalars():
        found[row.person_id].update(d for d in days_of(row) if start <= d <= end)
    return dict(found)


async def excused(session: AsyncSession, *, start: dt.date, end: dt.date,
                  person_ids: Collection[int] | None = None,
                  where: Sequence[ColumnElement[bool]] = ()) -> dict[int, set[dt.date]]:
    """The days approved leave excuses from `start` to `end`, per person (of `person_ids`, or
    of those `where` selects): on approved leave and not checked in as in the village (a day in
    the village counts once, as present). The one count of excused person-days every figure
    reads: the evening check, /team, the weekly summary, /stats, /laggards, /merit, the
    digests, the export and the county report."""
    leave = await approved_days(session, start=start, end=end, person_ids=person_ids,
                                where=where)
    if not leave:
        return {}
    present = await checkins.village_days_by_person(
        session, person_ids=list(leave), start=start, end=end)
    days = {pid: on_leave - present.get(pid, set()) for pid, on_leave in leave.items()}
    return {pid: left for pid, left in days.items() if left}


def person_days(found: Mapping[int, set[dt.date]]) -> int:
    """Excused person-days in all."""
    return sum(len(days) for days in found.values())


async def excused_days(session: AsyncSession, *, person_id: int, start: dt.date,
                       end: dt.date) -> list[dt.date]:
    """The days from `start` to `end` approved leave excuses one person (see `excused`)."""
    found = await excused(session, person_ids=[person_id], start=start, end=end)
    return sorted(found.get(person_id, set()))


async def on_leave(session: AsyncSession, *, day: dt.date) -> set[int]:
    """Who is on approved leave on this day."""
    result = await session.execute(select(LeaveRequest.person_id).where(
        LeaveRequest.status == "approved", LeaveRequest.first_day <= day,
        LeaveRequest.last_day >= day))
    return set(result.scalars())


async def of_person(session: AsyncSession, *, person_id: int, limit: int = 10
                    ) -> list[LeaveRequest]:
    """A person's latest requests, newest first."""
    result = await session.execute(
        select(LeaveRequest).where(LeaveRequest.person_id == person_id)
        .order_by(LeaveRequest.first_day.desc(), LeaveRequest.id.desc()).limit(limit))
    return list(result.scalars())
