"""Consistent copies of the database, and restores that check a file before touching anything.

A backup is written to a private (0600) temporary file beside the target, read back with the
same checks a restore makes, and only then renamed over the target. A restore checks the
candidate (integrity, a schema revision this code knows, that revision's tables) before the
live database is touched: SQLite's file is replaced in one rename, the previous one kept beside
it; PostgreSQL's is restored in one transaction (storage.backup_pg). File names are paths,
never URIs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from storage import backup_pg
from storage.backup_schema import (
    PGDUMP_MAGIC,
    SQLITE_MAGIC,
    VERSION_TABLE,
    BackupError,
    Contents,
    check_tables,
    require_magic,
    revisions,
)
from storage.files import FILE_MODE, private_dir

__all__ = ["BackupError", "Contents", "backup", "restore", "sqlite_path"]


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
        _refuse_overwriting(target, postgresql=False)
        with _replacing(target) as partial:
            _sqlite_copy(live, partial)
            return _check_sqlite(partial, shown=live, kind="database")
    _refuse_overwriting(target, postgresql=True)
    with _replacing(target) as partial:
        return backup_pg.dump(url, partial)


def restore(url: str, source: Path, *, now: dt.datetime) -> Contents:
    """Replace the database with a checked backup (stop the bot first); say what it holds."""
    source = source.absolute()
    if source.is_dir():
        raise BackupError(f"{source} is a folder, not a backup file")
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    if _backend(url) == "sqlite":
        return _restore_sqlite(sqlite_path(url), source, now=now)
    return backup_pg.restore(url, source)


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
    require_magic(path, SQLITE_MAGIC, shown=shown, kind=kind)
    try:
        with closing(sqlite3.connect(path)) as conn:  # a path, never parsed as a URI
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            if verdict != [("ok",)]:
                raise BackupError(f"{shown} is damaged ({verdict[0][0]}): it cannot be used")
            tables = {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = _sqlite_revision(conn, tables, shown=shown, kind=kind)
            expected = check_tables(revision, tables, shown=shown)
            rows = {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    for table in sorted(expected - {VERSION_TABLE})}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown} is not a SQLite {kind}: {exc}") from exc
    return Contents(revision=revision, head=revisions()[0], rows=rows)


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
            _keep(live, previous)
            os.replace(new, live)
            return previous
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{live} is in use ({exc}): stop the bot before restoring") from exc
    except OSError as exc:
        raise BackupError(f"the database at {live} could not be replaced: {exc}") from exc


def _keep(live: Path, previous: Path) -> None:
    """A second name for the database about to be replaced (a 0600 copy where links fail)."""
    try:
        os.link(live, previous)
        os.chmod(previous, FILE_MODE)
    except FileExistsError:
        raise  # the copy below would fail the same way
    except OSError:  # a file system without hard links
        with live.open("rb") as source, os.fdopen(
            os.open(previous, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb"
        ) as copy:
            shutil.copyfileobj(source, copy, 1 << 20)


def _refuse_overwriting(target: Path, *, postgresql: bool) -> None:
    """An existing file is replaced only if it is empty or a Grassroots backup of this kind."""
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the backup a file name")
    if not target.is_file() or not target.stat().st_size:
        return
    with target.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    tables: set[str] = set()
    with contextlib.suppress(BackupError, sqlite3.DatabaseError):
        if postgresql and head.startswith(PGDUMP_MAGIC):
            tables = backup_pg.archive_tables(target, failure="")
        elif not postgresql and head == SQLITE_MAGIC:  # immutable: no lock, no -shm beside it
            with closing(sqlite3.connect(target.as_uri() + "?immutable=1", uri=True)) as conn:
                tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    if VERSION_TABLE not in tables:
        kind = "PostgreSQL" if postgresql else "SQLite"
        raise BackupError(f"{target} exists and is not a Grassroots {kind} backup: it is left "
                          "as it is; choose another file name")


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
