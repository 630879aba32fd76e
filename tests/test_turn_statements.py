"""A dialog step asks the database only what it must: the chat's draft once, whether there is
one or not, and its replies stored in one INSERT however many there are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event

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
