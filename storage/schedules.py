"""Schedule rows: the database, not the timer, says what is due and which process owns it.

As healthchecks does with `next_report_date`: a run is claimed by moving `next_run_at` from the
value that was read to the next one in a conditional UPDATE. One row changed means this process
owns the run; a second process, or the same one after a restart, changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_name
from storage.models import ScheduleState


async def get(session: AsyncSession, *, name: str) -> ScheduleState | None:
    """A schedule's row, if it has one yet."""
    result = await session.execute(select(ScheduleState).where(ScheduleState.name == name))
    return result.scalar_one_or_none()


async def start(session: AsyncSession, *, name: str, next_run_at: dt.datetime) -> None:
    """Give a schedule its first due time, unless another process already did."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    await session.execute(
        insert(ScheduleState)
        .values(name=name, next_run_at=next_run_at, last_run_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )


async def take(
    session: AsyncSession,
    *,
    name: str,
    due_at: dt.datetime,
    next_run_at: dt.datetime,
    now: dt.datetime | None,
) -> bool:
    """Claim the run due at `due_at` by moving the row on; False if someone else did.

    With `now` the run is recorded as done; without, the row is only re-timed."""
    values: dict[str, dt.datetime] = {"next_run_at": next_run_at}
    if now is not None:
        values["last_run_at"] = now
    result = await session.execute(
        update(ScheduleState)
        .where(ScheduleState.name == name, ScheduleState.next_run_at == due_at)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def all_states(session: AsyncSession) -> list[ScheduleState]:
    """Every schedule row, by name (for the office and the tests)."""
    result = await session.execute(select(ScheduleState).order_by(ScheduleState.name))
    return list(result.scalars())
