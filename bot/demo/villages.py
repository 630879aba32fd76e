"""The demo's village work: the office marks 新村 for rectification, then its team leader
records a rule established and sets an item of the winter work."""

from __future__ import annotations

from bot.demo.speaker import Tour


async def village_work(tour: Tour) -> None:
    """Mark a village, record a rule of it, and update one winter item, printed as a chat."""
    tour.heading("heading.villages")
    office = tour.person("office")
    await office.send("/rectify")
    await office.tap("黄金埠镇")
    await office.tap("新村")
    await office.tap(suffix=":weak_team")
    await office.tap(bot="form.button.done")
    await office.tap(suffix=":ok")
    leader = tour.person("leader")
    await leader.send("/rectify")
    await leader.tap(suffix=":openness")
    await leader.type("rectify.rule")
    await leader.tap(position=0)  # today
    await leader.tap(suffix=":ok")
    await leader.send("/winter")
    await leader.tap(suffix="wnt:afforestation")
    await leader.send("200")
    await leader.send("120")
    await leader.tap(suffix=":ok")
