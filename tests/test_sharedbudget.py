"""One budget per bot on PostgreSQL: processes sending for the same bot, each with its own
limiter and connections, together keep Telegram's rates (no 429 from an emulator that
answers 429 above 30 a second and 1 a second per chat); a database outage neither stops
the sending nor lets it go above the rate. SQLite deployments are one process: their own
limiter is the budget (tests/test_ratelimit.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select
from telegram import Bot

from common.delivery import send
from common.ratelimit import BROADCAST, PAID, REPLY, RateLimiter
from common.sharedbudget import RETRY_SECONDS, SETTLE_AFTER, DatabaseBudget, bot_id_of
from storage import sendbudget
from storage.db import Database
from storage.models import SendBudget, SendPacing

TEXT = "本周小结截止时间临近。"


def _most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 0.99) for start in times)


async def _together(database: Database, emulator, plans: list[list[tuple[int, int]]],
                    times: list[float], per_chat: dict[int, list[float]]) -> None:
    """The processes' plans at once; one failing stops the others (left running, they went on
    taking from the budget during the next test)."""
    async with asyncio.TaskGroup() as group:
        for plan in plans:
            group.create_task(_process(database, emulator, plan, times, per_chat))


async def _process(database: Database, emulator, sends: list[tuple[int, int]],
                   times: list[float], per_chat: dict[int, list[float]]) -> None:
    """One sending process: its own connections, budget, limiter and Bot."""
    db = Database(database.url, **database.engine_kwargs)
    budget = DatabaseBudget(db, bot_id=bot_id_of(emulator.token), per_second=28.5,
                            per_chat_per_second=1)
    limiter = RateLimiter(per_second=28.5, per_chat_per_second=1, shared=budget)
    bot = Bot(emulator.token, base_url=f"{emulator.base_url}/bot")
    await bot.initialize()
    try:
        for chat, lane in sends:  # as common.delivery sends each outbox row
            await limiter.acquire(chat, lane)
            paid = {"allow_paid_broadcast": True} if lane == PAID else {}
            try:
                outcome = await send(bot, "sendMessage", {"chat_id": chat, "text": TEXT, **paid})
            finally:
                limiter.settle(chat)
            assert outcome.status == "sent", outcome
            times.append(time.monotonic())
            per_chat.setdefault(chat, []).append(time.monotonic())
    finally:
        await bot.shutdown()
        await limiter.close()
        await db.dispose()


def _chats(emulator, first: int) -> list[int]:
    """40 chats the processes share, and the emulator answering 429 above Telegram's rates."""
    chats = [first + n for n in range(40)]
    for chat in chats:
        emulator.user(chat, first_name=f"C{chat}")
    emulator.rate_limit(global_per_sec=30, per_chat_per_sec=1)
    return chats


def _kept_telegrams_rates(emulator, times: list[float], per_chat: dict[int, list[float]]
                          ) -> None:
    assert emulator.count_429 == 0
    assert _most_in_one_second(times) <= 30
    for sent in per_chat.values():  # a burst of 3, then about one a second
        assert _most_in_one_second(sent) <= 3 + 1


class _Counted(list[float]):
    """Times of sends, with an event set once there are `enough`."""

    def __init__(self, enough: int) -> None:
        super().__init__()
        self.enough = enough
        self.reached = asyncio.Event()

    def append(self, value: float) -> None:
        super().append(value)
        if len(self) >= self.enough:
            self.reached.set()


@pytest.mark.parametrize("processes", [2, 4])
async def test_processes_sharing_one_budget_keep_telegrams_rates_together(
        database, emulator, processes):
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    chats = _chats(emulator, 900_000)
    # Each process sends 30 messages, to chats the others send to as well, some twice.
    plans = [[(chats[(n * 7 + p * 3) % 40], BROADCAST if n % 3 else REPLY) for n in range(30)]
             for p in range(processes)]
    times: list[float] = []
    per_chat: dict[int, list[float]] = {}
    await _together(database, emulator, plans, times, per_chat)
    assert len(times) == 30 * processes
    _kept_telegrams_rates(emulator, times, per_chat)
    async with database.read() as session:
        budget = await session.scalar(select(SendBudget))
    assert budget is not None and len(budget.holders) == processes


async def test_a_process_sending_alone_asks_once_a_lease_and_one_starting_waits_it_out(
        database, emulator, monkeypatch):
    # Alone and busy, a process asked the database before each send or two: a third of its
    # CPU an update in the deadline spike, and most of PostgreSQL's. Under a lease it sends
    # on its own limiter; a process that starts meanwhile waits until Telegram has forgotten
    # those sends, and from then on both are counted in the budget again.
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    chats = _chats(emulator, 920_000)
    asked: dict[str, int] = {}
    take = sendbudget.take

    async def counted_take(connection, **kwargs):
        asked[kwargs["holder"]] = asked.get(kwargs["holder"], 0) + 1
        return await take(connection, **kwargs)

    monkeypatch.setattr(sendbudget, "take", counted_take)
    first = [(chats[n % 40], BROADCAST) for n in range(60)]
    second = [(chats[(n * 7) % 40], REPLY) for n in range(30)]
    times = _Counted(30)  # about a second of sending alone
    per_chat: dict[int, list[float]] = {}
    async with asyncio.TaskGroup() as group:
        group.create_task(_process(database, emulator, first, times, per_chat))
        await times.reached.wait()
        alone = dict(asked)
        started = time.monotonic()
        second_times: list[float] = []
        group.create_task(_process(database, emulator, second, second_times, per_chat))
    assert len(alone) == 1 and sum(alone.values()) < 20  # not one round trip a send
    assert len(times) == 60 and len(second_times) == 30
    _kept_telegrams_rates(emulator, times + second_times, per_chat)
    async with database.read() as session:
        budget = await session.scalar(select(SendBudget))
    assert budget is not None and len(budget.holders) == 2
    assert min(second_times) > started + 1.0  # the second waited the lease out


async def test_paid_sends_of_two_processes_keep_each_chats_pace_and_leave_the_bots_second(
        database, emulator):
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    chats = _chats(emulator, 910_000)
    # Each process sends 3 paid messages to each of the 40 chats: 6 to a chat in all.
    plans = [[(chats[n % 40], PAID) for n in range(120)] for _ in range(2)]
    times: list[float] = []
    per_chat: dict[int, list[float]] = {}
    await _together(database, emulator, plans, times, per_chat)
    assert emulator.count_paid == 240 and emulator.count_429 == 0
    assert _most_in_one_second(times) > 30  # faster than the free lane allows
    for sent in per_chat.values():  # a burst of 3, then about one a second, both processes
        assert _most_in_one_second(sent) <= 3 + 1
    async with database.read() as session:
        budget = await session.scalar(select(SendBudget))
    assert budget is not None and budget.sent == [] and len(budget.holders) == 2


async def test_a_database_outage_leaves_each_process_its_share_then_the_budget_again(
        database, emulator):
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    budget = DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=28.5,
                            per_chat_per_second=1)
    assert await budget.take([(1, REPLY)]) == [(0.0, 0.0)]
    budget.processes = 2  # as if another process had shared the budget lately
    working = budget.db
    await budget.close()  # its connection lost: the next take opens one, and cannot
    budget.db = Database("postgresql+asyncpg://postgres@127.0.0.1:9/none")  # refused
    answers = [(await budget.take([(100 + n, BROADCAST)]))[0] for n in range(15)]
    assert answers[:14] == [(0.0, 0.0)] * 14  # half of 29 a second, on its own clock
    assert answers[14][0] > 0.5
    await budget.db.dispose()
    budget.db = working
    await asyncio.sleep(RETRY_SECONDS)  # the database is asked again after this
    assert await budget.take([(200, REPLY)]) == [(0.0, 0.0)]
    async with database.read() as session:
        row = await session.scalar(select(SendBudget))
    # Counted there: the send after the outage (and the first, if not a window old yet); the
    # outage's 14 never reached the database.
    assert row is not None and 1 <= len(row.sent) <= 2
    await budget.close()


async def test_a_process_the_budget_has_not_answered_yet_waits_for_it_not_for_a_guessed_share(
        database, emulator, monkeypatch):
    # Workers started together: each one's first take opens a connection and installs the
    # take on a busy machine. Once that took over the take's second, and each process, counting
    # itself alone, sent at the whole rate on its own clock and earned a 429.
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    install = sendbudget.install

    async def slow_install(connection):
        await asyncio.sleep(1.5)
        await install(connection)

    monkeypatch.setattr(sendbudget, "install", slow_install)
    budget = DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=28.5,
                            per_chat_per_second=1, timeout=1.0)
    try:
        assert await budget.take([(1, REPLY)]) == [(0.0, 0.0)]
    finally:
        await budget.close()
    async with database.read() as session:
        row = await session.scalar(select(SendBudget))
    assert row is not None and len(row.sent) == 1  # counted where the other processes see it
    monkeypatch.setattr(sendbudget, "install", install)

    # A budget that cannot be reached at all at the start: nothing goes on a guessed share.
    budget = DatabaseBudget(Database("postgresql+asyncpg://postgres@127.0.0.1:9/none"),
                            bot_id=bot_id_of(emulator.token), per_second=28.5,
                            per_chat_per_second=1)
    refused = budget.db
    try:
        for n, lane in enumerate([REPLY, BROADCAST, PAID, REPLY]):
            [(bot_wait, chat_wait)] = await budget.take([(100 + n, lane)])
            assert bot_wait > 0.5 and chat_wait == 0  # asked again after RETRY_SECONDS
        budget.db = database
        await asyncio.sleep(RETRY_SECONDS)
        assert await budget.take([(200, REPLY)]) == [(0.0, 0.0)]
    finally:
        await budget.close()
        await refused.dispose()


async def test_a_fast_per_chat_rate_lets_each_chat_send_while_processes_share_the_budget(
        database, emulator):
    # A per-chat rate opened far above Telegram's (as the benchmarks and the transcript tests
    # open the limiter): the chat's slack between processes once asked for more tokens than
    # its bucket holds, and two processes never sent anything.
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    budgets = [DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=100_000,
                              per_chat_per_second=100_000) for _ in range(2)]
    try:
        for n, budget in enumerate(budgets):  # both processes share the bot lately
            assert await budget.take([(500 + n, REPLY)]) == [(0.0, 0.0)]
        sent = asked = 0
        while sent < 10 and asked < 100:
            asked += 1
            [(bot_wait, chat_wait)] = await budgets[asked % 2].take([(600, REPLY)])
            if bot_wait == chat_wait == 0:
                sent += 1
            else:
                assert max(bot_wait, chat_wait) < 0.01
                await asyncio.sleep(max(bot_wait, chat_wait))
        assert sent == 10 and budgets[0].processes == 2
    finally:
        for budget in budgets:
            await budget.close()


async def test_a_send_that_comes_back_late_counts_from_then_for_every_process(
        database, emulator):
    # Telegram counts a send when it arrives. Sends granted at once and stalled on their way
    # (a process's event loop held up, requests waiting for a connection) arrive together
    # with the sends granted after the stall: counted at their grants, they had left the
    # budget's second by then and another process's send was one too many (a 429 in CI).
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    first, other = (DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=28.5,
                                   per_chat_per_second=1, burst=1) for _ in range(2))
    try:
        assert await other.take([(1, REPLY)]) == [(0.0, 0.0)]  # two processes share the bot
        await asyncio.sleep(1.2)  # its send has left the second
        start = time.monotonic()
        chats = [700 + n for n in range(29)]
        for chat in chats:  # a full second's sends, granted at once ...
            assert await first.take([(chat, BROADCAST)]) == [(0.0, 0.0)]
        await asyncio.sleep(0.4 - (time.monotonic() - start))
        for chat in chats:  # ... all come back 0.4 s after the first grant
            first.settle(chat)
        await asyncio.sleep(1.25 - (time.monotonic() - start))
        # The grants are over a second old, the arrivals 0.85 s: the second is still full,
        # and the first chat has earned less than a send (a burst of one) since its send came back.
        [(bot_wait, chat_wait)] = await other.take([(chats[0], REPLY)])
        assert 0.1 < bot_wait <= 0.5
        assert 0.1 < chat_wait <= 0.5
    finally:
        await first.close()
        await other.close()


async def test_sends_asked_together_are_counted_as_if_asked_one_after_another(
        database, emulator):
    # The replies of a group of turns come back together and are asked for in one round
    # trip: each is counted in order, by the same rules, as asked one at a time.
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    asks = [(900, REPLY)] * 4 + [(901 + n, BROADCAST) for n in range(30)]
    bot = bot_id_of(emulator.token)
    together, alone = (DatabaseBudget(database, bot_id=bot + n, per_second=28.5,
                                      per_chat_per_second=1) for n in range(2))
    # Asked without a limiter in front, which keeps the rates while a process sends alone
    # under a lease: here the database's counting is compared, so no lease is asked for.
    alone.leases = False
    try:
        answers = await together.take(asks)
        one_by_one = [(await alone.take([ask]))[0] for ask in asks]
    finally:
        await together.close()
        await alone.close()
    granted = [answer == (0.0, 0.0) for answer in answers]
    assert granted == [answer == (0.0, 0.0) for answer in one_by_one]
    assert granted[:4] == [True, True, True, False]  # the chat's burst of 3
    assert answers[3][0] == 0 and 0.9 < answers[3][1] <= 1.0
    # A reply waits: the broadcasts leave it 2 of the second's 29.
    assert sum(granted[4:]) == 29 - 2 - 3
    assert all(bot_wait > 0 and chat_wait == 0
               for (bot_wait, chat_wait), went in zip(answers[4:], granted[4:], strict=True)
               if not went)
    async with database.read() as session:
        rows = (await session.execute(select(SendBudget).where(
            SendBudget.bot_id.in_([bot, bot + 1])).order_by(SendBudget.bot_id))).scalars().all()
    assert [len(row.sent) for row in rows] == [27, 27]
    assert len(set(rows[0].sent)) == 27  # each counted at its own moment, to settle by


async def test_waiters_that_may_go_together_are_asked_for_in_one_round_trip(
        database, emulator):
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    budget = DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=10_000,
                            per_chat_per_second=10_000)
    asked: list[int] = []
    take = budget.take

    async def counted(sends: list[tuple[int, int]]) -> list[tuple[float, float]]:
        asked.append(len(sends))
        return await take(sends)

    budget.take = counted  # type: ignore[method-assign]
    limiter = RateLimiter(per_second=10_000, per_chat_per_second=10_000, global_burst=100,
                          shared=budget)
    try:
        await asyncio.gather(*(limiter.acquire(1000 + n, REPLY) for n in range(12)))
    finally:
        await limiter.close()
    assert asked == [12]


async def test_a_send_that_comes_back_while_sending_pauses_is_settled_on_its_own(
        database, emulator, caplog):
    if database.is_sqlite:
        pytest.skip("SQLite runs one process: its own limiter is the whole budget")
    budget = DatabaseBudget(database, bot_id=bot_id_of(emulator.token), per_second=28.5,
                            per_chat_per_second=1)
    try:
        assert await budget.take([(1, REPLY)]) == [(0.0, 0.0)]
        async with database.read() as session:
            granted = (await session.scalar(select(SendPacing))).at
        await asyncio.sleep(0.2)  # on its way to Telegram, then back
        with caplog.at_level(logging.INFO, logger="common.sharedbudget"):
            budget.settle(1)
            await asyncio.sleep(SETTLE_AFTER + 0.2)  # no take comes: it settles in a moment
        async with database.read() as session:
            settled = (await session.scalar(select(SendPacing))).at
        assert settled > granted + 0.15  # the chat's pace counts from its return
        assert "settling sends" not in caplog.text
    finally:
        await budget.close()
