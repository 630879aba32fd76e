"""/stats: a leader's figures of their scope, or of a place inside it, with charts.

Arguments come in any order: a period (今天, 上周, 11月, 11-30至12-06, last week…: see
handlers.parsing.parse_period; this week by default) and a township or village name. The
scope and argument helpers here serve /team, /laggards, /pairs and the leaders' /disputes
too. render_stats is pure: translator and data in, text out, so both languages are tested as
full text. The charts are drawn after the turn has committed (start_charts), not holding
the database, and sent behind the text through the outbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from telegram import Bot

from common.context import AppContext
from common.delivery import deliver_rows, upload
from common.i18n import N_, Money, Span, Translator, translator
from common.ratelimit import REPLY
from handlers.base import Turn
from handlers.parsing import (
    FuturePeriod,
    LongPeriod,
    ParseError,
    period_refusal,
    split_period,
)
from handlers.places import ask_which
from handlers.registry import READERS, command
from reports.figures import counted, scope_figures
from reports.stats_charts import draw_stats_charts
from reports.villagework import rectification_line, winter_lines
from storage import outbox, stats
from storage.disputes import CATEGORIES
from storage.outbox import Outgoing
from storage.scope import AmbiguousPlace, OutOfScope, Scope, UnknownPlace, own_scope, resolve
from storage.visits import HOUSEHOLD_CATEGORIES, KINDS
from storage.winter import UNITS

VISIT_KIND = "summary.visit_kind.{}"
HOUSEHOLD = "visit.category.{}"
DISPUTE_STATUS = "dispute.status.{}"
DISPUTE_CATEGORY = "dispute.category.{}"
RANK = "stats.rank.{}"
STATUSES = ("reported", "mediating", "escalated", "resolved")
RANKS = ("county", "department", "ordinary")
log = logging.getLogger(__name__)

MAX_DAYS = 366  # a longer period is a typing mistake, and would make a slow query
_LABELS = (N_("stats.rank.county"), N_("stats.rank.department"), N_("stats.rank.ordinary"))


class BadPeriod(ValueError):
    """The arguments hold something that looks like a period but is none."""


def split_args(
    text: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, str | None]:
    """A period and a place name from command arguments in any order (None: not given):
    `上周 新村`, `新村 last week`, `11月`. The period ends today at the latest (nothing is
    recorded after it). Raises BadPeriod, its cause the ParseError that says why."""
    try:
        found, named, place = split_period(text, today=today, campaign_start=campaign_start)
        if found is None:
            return None, place or None
        start, end = found[0], min(found[1], today)
        if start > end:
            raise FuturePeriod(named)
        if (end - start).days >= MAX_DAYS:
            raise LongPeriod(named)
    except ParseError as exc:
        raise BadPeriod(str(exc)) from exc
    return (start, end), place or None


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
    except AmbiguousPlace as exc:
        await ask_which(turn, exc)
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
        assert isinstance(exc.__cause__, ParseError)
        turn.say(period_refusal(exc.__cause__, turn.tr, today=turn.today))
        return None


def _money(value: Decimal) -> Money:
    return Money(value)


def week_lines(tr: Translator, figures: stats.Stats) -> list[str]:
    lines = [tr("stats.compliance_title", minimum=figures.min_days)]
    for week in figures.weeks:
        msgid = (N_("stats.part_week_line") if week.days < 7
                 else N_("stats.week_line") if week.required == figures.min_days
                 else N_("stats.short_week_line"))  # the campaign's edges or public holidays
        lines.append(tr(msgid, week=week.week_start, compliant=week.compliant,
                        cadres=week.cadres, days=week.days, required=week.required))
    return lines


def dispute_lines(tr: Translator, figures: stats.Stats) -> list[str]:
    opened = sum(figures.disputes_by_status.values())
    lines = [tr("stats.disputes", opened=opened, open=figures.disputes_open,
                overdue=figures.disputes_overdue)]
    if opened:
        lines.append(tr("stats.dispute_statuses", statuses=counted(
            tr, DISPUTE_STATUS, STATUSES, figures.disputes_by_status)))
        lines.append(tr("stats.dispute_categories", categories=counted(
            tr, DISPUTE_CATEGORY, CATEGORIES, figures.disputes_by_category)))
    return lines


def problem_ledger(tr: Translator, figures: stats.Stats) -> str:
    """The ledger now: every status, then the overdue."""
    counts = figures.problems_by_status
    return tr("stats.problem_ledger", raised=counts.get("raised", 0),
              in_hand=counts.get("in_hand", 0), solved=counts.get("solved", 0),
              feedback=counts.get("feedback", 0), checked=counts.get("checked", 0),
              overdue=figures.problems_overdue)


def summaries_line(tr: Translator, figures: stats.Stats) -> str:
    if figures.summaries_expected:
        line = tr("stats.summaries", submitted=figures.summaries_submitted,
                  expected=figures.summaries_expected)
    else:
        line = tr("stats.summaries_none_due")
    if figures.summaries_early_expected:
        line += tr("stats.summaries_early", early=figures.summaries_early,
                   expected=figures.summaries_early_expected)
    return line


def aid_line(tr: Translator, figures: stats.Stats) -> str:
    """The help given in the period: condolences, donations, labour export, projects."""
    aid: dict[str, Any] = figures.aid
    return tr("report.aid", condolences=aid["condolence_count"],
              condolence_amount=_money(aid["condolence_amount"]),
              donations=aid["donation_count"], donation_value=_money(aid["donation_value"]),
              labour=aid["labour_people"], projects=aid["project_count"],
              project_funds=_money(aid["project_funds"]))


def render_stats(tr: Translator, figures: stats.Stats, *, place: str,
                 winter_items: Sequence[str] = tuple(UNITS)) -> str:
    """The /stats message: every figure of a scope over a period (winter items in the
    configured order)."""
    kinds = counted(tr, VISIT_KIND, KINDS, figures.visits_by_kind)
    households = counted(tr, HOUSEHOLD, HOUSEHOLD_CATEGORIES, figures.visits_by_category)
    lines = [tr("stats.title", place=place, period=Span(figures.start, figures.end)),
             tr("stats.cadres", cadres=figures.cadres),
             tr("stats.visits", total=figures.visits) + (f" — {kinds}" if kinds else "")]
    if households:
        lines.append(tr("stats.households", households=households))
    lines.append(tr("stats.checkins", checkins=figures.checkins, expected=figures.cadre_days,
                    days=figures.days_in_village))
    if figures.excused_days:
        lines.append(tr("stats.excused", days=figures.excused_days,
                        people=figures.excused_people))
    lines += week_lines(tr, figures)
    lines += dispute_lines(tr, figures)
    lines.append(tr("stats.problems", raised=figures.problems_raised,
                    solved=figures.problems_solved))
    if figures.problems_by_status:
        lines.append(problem_ledger(tr, figures))
    done = figures.publicity
    lines.append(tr("stats.publicity", sessions=done.sessions, people=done.attendance,
                    slogans=done.slogans, boards=done.boards))
    lines.append(tr("stats.cases", submitted=figures.cases.submitted,
                    featured=figures.cases.featured))
    lines.append(aid_line(tr, figures))
    lines.append(rectification_line(tr, figures.rectification))
    lines += winter_lines(tr, figures.winter, winter_items)
    lines.append(summaries_line(tr, figures))
    return "\n".join(lines)


@dataclass(frozen=True)
class ChartJob:
    """What the charts of one /stats answer need, taken from the turn: no session, no lock."""

    chat_id: int
    person_id: int
    locale: str
    scope: Scope
    start: dt.date
    end: dt.date
    place: str
    visits: int
    min_days: int
    places: tuple[tuple[str, float, float], ...]
    today: dt.date  # the titles' dates are read against it (a year only when another)

    @property
    def wants_heatmap(self) -> bool:
        """A day-by-day picture needs two days or more, and a visit."""
        return self.end > self.start and self.visits > 0

    @property
    def wants_bars(self) -> bool:
        """Bars compare places: two or more with cadres."""
        return len(self.places) > 1


def _chart_job(turn: Turn, scope: Scope, figures: stats.Stats, place: str) -> ChartJob:
    assert turn.person is not None
    return ChartJob(turn.chat_id, turn.person.id, turn.locale, scope, figures.start,
                    figures.end, place, figures.visits, figures.min_days,
                    tuple((p.name, p.compliance, p.completeness) for p in figures.places
                          if p.cadres), turn.today)


def _drawn(job: ChartJob, series: dict[str, dict[dt.date, int]] | None
           ) -> list[tuple[str, str, bytes]]:
    """Draw the charts (slow: call it off the event loop): (file name, caption, PNG), in the
    order they are sent."""
    return draw_stats_charts(translator(job.locale, today=job.today), job.locale,
                             place=job.place, start=job.start, end=job.end,
                             min_days=job.min_days, series=series,
                             places=job.places if job.wants_bars else ())


def start_charts(turn: Turn, job: ChartJob) -> None:
    """Draw and send the charts once the turn has committed and let go of the database."""
    if not (job.wants_heatmap or job.wants_bars):
        return
    app, bot = turn.app, turn.update.get_bot()
    turn.after_commit(lambda: app.spawn(run_charts(app, bot, job, lambda: turn.stored)))


async def run_charts(app: AppContext, bot: Bot, job: ChartJob,
                     answer: Callable[[], list[Any]]) -> None:
    """After the turn: read, draw (in a thread) and send the charts behind the text answer."""
    try:
        series = None
        if job.wants_heatmap:
            async with app.db.read() as session:
                series = await stats.visits_per_day(session, scope=job.scope, start=job.start,
                                                    end=job.end)
        drawn = await asyncio.to_thread(_drawn, job, series)
        await _send_photos(app, bot, job, drawn, answer())
    except Exception:  # the text answer stands; a chart is a bonus
        log.exception("the /stats charts for chat %s failed", job.chat_id)


async def _send_photos(app: AppContext, bot: Bot, job: ChartJob,
                       drawn: list[tuple[str, str, bytes]], answer: list[Any]) -> None:
    # In the row, not a file: a chart is small, and nothing is left on disk if we stop here.
    photos = [Outgoing(chat_id=job.chat_id, method="sendPhoto", person_id=job.person_id,
                       payload={**upload("photo", name, png), "caption": caption})
              for name, caption, png in drawn]
    await app.sent.flush()  # the text's delivery, if it is out, recorded before looking
    async with app.db.write() as session:
        # The text goes first: while it is still on its way, the outbox sender (which keeps
        # each chat's order) sends the charts after it; once it is out, they go now.
        waiting = await outbox.any_pending(session, ids=[row.id for row in answer])
        rows = await outbox.enqueue(session, messages=photos, now=app.clock.now(),
                                    claim=not waiting)
    if not waiting:
        await deliver_rows(app, bot, rows, lane=REPLY)  # the charts someone asked for


@command("stats", roles=READERS, description=N_("help.stats"), order=70)
async def stats_command(turn: Turn, args: str) -> None:
    """Every figure of the leader's scope (or a place in it) over a period, then charts."""
    parsed = parsed_args(turn, args)
    if parsed is None:
        return
    period, name = parsed
    scope = await scope_for(turn, name)
    if scope is None:
        return
    start, end = period or (turn.today - dt.timedelta(days=turn.today.weekday()), turn.today)
    figures = await scope_figures(turn.session, turn.app.settings, scope=scope, start=start,
                                  end=end, now=turn.now)
    place = scope_label(turn.tr, scope)
    turn.say(render_stats(turn.tr, figures, place=place,
                          winter_items=turn.app.settings.winter_items))
    # Drawing takes a good part of a second: after the transaction, not holding the database.
    start_charts(turn, _chart_job(turn, scope, figures, place))
