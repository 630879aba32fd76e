"""The demo's model cases: the cadre submits a good practice with a photo; the office features
it for publicity and the cadre is told."""

from __future__ import annotations

from typing import Any

from bot.demo.speaker import Speaker, show


async def model_cases(harness: Any, user: Any) -> None:
    """李娜 submits a case with /case; Wu Min (the office) opens it from /cases and features it."""
    print("\n== Model cases: /case, then the office's /cases ==")
    li = Speaker(harness, user, "李娜 (cadre)")
    await li.send("/case")
    await li.tap(suffix=":practice")
    await li.send("Evening school for pig farmers")
    await li.send("Every Tuesday evening the county vet teaches 30 households in the village "
                  "hall; two have doubled their litters since.")
    await li.share("a photo of the evening class", user.photo())
    await li.tap(suffix=":d:3")  # Done: one photo is enough here
    await li.tap("Save")
    office = Speaker(harness, harness.emu.user(7003, first_name="Wu Min", language_code="en"),
                     "Wu Min (office)")
    await office.send("/cases")
    await office.tap(position=0)  # the newest case: 李娜's
    before = len(harness.emu.sent_to(user.id))
    await office.tap("Feature for publicity")
    show("(the bot, to 李娜)", "…", harness.emu.sent_to(user.id)[before:])
