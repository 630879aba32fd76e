"""The console's Records: visits, disputes, problems, weekly summaries and help, filtered by
period, place, kind or category, status, cadre and words, fifty to a page; and one record's
page with its whole history (steps, hand-overs, review, audit trail) and its photo.

The rows are the export's (storage.records over storage.export), in the export's words. The
scope is the viewer's: a team leader's village, a township leader's township, the county for
the county's roles; a cadre's own records only. A place or record outside it is refused (403).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from telegram.error import TelegramError

from bot.console.auth import Refused, Viewer, Who
from bot.console.render import page
from common.context import AppContext
from common.i18n import format_day, format_moment
from handlers.export import CODES, HIDDEN
from handlers.parsing import ParseError, parse_period, period_refusal
from reports.audit_words import AuditWords
from reports.xlsx import Cells
from storage import aid as aid_records
from storage import disputes, problems, records, reviews, visits
from storage.export import BY_DAY, Filter, names_by_id, window
from storage.scope import Scope

PER_PAGE = 50
KINDS = tuple(records.KINDS)
# The periods offered, as the chat names them (handlers.parsing.PERIOD_WORDS), and named as
# the overview's period selector names them; others are typed, as in the chat's /stats.
PERIODS = {"week": "week", "last week": "last_week", "month": "month", "campaign": "campaign"}
DEFAULT_PERIOD = "week"
# The codes each kind is filtered by (the export's words name them: CODES).
CODE_CHOICES: dict[str, tuple[str, ...]] = {
    "visits": visits.KINDS, "disputes": disputes.CATEGORIES,
    "problems": problems.CATEGORIES, "aid": aid_records.KINDS,
}
CODE_COLUMN = {"visits": "kind", "disputes": "category", "problems": "category", "aid": "kind"}
STATUS_CHOICES: dict[str, tuple[str, ...]] = {
    "disputes": (*disputes.OPEN, "resolved"), "problems": problems.STATUSES,
    "summaries": reviews.STATUSES,
}
# What a list row shows, after the day and before the place: the kind's columns.
LISTED: dict[str, tuple[str, ...]] = {
    "visits": ("cadre", "kind", "household", "heard"),
    "disputes": ("cadre", "category", "status", "description"),
    "problems": ("cadre", "category", "status", "description"),
    "summaries": ("cadre", "status", "achievements"),
    "aid": ("cadre", "kind", "household", "items"),
}
SNIPPET = 60  # characters of a record's text in the list
STEP_KINDS = {"disputes": "dispute_steps", "problems": "problem_steps"}
# A problem raised from a visit, as the visit's page lists it.
RAISED = ("created_at", "category", "status", "description")
TextQuery = Annotated[str, Query(max_length=100)]


class Words:
    """A record's values as the export writes them, for a page: codes by name, dates and times
    through the chat's formatters, flags and figures as text."""

    def __init__(self, who: Viewer) -> None:
        self.who = who
        self.cells = Cells(who.locale, who.tz)

    def value(self, sheet: str, key: str, value: Any) -> Any:
        prefix = CODES.get(sheet, {}).get(key)
        tr = self.who.tr
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return tr("export.yes") if value else tr("export.no")
        if isinstance(value, dt.datetime):
            return format_moment(self.who.locale, value, tz=self.who.tz, today=self.who.today)
        if isinstance(value, dt.date):
            return format_day(self.who.locale, value, today=self.who.today)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return self.cells.flags(value, prefix)
        if isinstance(value, list):
            return self.cells.listed(value, prefix)
        if isinstance(value, str) and prefix:
            return self.cells.label(prefix, value)
        return value

    def header(self, sheet: str, key: str) -> str:
        return self.who.tr(f"export.{sheet}.{key}")

    def fields(self, sheet: str, row: dict[str, Any], keys: tuple[str, ...]
               ) -> list[tuple[str, Any]]:
        """(header, value) of each of `keys` the row has, the export's hidden ones left out."""
        hidden = HIDDEN.get(sheet, ())
        return [(self.header(sheet, key), self.value(sheet, key, row[key]))
                for key in keys if key not in hidden and key in row]


def _scope_of(row: dict[str, Any]) -> Scope:
    """The place a record belongs to, as a scope to check the viewer's against."""
    if row["village_id"] is not None:
        return Scope("village", township_id=row["township_id"], village_id=row["village_id"])
    return Scope("township", township_id=row["township_id"])


def may_open(who: Viewer, row: dict[str, Any]) -> bool:
    """Whether the viewer may open the record: a cadre her own, a leader those of the scope."""
    if who.scope is None:
        return bool(row["person_id"] == who.person_id)
    return who.may_see(_scope_of(row))


def check_record(who: Viewer, row: dict[str, Any] | None) -> dict[str, Any]:
    """The record, when the viewer may open it; else the 403 (or 404 for none)."""
    if row is None:
        raise Refused("console.records.missing", locale=who.locale, status=404)
    if not may_open(who, row):
        raise Refused("console.refused.scope", locale=who.locale)
    return row


def router(ctx: AppContext) -> APIRouter:
    routes = APIRouter()

    async def chosen_place(who: Viewer, place: str) -> Scope | None:
        """The place the viewer picked (t12: a township, v34: a village), checked against
        their scope; None for their whole scope."""
        if not place:
            return None
        kind, number = place[:1], place[1:]
        if who.scope is None or kind not in ("t", "v") or not number.isdigit():
            raise Refused("console.refused.scope", locale=who.locale)
        async with ctx.db.read() as session:
            found = await records.places(session)
        for township_id, township, village_id, village in found:
            if kind == "v" and village_id == int(number):
                scope = Scope("village", village, township_id=township_id,
                              village_id=village_id)
                break
            if kind == "t" and township_id == int(number):
                scope = Scope("township", township, township_id=township_id)
                break
        else:
            raise Refused("console.refused.scope", locale=who.locale)
        if not who.may_see(scope):
            raise Refused("console.refused.scope", locale=who.locale)
        return scope

    def span(who: Viewer, period: str) -> tuple[tuple[dt.date, dt.date], str | None]:
        """The days a period names, as the chat reads it; this week's, with the chat's
        sentence saying why, for text that names none."""
        today, start = who.today, ctx.settings.campaign_start
        try:
            days = parse_period(period, today=today, campaign_start=start)
            refusal = None if days is not None else who.tr(
                "console.records.bad_period", text=period)
        except ParseError as exc:
            days, refusal = None, period_refusal(exc, who.tr, today=today)
        week = parse_period(DEFAULT_PERIOD, today=today, campaign_start=start)
        return days or week or (today, today), refusal

    @routes.get("/records", response_class=HTMLResponse)
    async def list_page(who: Who, kind: str = "visits",
                        period: TextQuery = DEFAULT_PERIOD, typed: TextQuery = "",
                        place: TextQuery = "",
                        code: TextQuery = "", status: TextQuery = "", cadre: TextQuery = "",
                        q: TextQuery = "", page_number: Annotated[
                            int, Query(alias="page", ge=1, le=100_000)] = 1) -> HTMLResponse:
        kind = kind if kind in KINDS else "visits"
        chosen = await chosen_place(who, place.strip())
        period = typed.strip() or period.strip() or DEFAULT_PERIOD
        (start, end), bad_period = span(who, period)
        scope = chosen or who.scope
        filters: dict[str, Any] = scope.filters if scope is not None else {}
        where = Filter(window(start, end, ctx.settings.tz), **filters,
                       offset=(page_number - 1) * PER_PAGE, limit=PER_PAGE + 1)
        code = code if code in CODE_CHOICES.get(kind, ()) else ""
        status = status if status in STATUS_CHOICES.get(kind, ()) else ""
        sieve = records.Sieve(person_id=who.person_id if who.scope is None else None,
                              cadre=cadre.strip() if who.scope is not None else "",
                              code=code, status=status, text=q.strip())
        async with ctx.db.read() as session:
            rows, searched_all = await records.page(session, kind, where=where, sieve=sieve)
            places = await _places(session, who)
        more = len(rows) > PER_PAGE
        words = Words(who)
        day_key = BY_DAY[kind]
        shown = [{"href": f"/console/records/{kind}/{row['id']}",
                  "day": words.value(kind, day_key, row[day_key]),
                  "place": row["village"] or row["township"] or "",
                  "cells": [_snippet(words.value(kind, key, row[key]))
                            for key in LISTED[kind]]}
                 for row in rows[:PER_PAGE]]
        values = {"kind": kind, "period": period, "place": place, "code": code,
                  "status": status, "cadre": cadre, "q": q}

        def link(**changed: Any) -> str:
            query = {k: v for k, v in {**values, **changed}.items() if v not in ("", None, 1)}
            return "/console/records?" + urlencode(query)

        return page(
            who, "records.html", kinds=[(k, f"export.sheet.{k}", link(kind=k, code="",
                                                                      status="", page=1))
                                        for k in KINDS],
            values=values, periods=PERIODS, bad_period=bad_period, start=start, end=end,
            places=places, codes=[(c, words.value(kind, CODE_COLUMN[kind], c))
                                  for c in CODE_CHOICES.get(kind, ())],
            code_label=words.header(kind, CODE_COLUMN[kind]) if kind in CODE_COLUMN else "",
            statuses=[(s, words.value(kind, "status", s)) for s in STATUS_CHOICES.get(kind, ())],
            status_label=words.header(kind, "status") if kind in STATUS_CHOICES else "",
            cadre_label=words.header(kind, "cadre"),
            headers=[words.header(kind, day_key), words.header(kind, "village"),
                     *[words.header(kind, key) for key in LISTED[kind]]],
            rows=shown, page_number=page_number, partial=not searched_all,
            searched=records.SEARCHED,
            prev_link=link(page=page_number - 1) if page_number > 1 else None,
            next_link=link(page=page_number + 1) if more else None)

    @routes.get("/records/{kind}/{record_id}", response_class=HTMLResponse)
    async def record_page(who: Who, kind: str, record_id: int) -> HTMLResponse:
        if kind not in KINDS:
            raise Refused("console.records.missing", locale=who.locale, status=404)
        async with ctx.db.read() as session:
            row = check_record(who, await records.record(session, kind, record_id))
            steps = await records.steps(session, kind, record_id)
            trail = await records.audit(session, kind, record_id)
            raised = [problem for problem in await records.raised_from(
                session, visit_id=record_id) if may_open(who, problem)] if kind == "visits" else []
            names = await names_by_id(session) if trail else {}
        words = Words(who)
        audit_words = AuditWords(who.locale, names)
        step_sheet = STEP_KINDS.get(kind, "")
        step_keys = ("at", "day", "by", "action", "status", "held", "measures", "responsible",
                     "due_on", "addressee", "note")
        return page(
            who, "record.html", kind=kind, sheet=f"export.sheet.{kind}",
            number=record_id if "id" not in HIDDEN.get(kind, ()) else None,
            fields=words.fields(kind, row, records.KINDS[kind].columns[1:]),  # not the id
            steps=[words.fields(step_sheet, step, step_keys) for step in steps],
            step_headers=[words.header(step_sheet, key) for key in step_keys
                          if steps and key in steps[0]],
            audit=[_audit_row(who, audit_words, entry) for entry in trail],
            visit=f"/console/records/visits/{row['visit_id']}"
            if kind == "problems" and row.get("visit_id") else None,
            photo=f"/console/records/visits/{record_id}/photo"
            if kind == "visits" and row.get("photo") else None,
            raised_headers=[words.header("problems", key) for key in RAISED],
            raised=[(problem["id"], words.fields("problems", problem, RAISED))
                    for problem in raised])

    @routes.get("/records/visits/{record_id}/photo")
    async def photo(who: Who, request: Request, record_id: int) -> Response:
        async with ctx.db.read() as session:
            check_record(who, await records.record(session, "visits", record_id))
            file_id = await records.visit_photo(session, record_id)
        if file_id is None:
            raise Refused("console.records.no_photo", locale=who.locale, status=404)
        application = getattr(request.app.state, "application", None)
        if application is None:  # the console served alone (the demo): no bot to fetch it
            raise Refused("console.records.no_photo", locale=who.locale, status=404)
        try:
            found = await application.bot.get_file(file_id)
            content = bytes(await found.download_as_bytearray())
        except TelegramError as exc:
            raise Refused("console.records.no_photo", locale=who.locale, status=404) from exc
        kind_of_file = mimetypes.guess_type(found.file_path or "")[0]
        return Response(content, media_type=kind_of_file or "image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})

    return routes


def _snippet(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SNIPPET:
        return value[:SNIPPET] + "…"
    return value


def _audit_row(who: Viewer, words: AuditWords, entry: tuple[Any, ...]) -> dict[str, Any]:
    _id, at, actor, _entity, _entity_id, action, field, old, new = words.row(entry)
    return {"at": format_moment(who.locale, at, tz=who.tz, today=who.today), "actor": actor or "",
            "action": action, "field": field or "", "old": old or "", "new": new or ""}


async def _places(session: Any, who: Viewer) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The places the viewer may pick: (township code, name, [(village code, name)])."""
    scope = who.scope
    if scope is None or scope.kind == "village":
        return []
    township_id = scope.township_id if scope.kind == "township" else None
    grouped: dict[int, tuple[str, str, list[tuple[str, str]]]] = {}
    for tid, township, vid, village in await records.places(session, township_id=township_id):
        grouped.setdefault(tid, (f"t{tid}", township, []))[2].append((f"v{vid}", village))
    return list(grouped.values())
