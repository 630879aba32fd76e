"""`grassroots backup` and `restore`: a copy taken while the bot runs reads back identical."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.cli import main
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base, Person, Visit
from storage.roster import import_roster_file
from tests.conftest import POSTGRES_URL, _postgres_reachable
from tests.harness import DEFAULT_ROSTER

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


async def snapshot(db: Database) -> dict[str, list[Any]]:
    """Every row of every table, in key order."""
    rows: dict[str, list[Any]] = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result.all()]
    return rows


async def fill(db: Database) -> None:
    await import_roster_file(db, DEFAULT_ROSTER.encode(), "roster.csv", now=NOW)
    async with db.write() as session:
        cadre = (await session.execute(select(Person).where(Person.name == "李娜"))).scalar_one()
        session.add(Visit(person_id=cadre.id, village_id=cadre.village_id, day=NOW.date(),
                          kind="weak", heard="生活困难 <b>", wants="修路", created_at=NOW))


async def damage(db: Database) -> None:
    async with db.write() as session:
        await session.execute(delete(Visit))
        await session.execute(delete(Person).where(Person.name == "吴敏"))


async def round_trip(db: Database, url: str, target, monkeypatch) -> None:
    await asyncio.to_thread(upgrade, url)
    await fill(db)
    before = await snapshot(db)
    monkeypatch.setenv("DATABASE_URL", url)
    assert await asyncio.to_thread(main, ["backup", str(target)]) == 0
    await damage(db)
    assert await snapshot(db) != before
    await db.dispose()  # restore runs with the bot stopped
    assert await asyncio.to_thread(main, ["restore", str(target)]) == 0
    assert await snapshot(db) == before


async def test_a_sqlite_backup_restores_every_row(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path}/live.db"
    db = Database(url)
    try:
        await round_trip(db, url, tmp_path / "copy.db", monkeypatch)
    finally:
        await db.dispose()


async def test_restoring_something_that_is_not_a_backup_fails_and_changes_nothing(
    tmp_path, monkeypatch, capsys
):
    url = f"sqlite+aiosqlite:///{tmp_path}/live.db"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        await fill(db)
        before = await snapshot(db)
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"PK\x03\x04 not a database at all" * 100)
        monkeypatch.setenv("DATABASE_URL", url)
        assert await asyncio.to_thread(main, ["restore", str(junk)]) == 1
        assert "not a SQLite backup" in capsys.readouterr().err
        assert await snapshot(db) == before
    finally:
        await db.dispose()


async def test_a_postgresql_backup_restores_every_row(tmp_path, monkeypatch):
    if not await _postgres_reachable() or shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL or pg_dump is not available")
    name = f"gr_backup_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    try:
        await round_trip(db, url, tmp_path / "copy.dump", monkeypatch)
    finally:
        await db.dispose()
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()
