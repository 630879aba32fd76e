"""`grassroots backup` and `restore`: a copy taken while the bot runs reads back identical; a file
that is not a backup is refused before anything changes; paths are paths; backups are private;
the PostgreSQL password never reaches a command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sqlite3
import stat
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.engine import URL

from bot.cli import main
from storage.db import Database
from storage.migrate import head_revision, upgrade
from storage.models import Base, Person, Visit
from storage.roster import import_roster_file
from tests.conftest import POSTGRES_URL, _postgres_reachable, backends
from tests.harness import DEFAULT_ROSTER

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
OLD_REVISION = "0010"  # a schema before the rollups' tables (0011) were added


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


async def cli(monkeypatch, url: str, *argv: str) -> int:
    """Run the console script in a thread (it runs its own event loop) against `url`."""
    monkeypatch.setenv("DATABASE_URL", url)
    return await asyncio.to_thread(main, list(argv))


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string()


async def live_sqlite(path: Path) -> tuple[str, Database]:
    """A SQLite database at the newest schema with the roster and a visit."""
    url = sqlite_url(path)
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await fill(db)
    return url, db


@pytest.fixture
async def pg_database() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Creates fresh PostgreSQL databases (a backup covers a whole database, not a schema)."""
    admin = Database(POSTGRES_URL)
    names: list[str] = []

    async def create() -> str:
        if "postgresql" not in backends() or not await _postgres_reachable():
            pytest.skip("PostgreSQL is not among the test databases or not reachable")
        if shutil.which("pg_dump") is None or shutil.which("psql") is None:
            pytest.skip("PostgreSQL's client tools are not installed")
        names.append(f"gr_backup_{uuid.uuid4().hex[:10]}")
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'CREATE DATABASE "{names[-1]}"')
        return POSTGRES_URL.rsplit("/", 1)[0] + f"/{names[-1]}"

    yield create
    if not names:
        await admin.dispose()
        return
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name in names:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.dispose()


async def live_database(backend: str, tmp_path: Path, pg_database) -> tuple[str, Database]:
    if backend == "sqlite":
        return await live_sqlite(tmp_path / "live.db")
    url = await pg_database()
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await fill(db)
    return url, db


async def round_trip(db: Database, url: str, target: Path, monkeypatch) -> None:
    before = await snapshot(db)
    assert await cli(monkeypatch, url, "backup", str(target)) == 0
    await damage(db)
    assert await snapshot(db) != before
    await db.dispose()  # restore runs with the bot stopped
    assert await cli(monkeypatch, url, "restore", str(target)) == 0
    assert await snapshot(db) == before


@pytest.mark.parametrize("backend", backends())
async def test_a_backup_restores_every_row(backend, tmp_path, monkeypatch, pg_database):
    url, db = await live_database(backend, tmp_path, pg_database)
    try:
        await round_trip(db, url, tmp_path / "copy.bak", monkeypatch)
    finally:
        await db.dispose()


# --- item 1: a file that is not a backup is refused and changes nothing --------------------


def unrelated_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('hello')")
    conn.close()


def edit_backup(sql: str) -> Callable[[Path, Path], None]:
    def make(path: Path, backup: Path) -> None:
        shutil.copyfile(backup, path)
        with sqlite3.connect(path) as conn:
            conn.execute(sql)
        conn.close()
    return make


def damaged(path: Path, backup: Path) -> None:
    data = bytearray(backup.read_bytes())
    for page in range(2, len(data) // 4096):  # every page but the schema's: scribbled over
        data[page * 4096 + 8: page * 4096 + 64] = b"\xa5" * 56
    path.write_bytes(bytes(data))


NOT_BACKUPS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "junk": (lambda path, _: path.write_bytes(b"PK\x03\x04 not a database" * 100),
             "is not a SQLite backup"),
    "empty": (lambda path, _: path.write_bytes(b""), "is empty"),
    "unrelated": (lambda path, _: unrelated_sqlite(path), "has no schema version"),
    "missing_table": (edit_backup("DROP TABLE visits"), "lacks the table(s) visits"),
    "newer_schema": (edit_backup("UPDATE alembic_version SET version_num = '0999'"),
                     "schema version 0999, which this version of Grassroots"),
    "damaged": (damaged, "candidate.db"),
}


@pytest.mark.parametrize("case", sorted(NOT_BACKUPS))
async def test_restoring_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(
    case, tmp_path, monkeypatch, capsys
):
    url, db = await live_sqlite(tmp_path / "live.db")
    try:
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "good.db")) == 0
        await damage(db)
        before = await snapshot(db)
        await db.dispose()
        files = sorted(tmp_path.iterdir())
        make, said = NOT_BACKUPS[case]
        candidate = tmp_path / "candidate.db"
        make(candidate, tmp_path / "good.db")
        capsys.readouterr()
        assert await cli(monkeypatch, url, "restore", str(candidate)) == 1
        err = capsys.readouterr().err.strip()
        assert said in err and "Traceback" not in err and len(err.splitlines()) == 1
        assert sorted(tmp_path.iterdir()) == sorted([*files, candidate])  # nothing left beside
        assert await snapshot(db) == before
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", backends())
async def test_a_restore_says_what_it_restored(backend, tmp_path, monkeypatch, capsys,
                                               pg_database):
    url, db = await live_database(backend, tmp_path, pg_database)
    try:
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "copy.bak")) == 0
        await damage(db)
        await db.dispose()
        capsys.readouterr()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "copy.bak")) == 0
        out = capsys.readouterr().out
        assert f"(schema {head_revision(url)})" in out
        counts = {line.split()[0]: line.split()[1] for line in out.splitlines()
                  if line.startswith("  ") and not line.strip().startswith("(")}
        assert counts["people"] == "9" and counts["visits"] == "1"
        assert counts["villages"] == "3" and counts["townships"] == "2"
    finally:
        await db.dispose()


async def test_a_sqlite_restore_keeps_the_database_it_replaced(tmp_path, monkeypatch, capsys):
    url, db = await live_sqlite(tmp_path / "live.db")
    try:
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "copy.db")) == 0
        await damage(db)
        damaged_rows = await snapshot(db)
        await db.dispose()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "copy.db")) == 0
        kept = Path(capsys.readouterr().out.split("is kept as ")[1].split()[0])
        assert kept.parent == tmp_path and kept.name.startswith("live.db.")
        previous = Database(sqlite_url(kept))
        try:
            assert await snapshot(previous) == damaged_rows
        finally:
            await previous.dispose()
    finally:
        await db.dispose()


async def test_a_sqlite_restore_onto_a_new_machine_creates_the_database(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "old").mkdir()
    url, db = await live_sqlite(tmp_path / "old" / "live.db")
    try:
        before = await snapshot(db)
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "copy.db")) == 0
    finally:
        await db.dispose()
    (tmp_path / "new").mkdir()
    new_url = sqlite_url(tmp_path / "new" / "live.db")
    assert await cli(monkeypatch, new_url, "restore", str(tmp_path / "copy.db")) == 0
    assert "is kept as" not in capsys.readouterr().out  # there was nothing to keep
    restored = Database(new_url)
    try:
        assert await snapshot(restored) == before
    finally:
        await restored.dispose()


async def test_a_sqlite_restore_refuses_while_the_bot_holds_the_database(
    tmp_path, monkeypatch, capsys
):
    url, db = await live_sqlite(tmp_path / "live.db")
    try:
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "copy.db")) == 0
        await damage(db)
        before = await snapshot(db)  # the bot's pooled connections stay open
        capsys.readouterr()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "copy.db")) == 1
        assert "stop the bot" in capsys.readouterr().err
        assert await snapshot(db) == before
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", backends())
async def test_an_older_backup_is_restored_and_the_upgrade_is_named(
    backend, tmp_path, monkeypatch, capsys, pg_database
):
    url, db = await live_database(backend, tmp_path, pg_database)
    old_url = sqlite_url(tmp_path / "old.db") if backend == "sqlite" else await pg_database()
    await asyncio.to_thread(upgrade, old_url, OLD_REVISION)
    try:
        assert await cli(monkeypatch, old_url, "backup", str(tmp_path / "old.bak")) == 0
        await db.dispose()
        capsys.readouterr()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "old.bak")) == 0
        out = capsys.readouterr().out
        assert f"(schema {OLD_REVISION})" in out and "grassroots db upgrade" in out
        assert await cli(monkeypatch, url, "db", "upgrade") == 0
        assert all(not rows for rows in (await snapshot(db)).values())  # the old one was empty
    finally:
        await db.dispose()


async def test_a_truncated_postgresql_backup_changes_nothing(tmp_path, monkeypatch, capsys,
                                                             pg_database):
    url, db = await live_database("postgresql", tmp_path, pg_database)
    try:
        assert await cli(monkeypatch, url, "backup", str(tmp_path / "copy.dump")) == 0
        await damage(db)
        before = await snapshot(db)
        data = (tmp_path / "copy.dump").read_bytes()
        (tmp_path / "copy.dump").write_bytes(data[:-40])  # the last table's rows cut short
        capsys.readouterr()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "copy.dump")) == 1
        assert "nothing was changed" in capsys.readouterr().err
        assert await snapshot(db) == before
    finally:
        await db.dispose()


# --- item 2: paths are paths ---------------------------------------------------------------


@pytest.mark.parametrize("folder", ["a#b", "a?b", "a%41b", "%2523"])
async def test_paths_with_hash_question_mark_or_percent_are_read_as_paths(
    folder, tmp_path, monkeypatch
):
    (tmp_path / folder).mkdir()
    url, db = await live_sqlite(tmp_path / folder / "live.db")
    _, other = await live_sqlite(tmp_path / "A.db")  # what '%41.db' would decode to
    await other.dispose()
    try:
        before = await snapshot(db)
        files = sorted(tmp_path.rglob("*"))
        target = tmp_path / folder / "%41 #1?.db"
        assert await cli(monkeypatch, url, "backup", str(target)) == 0
        assert sorted(tmp_path.rglob("*")) == sorted([*files, target])  # no stray file
        shutil.copyfile(target, tmp_path / "%41.db")
        await damage(db)
        await db.dispose()
        assert await cli(monkeypatch, url, "restore", str(tmp_path / "%41.db")) == 0
        assert await snapshot(db) == before
    finally:
        await db.dispose()


async def test_a_database_url_written_with_a_raw_hash_is_backed_up(tmp_path, monkeypatch):
    (tmp_path / "a#b").mkdir()
    _, db = await live_sqlite(tmp_path / "a#b" / "live.db")
    try:
        raw = f"sqlite:///{tmp_path}/a#b/live.db"  # as an operator writes it in .env
        assert await cli(monkeypatch, raw, "backup", str(tmp_path / "copy.db")) == 0
        copy = Database(sqlite_url(tmp_path / "copy.db"))
        try:
            assert await snapshot(copy) == await snapshot(db)
        finally:
            await copy.dispose()
    finally:
        await db.dispose()


# --- item 5: every file with personal data is 0600, its folders 0700 ------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("backend", backends())
async def test_backups_and_the_folders_made_for_them_are_private(
    backend, tmp_path, monkeypatch, pg_database
):
    url, db = await live_database(backend, tmp_path, pg_database)
    old_umask = os.umask(0o022)
    try:
        target = tmp_path / "backups" / "daily" / "copy.bak"
        assert await cli(monkeypatch, url, "backup", str(target)) == 0
        assert mode(target) == 0o600
        assert mode(target.parent) == 0o700 and mode(target.parent.parent) == 0o700
        target.chmod(0o644)  # yesterday's copy, made world-readable by hand
        assert await cli(monkeypatch, url, "backup", str(target)) == 0
        assert mode(target) == 0o600
        if backend == "sqlite":
            await db.dispose()
            assert await cli(monkeypatch, url, "restore", str(target)) == 0
            assert mode(tmp_path / "live.db") == 0o600
            assert all(mode(kept) == 0o600 for kept in tmp_path.glob("live.db.*before-restore"))
    finally:
        os.umask(old_umask)
        await db.dispose()


# --- item 6: the password travels in the child's environment, never in its argv --------------


async def test_the_postgresql_password_never_reaches_a_command_line(
    tmp_path, monkeypatch, pg_database
):
    url, db = await live_database("postgresql", tmp_path, pg_database)
    await db.dispose()
    secret = "s3cret-Pw"  # the test server trusts local connections and ignores it
    with_password = url.replace("postgres@", f"postgres:{secret}@")
    seen: list[tuple[list[str], dict[str, str] | None]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(command, *args, **kwargs):
        seen.append((list(command), kwargs.get("env")))
        return real_run(command, *args, **kwargs)

    def popen(command, *args, **kwargs):
        seen.append((list(command), kwargs.get("env")))
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr("storage.backup_pg.subprocess.run", run)
    monkeypatch.setattr("storage.backup_pg.subprocess.Popen", popen)
    assert await cli(monkeypatch, with_password, "backup", str(tmp_path / "copy.dump")) == 0
    assert await cli(monkeypatch, with_password, "restore", str(tmp_path / "copy.dump")) == 0
    connecting = [(argv, env) for argv, env in seen if argv[0] in ("pg_dump", "psql")]
    assert {argv[0] for argv, _ in connecting} == {"pg_dump", "psql"}
    assert all(secret not in " ".join(argv) for argv, _ in seen)
    assert all(env is not None and env["PGPASSWORD"] == secret for _, env in connecting)
