"""/broadcast through the emulator: the dialog in both languages, whom each audience reaches,
500 recipients through Telegram's rate limits, the delivery report, and who may broadcast."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from common.context import AppContext
from common.delivery import Outcome, _record
from common.ratelimit import RateLimiter
from common.settings import Settings
from scheduler.sender import drain
from scheduler.timing import every
from storage import broadcasts, outbox
from storage.models import AuditEntry, Broadcast, OutboxMessage, Person
from tests.harness import ROSTER_HEADER, texts
from tests.scheduling import tick
from tests.test_schedules import bind_everyone
from tests.test_visits import button

QIAN = "钱多,13800138010,ordinary,县教育局,古埠镇,新村,cadre\n"  # a second 新村, in 古埠镇
OFFICE_CHAT = 7009  # 吴敏, the office, in bind_everyone
NOTICE = "Meeting at the county hall, Monday 9:00. Bring your ledger & diary."


async def _office(harness, language: str = "en"):
    chats = await bind_everyone(harness, language=language)
    return chats, harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code=language)


async def _broadcasts(harness) -> list[Broadcast]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Broadcast).order_by(Broadcast.id))).scalars())


def _got(harness, chat_id: int, text: str) -> int:
    return sum(1 for s in harness.emu.sent_to(chat_id) if s.text and text in s.plain_text)


def test_every_runs_on_a_fixed_grid_so_a_tick_before_it_sees_the_same_next_run():
    settings = Settings(_env_file=None)
    each = every(lambda s: 30)
    at = dt.datetime(2026, 11, 28, 2, 0, 10, tzinfo=dt.UTC)
    assert each(settings, at) == at.replace(second=30)
    assert each(settings, at + dt.timedelta(seconds=19)) == at.replace(second=30)
    assert each(settings, at.replace(second=30)) == at.replace(minute=1, second=0)


async def test_the_office_sends_a_notice_to_a_township_in_english(harness):
    chats, office = await _office(harness)
    replies = await harness.send(office, "/broadcast")
    assert "Write the notice" in replies[-1].plain_text
    too_long = await harness.send(office, "x" * 3901)
    assert "3901" in too_long[0].plain_text and "3900" in too_long[0].plain_text
    replies = await harness.send(office, NOTICE)
    assert "Who should receive it?" in replies[-1].plain_text
    replies = await harness.press(office, button(replies, ":township"))
    assert [label for row in replies[-1].buttons for label, _ in row] == ["古埠镇", "黄金埠镇"]
    replies = await harness.press(office, button(replies, replies[-1].callback_data("黄金埠镇")))
    confirm = replies[-1].plain_text
    assert "Recipients: 6 — township 黄金埠镇." in confirm
    assert "Nothing is sent until you confirm" in confirm and NOTICE in confirm
    replies = await harness.press(office, button(replies, ":ok"))
    assert texts(replies)[-1].startswith(
        "📨 Broadcast #1 is on its way to township 黄金埠镇: 6 recipient(s).")
    await drain(harness.ctx, harness.application.bot)
    for name in ("张伟", "李娜", "王芳", "刘洋", "陈静", "孙丽"):
        [notice] = [s for s in harness.emu.sent_to(chats[name]) if s.text]
        assert notice.plain_text == "📢 Notice from the county office\n\n" + NOTICE
    assert all(not harness.emu.sent_to(chats[n]) for n in ("周杰",))
    [entry] = await _audit(harness)
    assert (entry.entity, entry.action, entry.new_value) == ("broadcast", "send",
                                                             "township:黄金埠镇 → 6")


async def _audit(harness) -> list[AuditEntry]:
    async with harness.db.read() as session:
        query = select(AuditEntry).where(AuditEntry.entity == "broadcast")
        return list((await session.execute(query)).scalars())


async def test_the_office_picks_a_village_in_chinese_survives_a_restart_and_cancels(harness):
    _, office = await _office(harness, language="zh-hans")
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, "明天上午九点在村委会开会。")
    replies = await harness.press(office, button(replies, ":village"))
    assert "这个村属于哪个乡镇" in replies[-1].plain_text
    await harness.restart()
    replies = await harness.press(office, button(replies, replies[-1].callback_data("黄金埠镇")))
    assert [label for row in replies[-1].buttons for label, _ in row] == ["东岗村", "新村"]
    replies = await harness.press(office, button(replies, replies[-1].callback_data("新村")))
    confirm = replies[-1].plain_text
    assert "将发送给 3 人：黄金埠镇/新村。" in confirm and "发送范围：某个村" in confirm
    replies = await harness.send(office, "/cancel")
    assert texts(replies) == ["已取消，未保存任何内容。"]
    assert await _broadcasts(harness) == []
    async with harness.db.read() as session:
        queued = await session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.broadcast_id.is_not(None)))
    assert queued.scalar_one() == 0


async def test_each_audience_counts_the_active_registered_people_it_names(harness):
    await bind_everyone(harness)
    await harness.import_roster(ROSTER_HEADER + QIAN)
    async with harness.db.write() as session:  # bind 钱多; unbind 陈静: only bound people count
        await session.execute(update(Person).where(Person.name == "钱多").values(
            telegram_user_id=7010))
        await session.execute(update(Person).where(Person.name == "陈静").values(
            telegram_user_id=None))
        counts = {
            (kind, value): len(await broadcasts.audience(session, kind=kind, value=value))
            for kind, value in [("all", None), ("township", "黄金埠镇"), ("township", "古埠"),
                                ("village", "黄金埠镇/新村"), ("village", "古埠镇/新村"),
                                ("village", "东岗"), ("role", "team_leader"),
                                ("role", "cadre"), ("unit", "县教育局")]}
        with pytest.raises(broadcasts.AmbiguousVillage) as ambiguous:
            await broadcasts.audience(session, kind="village", value="新村")
        with pytest.raises(broadcasts.UnknownAudience):
            await broadcasts.audience(session, kind="unit", value="县气象局")
    assert counts == {
        ("all", None): 8, ("township", "黄金埠镇"): 5, ("township", "古埠"): 1,
        ("village", "黄金埠镇/新村"): 3, ("village", "古埠镇/新村"): 1, ("village", "东岗"): 1,
        ("role", "team_leader"): 2, ("role", "cadre"): 3, ("unit", "县教育局"): 2}
    assert ambiguous.value.candidates == ["古埠镇/新村", "黄金埠镇/新村"]


async def test_the_confirm_screen_counts_each_audience_and_finds_a_unit_by_a_part_of_its_name(
    harness,
):
    chats, office = await _office(harness)
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, NOTICE)
    replies = await harness.press(office, button(replies, ":role"))
    replies = await harness.press(office, button(replies, ":team_leader"))
    assert "Recipients: 2 — every team leader." in replies[-1].plain_text
    replies = await harness.press(office, button(replies, replies[-1].callback_data("Audience")))
    replies = await harness.press(office, button(replies, ":all"))
    assert "Recipients: 8 — everyone." in replies[-1].plain_text
    replies = await harness.press(office, button(replies, replies[-1].callback_data("Audience")))
    replies = await harness.press(office, button(replies, ":unit"))
    replies = await harness.send(office, "气象")
    assert "Not listed?" in replies[-1].plain_text and replies[-1].buttons == []
    replies = await harness.send(office, "/back")
    replies = await harness.send(office, "教育")
    replies = await harness.press(office, button(replies, replies[-1].callback_data("县教育局")))
    assert "Recipients: 1 — people from 县教育局." in replies[-1].plain_text
    replies = await harness.press(office, button(replies, ":ok"))
    assert "on its way to people from 县教育局: 1 recipient(s)." in texts(replies)[-1]
    await drain(harness.ctx, harness.application.bot)
    assert _got(harness, chats["李娜"], NOTICE) == 1 and _got(harness, chats["王芳"], NOTICE) == 0


async def test_a_notice_fills_at_most_one_telegram_message_however_it_is_written(harness):
    chats, office = await _office(harness)
    await harness.send(office, "/broadcast")
    refused = await harness.send(office, "😀" * 2040)  # 2040 characters, 4080 UTF-16 units
    assert ("4080 characters, counting emoji and some rare characters as two or more; "
            "the limit is 3900") in texts(refused)[0]
    replies = await harness.send(office, "好" * 3900)
    replies = await harness.press(office, button(replies, ":role"))
    replies = await harness.press(office, button(replies, ":team_leader"))
    confirm = [s for s in replies if not s.is_edit]
    assert len(confirm) == 2 and "Recipients: 2" in confirm[0].plain_text  # split in two
    await harness.press(office, button(replies, ":ok"))
    await drain(harness.ctx, harness.application.bot)
    [notice] = [s for s in harness.emu.sent_to(chats["张伟"]) if s.text]
    assert notice.plain_text.endswith("好" * 3900)


async def test_a_double_confirm_sends_once(harness):
    chats, office = await _office(harness)
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, NOTICE)
    replies = await harness.press(office, button(replies, ":role"))
    replies = await harness.press(office, button(replies, ":cadre"))
    ok = button(replies, ":ok")
    message_id = replies[-1].message_id
    first = await harness.press(office, ok, message_id=message_id)
    second = await harness.press(office, ok, message_id=message_id)
    assert any("3 recipient(s)" in t for t in texts(first))
    assert not any("on its way" in t for t in texts(second))
    await drain(harness.ctx, harness.application.bot)
    assert len(await _broadcasts(harness)) == 1
    assert [_got(harness, chats[n], NOTICE) for n in ("李娜", "王芳", "陈静")] == [1, 1, 1]


async def test_only_the_office_may_broadcast(harness):
    chats = await bind_everyone(harness)
    for name in ("李娜", "周杰", "孙丽"):
        user = harness.emu.user(chats[name], first_name=name, language_code="en")
        replies = await harness.send(user, "/broadcast")
        assert texts(replies) == [
            "That command is not available to your role. Send /help to see your commands."]
    assert await _broadcasts(harness) == []


async def _queued_to_all(harness):
    """The office's notice to everyone, confirmed and waiting for the outbox sender."""
    chats, office = await _office(harness)
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, NOTICE)
    replies = await harness.press(office, button(replies, ":all"))
    await tick(harness)  # the schedules' first sight
    await harness.press(office, button(replies, ":ok"))
    return chats, office


async def test_the_author_gets_one_report_naming_who_blocked_the_bot(harness):
    chats, office = await _queued_to_all(harness)
    harness.emu.blocked_by(chats["李娜"])
    harness.emu.fail_next("sendMessage", 400, chat_id=chats["张伟"])  # 张伟's fails for good
    for _ in range(3):  # deliver; report; nothing more
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    reports = [t for t in texts(harness.emu.sent_to(OFFICE_CHAT)) if "Delivery report" in t]
    assert reports == [
        "📢 Delivery report of broadcast #1 to everyone, 8 recipient(s):\n✅ delivered: 6\n"
        "🚫 blocked the bot: 1\n    李娜\n⚠️ failed: 1"]
    replies = await harness.send(office, "/broadcast status")
    assert "#1 · Sat 28 Nov 10:00 ·" in replies[-1].plain_text
    assert "6 delivered, 🚫 1 blocked, ⚠️ 1 failed, ⏳ 0 waiting" in replies[-1].plain_text


def _big_roster(size: int) -> str:
    lines = [f"张{i:03d},139{i:08d},ordinary,单位{i % 10},镇{i % 5},村{i % 50},cadre"
             for i in range(size)]
    return ROSTER_HEADER + "\n".join(lines) + "\n"


async def _bind_big(harness, size: int) -> dict[int, int]:
    await harness.import_roster(_big_roster(size))
    chats: dict[int, int] = {}
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            if person.phone.startswith("+86139"):
                number = int(person.phone[-8:])
                person.telegram_user_id = chats[number] = 800_000 + number
                person.telegram_language = "en"
                harness.emu.user(800_000 + number, first_name=person.name)
    return chats


async def to_every_cadre(harness, office) -> list:
    """The office writes NOTICE to every cadre, up to the confirm screen; its replies."""
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, NOTICE)
    replies = await harness.press(office, button(replies, ":role"))
    return await harness.press(office, button(replies, ":cadre"))


async def test_a_broadcast_to_hundreds_through_telegrams_rate_limits_loses_no_one(harness):
    # 500 on SQLite (about 18 s at 28 messages a second); PostgreSQL checks the same with 60.
    size = 500 if harness.db.is_sqlite else 60
    await bind_everyone(harness)
    office = harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code="en")
    chats = await _bind_big(harness, size)
    replies = await to_every_cadre(harness, office)
    # The roster's own cadres 李娜, 王芳 and 陈静 too.
    assert f"Recipients: {size + 3} — every cadre." in replies[-1].plain_text
    blocked = chats[7]
    harness.emu.blocked_by(blocked)
    await tick(harness)  # the schedules' first sight
    await harness.press(office, button(replies, ":ok"))
    harness.emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
    paced = AppContext(settings=harness.settings, db=harness.db, clock=harness.clock,
                       limiter=RateLimiter(per_second=28, per_chat_per_second=1))
    for _ in range(30):
        await drain(paced, harness.application.bot)
        async with harness.db.read() as session:
            if await outbox.depth(session) == 0:
                break
        harness.clock.advance(dt.timedelta(seconds=2))  # due again: the 429s' retry_after
    harness.emu.no_rate_limit()
    for number, chat_id in chats.items():
        assert _got(harness, chat_id, NOTICE) == (0 if chat_id == blocked else 1), number
    # PAID_BROADCAST is off by default: not one request asked for the paid lane.
    assert not any("allow_paid_broadcast" in r.params for r in harness.emu.requests)
    assert harness.emu.count_paid == 0
    async with harness.db.read() as session:
        statuses = dict((await session.execute(
            select(OutboxMessage.status, func.count()).where(
                OutboxMessage.broadcast_id.is_not(None)).group_by(OutboxMessage.status))).all())
    assert statuses == {"sent": size + 2, "blocked": 1}
    for _ in range(2):  # the report; then nothing more
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    reports = [t for t in texts(harness.emu.sent_to(OFFICE_CHAT)) if "Delivery report" in t]
    assert reports == [
        f"📢 Delivery report of broadcast #1 to every cadre, {size + 3} recipient(s):\n"
        f"✅ delivered: {size + 2}\n🚫 blocked the bot: 1\n    张007\n⚠️ failed: 0"]


async def test_what_waits_for_a_cadre_deactivated_meanwhile_is_withdrawn_not_sent(harness):
    chats, office = await _queued_to_all(harness)
    # Before the sender gets to it, 李娜 leaves the campaign.
    replies = await harness.send(office, "/roster off 李")
    replies = await harness.press(office, replies[-1].buttons[0][0][1])
    replies = await harness.press(office, button(replies, ":ok"))
    assert texts(replies)[-1].startswith("🚫 李娜 is deactivated")
    for _ in range(3):  # deliver; report; nothing more
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    to_lina = texts(harness.emu.sent_to(chats["李娜"]))
    assert _got(harness, chats["李娜"], NOTICE) == 0
    assert to_lina[-1].startswith("Your access to the campaign bot has ended")  # still told
    assert _got(harness, chats["王芳"], NOTICE) == 1
    reports = [t for t in texts(harness.emu.sent_to(OFFICE_CHAT)) if "Delivery report" in t]
    assert reports == [
        "📢 Delivery report of broadcast #1 to everyone, 8 recipient(s):\n✅ delivered: 7\n"
        "🚫 blocked the bot: 0\n⚠️ failed: 0\n🗑 withdrawn, the recipient was deactivated: 1"]
    replies = await harness.send(office, "/broadcast status")
    assert "7 delivered, 🚫 0 blocked, ⚠️ 0 failed, ⏳ 0 waiting, 🗑 1 withdrawn " \
        "(deactivated)" in replies[-1].plain_text


PAID_LINE = ("💫 So many recipients go on Telegram's paid lane: faster than the free rate "
             "(about {minutes} min), and it leaves the free rate to the replies to cadres. It "
             "costs up to {stars} Telegram Star(s) from the bot's balance.")


def paid_broadcasts(harness, from_recipients: int) -> None:
    """The deployment pays for Telegram's broadcast lane from this many recipients up."""
    harness.settings.paid_broadcast = True
    harness.settings.paid_broadcast_min_recipients = from_recipients


def most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


async def test_a_large_broadcast_goes_on_the_paid_lane_faster_than_the_free_rate(harness):
    size = 300 if harness.db.is_sqlite else 90
    await bind_everyone(harness)
    office = harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code="en")
    chats = await _bind_big(harness, size)
    paid_broadcasts(harness, size)  # the roster's 3 cadres make it size + 3: above
    replies = await to_every_cadre(harness, office)
    line = PAID_LINE.format(minutes=1, stars=31 if size == 300 else 10)
    assert line in replies[-1].plain_text  # the confirm screen
    await tick(harness)  # the schedules' first sight
    replies = await harness.press(office, button(replies, ":ok"))
    assert texts(replies)[-1].endswith(line)
    harness.emu.rate_limit(global_per_sec=30, per_chat_per_sec=1)
    paced = AppContext(settings=harness.settings, db=harness.db, clock=harness.clock,
                       limiter=RateLimiter(per_second=28.5, per_chat_per_second=1))
    while await drain(paced, harness.application.bot):
        pass
    notices = [r for r in harness.emu.requests if r.method == "sendMessage"
               and r.params["chat_id"] != OFFICE_CHAT and NOTICE[:20] in r.params["text"]]
    assert len(notices) == size + 3 and harness.emu.count_429 == 0
    assert all(r.params.get("allow_paid_broadcast") is True and r.status == 200
               for r in notices)
    assert harness.emu.count_paid == size + 3
    # More than the free lane's 30 in a second, and the emulator's 30 a second refused none.
    assert most_in_one_second([r.at for r in notices]) > 30
    assert all(_got(harness, chat_id, NOTICE) == 1 for chat_id in chats.values())


async def test_a_broadcast_below_the_paid_threshold_goes_at_the_free_rate(harness):
    chats, office = await _office(harness)
    paid_broadcasts(harness, 9)
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, NOTICE)
    replies = await harness.press(office, button(replies, ":all"))
    assert "Recipients: 8" in replies[-1].plain_text and "paid lane" not in replies[-1].plain_text
    replies = await harness.press(office, button(replies, ":ok"))
    assert "paid lane" not in texts(replies)[-1]
    await drain(harness.ctx, harness.application.bot)
    assert _got(harness, chats["王芳"], NOTICE) == 1
    assert not any("allow_paid_broadcast" in r.params for r in harness.emu.requests)


async def test_two_senders_out_of_stars_at_once_tell_the_author_once_and_keep_their_marks(
        harness):
    # Two processes (serve --workers 2) find the Stars gone at the same moment, each recording
    # its own refused rows and falling the broadcast back. Each held its rows' locks and
    # wanted the other's (a deadlock that lost one side's sent marks: messages sent again),
    # and their notices to the author met on one dedup key. Told once, every mark kept.
    paid_broadcasts(harness, 8)
    await _queued_to_all(harness)
    async with harness.db.read() as session:
        rows = list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.broadcast_id == 1).order_by(OutboxMessage.id))).scalars())
    refused = Outcome("retry", retry_after=0, error="Bad Request: BALANCE_TOO_LOW",
                      out_of_stars=True)
    now = harness.clock.now()
    await asyncio.gather(
        _record(harness.ctx, [rows[0], rows[2]], [Outcome("sent"), refused], [rows[0].id], now),
        _record(harness.ctx, [rows[1], rows[3]], [Outcome("sent"), refused], [rows[1].id], now))
    async with harness.db.read() as session:
        told = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedup_key == "broadcast-unpaid:1"))
        left = list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.broadcast_id == 1).order_by(OutboxMessage.id))).scalars())
    assert told == 1
    assert [row.status for row in left[:2]] == ["sent", "sent"]
    assert not any(outbox.goes_paid(row.payload) for row in left if row.status == "pending")


async def test_when_the_stars_run_out_the_rest_goes_free_and_the_author_is_told_once(harness):
    paid_broadcasts(harness, 8)
    harness.emu.stars(0.3)  # three paid messages
    chats, _ = await _queued_to_all(harness)
    for _ in range(3):  # deliver (3 paid, the rest refused); again, free; the report
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    for name, chat_id in chats.items():  # the office's own chat shows the notice confirmed
        assert _got(harness, chat_id, NOTICE) == (3 if chat_id == OFFICE_CHAT else 1), name
    assert harness.emu.count_paid == 3
    told = [t for t in texts(harness.emu.sent_to(OFFICE_CHAT)) if "refused the paid" in t]
    assert told == ["⚠️ Telegram refused the paid lane for broadcast #1: the bot's Stars ran "
                    "out. The 5 message(s) left go at the free rate, about 1 min."]
    refused = [r for r in harness.emu.requests if r.status == 400]
    assert len(refused) == 5 and all(r.params["allow_paid_broadcast"] for r in refused)
    reports = [t for t in texts(harness.emu.sent_to(OFFICE_CHAT)) if "Delivery report" in t]
    assert reports and "✅ delivered: 8" in reports[0]
