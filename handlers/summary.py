"""/summary: the cadre's weekly summary, drafted from the week's records, correctable."""

from __future__ import annotations

import datetime as dt
from typing import Any

from common.clock import week_start
from common.i18n import N_, Span, Translator
from handlers.base import Turn
from handlers.dialogs import register_form, start_form
from handlers.forms import Data, Form, Question, outside_campaign
from handlers.registry import CADRE, callback
from handlers.reviews import Reviewable, ask, reviewable, sent_to
from storage import summaries as store
from storage.models import Person, Summary
from storage.reviewqueue import WEEKLY

VISIT_KINDS = ("weak", "masses", "rich", "enterprise", "petitioner", "wise", "talent", "old")


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


def _short_week(data: Data) -> bool:
    return int(data.get("days_in_village", 0)) < int(data.get("ctx_min_days", 0))


def _figure(key: str, maximum: int = 10_000) -> Question:
    return Question(key, f"summary.q.{key}", f"summary.label.{key}", kind="int",
                    min_value=0, max_value=maximum)


QUESTIONS = (
    _figure("days_in_village", 7),
    _figure("visits"),
    _figure("disputes_opened"),
    _figure("disputes_resolved"),
    _figure("aid"),
    Question("short_reason", N_("summary.q.short_reason"), N_("summary.label.short_reason"),
             when=_short_week, prompt_values=lambda data: {
                 "days": int(data["days_in_village"]), "minimum": int(data["ctx_min_days"])}),
    Question("achievements", N_("summary.q.achievements"), N_("summary.label.achievements")),
    Question("problems", N_("summary.q.problems"), N_("summary.label.problems")),
    Question("plan", N_("summary.q.plan"), N_("summary.label.plan")),
)
# The figure questions' message ids are built above; list them so the catalog check sees them.
_FIGURE_IDS = [N_("summary.q.days_in_village"), N_("summary.label.days_in_village"),
               N_("summary.q.visits"), N_("summary.label.visits"),
               N_("summary.q.disputes_opened"), N_("summary.label.disputes_opened"),
               N_("summary.q.disputes_resolved"), N_("summary.label.disputes_resolved"),
               N_("summary.q.aid"), N_("summary.label.aid")]


def _answers_of(row: Summary) -> Data:
    """The submitted summary as form answers, so a correction starts from it."""
    data: Data = {key: int(row.figures.get(key, 0)) for key in store.FIGURES}
    data.update(achievements=row.achievements, problems=row.problems, plan=row.plan)
    if row.short_reason:
        data["short_reason"] = row.short_reason
    data["ctx_by_kind"] = dict(row.figures.get("visits_by_kind") or {})
    data["ctx_submitted"] = row.submitted_at.isoformat()
    if row.status == "returned" and row.return_reason:
        data["ctx_returned"] = row.return_reason
    return data


async def _week_asked(turn: Turn, args: str) -> dt.date:
    """The week to write: this one, or a returned week's (its 修改 button names its Monday)."""
    monday = week_start(turn.today)
    try:
        asked = dt.date.fromisoformat(args.strip())
    except ValueError:
        return monday
    row = await store.summary_for(turn.session, person_id=_person(turn).id, week_start=asked)
    return asked if row is not None and row.status == "returned" else monday


async def prepare(turn: Turn, args: str) -> Data | None:
    """Draft this week's figures, or reopen the submitted summary unless it is accepted."""
    person = _person(turn)
    monday = await _week_asked(turn, args)
    # A week wholly outside the campaign has no summary: judged by its campaign day nearest.
    settings = turn.app.settings
    refusal = outside_campaign(turn, min(max(monday, settings.campaign_start), store.week_end(
        monday)), prefix="summary")
    if refusal is not None:
        turn.say(turn.tr(refusal.msgid, **refusal.values))
        return None
    row = await store.summary_for(turn.session, person_id=person.id, week_start=monday)
    if row is not None and row.status == "accepted":
        turn.say(turn.tr("summary.locked", start=monday))
        return None
    if row is not None:
        data = _answers_of(row)
    else:
        figures = await store.week_figures(turn.session, person_id=person.id,
                                           week_start=monday, tz=turn.app.settings.tz)
        data = {key: figures[key] for key in store.FIGURES}
        data["ctx_by_kind"] = figures["visits_by_kind"]
    # Fixed when the form opens: the figures shown are this week's, whenever Save is tapped.
    data["ctx_week"] = monday.isoformat()
    data["ctx_min_days"] = turn.app.settings.min_days_in_village
    return data


def _kind_name(tr: Translator, kind: str) -> str:
    return tr(f"summary.visit_kind.{kind}") if kind in VISIT_KINDS else kind


def by_kind_line(tr: Translator, by_kind: dict[str, Any]) -> str:
    """The visits per kind, as one line ('—' when none)."""
    parts = [f"{_kind_name(tr, kind)} {count}" for kind, count in sorted(by_kind.items())]
    return tr("summary.by_kind", kinds=tr("common.list_sep").join(parts) or "—")


async def describe(turn: Turn, data: Data) -> list[str]:
    """The week, whether this corrects a submitted summary, and the visits per kind."""
    monday = dt.date.fromisoformat(data["ctx_week"])
    lines = [turn.tr("summary.week", period=Span(monday, store.week_end(monday)))]
    if "ctx_returned" in data:
        lines.append(turn.tr("summary.returned_reason", reason=data["ctx_returned"]))
    elif "ctx_submitted" in data:
        lines.append(turn.tr("summary.correcting"))
    lines.append(by_kind_line(turn.tr, data.get("ctx_by_kind") or {}))
    return lines


async def save(turn: Turn, data: Data) -> None:
    """Submit or correct the week's summary."""
    monday = dt.date.fromisoformat(data["ctx_week"])
    figures: dict[str, Any] = {key: int(data[key]) for key in store.FIGURES}
    figures["visits_by_kind"] = data.get("ctx_by_kind") or {}
    text = store.SummaryText(achievements=data["achievements"], problems=data["problems"],
                             plan=data["plan"], short_reason=data.get("short_reason"))
    author = _person(turn)
    try:
        row, new = await store.submit_summary(turn.session, person=author,
                                              week_start=monday, figures=figures, text=text,
                                              now=turn.now)
    except store.SummaryLocked:
        turn.say(turn.tr("summary.locked", start=monday))
        return
    # Whoever reviews it gets it again, corrected, with the buttons that decide it.
    reviewers = await store.reviewers(turn.session, author=author)
    ask(turn, WEEKLY_REVIEW, row, author, reviewers, again=not new)
    msgid = "summary.submitted" if new else "summary.corrected"
    turn.say(sent_to(turn, reviewers, msgid=msgid, start=monday))


def render_card(tr: Translator, row: Summary) -> str:
    """A submitted weekly summary as its reviewer reads it: figures, then the texts."""
    figures = tr("common.list_sep").join(
        f"{tr(f'summary.label.{key}')} {int(row.figures.get(key, 0))}" for key in store.FIGURES)
    lines = [figures, by_kind_line(tr, row.figures.get("visits_by_kind") or {})]
    if row.short_reason:
        lines.append(tr("summary.card_text", label=tr("summary.label.short_reason"),
                        text=row.short_reason))
    for key in ("achievements", "problems", "plan"):
        lines.append(tr("summary.card_text", label=tr(f"summary.label.{key}"),
                        text=getattr(row, key)))
    return "\n".join(lines)


def _what(tr: Translator, row: Summary, author: Person, own: bool) -> str:
    period = Span(row.week_start, store.week_end(row.week_start))
    if own:
        return tr("summary.what_own", period=period)
    return tr("summary.what", name=author.name, period=period)


async def _load(session: Any, row_id: int, by: Person) -> tuple[Summary, Person] | None:
    return await store.summary_to_review(session, summary_id=row_id, by=by)


WEEKLY_REVIEW = reviewable(Reviewable(
    code=WEEKLY, entity="summary", load=_load, what=_what,
    card=lambda tr, row, author: render_card(tr, row),
    reopen=lambda row: (N_("summary.button.correct"), f"sum:{row.week_start.isoformat()}")))


@callback("sum", roles=CADRE)
async def on_correct(turn: Turn, rest: str) -> None:
    """sum:<Monday>: the returned summary's 修改 button opens that week's summary."""
    await start_form(turn, SUMMARY, rest)


def cancelled(turn: Turn, data: Data) -> str:
    """A cancelled correction leaves the submitted summary as it was, and says so."""
    if "ctx_submitted" in data:
        return turn.tr("summary.correction_cancelled")
    return turn.tr("form.cancelled")


SUMMARY = register_form(
    Form(name="summary", title=N_("summary.title"), questions=QUESTIONS, save=save,
         prepare=prepare, describe=describe, cancelled=cancelled),
    roles=CADRE, description=N_("help.summary"), order=50,
)
