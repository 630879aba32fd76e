"""/summary: the cadre's weekly summary: figures counted from the week's records (shown, never
typed, with the cadre's explanation beside them) and the texts, correctable until accepted."""

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
from reports.attendance import excused_line
from storage import reviews
from storage import summaries as store
from storage.models import Person, Summary
from storage.reviewqueue import WEEKLY

VISIT_KINDS = ("weak", "masses", "rich", "enterprise", "petitioner", "wise", "talent", "old")


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


def _short_week(data: Data) -> bool:
    if "ctx_days" not in data:  # a draft from before the figures were counted: Save counts
        return False
    excused = int(data.get("ctx_excused", 0))
    return int(data.get("ctx_days", 0)) + excused < int(data.get("ctx_min_days", 0))


def _short_values(data: Data) -> dict[str, int]:
    """The reason's prompt: the days in the village, and the days required less the days
    approved leave excused (an excused day counts as present)."""
    return {"days": int(data["ctx_days"]),
            "minimum": int(data["ctx_min_days"]) - int(data.get("ctx_excused", 0))}


QUESTIONS = (
    Question("short_reason", N_("summary.q.short_reason"), N_("summary.label.short_reason"),
             when=_short_week, prompt_values=_short_values),
    Question("achievements", N_("summary.q.achievements"), N_("summary.label.achievements")),
    Question("problems", N_("summary.q.problems"), N_("summary.label.problems")),
    Question("plan", N_("summary.q.plan"), N_("summary.label.plan")),
    # Beside the figures, never instead of them: offered on the confirm card (✏️ 说明).
    Question("figures_note", N_("summary.q.figures_note"), N_("summary.label.figures_note"),
             optional=True),
)
# The figures' labels are built from store.FIGURES; list them so the catalog check sees them.
_FIGURE_IDS = [N_("summary.label.days_in_village"), N_("summary.label.visits"),
               N_("summary.label.disputes_opened"), N_("summary.label.disputes_resolved"),
               N_("summary.label.aid"),
               N_("summary.label.excused_days")]  # the export's name for the excused days


def _answers_of(row: Summary) -> Data:
    """The submitted summary's texts as form answers, so a correction starts from them (its
    figures are computed again from the records)."""
    data: Data = {"achievements": row.achievements, "problems": row.problems, "plan": row.plan,
                  "figures_note": row.figures_note}
    if row.short_reason:
        data["short_reason"] = row.short_reason
    data["ctx_submitted"] = row.submitted_at.isoformat()
    if row.status == "returned" and row.return_reason:
        data["ctx_returned"] = row.return_reason
    return data


async def _computed(turn: Turn, monday: dt.date) -> dict[str, Any]:
    """The week's figures as the records give them now."""
    return await store.week_figures(turn.session, person_id=_person(turn).id, week_start=monday,
                                    tz=turn.app.settings.tz)


def _required(turn: Turn, monday: dt.date) -> int:
    """The days in the village the week asks for: the campaign calendar's one rule (fewer in
    a part week or a holiday week), the same as the evening check, /stats and /laggards."""
    return turn.app.settings.calendar.required_days(monday)


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
    """Reopen the submitted summary's texts unless it is accepted; the figures are the
    records', computed now and again when it is saved."""
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
    # The explanation is offered on the confirm card, not asked on the way.
    data: Data = _answers_of(row) if row is not None else {"figures_note": None}
    data["ctx_week"] = monday.isoformat()
    _keep(data, await _computed(turn, monday))
    data["ctx_min_days"] = _required(turn, monday)
    return data


def _keep(data: Data, figures: dict[str, Any]) -> None:
    """The figures counted, in the draft: the confirm card shows them without counting again
    (Save counts once more and shows the card again if they changed meanwhile)."""
    data["ctx_figures"] = figures
    data["ctx_days"] = figures["days_in_village"]
    data["ctx_excused"] = len(figures["excused_days"])


async def refresh(turn: Turn, data: Data) -> str | None:
    """Before saving: the figures as the records give them now; a week that has become short
    asks its reason first, and figures changed since the card showed them are shown again
    before anything is saved (the line returned says why)."""
    monday = dt.date.fromisoformat(data["ctx_week"])
    shown = data.get("ctx_figures")
    figures = await _computed(turn, monday)
    _keep(data, figures)
    data["ctx_min_days"] = _required(turn, monday)
    if _short_week(data) and "short_reason" not in data:
        return turn.tr("summary.now_short")
    if shown is not None and shown != figures:
        return turn.tr("summary.figures_changed")
    return None


def _kind_name(tr: Translator, kind: str) -> str:
    return tr(f"summary.visit_kind.{kind}") if kind in VISIT_KINDS else kind


def by_kind_line(tr: Translator, by_kind: dict[str, Any]) -> str:
    """The visits per kind, as one line ('—' when none)."""
    parts = [f"{_kind_name(tr, kind)} {count}" for kind, count in sorted(by_kind.items())]
    return tr("summary.by_kind", kinds=tr("common.list_sep").join(parts) or "—")


def figures_line(tr: Translator, figures: dict[str, Any]) -> str:
    """The week's counts on one line: 驻村天数 3 · 走访次数 2 …"""
    return tr("common.list_sep").join(
        f"{tr(f'summary.label.{key}')} {int(figures.get(key, 0))}" for key in store.FIGURES)


async def describe(turn: Turn, data: Data) -> list[str]:
    """The week, whether this corrects a submitted summary, and its figures as counted when
    the form opened or Save was last tapped (no button changes them)."""
    monday = dt.date.fromisoformat(data["ctx_week"])
    # A draft from before the figures were kept in it counts them here.
    figures = data.get("ctx_figures") or await _computed(turn, monday)
    lines = [turn.tr("summary.week", period=Span(monday, store.week_end(monday)))]
    if "ctx_returned" in data:
        lines.append(turn.tr("summary.returned_reason", reason=data["ctx_returned"]))
    elif "ctx_submitted" in data:
        lines.append(turn.tr("summary.correcting"))
    lines.append(turn.tr("summary.computed"))
    lines.extend(turn.tr("form.field", label=turn.tr(f"summary.label.{key}"),
                         value=str(int(figures[key]))) for key in store.FIGURES)
    lines.append(by_kind_line(turn.tr, figures["visits_by_kind"]))
    excused = excused_line(turn.tr, figures["excused_days"])
    if excused is not None:
        lines.append(excused)
    return lines


async def save(turn: Turn, data: Data) -> None:
    """Submit or correct the week's summary; storage counts its figures from the records."""
    monday = dt.date.fromisoformat(data["ctx_week"])
    text = store.SummaryText(achievements=data["achievements"], problems=data["problems"],
                             plan=data["plan"], short_reason=data.get("short_reason"),
                             figures_note=data.get("figures_note"))
    author = _person(turn)
    try:
        row, new = await store.submit_summary(turn.session, person=author,
                                              week_start=monday, text=text, now=turn.now,
                                              tz=turn.app.settings.tz,
                                              minimum=_required(turn, monday),
                                              figures=data.get("ctx_figures"))
    except store.SummaryLocked:
        turn.say(turn.tr("summary.locked", start=monday))
        return
    except store.ReasonNeeded:  # refresh asks for it first: only a race reaches this
        turn.say(turn.tr("summary.now_short_unsaved", start=monday))
        return
    # Whoever reviews it gets it again, corrected, with the buttons that decide it.
    reviewers = await reviews.weekly_reviewers(turn.session, author=author)
    ask(turn, WEEKLY_REVIEW, row, author, reviewers, again=not new)
    msgid = "summary.submitted" if new else "summary.corrected"
    turn.say(sent_to(turn, reviewers, msgid=msgid, start=monday))


def render_card(tr: Translator, row: Summary) -> str:
    """A submitted weekly summary as its reviewer reads it: figures, then the texts."""
    lines = [figures_line(tr, row.figures),
             by_kind_line(tr, row.figures.get("visits_by_kind") or {})]
    excused = excused_line(tr, row.figures.get("excused_days") or [])
    if excused is not None:
        lines.append(excused)
    if row.figures_note:
        lines.append(tr("summary.card_text", label=tr("summary.label.figures_note"),
                        text=row.figures_note))
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
         prepare=prepare, describe=describe, cancelled=cancelled, refresh=refresh),
    roles=CADRE, description=N_("help.summary"), order=50,
)
