"""The office's tools in the console (/console/office): the /export workbook for a period and
place, a broadcast (the audience counted before it is sent, then its delivery report as the
outbox sends it), and the roster (a page of it, and an import of a CSV or XLSX file).

Only the office may open them. Each piece is the chat's own: the workbook is
`handlers.export.build_export`'s, a broadcast goes through `handlers.broadcast.send_notice`
(the outbox and the scheduler's delivery report), an import through
`storage.roster.import_roster_data` with the chat's names and its report. Every save reads the
person again in its own transaction and refuses one who is no longer the office.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from bot.api import XLSX
from bot.console.auth import Poster, Refused, Viewer, Who
from bot.console.render import page
from common.context import AppContext
from common.paid import paid_lane
from common.rosternames import import_report, roster_names
from handlers.broadcast import NOTICE_MAX_CHARS, check_notice, send_notice
from handlers.export import Job, export_file
from handlers.forms import Invalid, check_length
from handlers.parsing import period_bounds
from handlers.roster import (
    MAX_UPLOAD_BYTES,
    ROSTER_SUFFIXES,
    deactivate_by_office,
    mask_phone,
    megabytes,
    off_refusal,
    person_label,
)
from scheduler.broadcasts import audience_text, audience_words
from storage import broadcasts, outbox, people, roster
from storage.models import Person
from storage.scope import Scope, label

OFFICE = "office"
ROSTER_PAGE = 50
RECENT = 10
# A place in a form: "" the county, t<id> a township, v<id> a village.
PLACE = r"^(|[tv][0-9]{1,9})$"
Place = Annotated[str, Query(max_length=11, pattern=PLACE)]
PersonId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _office(who: Viewer) -> None:
    """Refuse anyone but the office (a 403 page in their language)."""
    if who.role != OFFICE:
        raise Refused("console.office.refused", locale=who.locale)


async def _still_office(session: AsyncSession, who: Viewer) -> Person:
    """The signed-in person read again (and locked) in the saving transaction: refused unless
    they are still the office."""
    person = await people.by_id(session, person_id=who.person_id, lock=True)
    if person is None or not person.active or person.role != OFFICE:
        raise Refused("console.office.refused", locale=who.locale)
    return person


async def _places(session: AsyncSession) -> list[tuple[str, str]]:
    """The places a form offers: each township, then its villages as 镇/村."""
    villages = await people.all_villages(session)
    found: list[tuple[str, str]] = []
    for township in await people.townships(session):
        found.append((f"t{township.id}", township.name))
        found += [(f"v{v.id}", label(v)) for v in villages if v.township_id == township.id]
    return found


async def _scope(session: AsyncSession, who: Viewer, place: str) -> Scope:
    """The scope a form's place names, inside the viewer's (else a 403)."""
    if not place:
        scope = Scope("county")
    elif place.startswith("v"):
        village = await people.village_by_id(session, village_id=int(place[1:]))
        if village is None:
            raise Refused("console.refused.scope", locale=who.locale, status=404)
        scope = Scope("village", village.name, village.township_id, village.id)
    else:
        township = next((t for t in await people.townships(session)
                         if t.id == int(place[1:])), None)
        if township is None:
            raise Refused("console.refused.scope", locale=who.locale, status=404)
        scope = Scope("township", township.name, township.id)
    if not who.may_see(scope):
        raise Refused("console.refused.scope", locale=who.locale)
    return scope


def router(ctx: AppContext) -> APIRouter:
    """The office's routes under /console/office."""
    routes = APIRouter(prefix="/office", include_in_schema=False)

    async def home(who: Viewer, *, status: int = 200, **values: Any) -> HTMLResponse:
        async with ctx.db.read() as session:
            places = await _places(session)
            recent = await broadcasts.recent(session, limit=RECENT)
            counts = await broadcasts.deliveries(session, broadcast_ids=[b.id for b in recent])
        form = {"text": "", "audience": "all", "township": "", "village": "", "role": "",
                "unit": "", **values.pop("form", {})}
        return page(who, "office.html", status=status, places=places,
                    townships=[p for p in places if p[0].startswith("t")],
                    villages=[p for p in places if p[0].startswith("v")],
                    roles=people.ROLES, kinds=broadcasts.KINDS, recent=recent, counts=counts,
                    audience=lambda b: audience_text(who.tr, b), form=form,
                    start=ctx.settings.campaign_start, end=who.today, **values)

    @routes.get("")
    async def office_home(who: Who) -> HTMLResponse:
        _office(who)
        return await home(who)

    @routes.get("/export.xlsx")
    async def download(who: Who, start: dt.date | None = None, end: dt.date | None = None,
                       place: Place = "") -> Response:
        """The workbook of start..end (as /export: the campaign so far when not given)."""
        _office(who)
        start, end = start or ctx.settings.campaign_start, end or who.today
        earliest, latest = period_bounds(today=who.today,
                                         campaign_start=ctx.settings.campaign_start)
        if start > end or start < earliest or end > latest:
            return await home(who, status=400, export_error=who.tr(
                "console.office.export.bad_period", earliest=earliest, latest=latest))
        async with ctx.db.read() as session:
            scope = await _scope(session, who, place)
        job = Job(chat_id=0, person_id=who.person_id, role=who.role, locale=who.locale,
                  scope=scope, start=start, end=end)
        path = await export_file(ctx, job)
        if path is None:
            return await home(who, status=413, export_error=who.tr("export.too_large"))
        return FileResponse(path, filename=job.filename, media_type=XLSX,
                            background=BackgroundTask(path.unlink, missing_ok=True))

    _broadcast_routes(routes, ctx, home)
    _roster_routes(routes, ctx)
    return routes


Text = Annotated[str, Form(max_length=NOTICE_MAX_CHARS * 2)]
Short = Annotated[str, Form(max_length=100)]


async def _audience(session: AsyncSession, who: Viewer, kind: str, township: str, village: str,
                    role: str, unit: str) -> tuple[str, str | None]:
    """The audience a compose form names, as storage takes it (kind, name), or Invalid."""
    if kind == "all":
        return kind, None
    if kind in ("township", "village"):
        picked = township if kind == "township" else village
        if not picked:
            raise Invalid(f"console.office.broadcast.pick_{kind}")
        scope = await _scope(session, who, picked)
        if scope.kind != kind:
            raise Invalid(f"console.office.broadcast.pick_{kind}")
        if kind == "township":
            return kind, scope.name
        found = await people.village_by_id(session, village_id=int(picked[1:]))
        assert found is not None  # _scope found it
        return kind, label(found)
    if kind == "role":
        if role not in people.ROLES:
            raise Invalid("console.office.broadcast.pick_role")
        return kind, role
    if kind == "unit":
        units = await people.units_matching(session, query=unit, limit=6)
        exact = [u for u in units if u.name == unit.strip()]
        if exact or len(units) == 1:
            return kind, (exact or units)[0].name
        if not units:
            raise Invalid("console.office.broadcast.no_unit", query=unit.strip())
        raise Invalid("console.office.broadcast.which_unit",
                      units=who.tr("common.list_sep").join(u.name for u in units))
    raise Invalid("console.office.broadcast.pick_audience")


def _notice(text: str) -> str:
    """The notice as the chat takes it: not empty, within its length, one Telegram message."""
    value = text.strip()
    if not value:
        raise Invalid("form.error.empty")
    check_length(value, NOTICE_MAX_CHARS)
    check_notice(value)
    return value


def _broadcast_routes(routes: APIRouter, ctx: AppContext, home: Any) -> None:
    @routes.post("/broadcast/preview")
    async def preview(who: Poster, text: Text, audience: Short = "all", township: Short = "",
                      village: Short = "", role: Short = "", unit: Short = "") -> HTMLResponse:
        _office(who)
        form = {"text": text, "audience": audience, "township": township, "village": village,
                "role": role, "unit": unit}
        async with ctx.db.read() as session:
            try:
                notice = _notice(text)
                kind, value = await _audience(session, who, audience, township, village,
                                              role, unit)
                found = await broadcasts.audience(session, kind=kind, value=value)
            except Invalid as exc:
                return await home(who, status=400, form=form,
                                  broadcast_error=who.tr(exc.msgid, **exc.values))
            newest = await broadcasts.recent(session, limit=1)
        return page(who, "office_confirm.html", text=notice, kind=kind, value=value or "",
                    count=len(found), audience=Markup(audience_words(who.tr, kind, value)),
                    after=newest[0].id if newest else 0,
                    paid=paid_lane(ctx.settings, len(found)))

    @routes.post("/broadcast")
    async def send(who: Poster, text: Text, kind: Short, value: Short = "",
                   after: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0) -> Response:
        _office(who)
        async with ctx.db.write() as session:
            author = await _still_office(session, who)  # its lock orders a double send
            try:
                notice = _notice(text)
                if kind not in broadcasts.KINDS:
                    raise Invalid("console.office.broadcast.pick_audience")
                sent = await broadcasts.sent_after(session, after_id=after, author_id=author.id,
                                                   text=notice, kind=kind, value=value or None)
                if sent is None and await broadcasts.audience(session, kind=kind,
                                                              value=value or None):
                    sent = await send_notice(session, ctx.settings, author_id=author.id,
                                             text=notice, kind=kind, value=value or None,
                                             now=ctx.clock.now())
            except (Invalid, broadcasts.UnknownAudience, broadcasts.AmbiguousVillage):
                sent = None
        if sent is None:
            return await home(who, status=400, broadcast_error=who.tr("broadcast.nobody"))
        return RedirectResponse(f"/console/office/broadcasts/{sent.id}", status_code=303)

    @routes.get("/broadcasts/{broadcast_id}")
    async def report(who: Who,
                     broadcast_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> HTMLResponse:
        _office(who)
        async with ctx.db.read() as session:
            found = await broadcasts.by_id(session, broadcast_id=broadcast_id)
            if found is None:
                raise Refused("console.office.broadcast.missing", locale=who.locale, status=404)
            counts = await broadcasts.delivery_counts(session, broadcast_id=found.id)
            blocked = await broadcasts.undelivered(session, broadcast_id=found.id,
                                                   status="blocked")
            failed = await broadcasts.undelivered(session, broadcast_id=found.id,
                                                  status="failed")
            author = await people.by_id(session, person_id=found.author_id)
        return page(who, "office_broadcast.html", broadcast=found, counts=counts,
                    blocked=blocked, failed=failed, author=author,
                    audience=audience_text(who.tr, found))


def _roster_routes(routes: APIRouter, ctx: AppContext) -> None:
    async def listing(who: Viewer, *, name: str = "", township: int | None = None,
                      role: str = "", state: str = "", number: int = 1, status: int = 200,
                      report: str | None = None,
                      report_title: str = "console.office.roster.report") -> HTMLResponse:
        async with ctx.db.read() as session:
            found = await people.roster_page(
                session, name=name, township_id=township, role=role or None,
                state=state or None, offset=(number - 1) * ROSTER_PAGE, limit=ROSTER_PAGE + 1)
            townships = [(t.id, t.name) for t in await people.townships(session)]
        filters = {"name": name, "township": township, "role": role, "state": state}
        return page(who, "office_roster.html", status=status, people=found[:ROSTER_PAGE],
                    more=len(found) > ROSTER_PAGE, number=number, filters=filters,
                    townships=townships, roles=people.ROLES, states=people.ROSTER_STATES,
                    mask=mask_phone, report=None if report is None else Markup(report),
                    report_title=report_title,
                    limit_mb=megabytes(MAX_UPLOAD_BYTES))

    @routes.get("/roster")
    async def roster_list(
            who: Who, name: Annotated[str, Query(max_length=40)] = "",
            township: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
            role: Annotated[str, Query(pattern="^(|" + "|".join(people.ROLES) + ")$")] = "",
            state: Annotated[str, Query(pattern="^(|" + "|".join(people.ROSTER_STATES) + ")$")]
            = "", page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    ) -> HTMLResponse:
        _office(who)
        return await listing(who, name=name, township=township, role=role, state=state,
                             number=page_number)

    @routes.post("/roster")
    async def roster_import(who: Poster, file: UploadFile) -> HTMLResponse:
        _office(who)
        filename = file.filename or ""
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            said = who.tr("roster_chat.too_large", size=megabytes(file.size or len(data)),
                          limit=megabytes(MAX_UPLOAD_BYTES))
        elif not filename.lower().endswith(ROSTER_SUFFIXES):
            said = who.tr("console.office.roster.not_a_roster")
        else:
            async with ctx.db.write() as session:
                author = await _still_office(session, who)
                result = await roster.import_roster_data(
                    session, data, filename, now=ctx.clock.now(), actor_id=author.id,
                    names=roster_names())
            said = import_report(who.locale, result)
            return await listing(who, status=400 if result.errors else 200, report=said)
        return await listing(who, status=400, report=said)

    @routes.get("/roster/{person_id}/off")
    async def off_confirm(who: Who, person_id: PersonId) -> HTMLResponse:
        """The confirm screen before a person's access ends: who, and what it does."""
        _office(who)
        async with ctx.db.read() as session:
            person = await people.by_id(session, person_id=person_id)
            refusal = off_refusal(person, office_id=who.person_id)
            if refusal is not None:
                return await listing(who, status=400, report=escape(who.tr(refusal)),
                                     report_title="console.office.roster.off_result")
            assert person is not None  # off_refusal refuses a missing person
            described = person_label(who.tr, person)
        return page(who, "office_off.html", person_id=person_id, described=described,
                    warning=who.tr("roster_chat.off_warning", name=person.name))

    @routes.post("/roster/{person_id}/off")
    async def off(who: Poster, person_id: PersonId) -> HTMLResponse:
        """Deactivate, as the chat's /roster off does: re-checked and locked in this
        transaction; the person's chat is told through the outbox."""
        _office(who)
        now = ctx.clock.now()
        async with ctx.db.write() as session:
            author = await _still_office(session, who)
            msgid, person, notices = await deactivate_by_office(
                session, person_id=person_id, office=author, now=now,
                default_locale=ctx.settings.default_locale)
            if notices:
                await outbox.enqueue(session, messages=notices, now=now)
            said = who.tr(msgid, name=person.name if person is not None else "")
        done = msgid == "roster_chat.deactivated"
        return await listing(who, status=200 if done else 400, report=escape(said),
                             report_title="console.office.roster.off_result")
