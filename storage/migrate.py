"""Schema migrations with Alembic: upgrade, and tell whether a database is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, **engine_kwargs: Any) -> Config:
    """An Alembic configuration for this database, without an alembic.ini on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine_kwargs"] = engine_kwargs
    return config


def upgrade(url: str, revision: str = "head", **engine_kwargs: Any) -> None:
    """Apply migrations up to `revision` (blocking: it runs its own event loop)."""
    command.upgrade(alembic_config(url, **engine_kwargs), revision)


def head_revision(url: str) -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def is_current(engine: AsyncEngine, url: str) -> tuple[bool, str | None, str | None]:
    """Whether the database schema is at the code's head: (ok, current, head)."""
    current = await current_revision(engine)
    head = head_revision(url)
    return current == head, current, head
