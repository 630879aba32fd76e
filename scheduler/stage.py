"""The summary stage's notices: on the start date everyone who must write is told; the day before
the deadline those missing are reminded; on the deadline the one above gets the missing list
(team leader: members' personal summaries; township leader: team leaders' personal and team
summaries; office: township summaries). One daily plan decides by the date which applies."""

from __future__ import annotations

import datetime as dt

from common.i18n import Translator
from scheduler.runs import Run, by_place, message
from storage import people, reviews, stage
from storage.models import Person, StageSummary
from storage.outbox import Outgoing

KIND = "stage.kind.{}"


def _kinds(tr: Translator, kinds: list[str]) -> str:
    return tr("common.list_sep").join(tr(KIND.format(kind)) for kind in kinds)


def _by_person(pairs: list[tuple[Person, str]]) -> dict[int, tuple[Person, list[str]]]:
    found: dict[int, tuple[Person, list[str]]] = {}
    for person, kind in pairs:
        found.setdefault(person.id, (person, []))[1].append(kind)
    return found


async def _tell(run: Run, pairs: list[tuple[Person, str]], msgid: str, key: str) -> list[Outgoing]:
    deadline = run.ctx.settings.summary_stage_deadline
    return [message(person, run.tr(person)(msgid, kinds=_kinds(run.tr(person), kinds),
                                          deadline=deadline),
                    key=f"{key}:{person.id}", kind="reminder")
            for person, kinds in _by_person(pairs).values()]


def _reviewers_of(author: Person, kind: str, teams: dict[int, list[Person]],
                  townships: dict[int, list[Person]], office: list[Person]) -> list[Person]:
    """Who accepts the author's summary, among the leaders loaded once for the whole run."""
    candidates = {"office": office,
                  "township_leader": townships.get(author.township_id or 0, []),
                  "team_leader": teams.get(author.village_id or 0, [])}[
        reviews.reviewer_role(kind, author)]
    row = StageSummary(kind=kind, village_id=author.village_id, township_id=author.township_id)
    return [p for p in candidates if stage.may_accept(p, row, author)]


async def _missing_lists(run: Run, missing: list[tuple[Person, str]]) -> list[Outgoing]:
    leaders = await people.reachable(run.session, roles=("team_leader", "township_leader",
                                                         "office"))
    teams, townships = by_place(leaders)
    office = [p for p in leaders if p.role == "office"]
    lists: dict[int, tuple[Person, list[tuple[Person, str]]]] = {}
    for author, kind in missing:
        for reviewer in _reviewers_of(author, kind, teams, townships, office):
            lists.setdefault(reviewer.id, (reviewer, []))[1].append((author, kind))
    deadline = run.ctx.settings.summary_stage_deadline
    out: list[Outgoing] = []
    for reviewer, items in lists.values():
        tr = run.tr(reviewer)
        lines = [tr("remind.stage_missing", deadline=deadline)]
        lines += [tr("remind.stage_missing_line", name=author.name,
                     kind=tr(KIND.format(kind))) for author, kind in items]
        out.append(message(reviewer, "\n".join(lines), kind="warning",
                           key=f"stage-missing:{deadline}:{reviewer.id}"))
    return out


async def stage_notices(run: Run) -> list[Outgoing]:
    """Whatever the summary stage asks for today (usually nothing)."""
    settings = run.ctx.settings
    start, deadline = settings.summary_stage_start, settings.summary_stage_deadline
    if run.day == start:
        return await _tell(run, await stage.writers(run.session), "remind.stage_open",
                           f"stage-open:{start}")
    if run.day == deadline - dt.timedelta(days=1) and run.day > start:
        return await _tell(run, await stage.missing(run.session), "remind.stage_due",
                           f"stage-due:{deadline}")
    if run.day == deadline:
        return await _missing_lists(run, await stage.missing(run.session))
    return []
