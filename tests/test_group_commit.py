"""Group commit: the updates of one getUpdates batch for different chats share a transaction,
each chat still in order; a failing update sends the others of its group back to one
transaction each, losing and doubling nothing; work a turn starts waits for its commit."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import event, func, select
from telegram import Update

import handlers.export
import handlers.router
from bot.app import build_application
from bot.polling import Poller
from common.context import AppContext
from common.i18n import translate
from common.ratelimit import RateLimiter
from handlers.registry import COMMANDS
from storage import people
from storage.db import Database
from storage.models import Dialog, OutboxMessage, Person, ProcessedUpdate
from tests.test_schedules import bind_everyone
from tests.test_update_order import answers, bind_cadres, type_summaries

FAILED = translate("en", "common.error")


class Transactions:
    """The write transactions that recorded update ids: one per group of turns."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.seen: list[Any] = []  # held, so that no id is reused
        event.listen(self.engine, "before_cursor_execute", self._on_statement)

    def _on_statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO processed_updates"):
            transaction = conn.get_transaction()
            if not any(seen is transaction for seen in self.seen):
                self.seen.append(transaction)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_statement)


def assert_summary_confirmed(sent: list[Any], number: int) -> None:
    """The summary's confirm screen holds the chat's own answers, each in its field."""
    confirm = [one for one in sent if one.buttons][-1].text or ""
    for field, value in (("Reason for fewer days", "reason"), ("achievements", "achieved"),
                         ("Problems", "problem"), ("Plan", "plan")):
        line = next(row for row in confirm.splitlines() if field.lower() in row.lower())
        assert line.endswith(f"{value} {number}"), confirm


async def processed(db: Database, update_ids: list[int]) -> list[int]:
    async with db.read() as session:
        return sorted((await session.execute(select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.update_id.in_(update_ids)))).scalars())


async def test_a_batch_of_chats_shares_transactions_and_each_chat_keeps_its_order(harness):
    users = await bind_cadres(harness)
    transactions = Transactions(harness.db)
    try:
        pushed = await type_summaries(harness, users)  # 16 chats x 5 updates, one batch
    finally:
        transactions.close()
    every = [update_id for ids in pushed.values() for update_id in ids]
    # One transaction an update before; now the chats' first updates share one, and so on.
    assert len(transactions.seen) <= len(every) // 4, len(transactions.seen)
    assert await processed(harness.db, every) == sorted(every)
    for number, user in enumerate(users):
        sent = harness.emu.sent_to(user.id)
        assert len(sent) == len(answers(number))  # one answer an update, none twice
        assert_summary_confirmed(sent, number)


def fail_for(monkeypatch, name: str, chat_id: int) -> None:
    """The command `name` raises for one chat and works for the others."""
    command = COMMANDS[name]

    async def broken(turn: Any, args: str) -> None:
        if turn.chat_id == chat_id:
            raise RuntimeError("a defect in one chat's turn")
        await command.run(turn, args)

    monkeypatch.setitem(COMMANDS, name, dataclasses.replace(command, run=broken))


async def test_one_failing_update_sends_its_group_back_to_one_transaction_each(
        harness, monkeypatch, caplog):
    users = await bind_cadres(harness)
    broken, summary = users[5], COMMANDS["summary"]
    fail_for(monkeypatch, "summary", broken.id)
    transactions = Transactions(harness.db)
    try:
        with caplog.at_level(logging.WARNING, logger="handlers.groupcommit"):
            sent = {user.id: user.send("/summary") for user in users}
            for update_id in sent.values():
                await harness.wait_processed(update_id)
    finally:
        transactions.close()
    assert "each runs alone" in caplog.text
    assert len(transactions.seen) > len(users)  # the group rolled back, then one each
    fine = [update_id for user_id, update_id in sent.items() if user_id != broken.id]
    assert await processed(harness.db, list(sent.values())) == sorted(fine)
    first_question = harness.emu.sent_to(users[0].id)[0].text
    for user in users:
        said = [one.text for one in harness.emu.sent_to(user.id)]
        assert said == ([FAILED] if user is broken else [first_question])
    async with harness.db.read() as session:
        dialogs = (await session.execute(select(Dialog.chat_id))).scalars().all()
        rows = (await session.execute(select(func.count(OutboxMessage.id)))).scalar_one()
    assert sorted(dialogs) == sorted(user.id for user in users if user is not broken)
    assert rows == len(users) - 1  # the apology is sent at once, not through the outbox

    # The broken chat's next try, alone, goes through (its draft was never half-saved).
    monkeypatch.setitem(COMMANDS, "summary", summary)
    assert [one.text for one in await harness.send(broken, "/summary")] == [first_question]


def count_exports(monkeypatch) -> list[Any]:
    """The exports started (their building replaced by a note of the job)."""
    started: list[Any] = []

    async def run_export(app: Any, bot: Any, job: Any) -> None:
        started.append(job)

    monkeypatch.setattr(handlers.export, "run_export", run_export)
    return started


async def test_an_export_in_a_group_that_failed_starts_once(harness, monkeypatch):
    chats = await bind_everyone(harness)
    started = count_exports(monkeypatch)
    fail_for(monkeypatch, "checkin", chats["李娜"])
    office = harness.emu.user(chats["吴敏"])
    cadres = [harness.emu.user(chats[name]) for name in ("张伟", "李娜", "王芳")]
    ids = [office.send("/export"), *(cadre.send("/checkin") for cadre in cadres)]
    for update_id in ids:
        await harness.wait_processed(update_id)
    await asyncio.gather(*harness.ctx.tasks)
    assert len(started) == 1 and started[0].chat_id == office.id
    preparing = [one for one in harness.emu.sent_to(office.id) if "Preparing" in (one.text or "")]
    assert len(preparing) == 1, [one.text for one in harness.emu.sent_to(office.id)]
    assert [one.text for one in harness.emu.sent_to(chats["李娜"])] == [FAILED]


async def test_an_export_whose_turn_does_not_commit_never_starts(harness, monkeypatch):
    chats = await bind_everyone(harness)
    started = count_exports(monkeypatch)
    enqueue = handlers.router.outbox.enqueue

    async def refused(session: Any, **kwargs: Any) -> Any:
        if any(message.chat_id == chats["吴敏"] for message in kwargs["messages"]):
            raise RuntimeError("the commit of the export's turn failed")
        return await enqueue(session, **kwargs)

    monkeypatch.setattr(handlers.router.outbox, "enqueue", refused)
    office = harness.emu.user(chats["吴敏"])
    assert [one.text for one in await harness.send(office, "/export")] == [FAILED]
    await asyncio.gather(*harness.ctx.tasks)
    assert started == []


async def worker(stack: AsyncExitStack, db: Database, settings: Any, clock: Any) -> Any:
    """A second process's application on the same database: no poller, no jobs."""
    ctx = AppContext(settings=settings, clock=clock, db=Database(db.url, **db.engine_kwargs),
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    stack.push_async_callback(ctx.db.dispose)
    application = build_application(ctx)
    assert application.job_queue is not None
    application.job_queue.scheduler.remove_all_jobs()
    await application.initialize()
    stack.push_async_callback(application.shutdown)
    stack.push_async_callback(application.post_stop, application)  # the sent marks written
    await application.start()
    stack.push_async_callback(application.stop)
    return application


async def handled(application: Any, batch: list[dict[str, Any]]) -> None:
    """A batch handed to a worker's poller, and every update of it done, its replies sent."""
    poller = Poller(application)
    await poller.handle([Update.de_json(one, application.bot) for one in batch])
    await poller.in_flight.drain()


async def test_two_workers_given_the_same_updates_process_each_once_in_order(
        database, emulator, clock, settings, harness, caplog):
    await harness.stop()  # its poller would take the updates; the two workers get them here
    users = await bind_cadres(harness)
    async with AsyncExitStack() as stack:
        workers = [await worker(stack, database, settings, clock) for _ in range(2)]
        with caplog.at_level(logging.WARNING, logger="handlers.groupcommit"):
            for step in range(len(answers(0))):
                raw = [emulator.updates.history[user.send(answers(number)[step])]
                       for number, user in enumerate(users)]
                # Each worker gets the whole batch (a redelivery racing the first delivery),
                # one in the chats' order and the other in reverse: their groups lock the
                # same people in the same order, so neither waits for the other in a cycle.
                await asyncio.gather(*(
                    handled(application, batch)
                    for application, batch in zip(workers, (raw, raw[::-1]), strict=True)))
        assert "each runs alone" not in caplog.text  # no deadlock sent a group back
    for number, user in enumerate(users):
        sent = emulator.sent_to(user.id)
        assert len(sent) == len(answers(number)), [one.text for one in sent]
        assert_summary_confirmed(sent, number)


async def test_a_group_with_updates_processed_before_runs_only_the_new_ones(
        database, emulator, clock, settings, harness):
    await harness.stop()  # the batches are handed to one worker here
    users = await bind_cadres(harness)
    transactions = Transactions(database)
    try:
        async with AsyncExitStack() as stack:
            application = await worker(stack, database, settings, clock)

            async def handle(batch: list[dict[str, Any]]) -> None:
                await handled(application, batch)

            first = [emulator.updates.history[user.send(answers(number)[0])]
                     for number, user in enumerate(users)]
            await handle(first)
            second = [emulator.updates.history[user.send(answers(number)[1])]
                      for number, user in enumerate(users)]
            # The first batch delivered again (its offset never confirmed), then the second:
            # a group claims its ids in one statement and only the new ones are turns.
            await handle(first + second)
    finally:
        transactions.close()
    assert len(transactions.seen) <= 3 * len(users) // 4, len(transactions.seen)
    every = [one["update_id"] for one in first + second]
    assert await processed(database, every) == sorted(every)
    for user in users:
        said = [one.text for one in emulator.sent_to(user.id)]
        assert len(said) == 2, said  # the question of each step once, none again
        assert said[1] != said[0]


async def test_people_read_for_a_group_are_given_out_once_and_released_ones_read_again(harness):
    users = await bind_cadres(harness)
    now = harness.clock.now()
    statements = Statements(harness.db)
    try:
        async with harness.db.write() as session:
            accounts = [users[0].id, users[1].id, 4242]
            await people.load_bound(session, telegram_user_ids=accounts, lock=True)
            read = len(statements.seen)
            first = await people.by_telegram_id(session, telegram_user_id=users[0].id, lock=True)
            assert first is not None
            assert await people.by_telegram_id(session, telegram_user_id=4242) is None
            assert len(statements.seen) == read  # both from the group's one read
            # An earlier turn of the group releases the second account's person: read again.
            second = (await session.execute(
                select(Person).where(Person.telegram_user_id == users[1].id))).scalar_one()
            await people.deactivate(session, person=second, by=None, now=now)
            assert await people.by_telegram_id(session, telegram_user_id=users[1].id) is None
            # Given out once: a second ask reads the database.
            read = len(statements.seen)
            assert await people.by_telegram_id(session, telegram_user_id=users[0].id) is first
            assert len(statements.seen) == read + 1
    finally:
        statements.close()


class Statements:
    """The SELECTs of people sent to the database."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.seen: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._on_statement)

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT people."):
            self.seen.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_statement)
