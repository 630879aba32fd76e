"""A person who has blocked the bot is reported to the office, once per block: Telegram's 403
marks them (people.blocked_at, set only if empty), the office gets who they are and what could
not be delivered through the outbox, and writing to the bot again clears the mark so that a
later block is reported again."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage, Person
from tests.scheduling import local, tick
from tests.test_problem_feedback import solved
from tests.test_problems import _step
from tests.test_schedules import bind_everyone, messages


async def blocked_at(harness, name: str):
    async with harness.db.read() as session:
        query = select(Person.blocked_at).where(Person.name == name)
        return (await session.execute(query)).scalar_one()


def reports(harness, chat_id: int, words: str) -> list[str]:
    return [m for m in messages(harness, chat_id) if words in m]


async def test_the_office_hears_once_per_block_and_again_after_the_person_came_back_in_chinese(
        harness):
    chats = await bind_everyone(harness, language="zh")
    harness.emu.blocked_by(chats["王芳"])
    await tick(harness, local(2026, 11, 28, 7, 0))  # the schedules start
    await tick(harness, local(2026, 11, 28, 8, 0))  # the morning check-in reminder
    await tick(harness)  # the sender takes what the failure queued
    assert await blocked_at(harness, "王芳") is not None
    [report] = reports(harness, chats["吴敏"], "已屏蔽机器人")
    lines = report.splitlines()
    assert lines[0].startswith("🚫 王芳（驻村干部，黄金埠镇/新村）已屏蔽机器人，收不到任何消息。"
                               "未能送达：“")
    assert lines[1] == ("请联系本人在 Telegram 中解除屏蔽，并给机器人发一条消息，"
                        "此后的消息即可送达。")
    # What could not be delivered is the reminder's own first words.
    async with harness.db.read() as session:
        refused = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == chats["王芳"], OutboxMessage.status == "blocked"))
        ).scalars().all()
    assert len(refused) == 1
    assert refused[0].payload["text"][:10] in lines[0]
    # Nobody else hears of it; a second refused message the next morning reports nothing.
    for name in ("张伟", "孙丽", "周杰"):
        assert not reports(harness, chats[name], "已屏蔽机器人")
    await tick(harness, local(2026, 11, 29, 8, 0))
    await tick(harness)
    assert len(reports(harness, chats["吴敏"], "已屏蔽机器人")) == 1
    # She unblocks and writes: the mark is cleared, and the next block is a new report.
    harness.emu.unblocked_by(chats["王芳"])
    wang = harness.emu.user(chats["王芳"], language_code="zh")
    await harness.send(wang, "/me")
    assert await blocked_at(harness, "王芳") is None
    harness.emu.blocked_by(chats["王芳"])
    await tick(harness, local(2026, 11, 30, 8, 0))
    await tick(harness)
    assert len(reports(harness, chats["吴敏"], "已屏蔽机器人")) == 2


async def test_a_team_leader_who_blocked_the_bot_is_reported_in_english(harness):
    chats = await bind_everyone(harness, language="en")
    harness.emu.blocked_by(chats["刘洋"])
    await tick(harness, local(2026, 11, 28, 7, 0))
    await tick(harness, local(2026, 11, 28, 8, 0))
    await tick(harness)
    [report] = reports(harness, chats["吴敏"], "has blocked the bot")
    assert report.startswith("🚫 刘洋 (team leader, 黄金埠镇/东岗村) has blocked the bot and "
                             "receives nothing from it. Not delivered: “")
    assert report.splitlines()[1] == ("Please ask them to unblock the bot in Telegram and write "
                                      "to it once; messages after that reach them.")
    assert await blocked_at(harness, "王芳") is None  # only the one who blocked is marked


async def test_a_notice_refused_inside_a_turn_is_reported_too(harness):
    """The refusal comes back while the cadre's own turn delivers its replies."""
    chats = await bind_everyone(harness, language="zh")
    harness.emu.blocked_by(chats["孙丽"])
    li = harness.emu.user(chats["李娜"], language_code="zh")
    problem_id = await solved(harness, li)
    await _step(harness, li, problem_id, "f", "已向镇里书面报告", addressee="township")
    await tick(harness)
    assert await blocked_at(harness, "孙丽") is not None
    [report] = reports(harness, chats["吴敏"], "已屏蔽机器人")
    assert report.startswith("🚫 孙丽（乡镇工作组组长，黄金埠镇）已屏蔽机器人，收不到任何消息。"
                             f"未能送达：“📨 书面反馈（致乡镇）：问题 #{problem_id}，")
