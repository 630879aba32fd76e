"""PostgreSQL's backups through its client tools: pg_dump, pg_restore and psql.

The password reaches them in PGPASSWORD, never on a command line, where `ps` shows it to all.
A restore pipes pg_restore's script into psql in one transaction that commits only if both
succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from storage.backup_schema import (
    PGDUMP_MAGIC,
    VERSION_TABLE,
    BackupError,
    Contents,
    check_tables,
    expected_tables,
    require_magic,
    revisions,
)
from storage.db import make_engine
from storage.models import Base


def dump(url: str, target: Path) -> Contents:
    """pg_dump's custom format into `target`, read back with a restore's checks."""
    dsn, env = libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), dsn], env)
    return check_archive(target, shown=target)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string for pg_dump/pg_restore and the environment carrying the password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)  # never in argv, where `ps` shows it to all
    dsn = URL.create("postgresql", username=parsed.username, host=parsed.host,
                     port=parsed.port, database=parsed.database, query=parsed.query)
    return dsn.render_as_string(), env


def check_archive(path: Path, *, shown: Path) -> Contents:
    """A pg_dump archive of a known revision holding that revision's tables."""
    require_magic(path, PGDUMP_MAGIC, shown=shown, kind="backup")
    unreadable = f"{shown} is not a PostgreSQL backup pg_restore can read"
    tables = archive_tables(path, failure=unreadable)
    if VERSION_TABLE not in tables:
        raise BackupError(f"{shown} is not a Grassroots backup: it has no schema version")
    script = _run(["pg_restore", "--data-only", f"--table={VERSION_TABLE}", "--file=-",
                   str(path)], dict(os.environ), failure=unreadable)
    match = re.search(rf"^COPY \S*{VERSION_TABLE} .*? FROM stdin;\n(\S+)\n\\\.$", script,
                      re.MULTILINE)
    if match is None:
        raise BackupError(f"{shown} is not a Grassroots backup: its schema version is unreadable")
    check_tables(match.group(1), tables, shown=shown)
    return Contents(revision=match.group(1), head=revisions()[0])


def restore(url: str, source: Path) -> Contents:
    """Restore a checked archive in one transaction, then count the rows it brought."""
    contents = check_archive(source, shown=source)
    expected = expected_tables(contents.revision)
    # --clean drops only what the archive holds: tables and columns a newer schema added would
    # stay, their keys blocking the drop of the tables they point at (a newer column's key to
    # people blocks dropping people's primary key). So a backup of an older schema has every
    # table of this one dropped first, in the same transaction, and the archive creates again
    # those it holds. A backup of this schema drops only what it holds, in pg_restore's order.
    older = contents.revision != contents.head
    drop = sorted(Base.metadata.tables) if older else sorted(set(Base.metadata.tables) - expected)
    dsn, env = libpq(url)
    _pg_restore(source, dsn, env, drop=drop)
    rows = asyncio.run(_count_postgresql(url, expected - {VERSION_TABLE}))
    return Contents(revision=contents.revision, head=contents.head, rows=rows)


def _pg_restore(source: Path, dsn: str, env: dict[str, str], *, drop: list[str]) -> None:
    """pg_restore's script through psql in one transaction, committed only if both succeed."""
    for tool in ("pg_restore", "psql"):
        _require_tool(tool)
    drops = " ".join(f'DROP TABLE IF EXISTS "{table}" CASCADE;' for table in drop)
    with tempfile.TemporaryFile() as restore_log, tempfile.TemporaryFile() as psql_log:
        producer = subprocess.Popen(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--file=-", str(source)],
            stdout=subprocess.PIPE, stderr=restore_log)
        consumer = subprocess.Popen(
            ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
             "--command", drops or "SELECT 1", "--file=-", "--dbname", dsn],
            stdin=subprocess.PIPE, stdout=psql_log, stderr=subprocess.STDOUT, env=env)
        assert producer.stdout is not None and consumer.stdin is not None
        with producer, consumer:
            try:
                shutil.copyfileobj(producer.stdout, consumer.stdin, 1 << 20)
            except BrokenPipeError:  # psql stopped at an error and rolled back: its log says why
                producer.kill()
            if producer.wait() != 0 and consumer.poll() is None:
                consumer.kill()  # before psql reads the end of its input: it never commits
            with contextlib.suppress(BrokenPipeError):
                consumer.stdin.close()
            if consumer.wait() != 0 or producer.returncode != 0:
                raise BackupError(_restore_failure(consumer, source, restore_log, psql_log))


def _restore_failure(consumer: subprocess.Popen[bytes], source: Path, restore_log: IO[bytes],
                     psql_log: IO[bytes]) -> str:
    if consumer.returncode < 0:  # we stopped psql because pg_restore failed
        return f"{source} could not be read back, and nothing was changed: {_tail(restore_log)}"
    return f"the restore failed and was rolled back: {_tail(psql_log)}"


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return " ".join(log.read().decode(errors="replace").split())[-500:]


async def _count_postgresql(url: str, tables: set[str]) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in sorted(tables):
                result = await conn.execute(text(f'SELECT count(*) FROM "{table}"'))
                counts[table] = result.scalar_one()
            return counts
    finally:
        await engine.dispose()


def _require_tool(tool: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (it comes with PostgreSQL's client tools)")


def _run(command: list[str], env: dict[str, str], *, failure: str = "") -> str:
    """Run a PostgreSQL client tool; its own complaint ends the sentence if it fails."""
    _require_tool(command[0])
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        complaint = " ".join(result.stderr.split())[:500]
        raise BackupError(f"{failure or command[0] + ' failed'}: {complaint}")
    return result.stdout


def archive_tables(path: Path, *, failure: str) -> set[str]:
    """The tables a pg_dump archive holds, from its table of contents."""
    listing = _run(["pg_restore", "--list", str(path)], dict(os.environ), failure=failure)
    return set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, re.MULTILINE))
