"""The console's first page, the overview: a leader's place over a period, at a glance.

GET /console/?period=week|last_week|month|campaign|custom&start=…&end=…&place=township:ID

- The period is read as /stats reads it (handlers.stats.split_args: the same words, the end
  never after today, the same refusals); this week by default.
- The place is the viewer's scope, or a township or village inside it (`place`), checked with
  `who.may_see` (403 outside it). A cadre has no place to look at: their own week.
- Every figure is /stats's (reports.figures.scope_figures), the lines under the cards the chat's
  own sentences; the targets are /targets' (reports.targets.scope_targets, as they stand); the
  reviews of the period's weekly summaries are storage.summaries.review_counts. The
  table lists the query's places (townships of the county, villages of a township) with their
  figures; a row drills down, a village's row opens its team page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from bot.console.auth import Refused, Viewer, Who
from bot.console.render import PREFIX, page
from common.context import AppContext
from common.i18n import Translator
from handlers.parsing import FuturePeriod, ParseError, ReversedPeriod, period_refusal
from handlers.stats import (
    HOUSEHOLD,
    VISIT_KIND,
    BadPeriod,
    aid_line,
    dispute_lines,
    problem_ledger,
    scope_label,
    split_args,
    summaries_line,
    week_lines,
)
from reports.figures import scope_figures, share
from reports.targets import ScopeTargets, scope_targets
from storage import summaries
from storage.reviews import STATUSES as REVIEW_STATUSES
from storage.scope import Scope, place_scope
from storage.stats import PlaceFigures, Stats
from storage.targets import TARGETS
from storage.visits import HOUSEHOLD_CATEGORIES, KINDS

# The period buttons: the value in the address, and the words /stats reads for it.
PERIODS = {"week": "this week", "last_week": "last week", "month": "this month",
           "campaign": "campaign"}
CUSTOM = "custom"
LEVELS = ("township", "village")  # what `place` may name
OWN_WEEK = f"{PREFIX}/people/me"
TEAM_PAGE = f"{PREFIX}/people/team/{{}}"


@dataclass(frozen=True)
class Period:
    """The period asked for: its button, the days it covers, and the custom days as typed."""

    key: str
    start: dt.date
    end: dt.date
    typed_start: str = ""
    typed_end: str = ""

    def query(self) -> dict[str, str]:
        """The address's part that asks for this period again."""
        if self.key == CUSTOM:
            return {"period": CUSTOM, "start": self.typed_start, "end": self.typed_end}
        return {"period": self.key}


def read_period(who: Viewer, campaign_start: dt.date, period: str, start: str,
                end: str) -> Period:
    """The period the selector asks for, as /stats reads the same words. Raises ParseError
    (what /stats says to a bad period) for custom days it would refuse."""
    if period == CUSTOM:
        text = f"{start.strip()}..{end.strip()}"
        if not start.strip() or not end.strip():
            raise ParseError(text)
    else:
        period = period if period in PERIODS else "week"
        text = PERIODS[period]
    try:
        found, rest = split_args(text, today=who.today, campaign_start=campaign_start)
    except BadPeriod as exc:
        assert isinstance(exc.__cause__, ParseError)
        raise exc.__cause__ from None
    if found is None or rest:
        raise ParseError(text)
    if period != CUSTOM:  # the day boxes show the button's days, to change from there
        start, end = found[0].isoformat(), found[1].isoformat()
    return Period(period, found[0], found[1], start.strip(), end.strip())


def custom_refusal(error: ParseError, who: Viewer, start: str, end: str) -> str:
    """Why a period was refused: for days picked in the date boxes, said with the days as
    people read them (not as the boxes send them); otherwise what /stats says."""
    if not start.strip() or not end.strip():
        return who.tr("console.overview.period.both")
    try:
        first, last = dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip())
    except ValueError:
        return period_refusal(error, who.tr, today=who.today)
    if isinstance(error, ReversedPeriod):
        return who.tr("console.overview.period.reversed", start=first, end=last)
    if isinstance(error, FuturePeriod):
        return who.tr("console.overview.period.future", end=last, today=who.today)
    return period_refusal(error, who.tr, today=who.today)


async def asked_place(ctx: AppContext, who: Viewer, place: str) -> Scope:
    """The viewer's scope, or the township or village `place` names (township:ID) if they may
    see it: 403 outside the scope, 404 for a place that is not there."""
    assert who.scope is not None
    if not place:
        return who.scope
    level, _, number = place.partition(":")
    if level not in LEVELS or not number.isdigit() or len(number) > 12:
        raise Refused("console.overview.no_place", locale=who.locale, status=404)
    async with ctx.db.read() as session:
        found = await place_scope(session, kind=level, place_id=int(number))
    if found is None:
        raise Refused("console.overview.no_place", locale=who.locale, status=404)
    if not who.may_see(found):
        raise Refused("console.refused.scope", locale=who.locale)
    return found


def address(query: dict[str, str], place: str | None = None) -> str:
    """The overview's address for a period and place (None: the viewer's own)."""
    return f"{PREFIX}/?" + urlencode({**({"place": place} if place else {}), **query})


async def crumbs(ctx: AppContext, who: Viewer, scope: Scope,
                 query: dict[str, str]) -> list[tuple[str, str | None]]:
    """Where the page stands, from the viewer's own place down: (name, address or None for
    the page itself)."""
    path: list[tuple[Scope, str | None]] = [(Scope("county"), None)]
    if scope.kind != "county":
        assert scope.township_id is not None
        township = scope
        if scope.kind == "village":
            async with ctx.db.read() as session:
                township = await place_scope(session, kind="township",
                                             place_id=scope.township_id) or scope
        path.append((township, f"township:{scope.township_id}"))
    if scope.kind == "village":
        path.append((scope, f"village:{scope.village_id}"))
    assert who.scope is not None
    own = who.scope.kind
    shown = [(place, None if place.kind == own else key) for place, key in path
             if who.may_see(place)]
    return [(scope_label(who.tr, place), None if i == len(shown) - 1 else address(query, key))
            for i, (place, key) in enumerate(shown)]


def _percent(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


def place_rows(figures: Stats, scope: Scope, query: dict[str, str]) -> list[dict[str, Any]]:
    """The table's rows: each place's figures, and where a click on it leads."""
    rows = []
    for place in figures.places:
        if scope.kind == "village":
            href = TEAM_PAGE.format(place.place_id)
        else:
            href = address(query, f"{figures.place_level}:{place.place_id}")
        rows.append({"place": place, "href": href, "compliance": share(place.compliance),
                     "completeness": share(place.completeness),
                     "compliance_value": _percent(place.compliance),
                     "completeness_value": _percent(place.completeness)})
    return rows


def chart(tr: Translator, figures: Stats, places: list[PlaceFigures]) -> dict[str, Any]:
    """What the bars draw: each place's compliance and summaries in percent, named as the
    chat's bar chart names them."""
    return {"names": [p.name for p in places],
            "series": [{"name": tr("stats.chart_compliance_label", minimum=figures.min_days),
                        "values": [_percent(p.compliance) for p in places]},
                       {"name": tr("stats.chart_summaries_label"),
                        "values": [_percent(p.completeness) for p in places]}]}


def counts(tr: Translator, template: str, order: tuple[str, ...],
           found: dict[str, int]) -> list[tuple[str, int]]:
    """(name, count) in the catalog's words, in `order`, the zeros left out."""
    return [(tr(template.format(key)), found[key]) for key in order if found.get(key)]


def target_counts(tr: Translator, targets: ScopeTargets) -> list[tuple[str, int]]:
    """Each target and how many villages of the scope miss it."""
    return [(tr(f"targets.target.{target}"), sum(target in v.missed for v in targets.villages))
            for target in TARGETS]


def sections(tr: Translator, figures: Stats) -> dict[str, list[Markup]]:
    """The chat's own sentences of /stats, by section (catalog text, already HTML)."""
    problems = [tr("stats.problems", raised=figures.problems_raised,
                   solved=figures.problems_solved)]
    if figures.problems_by_status:
        problems.append(problem_ledger(tr, figures))
    lines = {"weeks": week_lines(tr, figures), "disputes": dispute_lines(tr, figures),
             "problems": problems, "aid": [aid_line(tr, figures)],
             "summaries": [summaries_line(tr, figures)]}
    return {key: [Markup(line) for line in found] for key, found in lines.items()}


def router(ctx: AppContext) -> APIRouter:
    """The overview page."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/")
    async def overview(who: Who, period: str = "week", start: str = "", end: str = "",
                       place: str = "") -> Response:
        if who.scope is None:  # a cadre: their own week
            return RedirectResponse(OWN_WEEK, status_code=303)
        scope = await asked_place(ctx, who, place[:40])
        settings = ctx.settings
        try:
            asked = read_period(who, settings.campaign_start, period[:20], start[:20],
                                end[:20])
        except ParseError as exc:
            typed = Period(CUSTOM, who.today, who.today, start[:20], end[:20])
            return page(who, "overview.html", status=400, period=typed, periods=PERIODS,
                        error=custom_refusal(exc, who, start, end),
                        crumbs=await crumbs(ctx, who, scope, typed.query()), place=place)
        async with ctx.db.read() as session:
            figures = await scope_figures(session, settings, scope=scope, start=asked.start,
                                          end=asked.end, now=ctx.clock.now())
            targets = await scope_targets(session, settings, scope=scope, today=who.today,
                                            details=False)
            reviewed = await summaries.review_counts(session, scope=scope, start=asked.start,
                                                     end=asked.end)
        tr = who.tr
        query = asked.query()
        compliant = sum(p.compliant for p in figures.places)
        cadre_weeks = sum(p.cadre_weeks for p in figures.places)
        return page(
            who, "overview.html", period=asked, periods=PERIODS, figures=figures,
            scope=scope, place=place, crumbs=await crumbs(ctx, who, scope, query),
            compliance=share(100.0 * compliant / cadre_weeks if cadre_weeks else math.nan),
            opened=sum(figures.disputes_by_status.values()),
            kinds=counts(tr, VISIT_KIND, KINDS, figures.visits_by_kind),
            households=counts(tr, HOUSEHOLD, HOUSEHOLD_CATEGORIES, figures.visits_by_category),
            reviewed=reviewed, reviews=counts(tr, "review.status.{}", REVIEW_STATUSES,
                                                 reviewed),
            targets=targets, missed=target_counts(tr, targets), lines=sections(tr, figures),
            rows=place_rows(figures, scope, query),
            chart=chart(tr, figures, [p for p in figures.places if p.cadres]),
            level=figures.place_level)

    return routes

