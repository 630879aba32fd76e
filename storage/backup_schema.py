"""What every backup must hold: a schema revision this code knows and that revision's tables."""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

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


def revisions() -> list[str]:
    """The revisions the code knows, newest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [revision.revision for revision in script.walk_revisions()]


def check_tables(revision: str, tables: set[str], *, shown: Path) -> set[str]:
    """The tables `revision` has, all of which `tables` must hold."""
    known = revisions()
    if revision not in known:
        raise BackupError(f"{shown} has schema version {revision}, which this version of "
                          f"Grassroots (at {known[0]}) does not know: it was made by a newer one")
    expected = expected_tables(revision)
    missing = sorted(expected - tables)
    if missing:
        raise BackupError(f"{shown} is not a complete Grassroots backup: it lacks the "
                          f"table(s) {', '.join(missing[:5])}")
    return expected


def expected_tables(revision: str) -> set[str]:
    """The tables of a schema revision: the models' at the head, else the migrations' own."""
    if revision == revisions()[0]:
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


def require_magic(path: Path, magic: bytes, *, shown: Path, kind: str) -> None:
    """Refuse a file that does not start as a SQLite database or a pg_dump archive does."""
    with path.open("rb") as handle:
        head = handle.read(len(magic))
    if not head:
        raise BackupError(f"{shown} is empty: it is not a Grassroots {kind}")
    if head != magic:
        what = "SQLite" if magic == SQLITE_MAGIC else "PostgreSQL (pg_dump)"
        raise BackupError(f"{shown} is not a {what} {kind}")
