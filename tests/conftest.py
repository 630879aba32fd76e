"""Fixtures: a real database (SQLite, and PostgreSQL when reachable), the Bot API emulator,
and the real application driven through it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
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
async def database(request: pytest.FixtureRequest, tmp_path, tmp_path_factory
                   ) -> AsyncIterator[Database]:
    """Every table, empty, on SQLite or PostgreSQL.

    Creating the tables costs seconds on a busy PostgreSQL, so they are made once per test
    process: SQLite's file is copied from one made then, and PostgreSQL's schema is emptied
    after each test (its sequences restarted) for the next one, unless the test changed the
    schema itself (a table added, a column renamed), which is then dropped and made again."""
    if request.param == "sqlite":
        template = await _sqlite_template(tmp_path_factory)
        shutil.copyfile(template, tmp_path / "test.db")
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
        yield db
        await db.dispose()
        return
    if not await _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = await _kept_schema()
    db = _in_schema(schema)
    try:
        yield db
    finally:
        await db.dispose()
        await _empty_for_the_next(schema)


async def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every table, made once per test process."""
    global _sqlite_tables
    if _sqlite_tables is None:
        made = tmp_path_factory.mktemp("tables") / "tables.db"
        db = Database(f"sqlite+aiosqlite:///{made}")
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await db.dispose()  # the last connection closed: the WAL is in the file, and gone
        _sqlite_tables = made
    return _sqlite_tables


# The process's PostgreSQL schema with every table, and what its tables, columns, indexes and
# constraints were when made (compared after each test).
_kept: tuple[str, str] | None = None
_sqlite_tables: Path | None = None

_SHAPE = """
SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
    SELECT concat_ws(':', table_name, column_name, data_type, is_nullable, column_default)
      FROM information_schema.columns WHERE table_schema = $1
    UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = $1
    UNION ALL SELECT conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = $1::regnamespace
    UNION ALL SELECT 'type:' || typname FROM pg_type WHERE typnamespace = $1::regnamespace
    UNION ALL SELECT 'function:' || proname FROM pg_proc WHERE pronamespace = $1::regnamespace
    UNION ALL SELECT 'trigger:' || tgname FROM pg_trigger
      WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class
                                              WHERE relnamespace = $1::regnamespace)
) AS shape(x)
"""


async def _kept_schema() -> str:
    """The process's schema with every table and no rows, made if there is none."""
    global _kept
    if _kept is None:
        schema = await _new_schema()
        db = _in_schema(schema)
        async with db.engine.begin() as made:
            await made.run_sync(Base.metadata.create_all)
        await db.dispose()
        _kept = (schema, await _shape(schema))
    return _kept[0]


async def _shape(schema: str) -> str:
    conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        shape: str = await conn.fetchval(_SHAPE, schema)
    finally:
        await conn.close()
    return shape


async def _empty_for_the_next(schema: str) -> None:
    """Every row deleted and every sequence restarted, as a new schema would be; a schema the
    test changed, or one that cannot be emptied, is dropped instead (the next test makes one)."""
    global _kept
    conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '10s'")
            if _kept is not None and await conn.fetchval(_SHAPE, schema) == _kept[1]:
                await conn.execute(f'SET LOCAL search_path = "{schema}"')
                await conn.execute(";".join(f'DELETE FROM "{table.name}"' for table in
                                            reversed(Base.metadata.sorted_tables)))
                await conn.execute(
                    "SELECT setval(oid, 1, false) FROM pg_class"
                    " WHERE relkind = 'S' AND relnamespace = $1::regnamespace", schema)
                return
    except asyncpg.PostgresError:
        pass  # dropped below
    finally:
        await conn.close()
    _kept = None
    await _admin('DROP SCHEMA IF EXISTS "{}" CASCADE', schema)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The kept schema goes with the process that made it."""
    if _kept is not None:
        asyncio.run(_admin('DROP SCHEMA IF EXISTS "{}" CASCADE', _kept[0]))


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
        schema = await _new_schema()
        db = _in_schema(schema)
    yield db
    await db.dispose()
    if schema is not None:
        await _admin("DROP SCHEMA IF EXISTS \"{}\" CASCADE", schema)


async def _new_schema() -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _admin('CREATE SCHEMA "{}"', schema)
    return schema


def _in_schema(schema: str) -> Database:
    return Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})


async def _admin(statement: str, schema: str) -> None:
    """A statement about `schema`, on a connection of its own."""
    conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    try:
        await conn.execute(statement.format(schema))
    finally:
        await conn.close()


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
