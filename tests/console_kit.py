"""Helpers for the console's tests: the web application beside the harness's bot, sign-in as a
person (by a one-time link, as /console sends it, or by a Mini App's initData forged with the
emulator's bot token), and what a page's HTML says.

Use `console` (a Console) in a test module whose `settings` sets `console_url` (see
`console_settings`); the bot itself runs in the `harness` fixture as everywhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from bot.console.auth import COOKIE, init_data_hash
from bot.web import create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage import console as links
from storage.models import Person

CONSOLE_URL = "https://console.example.org"


def console_settings(settings):
    """The settings of a test that opens the console."""
    return settings.model_copy(update={"console_url": CONSOLE_URL,
                                       "outbox_per_chat_per_second": 50.0})


def forged_init_data(bot_token: str, *, user_id: int, signed_at: dt.datetime,
                     language_code: str = "zh-hans", tamper: bool = False) -> str:
    """initData as Telegram gives a Mini App, signed with the bot's token (or not: `tamper`)."""
    fields = {"auth_date": str(int(signed_at.timestamp())), "query_id": "AAE-test",
              "user": json.dumps({"id": user_id, "first_name": "U", "language_code":
                                  language_code}, separators=(",", ":"))}
    digest = init_data_hash(fields, bot_token)
    if tamper:
        fields["user"] = fields["user"].replace(str(user_id), str(user_id + 1))
    return urlencode({**fields, "hash": digest})


def text_of(html: str) -> str:
    """A page's text as read: tags removed, entities decoded, spaces squeezed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@dataclass
class Console:
    """The console's web application on the harness's database and clock."""

    ctx: AppContext
    client: httpx.AsyncClient
    browsers: list[httpx.AsyncClient]

    async def person(self, name: str) -> Person:
        async with self.ctx.db.read() as session:
            return (await session.scalars(select(Person).where(Person.name == name))).one()

    async def link(self, name: str) -> str:
        """A fresh one-time sign-in token for the person, as /console makes it."""
        person = await self.person(name)
        async with self.ctx.db.write() as session:
            return await links.new_link(session, person_id=person.id, now=self.ctx.clock.now())

    async def sign_in(self, name: str) -> httpx.AsyncClient:
        """A browser signed in as the person (a new client with its own cookie jar)."""
        token = await self.link(name)
        browser = httpx.AsyncClient(transport=self.client._transport,  # same application
                                    base_url=str(self.client.base_url))
        self.browsers.append(browser)
        response = await browser.post("/console/signin", data={"token": token})
        assert response.status_code == 303, response.text
        assert browser.cookies.get(COOKIE)
        return browser

    async def csrf(self, browser: httpx.AsyncClient, path: str = "/console/") -> str:
        """The CSRF token a signed-in page carries in its forms."""
        page = await browser.get(path, follow_redirects=True)  # a cadre's first page is her week
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)


@pytest.fixture
async def console(harness, settings) -> AsyncIterator[Console]:
    """The console beside the running bot: same database, clock and settings."""
    await harness.import_roster()
    ctx = AppContext(settings=settings, db=harness.db, clock=harness.clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://console.example.org",
                                 ) as client:
        found = Console(ctx, client, [])
        yield found
        for browser in found.browsers:
            await browser.aclose()
