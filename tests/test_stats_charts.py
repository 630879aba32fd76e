"""/stats charts: drawn after the turn's transaction, not holding the database, and sent behind
the text answer in order (at once when the text is out, by the outbox sender while it is not)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading

from matplotlib import image
from sqlalchemy import select

from common.delivery import deliver_rows
from handlers import stats as stats_handler
from reports import stats_charts
from scheduler.sender import drain
from storage import outbox
from storage.models import OutboxMessage, Person
from storage.outbox import Outgoing
from storage.scope import Scope
from tests.test_schedules import bind_everyone
from tests.test_stats import seed, with_charts

MONDAY, TODAY = dt.date(2026, 11, 23), dt.date(2026, 11, 28)


def photos(harness, chat_id: int) -> list[tuple[str, str, bytes]]:
    return [(name, params["caption"], content)
            for chat, name, content, params in harness.emu.documents if chat == chat_id]


async def _outbox(harness, chat_id: int) -> list[tuple[str, str]]:
    """The chat's outbox rows in order: (method, status)."""
    async with harness.db.read() as session:
        rows = (await session.execute(select(OutboxMessage.method, OutboxMessage.status).where(
            OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id))).all()
    return [(method, status) for method, status in rows]


async def test_the_text_comes_from_the_turn_and_the_charts_follow_it_in_order(harness):
    chats = await bind_everyone(harness, language="zh-hans")
    await seed(harness)
    user = harness.emu.user(chats["吴敏"], language_code="zh-hans")
    answer, sent = await with_charts(harness, user, "/stats")
    assert [s.method for s in answer] == ["sendMessage"]
    assert answer[0].plain_text.startswith("数据统计 · 全县 · 11月23日—11月28日")
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto", "sendPhoto"]
    assert [s.message_id for s in sent] == sorted(s.message_id for s in sent)
    assert [(name, caption) for name, caption, _ in photos(harness, chats["吴敏"])] == [
        ("visits.png", "每日走访 · 全县 · 11月23日—11月28日"),
        ("compliance.png", "驻村达标与周小结 · 全县 · 11月23日—11月28日")]
    for _, _, content in photos(harness, chats["吴敏"]):
        assert image.imread(io.BytesIO(content), format="png").shape[1] == 800
    assert await _outbox(harness, chats["吴敏"]) == [
        ("sendMessage", "sent"), ("sendPhoto", "sent"), ("sendPhoto", "sent")]


async def test_a_stop_lets_the_charts_under_way_finish_before_the_database_goes(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    user = harness.emu.user(chats["吴敏"], language_code="en")
    await harness.send(user, "/stats")
    assert harness.ctx.tasks  # drawing after the turn
    await harness.stop()  # as `grassroots run` stops: no task left to write to the database
    assert not harness.ctx.tasks
    assert await _outbox(harness, chats["吴敏"]) == [
        ("sendMessage", "sent"), ("sendPhoto", "sent"), ("sendPhoto", "sent")]


async def test_one_village_gets_its_day_chart_only_in_english(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    user = harness.emu.user(chats["孙丽"], language_code="en")
    answer, sent = await with_charts(harness, user, "/stats 新村")
    assert answer[0].plain_text.startswith("Figures · 新村 · 23 – 28 Nov")
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto"]
    [(name, caption, _)] = photos(harness, chats["孙丽"])
    assert name == "visits.png" and caption.startswith("Visits per day · 新村")


async def test_a_single_day_of_one_village_has_no_chart(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    user = harness.emu.user(chats["周杰"], language_code="en")
    answer, sent = await with_charts(harness, user, "/stats 古埠村 today")
    assert [s.method for s in sent] == [s.method for s in answer] == ["sendMessage"]
    assert not harness.ctx.tasks


async def test_the_charts_are_drawn_after_the_turn_has_let_go_of_the_database(
    harness, monkeypatch
):
    chats = await bind_everyone(harness)
    await seed(harness)
    drawing, release = threading.Event(), threading.Event()
    draw = stats_charts.visits_heatmap

    def held(*args, **kwargs):
        drawing.set()
        release.wait(30)  # a guard against a deadlock, not a timing
        return draw(*args, **kwargs)

    monkeypatch.setattr(stats_charts, "visits_heatmap", held)  # what /stats draws with
    user = harness.emu.user(chats["吴敏"], language_code="en")
    update_id = user.send("/stats")
    try:
        assert await asyncio.to_thread(drawing.wait, 30)
        # While the chart is being drawn, another turn can write, even to the person row
        # the /stats turn locked.
        async with asyncio.timeout(5), harness.db.write() as session:
            person = (await session.execute(
                select(Person).where(Person.name == "吴敏"))).scalar_one()
            person.last_seen_at = harness.clock.now() + dt.timedelta(minutes=5)
    finally:
        release.set()
    await harness.wait_processed(update_id)
    await asyncio.gather(*harness.ctx.tasks)
    await drain(harness.ctx, harness.application.bot)
    sent = harness.emu.sent_to(chats["吴敏"])
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto", "sendPhoto"]


def job_for(chat_id: int, person_id: int) -> stats_handler.ChartJob:
    return stats_handler.ChartJob(
        chat_id=chat_id, person_id=person_id, locale="en", scope=Scope("county"),
        start=MONDAY, end=TODAY, place="the county", visits=1, min_days=5,
        places=(("黄金埠镇", 50.0, 100.0), ("古埠镇", 0.0, 0.0)), today=TODAY)


async def test_charts_drawn_while_the_text_is_on_its_way_wait_behind_it(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    chat, bot = chats["吴敏"], harness.application.bot
    async with harness.db.read() as session:
        wu = (await session.execute(select(Person).where(Person.name == "吴敏"))).scalar_one()
    async with harness.db.write() as session:  # the turn's answer, claimed by its process
        text = await outbox.enqueue(session, messages=[Outgoing(
            chat_id=chat, method="sendMessage", payload={"text": "Figures"})],
            now=harness.clock.now(), claim=True)
    await stats_handler.run_charts(harness.ctx, bot, job_for(chat, wu.id),
                                   lambda: text)
    await drain(harness.ctx, bot)  # the sender keeps the chat's order: nothing goes yet
    assert harness.emu.sent_to(chat) == []
    await deliver_rows(harness.ctx, bot, text)  # the turn's process sends its answer
    await drain(harness.ctx, bot)
    assert [s.method for s in harness.emu.sent_to(chat)] == [
        "sendMessage", "sendPhoto", "sendPhoto"]
    assert [name for name, _, _ in photos(harness, chat)] == ["visits.png", "compliance.png"]


