"""Fixtures: a real database (SQLite, and PostgreSQL when reachable), the Bot API emulator,
and the real application driven through it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import pytest

from common.clock import FrozenClock
from common.settings import Settings
from storage.db import Database
from storage.models import Base
from tests.emulator import BotApiEmulator
from tests.harness import BotHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_pg_reachable: bool | None = None


async def _postgres_reachable() -> bool:
    global _pg_reachable
    if _pg_reachable is None:
        try:
            import asyncpg

            conn = await asyncio.wait_for(
                asyncpg.connect(POSTGRES_URL.replace("+asyncpg", "")), timeout=3
            )
            await conn.close()
            _pg_reachable = True
        except Exception:
            _pg_reachable = False
    return _pg_reachable


def backends() -> list[str]:
    """Which databases the suite runs on: TEST_DATABASES=sqlite,postgresql (default both)."""
    return os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",")


@pytest.fixture(params=backends())
async def database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:
    """A fresh schema with every table, on SQLite or PostgreSQL."""
    async with _fresh(request.param, tmp_path) as db:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield db


@pytest.fixture(params=backends())
async def empty_database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:
    """A fresh schema with no tables, on SQLite or PostgreSQL."""
    async with _fresh(request.param, tmp_path) as db:
        yield db


@asynccontextmanager
async def _fresh(backend: str, tmp_path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
        schema = None
    else:
        if not await _postgres_reachable():
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = Database(POSTGRES_URL)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await admin.dispose()
        db = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    yield db
    await db.dispose()
    if schema is not None:
        admin = Database(POSTGRES_URL)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """Saturday 28 November 2026, 10:00 in Asia/Shanghai."""
    return FrozenClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """The Bot API emulator; a test fails if the bot made any request Telegram would refuse."""
    emu = BotApiEmulator(token="123456:TEST-TOKEN", bot_username="grassroots_test_bot")
    await emu.start()
    yield emu
    await emu.stop()
    assert not emu.violations, "Bot API violations:\n" + "\n".join(emu.violations)


@pytest.fixture
def settings(emulator: BotApiEmulator, database: Database) -> Settings:
    """Settings pointing at the emulator and the test database."""
    return Settings(
        _env_file=None,
        telegram_bot_token=emulator.token,
        bot_api_base_url=emulator.base_url,
        bot_username="grassroots_test_bot",
        database_url=database.url,
        campaign_start=dt.date(2026, 11, 23),
    )


@pytest.fixture
async def harness(
    settings: Settings, database: Database, clock: FrozenClock, emulator: BotApiEmulator
) -> AsyncIterator[BotHarness]:
    """The real application, polling the emulator over HTTP."""
    runner = BotHarness(settings, database, clock, emulator)
    await runner.start()
    yield runner
    await runner.stop()
