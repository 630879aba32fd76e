"""The web side: Telegram's webhook, a health check, and the read-only HTTP API.

`grassroots serve` runs this under uvicorn. Several workers may share one PostgreSQL database:
each update is processed (or found already processed) before its request is answered, the
person's row lock keeps a cadre's updates in order, and the schedules' conditional claims keep
every scheduled message single.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from telegram import Bot, Update

from bot.app import PerChatUpdateProcessor, build_application, check_schema
from bot.console import install as install_console
from common.context import AppContext
from storage import outbox

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty expected secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class NotAnUpdate(ValueError):
    """A webhook body that is not a Telegram update; the message says why, without its data."""


def parse_update(body: bytes, bot: Bot) -> Update:
    """The update a webhook body holds; NotAnUpdate when it holds none."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise NotAnUpdate("not JSON") from exc
    if not isinstance(data, dict):
        raise NotAnUpdate(f"JSON {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise NotAnUpdate("no integer update_id")
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # any field python-telegram-bot cannot read: the input is foreign
        raise NotAnUpdate(f"a field python-telegram-bot cannot read ({type(exc).__name__})") \
            from exc


def create_app(ctx: AppContext, *, register_webhook: bool = True) -> FastAPI:
    """The FastAPI application around one python-telegram-bot Application (no Updater)."""
    application = build_application(ctx)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await check_schema(ctx)
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        if register_webhook and ctx.settings.webhook_url:
            await application.bot.set_webhook(
                url=ctx.settings.webhook_url.rstrip("/") + "/telegram",
                secret_token=ctx.settings.webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
            )
        try:
            yield
        finally:
            await application.stop()
            if application.post_stop is not None:  # as run_polling() does after stop()
                await application.post_stop(application)
            await application.shutdown()
            await ctx.db.dispose()

    app = FastAPI(title="Grassroots", version="1", lifespan=lifespan)
    app.state.ctx = ctx
    app.state.application = application

    @app.post("/telegram", include_in_schema=False)
    async def telegram_webhook(
        request: Request,
        secret: str | None = Header(default=None, alias=SECRET_HEADER),
    ) -> Response:
        if not same_secret(secret, ctx.settings.webhook_secret):
            return Response(status_code=403)
        body = await request.body()
        try:
            update = parse_update(body, application.bot)
        except NotAnUpdate as exc:
            # Not Telegram's doing (it sends updates): a client or a proxy that cut the body.
            log.warning("webhook body refused, %s (%d bytes): not a Telegram update", exc,
                        len(body))
            return JSONResponse({"detail": "the body is not a Telegram update"}, status_code=400)
        processor = application.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        # Answer only once the update is processed: Telegram redelivers what was not answered.
        await processor.process_update(update, application.process_update(update))
        return Response(status_code=200)

    @app.get("/healthz")
    async def healthz() -> Response:
        body: dict[str, Any] = {"database": False, "scheduler": False, "outbox_pending": None}
        try:
            async with ctx.db.read() as session:
                await session.execute(text("SELECT 1"))
                body["outbox_pending"] = await outbox.depth(session)
            body["database"] = True
        except Exception as exc:  # reported, not raised: this is the health check
            body["error"] = type(exc).__name__
        queue = application.job_queue
        body["scheduler"] = bool(queue is not None and queue.scheduler.running)
        healthy = body["database"] and body["scheduler"]
        return Response(json.dumps(body), status_code=200 if healthy else 503,
                        media_type="application/json")

    app.include_router(api_router(ctx), prefix="/api/v1")
    install_console(app, ctx)
    return app


# The scheme's name is read in any case (RFC 7235) and the API's schema names its security.
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(
    HTTPBearer(auto_error=False, description="The API token (API_TOKEN)"))]


def bearer(ctx: AppContext) -> Any:
    """A dependency that refuses requests without the API's bearer token."""

    async def check(credentials: BearerCredentials) -> None:
        if credentials is None or not same_secret(credentials.credentials.strip(),
                                                  ctx.settings.api_token):
            raise HTTPException(status_code=401, detail="bearer token required",
                                headers={"WWW-Authenticate": "Bearer"})

    return check


def api_router(ctx: AppContext) -> APIRouter:
    """The read-only API; its routes are added by bot.api."""
    from bot.api import Problem, routes

    router = APIRouter(dependencies=[Depends(bearer(ctx))], responses={
        401: {"model": Problem, "description": "No bearer token, or not the API's"}})
    routes(router, ctx)
    return router


def app_from_env() -> FastAPI:
    """The application uvicorn builds in each worker (`grassroots serve`), from the settings."""
    from common.clock import SystemClock
    from common.logs import settings_secrets, setup_logging
    from common.settings import Settings
    from storage.db import Database

    settings = Settings()
    # A worker is a new process: it reads the secrets itself and logs as the CLI does.
    setup_logging(*settings_secrets(settings))
    ctx = AppContext(settings=settings, db=Database(settings.database_url), clock=SystemClock())
    return create_app(ctx)
