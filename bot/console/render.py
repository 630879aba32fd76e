"""The console's pages: Jinja2 templates, filled with the catalogs' words and the formatters
the chat uses, in the viewer's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.console.auth import CSRF_FIELD, Viewer
from common.i18n import (
    format_day,
    format_moment,
    format_money,
    format_short_day,
    format_span,
    translator,
)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"

# The pages of the menu: (address, msgid, roles that see it). A cadre's menu is their own week
# and their records; leaders see their place; the office has its tools.
LEADERS = ("team_leader", "township_leader", "leading_group", "office", "supervisor")
NAV = (
    ("/console/", "console.nav.overview", LEADERS),
    ("/console/people/me", "console.nav.my_week", ("cadre",)),
    ("/console/map", "console.nav.map", LEADERS),
    ("/console/records", "console.nav.records", (*LEADERS, "cadre")),
    ("/console/people", "console.nav.people", LEADERS),
    ("/console/office", "console.nav.office", ("office",)),
)

ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                  trim_blocks=True, lstrip_blocks=True)


def words(locale: str, *, today: dt.date | None = None,
          tz: dt.tzinfo | None = None) -> dict[str, Any]:
    """What every template may call: `tr` (the catalogs' text, already HTML) and the
    formatters of dates, ranges and money in this language."""
    tr = translator(locale, today=today, tz=tz)
    return {
        "locale": locale,
        "tr": lambda msgid, **values: Markup(tr(msgid, **values)),
        "day": lambda value: format_day(locale, value, today=today),
        "short_day": lambda value: format_short_day(locale, value),
        "moment": lambda value: format_moment(locale, value, tz=tz, today=today),
        "span": lambda start, end: format_span(locale, start, end, today=today),
        "money": lambda value: format_money(locale, Decimal(str(value))),
    }


def page(who: Viewer, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A page of the console for the signed-in person."""
    nav = [(path, msgid) for path, msgid, roles in NAV if who.role in roles]
    body = ENV.get_template(template).render(
        **words(who.locale, today=who.today, tz=who.tz), who=who, nav=nav,
        csrf_field=CSRF_FIELD, **values)
    return HTMLResponse(body, status_code=status)


def bare(locale: str, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A page for someone not signed in (sign-in, refusals), in `locale`."""
    body = ENV.get_template(template).render(**words(locale), who=None, nav=[], **values)
    return HTMLResponse(body, status_code=status)
