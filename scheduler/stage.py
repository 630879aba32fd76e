"""The summary stage's notices: on the start date everyone who must write is told; on each of
STAGE_CHASE_DAYS before the deadline whoever still owes a summary (or, a team leader, an
appraisal) gets one message with a button per missing form, and the one above the list of who
is missing (team leader: members' personal summaries; township leader: team leaders' personal
and team summaries and appraisals; office: township summaries); on the deadline the one above
gets that list again. One daily plan decides by the date which applies; every message's key
holds the day, so a second run of the same day sends nothing twice."""

from __future__ import annotations

from common.i18n import Translator
from common.keyboards import inline_keyboard
from scheduler.runs import Run, by_place, message
from storage import appraisals, people, reviews, stage
from storage.models import Person, StageSummary
from storage.outbox import Outgoing

KIND = "stage.kind.{}"
# A missing appraisal, in the lists below: the kind "appraisal" of (team leader, member).
APPRAISAL = "appraisal"
Owed = tuple[Person, str, Person | None]  # the author, the kind, the member (appraisals)


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


async def _owed(run: Run) -> list[Owed]:
    """Every summary not yet submitted and every appraisal not yet written."""
    owed: list[Owed] = [(author, kind, None) for author, kind in await stage.missing(run.session)]
    owed += [(leader, APPRAISAL, member)
             for leader, member in await appraisals.missing(run.session)]
    return owed


def _item(tr: Translator, kind: str, member: Person | None) -> str:
    if member is not None:
        return tr("remind.stage_chase_appraisal", name=member.name)
    return tr(KIND.format(kind))


def _button(tr: Translator, kind: str, member: Person | None) -> tuple[str, str]:
    """The button that opens exactly the missing form: /final's or the member's appraisal."""
    if member is not None:
        return tr("remind.stage_chase_appraise_button", name=member.name), f"apr:{member.id}"
    return tr(f"stage.write.{kind}"), f"stg:w:{kind}"


def _chase(run: Run, owed: list[Owed]) -> list[Outgoing]:
    """Each author, once today: what they still owe, a button per form."""
    deadline = run.ctx.settings.summary_stage_deadline
    by_author: dict[int, tuple[Person, list[tuple[str, Person | None]]]] = {}
    for author, kind, member in owed:
        by_author.setdefault(author.id, (author, []))[1].append((kind, member))
    out: list[Outgoing] = []
    for author, items in by_author.values():
        tr = run.tr(author)
        lines = [tr("remind.stage_chase", deadline=deadline)]
        lines += [tr("remind.stage_missing_item", item=_item(tr, kind, member))
                  for kind, member in items]
        buttons = [[_button(tr, kind, member)] for kind, member in items]
        out.append(message(author, "\n".join(lines), kind="reminder",
                           key=f"stage-chase:{run.day}:{author.id}",
                           markup=inline_keyboard(buttons)))
    return out


def _reviewers_of(author: Person, kind: str, teams: dict[int, list[Person]],
                  townships: dict[int, list[Person]], office: list[Person]) -> list[Person]:
    """Who accepts the author's summary (endorses the appraisal), among the leaders loaded once
    for the whole run."""
    if kind == APPRAISAL:
        return townships.get(author.township_id or 0, [])
    candidates = {"office": office,
                  "township_leader": townships.get(author.township_id or 0, []),
                  "team_leader": teams.get(author.village_id or 0, [])}[
        reviews.reviewer_role(kind, author)]
    row = StageSummary(kind=kind, village_id=author.village_id, township_id=author.township_id)
    return [p for p in candidates if stage.may_accept(p, row, author)]


async def _missing_lists(run: Run, owed: list[Owed]) -> list[Outgoing]:
    """The one above each author, once today: who still owes what."""
    leaders = await people.reachable(run.session, roles=("team_leader", "township_leader",
                                                         "office"))
    teams, townships = by_place(leaders)
    office = [p for p in leaders if p.role == "office"]
    lists: dict[int, tuple[Person, list[Owed]]] = {}
    for author, kind, member in owed:
        for reviewer in _reviewers_of(author, kind, teams, townships, office):
            lists.setdefault(reviewer.id, (reviewer, []))[1].append((author, kind, member))
    deadline = run.ctx.settings.summary_stage_deadline
    out: list[Outgoing] = []
    for reviewer, items in lists.values():
        tr = run.tr(reviewer)
        lines = [tr("remind.stage_missing", deadline=deadline)]
        lines += [tr("remind.stage_missing_line", name=author.name,
                     kind=_item(tr, kind, member)) for author, kind, member in items]
        out.append(message(reviewer, "\n".join(lines), kind="warning",
                           key=f"stage-missing:{run.day}:{reviewer.id}"))
    return out


async def stage_notices(run: Run) -> list[Outgoing]:
    """Whatever the summary stage asks for today (usually nothing)."""
    settings = run.ctx.settings
    start, deadline = settings.summary_stage_start, settings.summary_stage_deadline
    if run.day == start:
        return await _tell(run, await stage.writers(run.session), "remind.stage_open",
                           f"stage-open:{start}")
    if not start < run.day <= deadline:
        return []
    chase = (deadline - run.day).days in settings.stage_chase_offsets()
    if not chase and run.day != deadline:
        return []
    owed = await _owed(run)
    out = _chase(run, owed) if chase else []
    return out + await _missing_lists(run, owed)
