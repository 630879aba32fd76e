"""Item 1's floor: what the pieces of one durable turn cost in CPU, from bare sqlite3 up to a
transaction shaped like a dialog step, through the drivers the bot uses.

Each case runs N times in one process against a migrated database with one bound cadre; the
figure is CPU milliseconds per call (user + system of the whole process, so aiosqlite's worker
thread counts) and wall milliseconds. No Telegram here: the echo bot's whole cost per update
(one update parsed, one sendMessage through python-telegram-bot) is item 1's "echo CPU
ms/update" column, measured by bench/throughput.py.

    .venv/bin/python bench/turn_cost.py [--backend sqlite|postgresql|both] [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import resource
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import fresh_backend, print_machine, table
from sqlalchemy import select

from storage import dialogs, outbox, people, updates
from storage.db import Database
from storage.models import Person

NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
USER = 7_000_001


def cpu() -> float:
    """CPU seconds of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(calls: int, step: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """CPU and wall milliseconds per call, after a warm-up."""
    for _ in range(50):
        await step()
    c0, w0 = cpu(), time.perf_counter()
    for _ in range(calls):
        await step()
    return 1000 * (cpu() - c0) / calls, 1000 * (time.perf_counter() - w0) / calls


def cases(db: Database) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The pieces, smallest first."""
    ids = itertools.count(1)
    by_user = select(Person.id).where(Person.telegram_user_id == USER)

    async def core_select() -> None:
        async with db.engine.connect() as conn:
            (await conn.execute(by_user)).first()

    async def write_tx_one_select() -> None:
        async with db.write() as session:
            (await session.execute(by_user)).first()

    async def write_tx_five_selects() -> None:
        async with db.write() as session:
            for _ in range(5):
                (await session.execute(by_user)).first()

    async def person_orm() -> None:
        async with db.write() as session:
            await people.by_telegram_id(session, telegram_user_id=USER, lock=True)

    async def turn_shaped() -> list[int]:
        # What every dialog step does at least: claim the update, load the person and the
        # draft, store one reply claimed for sending (its "sent" mark is batched: sentmarks).
        async with db.write() as session:
            await updates.mark_processed(session, update_id=next(ids), now=NOW)
            await people.by_telegram_id(session, telegram_user_id=USER, lock=True)
            await dialogs.get(session, chat_id=USER)
            rows = await outbox.enqueue(session, now=NOW, claim=True, messages=[
                outbox.Outgoing(chat_id=USER, method="sendMessage", payload={"text": "ok"})])
        return [row.id for row in rows]

    async def turn_and_mark() -> None:
        # The same with a transaction of its own to mark the reply sent, as before sentmarks.
        sent = await turn_shaped()
        async with db.write() as session:
            await outbox.mark_sent(session, ids=sent, now=NOW)

    return {
        "Core SELECT by Telegram id (autocommit connection)": core_select,
        "write transaction + 1 SELECT": write_tx_one_select,
        "write transaction + 5 SELECTs": write_tx_five_selects,
        "write transaction + the person (ORM, 3 joined places)": person_orm,
        "turn-shaped: 4 statements + a reply (1 transaction)": turn_shaped,
        "the same + its 'sent' mark in a 2nd transaction (before sentmarks)": turn_and_mark,
    }


async def seed(db: Database) -> None:
    """One bound cadre."""
    async with db.write() as session:
        session.add(Person(name="李娜", phone="+8613800138002", rank="ordinary", role="cadre",
                           invite_code="BENCH1", telegram_user_id=USER, active=True,
                           created_at=NOW, updated_at=NOW))


def bare_sqlite(path: str, calls: int) -> tuple[float, float]:
    """The same BEGIN IMMEDIATE, SELECT, COMMIT through the standard library's sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    query = "SELECT id FROM people WHERE telegram_user_id = ?"
    c0, w0 = cpu(), time.perf_counter()
    for _ in range(calls):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(query, (USER,)).fetchone()
        conn.execute("COMMIT")
    conn.close()
    return 1000 * (cpu() - c0) / calls, 1000 * (time.perf_counter() - w0) / calls


async def run(backend_name: str, calls: int) -> list[list[Any]]:
    """Every case on a fresh database of this backend."""
    rows: list[list[Any]] = []
    async with fresh_backend(backend_name) as backend:
        db = backend.database()
        await seed(db)
        if backend_name == "sqlite":
            path = backend.url.split("///", 1)[1]
            c, w = await asyncio.to_thread(bare_sqlite, path, calls)
            rows.append([backend_name, "bare sqlite3: BEGIN IMMEDIATE, SELECT, COMMIT",
                         f"{c:.3f}", f"{w:.3f}"])
        for name, step in cases(db).items():
            c, w = await measure(calls, step)
            rows.append([backend_name, name, f"{c:.3f}", f"{w:.3f}"])
        await db.dispose()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print_machine()
    names = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows: list[list[Any]] = []
    for name in names:
        rows += await run(name, args.calls)
    print(table(["backend", "what", "CPU ms/call", "wall ms/call"], rows))


if __name__ == "__main__":
    asyncio.run(main())
