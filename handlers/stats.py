"""/stats: a leader's figures of their scope, or of a place inside it, with charts.

Arguments come in any order: a period (today, week, month, campaign, a day, or start..end;
this week by default) and a township or village name. The scope and argument helpers here
serve /team, /laggards, /pairs and the leaders' /disputes too. render_stats is pure:
translator and data in, text out, so both languages are tested as full text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.charts import township_chart
from bot.delivery import upload
from bot.i18n import N_, Translator
from bot.stats_charts import visits_heatmap
from bot.villagework import rectification_line, winter_lines
from handlers.base import Turn
from handlers.parsing import ParseError, fold, parse_day, parse_period
from handlers.registry import LEADERS, command
from storage import stats
from storage.disputes import CATEGORIES
from storage.scope import OutOfScope, Scope, UnknownPlace, own_scope, resolve
from storage.visits import HOUSEHOLD_CATEGORIES, KINDS
from storage.winter import UNITS

VISIT_KIND = "summary.visit_kind.{}"
HOUSEHOLD = "visit.category.{}"
DISPUTE_STATUS = "dispute.status.{}"
DISPUTE_CATEGORY = "dispute.category.{}"
RANK = "stats.rank.{}"
STATUSES = ("reported", "mediating", "escalated", "resolved")
RANKS = ("county", "department", "ordinary")
MAX_DAYS = 366  # a longer period is a typing mistake, and would make a slow query
_LABELS = (N_("stats.rank.county"), N_("stats.rank.department"), N_("stats.rank.ordinary"))


class BadPeriod(ValueError):
    """The arguments hold something that looks like a period but is none."""


def split_args(
    text: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, str | None]:
    """A period and a place name from command arguments in any order (None: not given)."""
    period: tuple[dt.date, dt.date] | None = None
    words: list[str] = []
    for token in text.split():
        found = _period(token, today=today, campaign_start=campaign_start)
        if found is None:
            words.append(token)
        elif period is not None:
            raise BadPeriod(token)
        else:
            period = found
    return period, " ".join(words) or None


def _period(
    token: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[dt.date, dt.date] | None:
    try:
        found = parse_period(token, today=today, campaign_start=campaign_start)
        if found is None and re.search(r"\d", fold(token)):
            day = parse_day(token, today=today)  # one day; digits are never a place name
            found = (day, day)
    except ParseError as exc:
        raise BadPeriod(token) from exc
    if found is None:
        return None
    start, end = found[0], min(found[1], today)  # nothing is recorded after today
    if start > end or (end - start).days >= MAX_DAYS:
        raise BadPeriod(token)
    return start, end


def scope_label(tr: Translator, scope: Scope) -> str:
    """The scope's name as a title shows it ('the county' for the county)."""
    return tr("stats.county") if scope.kind == "county" else scope.name


async def scope_for(turn: Turn, name: str | None) -> Scope | None:
    """The person's scope or the named place inside it; says why not and returns None."""
    assert turn.person is not None
    try:
        return await resolve(turn.session, person=turn.person, name=name)
    except UnknownPlace:
        turn.say(turn.tr("stats.unknown_place", name=name or ""))
    except OutOfScope:
        own = await own_scope(turn.session, person=turn.person)
        if own is None:  # a leader the roster gave no village or township
            turn.say(turn.tr("digest.not_in_scope"))
        else:
            turn.say(turn.tr("stats.out_of_scope", name=name or "",
                             scope=scope_label(turn.tr, own)))
    return None


def parsed_args(turn: Turn, args: str) -> tuple[tuple[dt.date, dt.date] | None, str | None] | None:
    """split_args for this turn; on a bad period it says so and returns None."""
    try:
        return split_args(args, today=turn.today, campaign_start=turn.app.settings.campaign_start)
    except BadPeriod as exc:
        turn.say(turn.tr("stats.bad_period", text=str(exc)))
        return None


def _money(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _counts(tr: Translator, template: str, order: tuple[str, ...], counts: dict[str, int]) -> str:
    return ", ".join(f"{tr(template.format(key))} {counts[key]}" for key in order
                     if counts.get(key))


def _weeks(tr: Translator, figures: stats.Stats) -> list[str]:
    lines = [tr("stats.compliance_title", minimum=figures.min_days)]
    for week in figures.weeks:
        msgid = N_("stats.week_line") if week.days == 7 else N_("stats.part_week_line")
        lines.append(tr(msgid, week=week.week_start.isoformat(), compliant=week.compliant,
                        cadres=week.cadres, days=week.days, required=week.required))
    return lines


def _disputes(tr: Translator, figures: stats.Stats) -> list[str]:
    opened = sum(figures.disputes_by_status.values())
    lines = [tr("stats.disputes", opened=opened, open=figures.disputes_open,
                overdue=figures.disputes_overdue)]
    if opened:
        lines.append(tr("stats.dispute_statuses", statuses=_counts(
            tr, DISPUTE_STATUS, STATUSES, figures.disputes_by_status)))
        lines.append(tr("stats.dispute_categories", categories=_counts(
            tr, DISPUTE_CATEGORY, CATEGORIES, figures.disputes_by_category)))
    return lines


def _problem_ledger(tr: Translator, figures: stats.Stats) -> str:
    """The ledger now: every status, then the overdue."""
    counts = figures.problems_by_status
    return tr("stats.problem_ledger", raised=counts.get("raised", 0),
              in_hand=counts.get("in_hand", 0), solved=counts.get("solved", 0),
              feedback=counts.get("feedback", 0), checked=counts.get("checked", 0),
              overdue=figures.problems_overdue)


def _summaries(tr: Translator, figures: stats.Stats) -> str:
    if figures.summaries_expected:
        line = tr("stats.summaries", submitted=figures.summaries_submitted,
                  expected=figures.summaries_expected)
    else:
        line = tr("stats.summaries_none_due")
    if figures.summaries_early_expected:
        line += tr("stats.summaries_early", early=figures.summaries_early,
                   expected=figures.summaries_early_expected)
    return line


def render_stats(tr: Translator, figures: stats.Stats, *, place: str,
                 winter_items: Sequence[str] = tuple(UNITS)) -> str:
    """The /stats message: every figure of a scope over a period (winter items in the
    configured order)."""
    kinds = _counts(tr, VISIT_KIND, KINDS, figures.visits_by_kind)
    households = _counts(tr, HOUSEHOLD, HOUSEHOLD_CATEGORIES, figures.visits_by_category)
    aid: dict[str, Any] = figures.aid
    lines = [tr("stats.title", place=place, start=figures.start.isoformat(),
                end=figures.end.isoformat()),
             tr("stats.cadres", cadres=figures.cadres),
             tr("stats.visits", total=figures.visits) + (f" — {kinds}" if kinds else "")]
    if households:
        lines.append(tr("stats.households", households=households))
    lines.append(tr("stats.checkins", checkins=figures.checkins, expected=figures.cadre_days,
                    days=figures.days_in_village))
    lines += _weeks(tr, figures)
    lines += _disputes(tr, figures)
    lines.append(tr("stats.problems", raised=figures.problems_raised,
                    solved=figures.problems_solved))
    if figures.problems_by_status:
        lines.append(_problem_ledger(tr, figures))
    done = figures.publicity
    lines.append(tr("stats.publicity", sessions=done.sessions, people=done.attendance,
                    slogans=done.slogans, boards=done.boards))
    lines.append(tr("stats.cases", submitted=figures.cases.submitted,
                    featured=figures.cases.featured))
    lines.append(tr("report.aid", condolences=aid["condolence_count"],
                    condolence_amount=_money(aid["condolence_amount"]),
                    donations=aid["donation_count"], donation_value=_money(aid["donation_value"]),
                    labour=aid["labour_people"], projects=aid["project_count"],
                    project_funds=_money(aid["project_funds"])))
    lines.append(rectification_line(tr, figures.rectification))
    lines += winter_lines(tr, figures.winter, winter_items)
    lines.append(_summaries(tr, figures))
    return "\n".join(lines)


def _photo(turn: Turn, name: str, png: bytes, caption: str) -> None:
    turn.request("sendPhoto", {**upload("photo", name, png), "caption": caption})


async def _charts(turn: Turn, scope: Scope, figures: stats.Stats, place: str) -> None:
    tr, span = turn.tr, {"start": figures.start.isoformat(), "end": figures.end.isoformat()}
    if figures.end > figures.start and figures.visits:
        series = await stats.visits_per_day(turn.session, scope=scope, start=figures.start,
                                            end=figures.end)
        days = [figures.start + dt.timedelta(days=i)
                for i in range((figures.end - figures.start).days + 1)]
        title = tr("stats.chart_visits", place=place, **span)
        # Drawing takes a good part of a second: off the event loop, so other chats go on.
        png = await asyncio.to_thread(visits_heatmap, series, days, title=title,
                                      legend=tr("stats.chart_visits_legend"))
        _photo(turn, "visits.png", png, title)
    rows = [(p.name, p.compliance, p.completeness) for p in figures.places if p.cadres]
    if len(rows) > 1:
        title = tr("stats.chart_compliance", place=place, **span)
        png = await asyncio.to_thread(
            township_chart, rows, title=title,
            first_label=tr("stats.chart_compliance_label", minimum=figures.min_days),
            second_label=tr("stats.chart_summaries_label"))
        _photo(turn, "compliance.png", png, title)


@command("stats", roles=LEADERS, description=N_("help.stats"), order=70)
async def stats_command(turn: Turn, args: str) -> None:
    """Every figure of the leader's scope (or a place in it) over a period, then charts."""
    parsed = parsed_args(turn, args)
    if parsed is None:
        return
    period, name = parsed
    scope = await scope_for(turn, name)
    if scope is None:
        return
    settings = turn.app.settings
    start, end = period or (turn.today - dt.timedelta(days=turn.today.weekday()), turn.today)
    figures = await stats.scope_stats(
        turn.session, scope=scope, start=start, end=end, now=turn.now, tz=settings.tz,
        min_days=settings.min_days_in_village, overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"),
        deadline_weekday=settings.summary_deadline_weekday,
        deadline_time=settings.summary_deadline_time)
    place = scope_label(turn.tr, scope)
    turn.say(render_stats(turn.tr, figures, place=place,
                          winter_items=turn.app.settings.winter_items))
    await _charts(turn, scope, figures, place)
