"""Telegram updates already processed: the key to exactly-once handling."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_name
from storage.models import ProcessedUpdate


async def mark_processed(session: AsyncSession, *, update_id: int, now: dt.datetime) -> bool:
    """Record an update in the current transaction; False if it was processed before."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedUpdate)
        .values(update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_before(session: AsyncSession, *, before: dt.datetime) -> int:
    """Drop old update ids: Telegram redelivers for at most a day."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
