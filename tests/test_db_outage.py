"""The database goes away mid-dialog: users are told their answers are kept, the bot recovers by
itself, and the dialog finishes with exactly one record."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import handlers.router
import storage.db
from storage.db import Database
from storage.models import Dispute
from tests.faults import SqliteLock, TcpProxy
from tests.harness import BotHarness
from tests.test_visits import button

# The reliability table quotes a 30-second run: OUTAGE_SECONDS=30 pytest tests/test_db_outage.py
OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "3"))
UNAVAILABLE = "temporarily unavailable"


class Outage:
    """Takes the test's database away and gives it back, whatever the backend."""

    def __init__(self, db: Database, tmp_path) -> None:
        self.db, self.tmp_path = db, tmp_path
        self.proxy: TcpProxy | None = None
        self.lock: SqliteLock | None = None
        self.reachable_db: Database = db

    async def start(self) -> Database:
        """The database the bot should use: behind a proxy (PostgreSQL) or a lockable file."""
        if self.db.is_sqlite:
            self.lock = SqliteLock(make_url(self.db.url).database)
            return self.db
        url = make_url(self.db.url)
        self.proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await self.proxy.start()
        proxied = url.set(host="127.0.0.1", port=self.proxy.port)
        kwargs = {**self.db.engine_kwargs, "pool_timeout": 2}
        args = dict(kwargs.get("connect_args", {}))
        args["timeout"] = 2
        kwargs["connect_args"] = args
        self.reachable_db = Database(proxied.render_as_string(hide_password=False), **kwargs)
        return self.reachable_db

    def down(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        if self.lock is not None:
            self.lock.take()

    def up(self) -> None:
        if self.proxy is not None:
            self.proxy.mend()
        if self.lock is not None:
            self.lock.release()

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.reachable_db.dispose()
            await self.proxy.stop()


@pytest.fixture
async def outage_harness(settings, database, clock, emulator, tmp_path, monkeypatch):
    # A held SQLite lock should fail a write in a second, not after the production 30 s.
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    outage = Outage(database, tmp_path)
    db = await outage.start()
    if db is database:
        db = Database(database.url)  # new connections pick up the short busy timeout
    runner = BotHarness(settings, db, clock, emulator)
    await runner.start()
    yield runner, outage
    await runner.stop()
    outage.up()
    await outage.stop()
    if db is not database:
        await db.dispose()


async def test_a_dialog_survives_a_database_outage_and_saves_once(outage_harness):
    harness, outage = outage_harness
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6601, language_code="en")
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":land"))
    await harness.send(user, "村民甲与村委会")

    outage.down()
    started = time.monotonic()
    replies = await harness.send(user, "3")
    assert UNAVAILABLE in replies[-1].plain_text and "kept" in replies[-1].plain_text
    while time.monotonic() - started < OUTAGE_SECONDS:
        # Users keep writing during the outage; every message gets the same honest answer.
        replies = await harness.send(user, "3")
        assert UNAVAILABLE in replies[-1].plain_text
        await asyncio.sleep(min(1.0, OUTAGE_SECONDS / 3))
    outage.up()

    # The bot recovers by itself: the answers given before the outage are still there.
    replies = await harness.send(user, "3")
    assert "petition" in replies[-1].plain_text.lower()
    replies = await harness.press(user, button(replies, ":s:3"))
    replies = await harness.send(user, "补偿款未到位")
    replies = await harness.press(user, button(replies, ":normal"))
    confirm = replies
    assert "村民甲与村委会" in confirm[-1].plain_text
    await harness.press(user, button(confirm, ":ok"))
    async with harness.db.read() as session:
        disputes = (await session.execute(select(Dispute))).scalars().all()
        assert len(disputes) == 1
        assert (disputes[0].parties, disputes[0].people_count) == ("村民甲与村委会", 3)
        assert (await session.execute(select(func.count(Dispute.id)))).scalar_one() == 1


async def test_a_refused_write_is_not_called_an_outage(harness, monkeypatch):
    user = await harness.register("+8613800138002", user_id=7002, language_code="en")

    async def refused(turn):
        raise IntegrityError("INSERT INTO spot_checks ...", {}, Exception("UNIQUE constraint"))

    monkeypatch.setattr(handlers.router, "dispatch", refused)
    replies = await harness.send(user, "/checkin")
    assert [r.plain_text for r in replies] == [
        "Something went wrong on our side. Your answers so far are kept; please try again."]
    assert UNAVAILABLE not in replies[0].plain_text
