"""/merit [period] [unit]: commendation and criticism — the figures a notice judges by.

Per home unit (or, with a unit named, per cadre of it), ranked best first and capped for a
phone: days in the village and the share of weeks at the minimum, visits, disputes resolved,
help given, weekly summaries on time. The period defaults to the whole campaign. Two buttons
draft a notice from the figures (mer:c:<start>:<end>:<unit id or 0> commends the best that meet
both thresholds, mer:k:... criticises those below one); the office's draft goes on into
/broadcast, where the audience is chosen, counted and confirmed.
"""

from __future__ import annotations

import datetime as dt

from common.i18n import N_, Span, Translator
from handlers.base import Turn, inline_keyboard
from handlers.broadcast import start_drafted
from handlers.registry import COUNTY, callback, command
from handlers.stats import parsed_args
from reports.figures import merit_period, share
from storage import merit as store
from storage import people
from storage.models import Unit

_LABELS = (N_("merit.reason.days"), N_("merit.reason.summaries"))
LINE, LINE_CADRE = N_("merit.line"), N_("merit.line_cadre")
NOBODY = {"c": N_("merit.nobody_commend"), "k": N_("merit.nobody_criticise")}


def _period(turn: Turn, start: dt.date, end: dt.date) -> store.Period:
    return merit_period(turn.app.settings, start, end, turn.now)


def merit_line(tr: Translator, rank: int, merit: store.Merit, minimum: int, *,
               unit: bool = True) -> str:
    """One unit's (with its number of cadres) or one cadre's figures on one line."""
    msgid = LINE if unit else LINE_CADRE
    line = tr(msgid, rank=rank, name=merit.name, cadres=merit.cadres, days=merit.days,
              share=share(merit.days_share), minimum=minimum, visits=merit.visits,
              resolved=merit.resolved, aid=merit.aid, on_time=merit.on_time, due=merit.due)
    return line + (tr("merit.excused", days=merit.excused) if merit.excused else "")


def render_merits(tr: Translator, merits: list[store.Merit], *, start: dt.date, end: dt.date,
                  unit: str | None, minimum: int, limit: int, thresholds: tuple[int, int]
                  ) -> str:
    """The ranked figures, at most `limit` lines, and the thresholds a criticism uses."""
    period = Span(start, end)
    title = (tr("merit.title_unit", unit=unit, period=period)
             if unit else tr("merit.title", period=period))
    if not merits:
        return "\n".join([title, tr("merit.none")])
    lines = [title] + [merit_line(tr, i, m, minimum, unit=not unit)
                       for i, m in enumerate(merits[:limit], start=1)]
    if len(merits) > limit:
        lines.append(tr("merit.more", count=len(merits) - limit))
    lines.append(tr("merit.thresholds", days=thresholds[0], summaries=thresholds[1],
                    minimum=minimum))
    lines.append(tr("merit.leave_rule"))
    return "\n".join(lines)


async def _unit(turn: Turn, words: str | None) -> tuple[Unit | None, bool]:
    """The unit the words name (None: all units); False when they name none or several."""
    if not words:
        return None, True
    found = await people.units_matching(turn.session, query=words, limit=6)
    exact = [u for u in found if u.name == words.strip()]
    if exact or len(found) == 1:
        return (exact or found)[0], True
    if not found:
        turn.say(turn.tr("merit.unknown_unit", name=words))
    else:
        turn.say(turn.tr("merit.which_unit", names="、".join(u.name for u in found)))
    return None, False


async def _merits(turn: Turn, start: dt.date, end: dt.date, unit: Unit | None
                  ) -> list[store.Merit]:
    period = _period(turn, start, end)
    if unit is None:
        return store.ranked(await store.unit_merits(turn.session, period=period))
    cadres = await store.cadre_merits(turn.session, period=period, unit_id=unit.id)
    return store.ranked([m for m, _ in cadres.values()])


def _thresholds(turn: Turn) -> tuple[int, int]:
    settings = turn.app.settings
    return settings.merit_min_days_share, settings.merit_min_summaries_share


@command("merit", roles=COUNTY, description=N_("help.merit"), order=84)
async def merit(turn: Turn, args: str) -> None:
    """The ranked figures, with buttons to draft a commendation or a criticism."""
    parsed = parsed_args(turn, args)
    if parsed is None:
        return
    period, words = parsed
    settings = turn.app.settings
    start, end = period or (settings.campaign_start, min(turn.today, settings.campaign_end))
    unit, ok = await _unit(turn, words)
    if not ok:
        return
    merits = await _merits(turn, start, end, unit)
    text = render_merits(turn.tr, merits, start=start, end=end,
                         unit=unit.name if unit else None,
                         minimum=settings.min_days_in_village, limit=settings.merit_max_rows,
                         thresholds=_thresholds(turn))
    tail = f"{start.isoformat()}:{end.isoformat()}:{unit.id if unit else 0}"
    buttons = [[(turn.tr("merit.button.commend"), f"mer:c:{tail}"),
                (turn.tr("merit.button.criticise"), f"mer:k:{tail}")]]
    turn.say(text, markup=inline_keyboard(buttons) if merits else None)


def draft_commendation(tr: Translator, merits: list[store.Merit], *, who: str,
                       start: dt.date, end: dt.date, minimum: int) -> str:
    """A notice commending these units or cadres, with their figures."""
    lines = [tr("merit.draft.commend", who=who, period=Span(start, end))]
    lines += [tr("merit.draft.commend_line", name=m.name, share=share(m.days_share),
                 minimum=minimum, visits=m.visits, resolved=m.resolved, aid=m.aid,
                 summaries=share(m.summaries_share)) for m in merits]
    lines.append(tr("merit.leave_rule"))
    lines.append(tr("merit.draft.commend_end"))
    return "\n".join(lines)


def draft_criticism(tr: Translator, merits: list[tuple[store.Merit, list[str]]], *, who: str,
                    start: dt.date, end: dt.date, minimum: int) -> str:
    """A notice criticising these units or cadres, naming what fell short."""
    lines = [tr("merit.draft.criticise", who=who, period=Span(start, end))]
    for m, reasons in merits:
        shares = {"days": share(m.days_share), "summaries": share(m.summaries_share)}
        said = tr("stats.separator").join(
            tr(f"merit.reason.{r}", share=shares[r], minimum=minimum) for r in reasons)
        lines.append(tr("merit.draft.criticise_line", name=m.name, reasons=said))
    lines.append(tr("merit.leave_rule"))
    lines.append(tr("merit.draft.criticise_end"))
    return "\n".join(lines)


def _draft(turn: Turn, action: str, merits: list[store.Merit], who: str, start: dt.date,
           end: dt.date) -> str | None:
    settings = turn.app.settings
    days, summaries = _thresholds(turn)
    minimum = settings.min_days_in_village
    if action == "c":
        best = store.commended(merits, min_days_share=days, min_summaries_share=summaries,
                               top=settings.merit_commend_top)
        if not best:
            return None
        return draft_commendation(turn.tr, best, who=who, start=start, end=end,
                                  minimum=minimum)
    named = store.criticised(merits, min_days_share=days, min_summaries_share=summaries,
                             limit=settings.merit_max_rows)
    if not named:
        return None
    return draft_criticism(turn.tr, named, who=who, start=start, end=end, minimum=minimum)


@callback("mer", roles=COUNTY)
async def on_draft(turn: Turn, rest: str) -> None:
    """mer:<c|k>:<start>:<end>:<unit id or 0>: draft the notice; the office goes on to send it."""
    parts = rest.split(":")
    if turn.person is None or turn.person.role not in COUNTY or len(parts) != 4:
        turn.notice(turn.tr("common.stale_button"))
        return
    action, start_text, end_text, unit_text = parts
    try:
        start, end = dt.date.fromisoformat(start_text), dt.date.fromisoformat(end_text)
    except ValueError:
        turn.notice(turn.tr("common.stale_button"))
        return
    unit = (await people.unit_by_id(turn.session, unit_id=int(unit_text))
            if unit_text.isdigit() and unit_text != "0" else None)
    merits = await _merits(turn, start, end, unit)
    who = turn.tr("merit.who.cadres", unit=unit.name) if unit else turn.tr("merit.who.units")
    text = _draft(turn, action, merits, who, start, end) if action in ("c", "k") else None
    if text is None:
        turn.say(turn.tr(NOBODY[action] if action in NOBODY else "common.stale_button"))
    elif turn.person.role == "office":
        await start_drafted(turn, text)
    else:  # the leading group reads the draft; only the office broadcasts
        turn.say("\n".join([turn.tr("merit.draft_only"), text]))
