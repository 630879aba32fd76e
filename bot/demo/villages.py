"""The demo's village work: the office marks 新村 for rectification, then its team leader
records a rule established and sets an item of the winter work."""

from __future__ import annotations

from typing import Any

from bot.demo.speaker import Speaker


async def village_work(harness: Any) -> None:
    """Mark a village, record a rule of it, and update one winter item, printed as a chat."""
    print("\n== Village rectification and winter work ==")
    office = Speaker(harness, harness.emu.user(7003, first_name="Wu Min", language_code="en"),
                     "Wu Min (office)")
    await office.send("/rectify")
    await office.tap("黄金埠镇")
    await office.tap("新村")
    await office.tap(suffix=":weak_team")
    await office.tap(suffix=":d:3")
    await office.tap(suffix=":ok")
    leader = Speaker(harness, harness.emu.user(7002, first_name="Zhang Wei",
                                               language_code="en"), "Zhang Wei (team leader)")
    await leader.send("/rectify")
    await leader.tap(suffix=":openness")
    await leader.send("Village accounts and subsidies posted on the board every month.")
    await leader.tap(position=0)  # today
    await leader.tap(suffix=":ok")
    await leader.send("/winter")
    await leader.tap(suffix="wnt:afforestation")
    await leader.send("200")
    await leader.send("120")
    await leader.tap(suffix=":ok")
