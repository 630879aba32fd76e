"""Different chats are processed at the same time; the updates of one chat strictly in order."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from bot.app import PerChatUpdateProcessor
from storage.models import Person, Summary
from tests.harness import ROSTER_HEADER, texts

CHATS = 16
FIRST_USER = 8800
ROSTER = ROSTER_HEADER + "".join(
    f"干部{i},1390001{i:04d},ordinary,县农业局,黄金埠镇,新村,cadre\n" for i in range(CHATS))


def answers(chat: int) -> list[str]:
    """A weekly summary typed without waiting for the bot: the command, then every answer
    (no check-ins this week, so the reason for a short week comes first)."""
    return ["/summary", f"reason {chat}", f"achieved {chat}", f"problem {chat}", f"plan {chat}"]


def record_runs(processor: PerChatUpdateProcessor) -> list[tuple[int, int, float, float]]:
    """(chat, update_id, started, ended) of every update, timed inside the chat's turn."""
    runs: list[tuple[int, int, float, float]] = []
    original = processor.do_process_update
    loop = asyncio.get_running_loop()

    async def timed(update: Any, coroutine: Any) -> None:
        async def run() -> None:
            started = loop.time()
            await coroutine
            runs.append((update.effective_chat.id, update.update_id, started, loop.time()))

        await original(update, run())

    processor.do_process_update = timed  # type: ignore[method-assign]
    return runs


async def bind_cadres(harness) -> list[Any]:
    """Put the roster's cadres on Telegram without the registration dialog."""
    await harness.import_roster(ROSTER)
    users = []
    async with harness.db.write() as session:
        people = (await session.execute(select(Person).order_by(Person.phone))).scalars()
        for number, person in enumerate(people):
            person.telegram_user_id = FIRST_USER + number
            person.telegram_language = "en"
            users.append(harness.emu.user(FIRST_USER + number, first_name=f"C{number}",
                                          language_code="en"))
    return users


def most_at_once(runs: list[tuple[int, int, float, float]]) -> int:
    """The largest number of updates being processed at the same moment."""
    edges = sorted([(start, 1) for _, _, start, _ in runs] + [(end, -1) for *_, end in runs],
                   key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


async def type_summaries(harness, users: list[Any]) -> dict[int, list[int]]:
    """Every cadre types a whole summary at once, interleaved with the others, all queued
    before the bot polls (one getUpdates batch holds them all); their update ids by chat."""
    pushed: dict[int, list[int]] = defaultdict(list)
    for step in range(len(answers(0))):
        for number, user in enumerate(users):
            pushed[user.id].append(user.send(answers(number)[step]))
    for ids in pushed.values():
        await harness.wait_processed(ids[-1], timeout=60)
    return pushed


async def test_chats_run_concurrently_and_each_chats_updates_run_in_order(harness):
    users = await bind_cadres(harness)
    runs = record_runs(harness.application.update_processor)
    pushed = await type_summaries(harness, users)

    by_chat: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for chat, update_id, started, ended in sorted(runs, key=lambda run: run[2]):
        by_chat[chat].append((update_id, started, ended))
    for chat, ids in pushed.items():
        done = by_chat[chat]
        assert [update_id for update_id, _, _ in done] == ids  # started in update_id order
        for (_, _, previous_end), (_, start, _) in itertools.pairwise(done):
            assert start >= previous_end  # and one at a time
    assert most_at_once(runs) >= 4, "different chats were not processed concurrently"

    for number, user in enumerate(users):
        confirm = texts(harness.emu.sent_to(user.id))[-1]
        for field, value in (("Reason for fewer days", "reason"), ("achievements", "achieved"),
                             ("Problems", "problem"), ("Plan", "plan")):
            line = next(row for row in confirm.splitlines() if field.lower() in row.lower())
            assert line.endswith(f"{value} {number}"), confirm


async def test_summaries_saved_at_the_same_moment_each_hold_their_own_answers(harness):
    users = await bind_cadres(harness)
    await type_summaries(harness, users)
    saves = []
    for user in users:
        confirm = [sent for sent in harness.emu.sent_to(user.id) if sent.buttons][-1]
        saves.append(user.press(confirm.callback_data("Save"), message_id=confirm.message_id))
    for update_id in saves:
        await harness.wait_processed(update_id, timeout=60)
    async with harness.db.read() as session:
        rows = (await session.execute(
            select(Summary, Person).join(Person, Person.id == Summary.person_id))).all()
    assert len(rows) == CHATS
    for summary, person in rows:
        number = person.telegram_user_id - FIRST_USER
        assert (summary.short_reason, summary.achievements, summary.problems, summary.plan) == (
            f"reason {number}", f"achieved {number}", f"problem {number}", f"plan {number}")
