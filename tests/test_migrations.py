"""Migrations build the schema the models describe; `run` refuses an outdated schema."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.app import OutdatedSchema, check_schema
from common.clock import SystemClock
from common.context import AppContext
from common.settings import Settings
from storage.migrate import upgrade
from storage.models import Base


async def test_migrations_create_exactly_the_models_schema(empty_database):
    db = empty_database
    await asyncio.to_thread(upgrade, db.url, **db.engine_kwargs)
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_run_refuses_an_outdated_schema_and_names_the_command(empty_database):
    ctx = AppContext(Settings(_env_file=None), empty_database, SystemClock())
    with pytest.raises(OutdatedSchema, match="grassroots db upgrade"):
        await check_schema(ctx)
    await asyncio.to_thread(upgrade, empty_database.url, **empty_database.engine_kwargs)
    await check_schema(ctx)
