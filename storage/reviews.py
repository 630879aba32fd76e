"""Reviews that can say yes or no: the one above a piece of work accepts it or returns it with a
reason, and a returned piece is corrected and submitted again.

One rule for the three things reviewed: a cadre's weekly summary (the team leader; a team
leader's own, the township leader), a stage summary (storage.stage says who is above its author)
and a team leader's appraisal of a member (endorsed by the township leader, as the notice has the
township party committee seal the appraisals). Each row has `status` (submitted → accepted |
returned → submitted …), `accepted_at/by`, `returned_at/by` and `return_reason`; every decision
is audited, so it reaches the export's audit sheet.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.audit import record_audit
from storage.models import Person

STATUSES = ("submitted", "returned", "accepted")
MAX_REASON = 500


class Reviewed(Protocol):
    """A row that is reviewed: a weekly summary, a stage summary or an appraisal."""

    id: int
    status: str
    accepted_at: dt.datetime | None
    accepted_by: int | None
    returned_at: dt.datetime | None
    returned_by: int | None
    return_reason: str | None


def reviewer_role(kind: str, author: Person) -> str:
    """The role that reviews an author's work of this kind: the one above.

    Kinds: `personal` (a weekly or a personal stage summary), `team` and `township` (stage
    summaries) and `appraisal` (a team leader's appraisal of a member)."""
    if kind == "township":
        return "office"
    if kind in ("team", "appraisal") or author.role == "team_leader":
        return "township_leader"
    return "team_leader"


def may_review(reviewer: Person, *, kind: str, author: Person, village_id: int | None,
               township_id: int | None) -> bool:
    """Whether `reviewer` is, now, the one above this work (never its author)."""
    role = reviewer_role(kind, author)
    if reviewer.role != role or not reviewer.active or reviewer.id == author.id:
        return False
    if role == "township_leader":
        return reviewer.township_id is not None and reviewer.township_id == township_id
    if role == "team_leader":
        return reviewer.village_id is not None and reviewer.village_id == village_id
    return True


async def decide(session: AsyncSession, row: Reviewed, *, entity: str, by: Person,
                 accept: bool, reason: str | None, now: dt.datetime) -> bool:
    """Accept the row, or return it with a reason; False (and nothing changed) unless it is
    waiting for review — a second tap, or a second leader, finds it decided."""
    if row.status != "submitted":
        return False
    if accept:
        row.status, row.accepted_at, row.accepted_by = "accepted", now, by.id
    else:
        reason = (reason or "").strip()[:MAX_REASON]
        if not reason:
            raise ValueError("a return needs a reason")
        row.status, row.returned_at, row.returned_by = "returned", now, by.id
        row.return_reason = reason
    await record_audit(session, actor_id=by.id, entity=entity, entity_id=row.id,
                       action="accept" if accept else "return", at=now, field="status",
                       old="submitted", new=row.status)
    if not accept:
        await record_audit(session, actor_id=by.id, entity=entity, entity_id=row.id,
                           action="return", at=now, field="return_reason", new=row.return_reason)
    await session.flush()
    return True


async def resubmit(session: AsyncSession, row: Reviewed, *, entity: str, by: Person,
                   now: dt.datetime) -> bool:
    """A returned row, corrected, waits for review again (the reason stays on record in the
    audit log). True when it was returned."""
    if row.status != "returned":
        return False
    row.status = "submitted"
    await record_audit(session, actor_id=by.id, entity=entity, entity_id=row.id,
                       action="resubmit", at=now, field="status", old="returned",
                       new="submitted")
    await session.flush()
    return True


class WeeklyReviewed(Protocol):
    """A row the one above a cadre decides as a weekly summary is: the summary itself, or a
    leave request."""

    person_id: int
    village_id: int | None
    township_id: int | None


async def reviewers(session: AsyncSession, *, kind: str, author: Person,
                    village_id: int | None, township_id: int | None) -> list[Person]:
    """Who decides this author's work of this kind in this place, reachable on Telegram now.
    Only the people of the reviewing role in that village or township are read (a summary's
    save read every team leader of the county for one or two), and `may_review` decides."""
    role = reviewer_role(kind, author)
    found = await people.reachable(
        session, roles=(role,),
        village_ids=([] if village_id is None else [village_id])
        if role == "team_leader" else None,
        township_ids=([] if township_id is None else [township_id])
        if role == "township_leader" else None)
    return [p for p in found if may_review(p, kind=kind, author=author, village_id=village_id,
                                           township_id=township_id)]


async def weekly_reviewers(session: AsyncSession, *, author: Person) -> list[Person]:
    """Who decides this author's weekly summaries (and leave), reachable on Telegram now: the
    team leader (a team leader's own, the township leader)."""
    return await reviewers(session, kind="personal", author=author,
                           village_id=author.village_id, township_id=author.township_id)


R = TypeVar("R", bound=WeeklyReviewed)


async def locked_for_weekly_review(
    session: AsyncSession, model: type[R], row_id: int, *, by: Person
) -> tuple[R, Person] | None:
    """The row and its author, locked, if `by` is now the one who decides it."""
    row = await session.get(model, row_id, with_for_update=True)
    author = None if row is None else await session.get(Person, row.person_id)
    if row is None or author is None or not may_review(
            by, kind="personal", author=author, village_id=row.village_id,
            township_id=row.township_id):
        return None
    return row, author
