"""Files at rest: the live SQLite database holds every phone number, so it is the bot's alone."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_a_new_sqlite_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    path = tmp_path / "live.db"
    old = os.umask(0o022)
    try:
        db = Database(f"sqlite+aiosqlite:///{path}")
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (x)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, tmp_path / "live.db-wal", tmp_path / "live.db-shm"]
        assert all(p.exists() for p in files)
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
        await db.dispose()
    finally:
        os.umask(old)


def test_a_readable_database_left_by_an_older_version_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    upgrade(f"sqlite+aiosqlite:///{path}")  # `grassroots db upgrade` opens it first
    assert _mode(path) == 0o600
