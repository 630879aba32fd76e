"""/final: the summary stage — a personal, team or township summary of the whole campaign.

Named /final to set it apart from the weekly /summary. Before SUMMARY_STAGE_START it says when
the stage opens. A cadre goes straight to the personal summary; a team leader picks personal or
team (or reviews the members'); a township leader writes the township's (or reviews the
teams'); the office reviews the township summaries. The figures are drafted from the records
when the form opens and shown first; the author writes what was done, the experience and
lessons, the problems left, and suggestions. Buttons: stg:w:<kind> write, stg:r review,
stg:v:<id> view; the decision buttons are handlers.reviews'.
"""

from __future__ import annotations

from typing import Any

from common.i18n import N_, Translator
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import register_form, start_form
from handlers.forms import Data, Form, Question
from handlers.registry import CADRE, callback
from handlers.reviews import Reviewable, ask, decision_buttons, reviewable, sent_to
from handlers.summary import by_kind_line
from storage import stage as store
from storage.models import Person, StageSummary
from storage.reviewqueue import STAGE

ROLES = CADRE | {"township_leader", "office"}
MAX_LISTED = 30
REVIEW_WORDS = frozenset({"review", "审核"})
KIND = "stage.kind.{}"
LABEL = "stage.label.{}"
_LABELS = (
    N_("stage.kind.personal"), N_("stage.kind.team"), N_("stage.kind.township"),
    N_("stage.status.submitted"), N_("stage.status.accepted"),
    N_("stage.label.days_in_village"), N_("stage.label.visits"),
    N_("stage.label.visits_by_kind"), N_("stage.label.disputes_opened"),
    N_("stage.label.disputes_resolved"), N_("stage.label.problems_raised"),
    N_("stage.label.problems_solved"), N_("stage.label.aid"), N_("stage.label.publicity"),
    N_("stage.label.cadres"), N_("stage.label.compliance"), N_("stage.label.summaries"),
    N_("stage.label.summaries_expected"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


# --- renderers ---------------------------------------------------------------------------------

def figure_lines(tr: Translator, figures: dict[str, Any]) -> list[str]:
    """The drafted figures, one per line, in the order of their kind."""
    order = store.PLACE_FIGURES if "cadres" in figures else store.PERSONAL_FIGURES
    lines = []
    for key in order:
        value = figures.get(key, 0)
        shown = f"{value}%" if key == "compliance" else str(value)
        lines.append(tr("stage.figure", label=tr(LABEL.format(key)), value=shown))
    return lines


def render_summary(tr: Translator, row: StageSummary, author: str) -> str:
    """A stage summary in full: who, status, figures and texts."""
    lines = [tr("stage.view_title", kind=tr(KIND.format(row.kind)), name=author,
                status=tr(f"stage.status.{row.status}"))]
    lines += figure_lines(tr, row.figures)
    lines.append(tr("stage.texts", achievements=row.achievements, experience=row.experience,
                    problems=row.problems, suggestions=row.suggestions))
    return "\n".join(lines)


# --- the form ----------------------------------------------------------------------------------

def _text(key: str) -> Question:
    return Question(key, f"stage.q.{key}", f"stage.label.{key}")


QUESTIONS = tuple(_text(key) for key in store.TEXTS)
_TEXT_IDS = [N_("stage.q.achievements"), N_("stage.label.achievements"),
             N_("stage.q.experience"), N_("stage.label.experience"),
             N_("stage.q.problems"), N_("stage.label.problems"),
             N_("stage.q.suggestions"), N_("stage.label.suggestions")]


def _stage_open(turn: Turn) -> bool:
    settings = turn.app.settings
    if turn.today < settings.summary_stage_start:
        turn.say(turn.tr("stage.not_open", start=settings.summary_stage_start,
                         deadline=settings.summary_stage_deadline))
        return False
    return True


async def _figures(turn: Turn, person: Person, kind: str) -> dict[str, Any]:
    settings = turn.app.settings
    start = settings.campaign_start
    end = max(start, min(turn.today, settings.campaign_end))
    if kind == "personal":
        return await store.personal_figures(turn.session, person_id=person.id, start=start,
                                            end=end, tz=settings.tz)
    return await store.place_figures(
        turn.session, scope=store.scope_of(person, kind), start=start, end=end, now=turn.now,
        tz=settings.tz, calendar=settings.calendar,
        deadline_weekday=settings.summary_deadline_weekday,
        deadline_time=settings.summary_deadline_time)


def _chooser(turn: Turn, person: Person) -> None:
    kinds = store.kinds_for(person)
    buttons = [[(turn.tr(f"stage.write.{kind}"), f"stg:w:{kind}")] for kind in kinds]
    if person.role in ("team_leader", "township_leader"):
        buttons.append([(turn.tr("stage.button.review"), "stg:r")])
    turn.say(turn.tr("stage.choose", deadline=turn.app.settings.summary_stage_deadline),
             markup=inline_keyboard(buttons))


_WRITE_IDS = [N_("stage.write.personal"), N_("stage.write.team"), N_("stage.write.township")]


def _kind_asked(person: Person, args: str) -> str | None:
    """The kind to write: named in the arguments, or the only one the person writes."""
    word = args.strip().lower()
    if word in store.KINDS:
        return word
    kinds = store.kinds_for(person)
    return kinds[0] if len(kinds) == 1 and person.role == "cadre" else None


async def prepare(turn: Turn, args: str) -> Data | None:
    """Route /final: say when the stage opens, offer the choice, or draft the summary."""
    person = _person(turn)
    if not _stage_open(turn):
        return None
    if person.role == "office" or args.strip().lower() in REVIEW_WORDS:
        await show_review(turn)
        return None
    kind = _kind_asked(person, args)
    if kind is None:
        _chooser(turn, person)
        return None
    if kind not in store.kinds_for(person):
        turn.say(turn.tr("stage.not_yours", kind=turn.tr(KIND.format(kind))))
        return None
    row = await store.stage_summary_for(turn.session, person_id=person.id, kind=kind)
    if row is not None and row.status == "accepted":
        turn.say(turn.tr("stage.locked", kind=turn.tr(KIND.format(kind))))
        return None
    figures = await _figures(turn, person, kind)
    turn.say("\n".join([turn.tr("stage.drafted", kind=turn.tr(KIND.format(kind))),
                        *figure_lines(turn.tr, figures)]))
    data: Data = {"ctx_kind": kind, "ctx_figures": figures}
    if row is not None:
        data.update({key: getattr(row, key) for key in store.TEXTS})
        data["ctx_submitted"] = row.submitted_at.isoformat()
        if row.status == "returned" and row.return_reason:
            data["ctx_returned"] = row.return_reason
    return data


async def describe(turn: Turn, data: Data) -> list[str]:
    """The kind, whether this corrects a submitted summary, and the figures."""
    lines = [turn.tr("stage.confirm_kind", kind=turn.tr(KIND.format(data["ctx_kind"])))]
    if "ctx_returned" in data:
        lines.append(turn.tr("stage.returned_reason", reason=data["ctx_returned"]))
    elif "ctx_submitted" in data:
        lines.append(turn.tr("stage.correcting"))
    figures = data.get("ctx_figures") or {}
    lines += figure_lines(turn.tr, figures)
    lines.append(by_kind_line(turn.tr, figures.get("visits_by_kind") or {}))
    return lines


async def save(turn: Turn, data: Data) -> None:
    """Submit or correct the stage summary."""
    kind = data["ctx_kind"]
    text = store.StageText(**{key: data[key] for key in store.TEXTS})
    try:
        row, new = await store.submit_stage_summary(
            turn.session, person=_person(turn), kind=kind, figures=data["ctx_figures"],
            text=text, now=turn.now)
    except store.StageLocked:
        turn.say(turn.tr("stage.locked", kind=turn.tr(KIND.format(kind))))
        return
    # Whoever reviews it gets it (again, when corrected) with the buttons that decide it.
    reviewers = await store.reviewers(turn.session, author=_person(turn), kind=kind)
    ask(turn, STAGE_REVIEW, row, _person(turn), reviewers, again=not new)
    msgid = "stage.submitted" if new else "stage.corrected"
    turn.say(sent_to(turn, reviewers, msgid=msgid, kind=turn.tr(KIND.format(kind))))


def _what(tr: Translator, row: StageSummary, author: Person, own: bool) -> str:
    kind = tr(KIND.format(row.kind))
    return tr("stage.what_own", kind=kind) if own else tr("stage.what", name=author.name,
                                                           kind=kind)


async def _load(session: Any, row_id: int, by: Person) -> tuple[StageSummary, Person] | None:
    return await store.stage_summary_to_review(session, summary_id=row_id, by=by)


STAGE_REVIEW = reviewable(Reviewable(
    code=STAGE, entity="stage_summary", load=_load, what=_what,
    card=lambda tr, row, author: render_summary(tr, row, author.name),
    reopen=lambda row: (N_("stage.button.correct"), f"stg:w:{row.kind}")))


FINAL = register_form(
    Form(name="final", title=N_("stage.title"), questions=QUESTIONS, save=save,
         prepare=prepare, describe=describe),
    roles=ROLES, description=N_("help.final"), order=52,
)


# --- review and acceptance ---------------------------------------------------------------------

async def _author(turn: Turn, row: StageSummary) -> Person | None:
    return await turn.session.get(Person, row.person_id)


async def show_review(turn: Turn) -> None:
    """The summaries this person accepts, each a button that opens it."""
    rows = await store.to_review(turn.session, reviewer=_person(turn))
    if not rows:
        turn.say(turn.tr("stage.review_none"))
        return
    waiting = sum(1 for r in rows if r.status == "submitted")
    lines = [turn.tr("stage.review_title", waiting=waiting, count=len(rows))]
    buttons = []
    for row in rows[:MAX_LISTED]:
        author = await _author(turn, row)
        name = author.name if author else "?"
        lines.append(turn.tr("stage.review_line", kind=turn.tr(KIND.format(row.kind)),
                             name=name, status=turn.tr(f"stage.status.{row.status}")))
        buttons.append((name, f"stg:v:{row.id}"))
    rows_of_buttons = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    turn.say("\n".join(lines), markup=inline_keyboard(rows_of_buttons))


async def _reviewable(turn: Turn, rest: str) -> tuple[StageSummary, Person] | None:
    row = await turn.session.get(StageSummary, int(rest)) if rest.isdigit() else None
    author = None if row is None else await _author(turn, row)
    if row is None or author is None or not store.may_accept(_person(turn), row, author):
        turn.notice(turn.tr("stage.not_to_review"))
        return None
    return row, author


@callback("stg", roles=ROLES)
async def on_button(turn: Turn, rest: str) -> None:
    """stg:w:<kind> write, stg:r review, stg:v:<id> view (通过 / 退回修改 while it waits)."""
    action, _, arg = rest.partition(":")
    if turn.person is None or turn.person.role not in ROLES:
        turn.notice(turn.tr("common.stale_button"))
    elif action == "w" and arg in store.KINDS:
        await start_form(turn, FINAL, arg)
    elif action == "r":
        await show_review(turn)
    elif action == "v":
        found = await _reviewable(turn, arg)
        if found is not None:
            await _view(turn, *found)
    else:
        turn.notice(turn.tr("common.stale_button"))


async def _view(turn: Turn, row: StageSummary, author: Person) -> None:
    markup = None
    if row.status == "submitted":
        markup = decision_buttons(turn.tr, STAGE, row.id)
    turn.say(render_summary(turn.tr, row, author.name), markup=markup)
