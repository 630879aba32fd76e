"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL, async."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.files import make_private
from storage.storable import storable_json, storable_parameters

SQLITE_BUSY_TIMEOUT_MS = 30_000
log = logging.getLogger(__name__)


def dialect_name(session: AsyncSession) -> str:
    """The backend a session talks to: 'sqlite' or 'postgresql'."""
    return session.get_bind().dialect.name


def is_sqlite(url: str) -> bool:
    """Whether a SQLAlchemy URL names a SQLite database."""
    return url.startswith("sqlite")


def _sqlite_files(url: str) -> list[Path]:
    """The database file of a SQLite URL and its WAL companions (none for :memory:)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    path = Path(database)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _keep_private(files: list[Path]) -> None:
    """The database holds every phone number: its files are the bot's alone (0600), whatever
    the umask was when it was created."""
    for path in files:
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                make_private(path)
        except OSError as exc:  # another owner's file: say so, the bot still runs
            log.warning("could not make %s private: %s", path.name, exc)


def _install_sqlite_pragmas(engine: AsyncEngine, *, immediate: bool, url: str) -> None:
    """Set the pragmas on every new DBAPI connection; IMMEDIATE writers never deadlock."""
    files = _sqlite_files(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite's adapter exposes the sqlite3 isolation_level; None lets us issue BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        _keep_private(files)  # the WAL files exist once journal_mode=WAL has run

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another writer got there first.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create an async engine with the settings each backend needs."""
    # Whatever path a string takes to the database, it arrives storable (storage.storable).
    kwargs.setdefault("json_serializer", storable_json)
    kwargs.setdefault("hide_parameters", True)  # an error's message names no personal values
    if is_sqlite(url):
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_pragmas(engine, immediate=immediate, url=url)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", storable_parameters, retval=True)
    return engine


class Database:
    """The database: `write()` for a transaction that changes rows, `read()` for queries."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine_kwargs = engine_kwargs
        self.engine = make_engine(url, immediate=True, **engine_kwargs)
        # SQLite serialises writers; readers get their own engine so a long report
        # never holds the write lock. PostgreSQL needs no such split.
        self.read_engine = (
            make_engine(url, immediate=False, **engine_kwargs) if is_sqlite(url) else self.engine
        )
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite: this process's writers take turns in arrival order (see write()).
        self._turns: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._turn_owner: asyncio.Task[Any] | None = None

    @property
    def is_sqlite(self) -> bool:
        """Whether this is a SQLite database."""
        return is_sqlite(self.url)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on success and rolled back on error.

        On SQLite the process's writers queue here, first come first served, before taking the
        database's write lock: left to SQLite's busy handler, a writer that found the lock taken
        sleeps and retries, and loses every race to writers that follow each other closely
        (a stream of turns committed in groups kept the outbox sender and the schedules waiting
        past their time). Other processes still meet at SQLite's lock and its busy timeout."""
        if not self.is_sqlite:
            async with self._writer() as session, session.begin():
                yield session
            return
        task = asyncio.current_task()
        if task is not None and task is self._turn_owner:  # a write inside a write: SQLite's
            async with self._writer() as session, session.begin():  # lock decides, as before
                yield session
            return
        turn = self._turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        # As long as SQLite's busy handler would wait, then TimeoutError (an OSError, as a
        # locked database is to the callers).
        async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
            await turn.acquire()
        self._turn_owner = task
        try:
            async with self._writer() as session, session.begin():
                yield session
        finally:
            self._turn_owner = None
            turn.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only."""
        async with self._reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
