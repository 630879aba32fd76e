"""The console's map: check-ins and visits whose cadres shared their location, by village.

GET /console/map?start=YYYY-MM-DD&end=YYYY-MM-DD&village=ID — the day (today without dates)
or the period, in the viewer's scope (a team leader their village, a township leader its
villages, the county's roles all; a cadre their own points), or one village of it. The points
are drawn with Leaflet on the tiles of CONSOLE_TILE_URL, or on a blank background fitted to
them when none is set, and listed in a table by village below the map (what a phone without
tiles reads). The points travel inside the page as JSON, in the viewer's language.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from markupsafe import Markup

from bot.console.auth import Refused, Viewer, Who
from bot.console.people import asked_day, record_href, week_href
from bot.console.render import page
from common.context import AppContext
from common.i18n import format_moment
from storage import locations
from storage.rollups import monday_of
from storage.scope import Scope, place_scope

# The most points of each kind one page carries (the latest); the page says when there are
# more, and a village or a shorter period shows them all.
LIMIT = 1000


def what(who: Viewer, point: locations.Point) -> str:
    """What the point records, in words: a check-in's status, a visit's kind."""
    tr = who.tr
    if point.kind == "visit":
        return tr("console.map.visit", kind=tr(f"visit.kind.{point.what}"))
    if point.what == "in_village":
        return tr("console.map.checkin", status=tr("checkin.status.village"))
    return tr("console.map.checkin", status=tr(
        "checkin.status.away", reason=tr(f"checkin.reason.{point.what}")))


def href(point: locations.Point) -> str:
    """Where a point's popup leads: the visit's page, or the cadre's week of the check-in."""
    if point.kind == "visit":
        return record_href("visits", point.record_id)
    return week_href(point.person_id, monday_of(point.day))


def as_json(who: Viewer, points: list[locations.Point]) -> Markup:
    """The points for the page's script, safe inside a <script> element."""
    rows: list[dict[str, Any]] = [
        {"lat": p.latitude, "lon": p.longitude, "kind": p.kind, "who": p.person,
         "what": what(who, p), "when": format_moment(who.locale, p.at, tz=who.tz,
                                                       today=who.today),
         "village": p.village, "href": href(p)} for p in points]
    text = json.dumps(rows, ensure_ascii=False)
    # No "</script>" or "<!--" can close the element early.
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def by_village(points: list[locations.Point]) -> list[tuple[str, list[locations.Point]]]:
    """The points grouped by village (named "township/village"), each the latest first."""
    groups: dict[tuple[str, str], list[locations.Point]] = {}
    for point in points:
        groups.setdefault((point.township, point.village), []).append(point)
    return [(f"{township}/{village}", sorted(found, key=lambda p: p.at, reverse=True))
            for (township, village), found in sorted(groups.items())]


async def _place(ctx: AppContext, who: Viewer, village_id: int | None) -> Scope | None:
    """The scope shown: the viewer's own, or one village of it named in the address."""
    if village_id is None:
        return who.scope
    async with ctx.db.read() as session:
        place = await place_scope(session, kind="village", place_id=village_id)
    if place is None or not who.may_see(place):
        raise Refused("console.refused.scope", locale=who.locale)
    return place


def router(ctx: AppContext) -> APIRouter:
    """The map page."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/map")
    async def map_page(who: Who, start: str | None = None, end: str | None = None,
                       village: int | None = None) -> Response:
        first = asked_day(start, today=who.today)
        last = asked_day(end, today=who.today) if end else first
        first, last = min(first, last), max(first, last)
        scope = await _place(ctx, who, village)
        async with ctx.db.read() as session:
            found = await locations.located(session, start=first, end=last, scope=scope,
                                            person_id=who.person_id, limit=LIMIT)
        settings = ctx.settings
        return page(who, "map.html", start=first, end=last, found=found,
                    groups=by_village(found.points), points=as_json(who, found.points),
                    place=scope, village=village, what=lambda p: what(who, p), href=href,
                    tile_url=settings.console_tile_url,
                    tile_attribution=settings.console_tile_attribution)

    return routes
