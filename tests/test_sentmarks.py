"""Turn replies are marked sent a moment after delivery, many turns in one transaction: never
sent twice by the outbox sender, all marked by a clean stop, kept while the database is away."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import event, func, select

from common.sentmarks import SentMarks
from storage.db import Database
from storage.models import OutboxMessage
from tests.scheduling import tick


async def _statuses(harness) -> dict[str, int]:
    async with harness.db.read() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: int(count) for status, count in rows.all()}


async def _cadres(harness, count: int):
    await harness.import_roster()
    return [await harness.register(f"1380013800{2 + i}", user_id=6101 + i, language_code="en")
            for i in range(count)]


def _requests(harness, method: str) -> int:
    return sum(1 for r in harness.emu.requests if r.method == method)


async def test_a_reply_is_sent_once_though_the_sender_runs_before_its_mark(harness):
    [user] = await _cadres(harness, 1)
    before = _requests(harness, "sendMessage")
    await harness.send(user, "/checkin")
    assert _requests(harness, "sendMessage") == before + 1
    # At once, and long after the claim's lease: the sender marks this process's replies
    # before it looks for due ones, so the prompt is not sent again.
    await tick(harness, harness.clock.now() + dt.timedelta(minutes=5))
    assert _requests(harness, "sendMessage") == before + 1
    assert (await _statuses(harness)).get("pending", 0) == 0


async def test_the_marks_of_several_turns_go_in_one_update(harness):
    users = await _cadres(harness, 3)
    harness.ctx.sent.delay = 60.0  # only an explicit flush writes them
    await harness.ctx.sent.flush()
    # The registrations' own timed flush may still be asleep: let it wake and find nothing,
    # or on a loaded machine it writes the first check-in's marks (a flake seen in CI).
    if harness.ctx.sent._task is not None:
        await harness.ctx.sent._task
    updates: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("UPDATE outbox SET status"):
            updates.append(statement)

    event.listen(harness.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for user in users:
            await harness.send(user, "/checkin")
        assert harness.ctx.sent.waiting == 3
        assert (await _statuses(harness)).get("pending", 0) == 3  # claimed, not yet marked
        assert updates == []
        await harness.stop()  # a clean stop writes what waits
    finally:
        event.remove(harness.db.engine.sync_engine, "before_cursor_execute", seen)
    assert len(updates) == 1
    assert (await _statuses(harness)).get("pending", 0) == 0


async def test_marks_wait_while_the_database_is_away_and_are_written_when_it_is_back(
        database, tmp_path):
    now = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    async with database.write() as session:
        session.add_all([OutboxMessage(chat_id=1, method="sendMessage", payload={}, kind="reply",
                                       status="pending", attempts=0, next_attempt_at=now,
                                       created_at=now) for _ in range(2)])
    async with database.read() as session:
        ids = list((await session.execute(select(OutboxMessage.id))).scalars())
    away = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/none.db")
    marks = SentMarks(away, delay=0.01)
    marks.add(ids, now)
    await asyncio.sleep(0.05)
    assert marks.waiting == 2  # refused, kept
    marks.db = database
    assert await marks.flush() and marks.waiting == 0
    async with database.read() as session:
        sent = (await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "sent"))).scalar_one()
    assert sent == 2
    await away.dispose()
