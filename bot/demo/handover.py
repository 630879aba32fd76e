"""The demo's hand-over: the cadre escalates her dispute to the township (上交乡镇), the
township leader is told at once with 受理 / 退回 and takes it, and the cadre hears who did."""

from __future__ import annotations

from bot.demo.review import _count, _told
from bot.demo.speaker import Tour


async def escalation_handover(tour: Tour) -> None:
    """李娜 escalates the week's dispute with a reason; 孙丽's notice comes at once, she taps
    受理, and 李娜 is told that 孙丽 took it."""
    li, sun = tour.person("cadre"), tour.person("township")
    tour.heading("heading.handover")
    await li.send("/disputes")
    await li.tap(suffix=":et")
    await li.type("handover.reason")
    before_sun = _count(tour, sun)
    await li.tap(suffix=":ok")
    notice = await _told(tour, "township", sun, before_sun)
    before_li = _count(tour, li)
    await sun.tap(bot="handover.button.take", among=notice, old=False)
    await _told(tour, "cadre", li, before_li)
