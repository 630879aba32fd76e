"""The demo's review: the team leader returns the weekly summary with a reason, the cadre
corrects it from the button she is sent, and the leader accepts it."""

from __future__ import annotations

from typing import Any

from bot.demo.speaker import Speaker, Tour, received


def _count(tour: Tour, speaker: Speaker) -> int:
    return len(tour.harness.emu.sent_to(speaker.user.id))


async def _told(tour: Tour, role: str, speaker: Speaker, before: int) -> list[Any]:
    """Wait until the bot has sent what it had to; print what `role` was sent by itself since
    `before` messages."""
    await tour.harness.emu.wait_idle()
    new = tour.harness.emu.sent_to(speaker.user.id)[before:]
    received(tour, role, new)
    return new


async def weekly_review(tour: Tour, before_leader: int) -> None:
    """张伟 reads 李娜's summary (sent to him when she submitted it, after `before_leader`
    messages of his), returns it asking for more on the help she gave; she adds it from the
    button she is sent and submits again; he accepts it."""
    li, zhang = tour.person("cadre"), tour.person("leader")
    notice = await _told(tour, "leader", zhang, before_leader)
    await zhang.tap(bot="review.button.return", among=notice, old=False)
    await zhang.type("review.reason")
    before_li = _count(tour, li)
    await zhang.tap(suffix=":ok")
    returned = await _told(tour, "cadre", li, before_li)
    await li.tap(bot="summary.button.correct", among=returned, old=False)
    await li.tap(bot="summary.label.plan")
    await li.type("summary.plan_again")
    before_zhang = _count(tour, zhang)
    await li.tap(suffix=":ok")
    again = await _told(tour, "leader", zhang, before_zhang)
    before_li = _count(tour, li)
    await zhang.tap(bot="review.button.accept", among=again, old=False)
    await _told(tour, "cadre", li, before_li)
