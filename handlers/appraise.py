"""/appraise: at the summary stage the team leader grades each member of the team (excellent,
competent, basically competent, incompetent) with a comment, the member's latest weekly
summaries shown beside it. A member's button (apr:<person id>) opens a two-question form."""

from __future__ import annotations

from typing import Any

from common.i18n import N_, Translator
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Question
from handlers.registry import callback, command
from handlers.reviews import Reviewable, ask, reviewable, sent_to
from handlers.stage import render_summary as render_stage
from storage import appraisals as store
from storage import stage
from storage.models import Appraisal, Person, Summary
from storage.reviewqueue import APPRAISAL
from storage.summaries import FIGURES

LEADER = frozenset({"team_leader"})
GRADE = "appraise.grade.{}"
GRADE_CHOICES = tuple(Choice(g, GRADE.format(g)) for g in store.GRADES)
_LABELS = (
    N_("appraise.grade.excellent"), N_("appraise.grade.competent"),
    N_("appraise.grade.basic"), N_("appraise.grade.incompetent"),
    N_("appraise.figure.days_in_village"), N_("appraise.figure.visits"),
    N_("appraise.figure.disputes_opened"), N_("appraise.figure.disputes_resolved"),
    N_("appraise.figure.aid"), N_("appraise.review.submitted"), N_("appraise.review.returned"),
    N_("appraise.review.accepted"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach commands
    return turn.person


# --- renderers ---------------------------------------------------------------------------------

def render_team(tr: Translator, people: list[Person], graded: dict[int, Appraisal]) -> str:
    """The team's members with their grades so far."""
    if not people:
        return tr("appraise.no_members")
    lines = [tr("appraise.title", done=sum(1 for p in people if p.id in graded),
                count=len(people))]
    for person in people:
        found = graded.get(person.id)
        grade = tr(GRADE.format(found.grade)) if found else tr("appraise.not_yet")
        lines.append(tr("appraise.line", name=person.name, grade=grade))
    return "\n".join(lines)


def render_member(tr: Translator, person: Person, summaries: list[Summary],
                  current: Appraisal | None) -> str:
    """A member's latest weekly summaries (figures and texts) and their appraisal so far."""
    lines = [tr("appraise.member_title", name=person.name)]
    if not summaries:
        lines.append(tr("appraise.no_summary"))
    for summary in summaries:
        figures = tr("stats.separator").join(
            tr(f"appraise.figure.{key}", count=int(summary.figures.get(key, 0)))
            for key in FIGURES)
        lines += [tr("appraise.week", start=summary.week_start), figures,
                  tr("appraise.texts", achievements=summary.achievements,
                     problems=summary.problems, plan=summary.plan)]
    if current is not None:
        lines.append(tr("appraise.current", grade=tr(GRADE.format(current.grade)),
                        comment=current.comment))
        lines.append(tr(f"appraise.review.{current.status}"))
        if current.status == "returned" and current.return_reason:
            lines.append(tr("appraise.returned_reason", reason=current.return_reason))
    return "\n".join(lines)


# --- the command and the member buttons --------------------------------------------------------

@command("appraise", roles=LEADER, description=N_("help.appraise"), order=72)
async def appraise(turn: Turn, args: str) -> None:
    """The team's members, each a button that opens their appraisal."""
    leader = _person(turn)
    people = await store.members(turn.session, leader=leader)
    graded = (await store.appraisals_for(turn.session, village_id=leader.village_id)
              if leader.village_id is not None else {})
    buttons = [(p.name, f"apr:{p.id}") for p in people]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    turn.say(render_team(turn.tr, people, graded), markup=inline_keyboard(rows) if rows else None)


@callback("apr", roles=LEADER, refusal=N_("appraise.not_your_team"))
async def on_member(turn: Turn, rest: str) -> None:
    """apr:<person id>: open that member's appraisal, if the presser leads their team."""
    if turn.person is None or not rest.isdigit():
        turn.notice(turn.tr("common.stale_button"))
        return
    if await store.member(turn.session, leader=turn.person, person_id=int(rest)) is None:
        turn.notice(turn.tr("appraise.not_your_team"))  # a forged id, or not a team leader
        return
    await start_form(turn, APPRAISE, rest)


async def _prepare(turn: Turn, args: str) -> Data | None:
    person = None
    if turn.person is not None and args.isdigit():
        person = await store.member(turn.session, leader=turn.person, person_id=int(args))
    if person is None:
        turn.say(turn.tr("appraise.not_your_team"))
        return None
    summaries = await store.latest_summaries(turn.session, person_id=person.id)
    current = await store.appraisal_of(turn.session, person_id=person.id)
    turn.say(render_member(turn.tr, person, summaries, current))
    # At the summary stage the appraisal is of the whole campaign: the personal summary too.
    if turn.today >= turn.app.settings.summary_stage_start:
        turn.say(await stage_lines(turn, person))
    return {"ctx_person": person.id, "ctx_name": person.name}


async def stage_lines(turn: Turn, person: Person) -> str:
    """The member's personal summary of the campaign, as the appraisal shows it."""
    found = await stage.personal_of(turn.session, person_id=person.id)
    if found is None:
        return turn.tr("stage.appraise_no_summary")
    return "\n".join([turn.tr("stage.appraise_summary",
                              status=turn.tr(f"stage.status.{found.status}")),
                      render_stage(turn.tr, found, person.name)])


async def _describe(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("appraise.member_title", name=data["ctx_name"])]


async def _save(turn: Turn, data: Data) -> None:
    person = await store.member(turn.session, leader=_person(turn), person_id=data["ctx_person"])
    if person is None:  # moved to another team since the form opened
        turn.say(turn.tr("appraise.not_your_team"))
        return
    again = await store.appraisal_of(turn.session, person_id=person.id) is not None
    try:
        row = await store.set_appraisal(turn.session, person=person, by=_person(turn),
                                        grade=data["grade"], comment=data["comment"],
                                        now=turn.now)
    except store.AppraisalLocked:
        turn.say(turn.tr("appraise.locked", name=person.name))
        return
    # The township leader endorses it (as the township party committee seals appraisals).
    endorsers = await store.endorsers(turn.session, member=person)
    ask(turn, APPRAISAL_REVIEW, row, _person(turn), endorsers, again=again)
    turn.say(sent_to(turn, endorsers, msgid="appraise.saved", name=person.name,
                     grade=turn.tr(GRADE.format(data["grade"]))))


def _what(tr: Translator, row: Appraisal, author: Person, own: bool) -> str:
    if own:
        return tr("appraise.what_own", name=row.person.name)
    return tr("appraise.what", leader=author.name, name=row.person.name)


def _card(tr: Translator, row: Appraisal, author: Person) -> str:
    return tr("appraise.card", grade=tr(GRADE.format(row.grade)), comment=row.comment or "—")


async def _load(session: Any, row_id: int, by: Person) -> tuple[Appraisal, Person] | None:
    return await store.appraisal_to_review(session, appraisal_id=row_id, by=by)


APPRAISAL_REVIEW = reviewable(Reviewable(
    code=APPRAISAL, entity="appraisal", load=_load, what=_what, card=_card,
    reopen=lambda row: (N_("appraise.button.redo"), f"apr:{row.person_id}")))


APPRAISE = Form(
    name="appraisal", title=N_("appraise.form_title"),
    questions=(
        Question("grade", N_("appraise.q.grade"), N_("appraise.label.grade"), kind="choice",
                 choices=GRADE_CHOICES),
        Question("comment", N_("appraise.q.comment"), N_("appraise.label.comment"),
                 max_len=store.MAX_COMMENT),
    ),
    save=_save, prepare=_prepare, describe=_describe,
)
add_form(APPRAISE, roles=LEADER)  # started from a member's button, not by the command
