"""Consistent copies of the database, and restores that check a file before touching anything.

A backup is written to a private (0600) temporary file beside the target, read back with the
same checks a restore makes, and only then renamed over the target. A restore checks the
candidate (integrity, a schema revision this code knows, that revision's tables) before the
live database is touched: SQLite's file is replaced in one rename, the previous one kept beside
it; PostgreSQL's pg_restore runs in a single transaction. File names are paths, never URIs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from storage.db import make_engine
from storage.files import FILE_MODE, private_dir
from storage.migrate import alembic_config, upgrade
from storage.models import Base

VERSION_TABLE = "alembic_version"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """The copy could not be made, or the file is not a backup this code can restore."""


@dataclass(frozen=True)
class Contents:
    """What a backup holds: its schema revision, the code's, and rows per table (if counted)."""

    revision: str
    head: str
    rows: dict[str, int] | None = None
    previous: Path | None = None  # where a restore kept the database it replaced

    @property
    def outdated(self) -> bool:
        """Whether the schema is older than the code's (`grassroots db upgrade` brings it up)."""
        return self.revision != self.head


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL, as the application opens it (decoded once, by SQLAlchemy)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    return Path(database).absolute()  # absolute: SQLite may read a name like "file:x" as a URI


def _backend(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"DATABASE_URL names a {backend} database; only SQLite and "
                          "PostgreSQL can be backed up")
    return backend


def backup(url: str, target: Path) -> Contents:
    """Write a checked copy of the database to `target` (0600) while the bot may keep running."""
    target = target.absolute()
    if _backend(url) == "sqlite":
        live = sqlite_path(url)
        if not live.is_file():
            raise BackupError(f"there is no database at {live}: check DATABASE_URL")
        if target.exists() and target.samefile(live):
            raise BackupError(f"{target} is the live database itself: choose another file")
        _refuse_overwriting(target, SQLITE_MAGIC)
        with _replacing(target) as partial:
            _sqlite_copy(live, partial)
            return _check_sqlite(partial, shown=live, kind="database")
    _refuse_overwriting(target, PGDUMP_MAGIC)
    dsn, env = libpq(url)
    with _replacing(target) as partial:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), dsn], env)
        return _check_archive(partial, shown=target)


def restore(url: str, source: Path, *, now: dt.datetime) -> Contents:
    """Replace the database with a checked backup (stop the bot first); say what it holds."""
    source = source.absolute()
    if source.is_dir():
        raise BackupError(f"{source} is a folder, not a backup file")
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    if _backend(url) == "sqlite":
        return _restore_sqlite(sqlite_path(url), source, now=now)
    return _restore_postgresql(url, source)


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_copy(live: Path, target: Path) -> None:
    """The online backup API: a consistent snapshot even while the bot writes."""
    try:
        source = sqlite3.connect(live.as_uri() + "?mode=ro", uri=True)  # as_uri quotes # ? %
        with closing(source), closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            # A backup is one self-contained file: no -wal beside it is needed to read it.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{live} could not be copied: {exc}") from exc


def _check_sqlite(path: Path, *, shown: Path, kind: str) -> Contents:
    """Integrity, a known revision and its tables, and rows per table; `shown` names the file."""
    _require_magic(path, SQLITE_MAGIC, shown=shown, kind=kind)
    try:
        with closing(sqlite3.connect(path)) as conn:  # a path, never parsed as a URI
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            if verdict != [("ok",)]:
                raise BackupError(f"{shown} is damaged ({verdict[0][0]}): it cannot be used")
            tables = {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = _sqlite_revision(conn, tables, shown=shown, kind=kind)
            expected = _check_tables(revision, tables, shown=shown)
            rows = {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    for table in sorted(expected - {VERSION_TABLE})}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown} is not a SQLite {kind}: {exc}") from exc
    return Contents(revision=revision, head=_revisions()[0], rows=rows)


def _sqlite_revision(conn: sqlite3.Connection, tables: set[str], *, shown: Path,
                     kind: str) -> str:
    if VERSION_TABLE not in tables:
        raise BackupError(f"{shown} is not a Grassroots {kind}: it has no schema version")
    versions = [row[0] for row in conn.execute(f"SELECT version_num FROM {VERSION_TABLE}")]
    if len(versions) != 1:
        raise BackupError(f"{shown} is not a Grassroots {kind}: its schema version is unreadable")
    return str(versions[0])


def _restore_sqlite(live: Path, source: Path, *, now: dt.datetime) -> Contents:
    """Check a private copy of `source`, then put it in place of `live` in one rename."""
    with _replacing(live, keep=False) as candidate:
        try:
            shutil.copyfile(source, candidate)
        except OSError as exc:
            raise BackupError(f"{source} cannot be read: {exc.strerror}") from exc
        contents = _check_sqlite(candidate, shown=source, kind="backup")
        with closing(sqlite3.connect(candidate)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")  # no -wal of its own to leave behind
        previous = _swap_sqlite(live, candidate, now=now)
    return Contents(revision=contents.revision, head=contents.head, rows=contents.rows,
                    previous=previous)


def _swap_sqlite(live: Path, new: Path, *, now: dt.datetime) -> Path | None:
    """Rename `new` over `live` while holding it exclusively; keep the previous one beside it."""
    if not live.exists():
        os.replace(new, live)
        return None
    try:
        with closing(sqlite3.connect(live, timeout=1, isolation_level=None)) as conn:
            # Leaving WAL mode needs every other connection closed (so the bot is stopped) and
            # folds the -wal into the file: no -wal of the old database is read with the new.
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode != "delete":
                raise BackupError(f"{live} is in use: stop the bot before restoring")
            conn.execute("BEGIN EXCLUSIVE")  # nobody writes to the old file while it goes
            previous = live.with_name(f"{live.name}.{now:%Y%m%d-%H%M%S}.before-restore")
            os.link(live, previous)
            os.chmod(previous, FILE_MODE)
            os.replace(new, live)
            return previous
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{live} is in use ({exc}): stop the bot before restoring") from exc
    except OSError as exc:
        raise BackupError(f"the database at {live} could not be replaced: {exc}") from exc


# --- PostgreSQL ---------------------------------------------------------------------------


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string for pg_dump/pg_restore and the environment carrying the password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)  # never in argv, where `ps` shows it to all
    dsn = URL.create("postgresql", username=parsed.username, host=parsed.host,
                     port=parsed.port, database=parsed.database, query=parsed.query)
    return dsn.render_as_string(), env


def _check_archive(path: Path, *, shown: Path) -> Contents:
    """A pg_dump archive of a known revision holding that revision's tables."""
    _require_magic(path, PGDUMP_MAGIC, shown=shown, kind="backup")
    unreadable = f"{shown} is not a PostgreSQL backup pg_restore can read"
    listing = _run(["pg_restore", "--list", str(path)], dict(os.environ), failure=unreadable)
    tables = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, re.MULTILINE))
    if VERSION_TABLE not in tables:
        raise BackupError(f"{shown} is not a Grassroots backup: it has no schema version")
    script = _run(["pg_restore", "--data-only", f"--table={VERSION_TABLE}", "--file=-",
                   str(path)], dict(os.environ), failure=unreadable)
    match = re.search(rf"^COPY \S*{VERSION_TABLE} .*? FROM stdin;\n(\S+)\n\\\.$", script,
                      re.MULTILINE)
    if match is None:
        raise BackupError(f"{shown} is not a Grassroots backup: its schema version is unreadable")
    _check_tables(match.group(1), tables, shown=shown)
    return Contents(revision=match.group(1), head=_revisions()[0])


def _restore_postgresql(url: str, source: Path) -> Contents:
    """Restore a checked archive in one transaction, then count the rows it brought."""
    contents = _check_archive(source, shown=source)
    expected = _expected_tables(contents.revision)
    # --clean drops only what the archive holds: tables a newer schema added would stay, their
    # keys blocking the drop of the tables they point at, and the next upgrade would fail.
    newer = sorted(set(Base.metadata.tables) - expected)
    dsn, env = libpq(url)
    _pg_restore(source, dsn, env, drop=newer)
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


# --- what every backup must hold ----------------------------------------------------------


def _revisions() -> list[str]:
    """The revisions the code knows, newest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [revision.revision for revision in script.walk_revisions()]


def _check_tables(revision: str, tables: set[str], *, shown: Path) -> set[str]:
    """The tables `revision` has, all of which `tables` must hold."""
    known = _revisions()
    if revision not in known:
        raise BackupError(f"{shown} has schema version {revision}, which this version of "
                          f"Grassroots (at {known[0]}) does not know: it was made by a newer one")
    expected = _expected_tables(revision)
    missing = sorted(expected - tables)
    if missing:
        raise BackupError(f"{shown} is not a complete Grassroots backup: it lacks the "
                          f"table(s) {', '.join(missing[:5])}")
    return expected


def _expected_tables(revision: str) -> set[str]:
    """The tables of a schema revision: the models' at the head, else the migrations' own."""
    if revision == _revisions()[0]:
        return set(Base.metadata.tables) | {VERSION_TABLE}
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # a scratch schema's migrations are not news
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "schema.db"
        try:
            upgrade(URL.create("sqlite+aiosqlite", database=str(path)).render_as_string(),
                    revision)
        finally:
            alembic_log.setLevel(level)
        with closing(sqlite3.connect(path)) as conn:
            return {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}


# --- files --------------------------------------------------------------------------------


def _require_magic(path: Path, magic: bytes, *, shown: Path, kind: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(len(magic))
    if not head:
        raise BackupError(f"{shown} is empty: it is not a Grassroots {kind}")
    if head != magic:
        what = "SQLite" if magic == SQLITE_MAGIC else "PostgreSQL (pg_dump)"
        raise BackupError(f"{shown} is not a {what} {kind}")


def _refuse_overwriting(target: Path, magic: bytes) -> None:
    """An existing file is replaced only if it is empty or a backup of the same kind."""
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the backup a file name")
    if target.is_file() and target.stat().st_size:
        with target.open("rb") as handle:
            if handle.read(len(magic)) != magic:
                raise BackupError(f"{target} exists and is not a backup: it is left as it "
                                  "is; choose another file name")


@contextmanager
def _replacing(target: Path, *, keep: bool = True) -> Iterator[Path]:
    """A 0600 temporary file beside `target`, renamed over it if `keep` and the block succeed."""
    folder = _folder(target.parent)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror}") from exc
    os.close(handle)  # mkstemp made it 0600: personal data is the bot user's alone
    partial = Path(name)
    try:
        yield partial
        if keep:
            os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _folder(folder: Path) -> Path:
    """The folder, each missing level created 0700."""
    missing = [level for level in (folder, *folder.parents) if not level.exists()]
    try:
        for level in reversed(missing):
            private_dir(level)
    except OSError as exc:
        raise BackupError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder")
    return folder
