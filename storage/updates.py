"""Telegram updates already processed: the key to exactly-once handling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_name
from storage.models import ProcessedUpdate

# Every update is claimed: the statement is built once per backend, on the table rather than
# the mapped class (the ORM's bulk path and its flush check buy nothing for one plain row).
_TABLE = cast(Table, ProcessedUpdate.__table__)
_CLAIM = {
    name: insert(_TABLE)
    .values(update_id=bindparam("update_id", type_=_TABLE.c.update_id.type),
            processed_at=bindparam("processed_at", type_=_TABLE.c.processed_at.type))
    .on_conflict_do_nothing(index_elements=["update_id"])
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


# A group of turns claims its updates in one statement; the rows inserted name the new ones.
_CLAIM_ALL = {name: statement.returning(_TABLE.c.update_id)
              for name, statement in _CLAIM.items()}


async def mark_processed(session: AsyncSession, *, update_id: int, now: dt.datetime) -> bool:
    """Record an update in the current transaction; False if it was processed before."""
    statement = _CLAIM["postgresql" if dialect_name(session) == "postgresql" else "sqlite"]
    result = await session.execute(statement, {"update_id": update_id, "processed_at": now})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_all_processed(
    session: AsyncSession, *, update_ids: Sequence[int], now: dt.datetime
) -> set[int]:
    """Record several different updates in the current transaction in one statement; the ids
    of those not processed before."""
    statement = _CLAIM_ALL["postgresql" if dialect_name(session) == "postgresql" else "sqlite"]
    result = await session.execute(
        statement, [{"update_id": update_id, "processed_at": now} for update_id in update_ids])
    return set(result.scalars())


async def forget_before(session: AsyncSession, *, before: dt.datetime) -> int:
    """Drop old update ids: Telegram redelivers for at most a day."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
