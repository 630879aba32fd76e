"""The read-only HTTP API under /api/v1 (bearer token): the same queries as the chat.

`stats` is `storage.stats.scope_stats` (the figures of /stats); `visits`, `disputes` and
`summaries` are pages of the rows /export writes; `export.xlsx` is the /export workbook. The
token is the county office's: every endpoint may name any township or village with `place`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from bot.context import AppContext
from handlers.export import Job, build_export
from handlers.parsing import ParseError, parse_period
from storage import export, stats
from storage.scope import Scope, UnknownPlace, named_place

Period = Annotated[str | None, Query(description="today, week, month, campaign or "
                                     "YYYY-MM-DD..YYYY-MM-DD (default: the campaign so far)")]
Place = Annotated[str | None, Query(description="a township or village name (default: county)")]
Page = Annotated[int, Query(ge=1)]
PerPage = Annotated[int, Query(ge=1, le=1000)]
LISTED = {"visits": "visits", "disputes": "disputes", "summaries": "summaries"}


def routes(router: APIRouter, ctx: AppContext) -> None:
    """Add the API's routes."""

    async def scoped(period: str | None, place: str | None) -> tuple[Scope, dt.date, dt.date]:
        settings = ctx.settings
        today = ctx.clock.now().astimezone(settings.tz).date()
        try:
            span = parse_period(period, today=today, campaign_start=settings.campaign_start) \
                if period else (settings.campaign_start, today)
        except ParseError:
            span = None
        if span is None:
            raise HTTPException(status_code=422, detail=f"not a period: {period}")
        if not place:
            return Scope("county"), span[0], span[1]
        async with ctx.db.read() as session:
            try:
                return await named_place(session, name=place), span[0], span[1]
            except UnknownPlace as exc:
                raise HTTPException(status_code=404, detail=f"no such place: {exc}") from exc

    @router.get("/stats", summary="The figures of /stats for a period and place")
    async def get_stats(period: Period = None, place: Place = None) -> dict[str, Any]:
        scope, start, end = await scoped(period, place)
        settings = ctx.settings
        async with ctx.db.read() as session:
            figures = await stats.scope_stats(
                session, scope=scope, start=start, end=end, now=ctx.clock.now(),
                tz=settings.tz, min_days=settings.min_days_in_village,
                overdue_days=settings.dispute_overdue_days,
                default_overdue_days=settings.overdue_days("default"),
                deadline_weekday=settings.summary_deadline_weekday,
                deadline_time=settings.summary_deadline_time)
        return figures.as_dict()

    for name in LISTED:
        router.add_api_route(f"/{name}", _lister(ctx, scoped, name), methods=["GET"],
                             summary=f"A page of {name}, with the columns of /export")

    @router.get("/export.xlsx", summary="The /export workbook for a period and place",
                response_class=FileResponse)
    async def get_export(period: Period = None, place: Place = None,
                         lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Any:
        scope, start, end = await scoped(period, place)
        job = Job(chat_id=0, person_id=0, role="office", locale=lang, scope=scope,
                  start=start, end=end)
        request = await build_export(ctx, job)
        spec = request.payload.get("_upload")
        if not spec:
            raise HTTPException(status_code=413, detail="the workbook is too large: narrow it")
        path = Path(spec["path"])
        return FileResponse(path, filename=job.filename, background=BackgroundTask(
            path.unlink, missing_ok=True), media_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


def _lister(ctx: AppContext, scoped: Any, kind: str) -> Any:
    async def page_of(period: Period = None, place: Place = None, page: Page = 1,
                      per_page: PerPage = 100) -> dict[str, Any]:
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
