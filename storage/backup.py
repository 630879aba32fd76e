"""Consistent copies of the database: SQLite's online backup, PostgreSQL's pg_dump/pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The copy could not be made or read back."""


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump understands it (no driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database to `target` while the bot may keep running."""
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)  # the online backup API: a snapshot even under writes
        finally:
            copy.close()
            source.close()
        return target
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), libpq_url(url)])
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with a backup (stop the bot first)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if make_url(url).get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        live = sqlite3.connect(sqlite_path(url))
        try:
            backup_db.execute("PRAGMA quick_check")
            with live:
                backup_db.backup(live)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
        finally:
            live.close()
            backup_db.close()
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--dbname", libpq_url(url), str(source)])


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")
