"""The poller confirms a batch once its turns have committed; their replies go out meanwhile,
each chat's still in order."""

from __future__ import annotations


def sends_to(emulator, chat_id: int) -> list:
    return [r for r in emulator.requests
            if r.method == "sendMessage" and r.params.get("chat_id") == chat_id]


async def test_a_reply_slow_to_reach_telegram_holds_up_no_other_chat(harness, emulator):
    slow = emulator.user(8201, first_name="Li", language_code="en")
    quick = emulator.user(8202, first_name="Wang", language_code="en")
    released = emulator.hold("sendMessage", slow.id)
    try:
        first = slow.send("/start")
        await emulator.wait_for(lambda: sends_to(emulator, slow.id))  # on its way, unanswered
        # The batch is confirmed (Telegram drops the update) while its reply is still out:
        # well within the bot's 5 s read timeout, which would end the wait otherwise.
        await emulator.wait_for(
            lambda: first not in [u["update_id"] for u in emulator.updates.pending], within=2)
        quick.send("/start")
        [reply] = await emulator.wait_sent(quick.id, within=2)
        assert "phone" in reply.plain_text.lower()
        assert emulator.sent_to(slow.id) == []
        # The slow chat's next message is fetched, but its turn waits for the first reply
        # (and so does the confirmation of its batch: Telegram's offset is one watermark).
        second = slow.send("/start")
        await emulator.wait_for(lambda: second in emulator.updates.delivered)
        assert len(sends_to(emulator, slow.id)) == 1
    finally:
        released.set()
    replies = await emulator.wait_sent(slow.id, count=2)
    assert len(replies) == 2 and all("phone" in one.plain_text.lower() for one in replies)
    first_answered, second_asked = sends_to(emulator, slow.id)[:2]
    assert first_answered.status == 200 and second_asked.at >= first_answered.at
