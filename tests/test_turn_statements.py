"""A dialog step asks the database only what it must: the chat's draft once, whether there is
one or not, and its replies stored in one INSERT however many there are, in their order and
once per dedup key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, select

from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import Outgoing
from tests.test_visits import button


async def _statements(harness, step: Callable[[], Awaitable[Any]]) -> tuple[Any, list[str]]:
    """What `step` returned, and the first words of each statement it ran."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(harness.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        result = await step()
    finally:
        event.remove(harness.db.engine.sync_engine, "before_cursor_execute", note)
    return result, seen


async def _cadre(harness):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=6301, language_code="en")


async def test_a_step_reads_its_draft_once_and_stores_two_replies_in_one_insert(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    replies, seen = await _statements(
        harness, lambda: harness.press(user, button(replies, ":masses")))
    assert len(replies) == 2  # the pressed choice marked, and the next question
    assert seen.count("SELECT dialogs.chat_id, dialogs.person_id,") == 1
    assert sum(s.startswith("INSERT INTO outbox") for s in seen) == 1


async def test_a_form_opened_where_none_was_is_looked_for_once_and_not_deleted(harness):
    user = await _cadre(harness)
    replies, seen = await _statements(harness, lambda: harness.send(user, "/visit"))
    assert replies
    assert seen.count("SELECT dialogs.chat_id, dialogs.person_id,") == 1
    assert not any(s.startswith("DELETE FROM dialogs") for s in seen)
    assert sum(s.startswith("INSERT INTO dialogs") for s in seen) == 1


async def test_rows_stored_together_keep_their_order_and_a_repeated_key_is_stored_once(database):
    now = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    messages = [Outgoing(chat_id=7, method="sendMessage", payload={"text": str(n)},
                         dedup_key="once" if n in (1, 3) else None) for n in range(5)]
    async with database.write() as session:
        rows = await outbox.enqueue(session, messages=messages, now=now, claim=True)
    assert [row.payload["text"] for row in rows] == ["0", "1", "2", "4"]
    async with database.read() as session:
        stored = (await session.execute(
            select(OutboxMessage.id, OutboxMessage.payload).order_by(OutboxMessage.id))).all()
    assert [(row.id, row.payload["text"]) for row in rows] == [
        (id, payload["text"]) for id, payload in stored]
    assert all(row.claimed_until == now + outbox.INLINE_CLAIM for row in rows)
