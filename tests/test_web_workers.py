"""Two webhook workers on one database: one cadre's dialog alternates between them and
continues, a redelivery to the other worker is processed once, and each scheduled message is
sent once whichever worker's scheduler gets there first."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import func, select

from bot.web import SECRET_HEADER, create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from scheduler.jobs import run_due
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Dispute, OutboxMessage
from storage.roster import import_roster_file
from tests.harness import DEFAULT_ROSTER
from tests.scheduling import local
from tests.test_visits import button

SECRET = "two-workers-secret"


@pytest.fixture
def database(empty_database):
    """The apps check the schema at start-up: migrate instead of create_all."""
    return empty_database


async def test_two_workers_share_dialogs_and_schedules(empty_database, emulator, clock,
                                                       settings):
    db = empty_database
    await asyncio.to_thread(upgrade, db.url, **db.engine_kwargs)
    await import_roster_file(db, DEFAULT_ROSTER.encode(), "roster.csv", now=clock.now())
    configured = settings.model_copy(update={"webhook_secret": SECRET, "api_token": "t"})
    async with AsyncExitStack() as stack:
        clients, contexts = [], []
        for _ in range(2):
            ctx = AppContext(settings=configured, clock=clock,
                             db=Database(db.url, **db.engine_kwargs),
                             limiter=RateLimiter(per_second=1000, per_chat_per_second=1000))
            app = create_app(ctx, register_webhook=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                       base_url="http://worker")
            clients.append(await stack.enter_async_context(client))
            contexts.append(ctx)
        user = emulator.user(8801, language_code="en")
        turn = 0

        async def say(update_id: int, redeliver_to_other: bool = False) -> list:
            nonlocal turn
            before = len(emulator.sent_to(user.id))
            raw = emulator.updates.history[update_id]
            worker = clients[turn % 2]
            turn += 1
            assert (await worker.post("/telegram", json=raw,
                                      headers={SECRET_HEADER: SECRET})).status_code == 200
            if redeliver_to_other:
                other = clients[turn % 2]
                assert (await other.post("/telegram", json=raw,
                                         headers={SECRET_HEADER: SECRET})).status_code == 200
            return emulator.sent_to(user.id)[before:]

        await say(user.contact(phone="+8613800138002"))
        replies = await say(user.send("/dispute"))
        replies = await say(user.press(button(replies, ":land")))
        await say(user.send("村民甲与村委会"), redeliver_to_other=True)
        replies = await say(user.send("3"))
        replies = await say(user.press(button(replies, ":s:3")))
        replies = await say(user.send("补偿款未到位"))
        replies = await say(user.press(button(replies, ":normal")))
        ok = button(replies, ":ok")
        await say(user.press(ok), redeliver_to_other=True)
        async with db.read() as session:
            disputes = (await session.execute(select(Dispute))).scalars().all()
        assert [(d.parties, d.people_count) for d in disputes] == [("村民甲与村委会", 3)]

        # Both workers' schedulers wake at the same moment: each reminder is queued once. (Their
        # own JobQueues may have created the rows on Saturday: Sunday's reminder, caught up on
        # Monday, is stale and sends nothing.)
        for ctx in contexts:
            ctx.clock.set(local(2026, 11, 30, 7, 0))
        await asyncio.gather(*(run_due(ctx) for ctx in contexts))
        for ctx in contexts:
            ctx.clock.set(local(2026, 11, 30, 8, 0))
        results = await asyncio.gather(*(run_due(ctx) for ctx in contexts * 2))
        assert sum(r.get("checkin_reminder", 0) for r in results) == 1
        async with db.read() as session:
            count = await session.execute(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.kind == "reminder"))
        assert count.scalar_one() == 1
        for ctx in contexts:
            await ctx.db.dispose()
