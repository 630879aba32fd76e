"""The read-only HTTP API under /api/v1 (bearer token): the same queries as the chat.

`stats` is `storage.stats.scope_stats` (the figures of /stats); `visits`, `disputes` and
`summaries` are pages of the rows /export writes; `export.xlsx` is the /export workbook and
`report.docx` the /report draft (the county's, for a period); `targets` the help targets of
/targets (the whole campaign as it stands: no period); `systems` and `coverage` the village
systems and the publicity coverage of /systems (as they stand, too). The token is the county
office's: every endpoint but the county's report may name any township or village with `place`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from common.context import AppContext
from handlers.export import Job, export_file
from handlers.parsing import ParseError, PeriodOutOfRange, ReversedPeriod, parse_period
from handlers.report import Draft, write_draft
from reports.figures import scope_figures
from reports.systems import VillageTasks, scope_tasks
from reports.targets import scope_targets
from storage import export
from storage.scope import AmbiguousPlace, Scope, UnknownPlace, named_place

# Text a person types: no control characters (PostgreSQL refuses NUL in text), and short.
PLAIN = r"^[^\x00-\x1f\x7f]*$"
Period = Annotated[str | None, Query(
    max_length=40, pattern=PLAIN,
    description="a period as people type it: today, yesterday, this week, last week, this "
    "month, last month, campaign, a month (november, nov, 11月, 2026-11), a day (2026-11-30, "
    "11-30, 11月30日) or a range (11-30..12-06, 11-30至12-06, 11月30日—12月6日); in Chinese "
    "too (今天, 昨天, 本周, 上周, 本月, 上月). A day without a year is the nearest such day; "
    "days from a year before the campaign to a year ahead (default: the campaign so far)")]
Place = Annotated[str | None, Query(
    max_length=60, pattern=PLAIN, description="a township or village name, or 镇/村 "
    "(township/village) for a village name several townships use (default: the county)")]
MAX_PER_PAGE = 1000
# The last page whose offset fits a signed 32-bit integer, the narrowest a database may bind.
MAX_PAGE = (2**31 - 1) // MAX_PER_PAGE + 1
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
LISTED = {"visits": "visits", "disputes": "disputes", "summaries": "summaries"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
Lang = Annotated[str, Query(pattern="^(zh|en)$", description="the document's language")]


class Problem(BaseModel):
    """A refusal: what was wrong, in one sentence."""

    detail: str


class Ambiguous(Problem):
    """A village name several townships use: name one as 镇/村 (township/village)."""

    candidates: list[str]


class Listing(BaseModel):
    """A page of rows with the columns of /export."""

    items: list[dict[str, Any]]
    page: int
    per_page: int
    next_page: int | None
    period: list[str]
    place: str | None


SCOPED: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No township or village by that name"},
    409: {"model": Ambiguous, "description": "A village name several townships use"},
}


class Refused(Exception):
    """A refusal whose body carries more than `detail` (answered by `answers_refusals`)."""

    def __init__(self, status: int, body: BaseModel) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def answers_refusals(route: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """The route, answering a Refused with its status and body (FastAPI keeps the signature)."""

    @functools.wraps(route)
    async def answering(*args: Any, **kwargs: Any) -> Any:
        try:
            return await route(*args, **kwargs)
        except Refused as refusal:
            return JSONResponse(refusal.body.model_dump(), status_code=refusal.status)

    return answering


def bad_period(period: str, message: str) -> RequestValidationError:
    """A refused period in FastAPI's own 422 shape, the one the schema documents."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", "period"),
                                    "msg": message, "input": period}])


def routes(router: APIRouter, ctx: AppContext) -> None:
    """Add the API's routes."""
    scoped = _scoper(ctx)

    @router.get("/stats", summary="The figures of /stats for a period and place",
                responses=SCOPED)
    @answers_refusals
    async def get_stats(period: Period = None, place: Place = None) -> dict[str, Any]:
        scope, start, end = await scoped(period, place)
        async with ctx.db.read() as session:
            figures = await scope_figures(session, ctx.settings, scope=scope, start=start,
                                          end=end, now=ctx.clock.now())
        return figures.as_dict()

    @router.get("/targets", summary="The help targets of /targets for a place, as they stand",
                responses=SCOPED)
    @answers_refusals
    async def get_targets(place: Place = None) -> dict[str, Any]:
        scope, _start, _end = await scoped(None, place)
        today = ctx.clock.now().astimezone(ctx.settings.tz).date()
        async with ctx.db.read() as session:
            found = await scope_targets(session, ctx.settings, scope=scope, today=today)
        return found.as_dict()

    async def tasks(place: str | None) -> VillageTasks:
        scope, _start, _end = await scoped(None, place)
        async with ctx.db.read() as session:
            return await scope_tasks(session, scope=scope)

    @router.get("/systems", summary="The village systems of /systems for a place, as they "
                "stand", responses=SCOPED)
    @answers_refusals
    async def get_systems(place: Place = None) -> dict[str, Any]:
        return (await tasks(place)).systems_dict()

    @router.get("/coverage", summary="The villages' slogans and boards (/systems) for a place, "
                "as they stand", responses=SCOPED)
    @answers_refusals
    async def get_coverage(place: Place = None) -> dict[str, Any]:
        return (await tasks(place)).coverage_dict()

    for name in LISTED:
        router.add_api_route(f"/{name}", answers_refusals(_lister(ctx, scoped, name)),
                             methods=["GET"], response_model=Listing, responses=SCOPED,
                             summary=f"A page of {name}, with the columns of /export")

    @router.get("/export.xlsx", summary="The /export workbook for a period and place",
                response_class=FileResponse, responses={
                    200: {"content": {XLSX: {}}, "description": "The workbook"},
                    **SCOPED, 413: {"model": Problem, "description": "Too large: narrow it"}})
    @answers_refusals
    async def get_export(period: Period = None, place: Place = None, lang: Lang = "zh") -> Any:
        scope, start, end = await scoped(period, place)
        job = Job(chat_id=0, person_id=0, role="office", locale=lang, scope=scope,
                  start=start, end=end)
        path = await export_file(ctx, job)
        if path is None:
            raise HTTPException(status_code=413, detail="the workbook is too large: narrow it")
        return FileResponse(path, filename=job.filename, media_type=XLSX,
                            background=BackgroundTask(path.unlink, missing_ok=True))

    @router.get("/report.docx", summary="The /report draft of the county's report for a period",
                response_class=FileResponse, responses={
                    200: {"content": {DOCX: {}}, "description": "The Word draft"}})
    async def get_report(period: Period = None, lang: Lang = "zh") -> Any:
        _county, start, end = await scoped(period, None)
        path = await write_draft(ctx, locale=lang, start=start, end=end)
        name = Draft(chat_id=0, person_id=0, locale=lang, start=start, end=end).filename
        return FileResponse(path, filename=name, media_type=DOCX,
                            background=BackgroundTask(path.unlink, missing_ok=True))


Scoper = Callable[[str | None, str | None], Awaitable[tuple[Scope, dt.date, dt.date]]]


def _scoper(ctx: AppContext) -> Scoper:
    """The scope and days a request's `period` and `place` name, or the refusal."""

    async def scoped(period: str | None, place: str | None) -> tuple[Scope, dt.date, dt.date]:
        settings = ctx.settings
        today = ctx.clock.now().astimezone(settings.tz).date()
        try:
            span = parse_period(period, today=today, campaign_start=settings.campaign_start) \
                if period else (settings.campaign_start, today)
        except PeriodOutOfRange as exc:
            raise bad_period(exc.text, f"days from {exc.earliest} to {exc.latest} only") from exc
        except ReversedPeriod as exc:
            raise bad_period(period or "", "a period ends on or after its start") from exc
        except ParseError as exc:
            raise bad_period(period or "", f"“{exc}” is not understood: use today, yesterday, "
                             "this week, last week, this month, last month, a month, a day "
                             "or a range such as 11-30..12-06") from exc
        if span is None:
            raise bad_period(period or "", "not a period")
        if not place:
            return Scope("county"), span[0], span[1]
        async with ctx.db.read() as session:
            try:
                return await named_place(session, name=place), span[0], span[1]
            except UnknownPlace as exc:
                raise HTTPException(status_code=404, detail=f"no such place: {exc}") from exc
            except AmbiguousPlace as exc:
                raise Refused(409, Ambiguous(
                    detail=f"{exc.name} is in several townships: name one as township/village",
                    candidates=[label for label, _ in exc.candidates])) from exc

    return scoped


def _lister(ctx: AppContext, scoped: Scoper, kind: str) -> Any:
    async def page_of(period: Period = None, place: Place = None, page: Page = 1,
                      per_page: PerPage = 100) -> Any:
        scope, start, end = await scoped(period, place)
        where = export.Filter(export.window(start, end, ctx.settings.tz),
                              **scope.filters,  # type: ignore[arg-type]
                              offset=(page - 1) * per_page, limit=per_page + 1)
        columns = export.COLUMNS[kind]
        async with ctx.db.read() as session:
            rows = [dict(zip(columns, row, strict=True))
                    async for row in export.rows(session, kind=kind, where=where)]
        more = len(rows) > per_page
        return {"items": [_jsonable(r) for r in rows[:per_page]], "page": page,
                "per_page": per_page, "next_page": page + 1 if more else None,
                "period": [start.isoformat(), end.isoformat()], "place": scope.name or None}

    page_of.__name__ = f"list_{kind}"
    return page_of


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime | dt.date):
            out[key] = value.isoformat()
        elif value is None or isinstance(value, bool | int | float | str | dict | list):
            out[key] = value
        else:
            out[key] = str(value)  # Decimal money keeps its two decimals as text
    return out
