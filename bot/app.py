"""The python-telegram-bot Application: handlers, update processor, startup checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, TypeHandler

from bot.aiorequest import AiohttpRequest
from common.context import KEY, AppContext
from handlers import load as load_handlers
from handlers.console import set_menu_button
from handlers.router import handle_update
from handlers.start import sync_menus
from scheduler import load as load_scheduler
from storage.migrate import is_current

log = logging.getLogger(__name__)

Listener = Callable[[Update], None]

# Connections to the Bot API (bot/aiorequest.py), kept alive: Telegram's 30 messages a second
# need few; beyond these, requests wait their turn (up to the pool timeout, then TimedOut and
# the outbox retries). getUpdates has a connection of its own.
HTTP_CONNECTIONS = 16
HTTP_POOL_TIMEOUT = 30.0
# A chart takes about a second, an export of a whole campaign half a minute: a stop waits this
# long for those under way and cancels the rest (the office asks for its export again).
TASKS_AT_STOP_SECONDS = 10.0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats run concurrently; the updates of one chat run one after another."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.listeners: list[Listener] = []

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers while holding its chat's lock (FIFO keeps the order)."""
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]
            for listener in self.listeners:
                listener(update)  # type: ignore[arg-type]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


class OutdatedSchema(RuntimeError):
    """The database is behind the code: run `grassroots db upgrade`."""


async def check_schema(ctx: AppContext) -> None:
    """Refuse to run on a database whose schema is not the code's head."""
    ok, current, head = await is_current(ctx.db.engine, ctx.db.url)
    if not ok:
        raise OutdatedSchema(
            f"The database schema is at {current or 'nothing'}, the code needs {head}. "
            "Run `grassroots db upgrade` first."
        )


def build_application(ctx: AppContext) -> Application:  # type: ignore[type-arg]
    """The Application, talking to BOT_API_BASE_URL, with every handler and job registered.

    It has no Updater: updates come from bot.polling's Poller or from the webhook, both of
    which confirm an update only after it has been processed."""
    settings = ctx.settings
    base = settings.bot_api_base_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(PerChatUpdateProcessor())
        .request(AiohttpRequest(connection_pool_size=HTTP_CONNECTIONS,
                                pool_timeout=HTTP_POOL_TIMEOUT))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
    )
    builder = builder.post_init(_on_start).post_stop(_on_stop).updater(None)
    application = builder.build()
    application.bot_data[KEY] = ctx
    load_handlers()
    application.add_handler(TypeHandler(Update, handle_update))
    application.add_error_handler(_log_error)
    load_scheduler(application)
    return application


async def _on_start(application: Application) -> None:  # type: ignore[type-arg]
    """Queue the command menus of every bound user whose role or language changed, and make
    the menu button open the console."""
    ctx = AppContext.of(application)
    count = await sync_menus(ctx)
    if count:
        log.info("queued %d command menus", count)
    await set_menu_button(ctx, application.bot)


async def _on_stop(application: Application) -> None:  # type: ignore[type-arg]
    """Let the /stats charts and exports under way finish for a while (they write to the
    database), cancel what is left (an export removes its files), then write the delivery
    marks still waiting, so a clean stop leaves nothing to send again."""
    ctx = AppContext.of(application)
    await ctx.settle(TASKS_AT_STOP_SECONDS)
    await ctx.sent.flush()
    if ctx.limiter is not None:
        await ctx.limiter.close()


async def _log_error(update: object, context: Any) -> None:
    log.error("error while handling an update", exc_info=context.error)
