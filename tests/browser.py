"""Browser tests: the real FastAPI app under uvicorn on a free loopback port, and Chromium driven
through Playwright's async API, in the test's own event loop.

A test module takes these fixtures with `pytest_plugins = ("tests.browser",)`:

- `live_app`: a `LiveApp` (`url`, `ctx`, `app`): `bot.web.create_app` on the test's `database`
  (SQLite and PostgreSQL), serving at `url` until the test ends. The database starts empty:
  data goes in as other tests put it there (`import_roster_file`, the bot through `harness`,
  which shares the database, or `live_app.ctx.db`).
- `browser`: Chromium, headless, one for the whole test process (starting Playwright and
  Chromium takes seconds); every page opens in a browser context of its own, so no cookie or
  storage passes from one test to the next. It is the Debian package's `/usr/bin/chromium`,
  not Playwright's own download (which is not reachable from here): without it the test is
  skipped with the reason, or fails when the environment variable CI is set. The tests run in
  one event loop per process (pyproject's `asyncio_default_*_loop_scope`), the loop
  Playwright's connection lives in.
- `app_page`: a fresh page (Chinese locale, Shanghai time) whose relative addresses go to
  `live_app.url`: `await app_page.goto("/healthz")`.
- `page`: the same without an app or a database behind it (once on neither), for what the
  browser does alone (`page.set_content`, `page.route`).
- `page_errors`: the page's (`app_page`'s or `page`'s) console errors and uncaught exceptions,
  as text, in order; a test asserts `page_errors == []` after what it did.

`serve(app)` serves any other FastAPI app the same way, and `open_page` opens more pages
(two people at once, each in a context of their own). A test module that names `LiveApp` or
`serve` imports them under `if TYPE_CHECKING:` or inside the test: imported before
`pytest_plugins` takes the module, it would escape pytest's assertion rewriting (a warning).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from alembic import command
from fastapi import FastAPI
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from bot.web import create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage.migrate import alembic_config

CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class LiveApp:
    url: str
    ctx: AppContext
    app: FastAPI


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """`app` under uvicorn (its lifespan included) on a free 127.0.0.1 port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning",
                                           access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():  # start-up failed (the lifespan raised): its error, not a hang
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def live_app(database, settings, clock) -> AsyncIterator[LiveApp]:
    """The web app as `grassroots serve` runs it, on the test's `database` (the one `harness`
    drives the bot on): its tables as every test has them, marked as at the migrations' head,
    which the app checks at start-up."""
    await asyncio.to_thread(
        command.stamp, alembic_config(database.url, **database.engine_kwargs), "head")
    ctx = AppContext(settings=settings, db=database, clock=clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    async with serve(app) as url:
        yield LiveApp(url=url, ctx=ctx, app=app)
    async with database.engine.begin() as conn:  # the tables as the fixture found them, which
        await conn.exec_driver_sql("DROP TABLE alembic_version")  # lets the next test keep them


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Debian package's Chromium: skipped without it, or failed when CI is set."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Chromium, driven by Playwright's async API; shared by the process's tests, each
    in contexts of its own (`open_page`)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def page_errors() -> list[str]:
    """What went wrong in `page`: console errors and uncaught exceptions, as text."""
    return []


@asynccontextmanager
async def open_page(browser: Browser, errors: list[str], base_url: str | None = None
                    ) -> AsyncIterator[Page]:
    """A page in a context of its own (Chinese locale, Shanghai time); its console errors and
    uncaught exceptions go to `errors`; relative addresses go to `base_url`."""
    context = await browser.new_context(base_url=base_url, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"uncaught: {error.name}: {error.message}")

    try:
        opened = await context.new_page()
        opened.on("console", on_console)
        opened.on("pageerror", on_page_error)
        yield opened
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Browser, page_errors: list[str]) -> AsyncIterator[Page]:
    """A page with no app behind it (set_content, routes of the test's own)."""
    async with open_page(browser, page_errors) as opened:
        yield opened


@pytest.fixture
async def app_page(browser: Browser, live_app: LiveApp, page_errors: list[str]
                   ) -> AsyncIterator[Page]:
    """A page whose relative addresses go to `live_app`: `await app_page.goto("/healthz")`."""
    async with open_page(browser, page_errors, live_app.url) as opened:
        yield opened
