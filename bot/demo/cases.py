"""The demo's model cases: the cadre submits a good practice with a photo; the office features
it for publicity and the cadre is told."""

from __future__ import annotations

from bot.demo.speaker import Tour, received


async def model_cases(tour: Tour) -> None:
    """李娜 submits a case with /case; 吴敏 (the office) opens it from /cases and features it."""
    tour.heading("heading.cases")
    li = tour.person("cadre")
    await li.send("/case")
    await li.tap(suffix=":practice")
    await li.type("case.title")
    await li.type("case.text")
    await li.share("a_class_photo", li.user.photo())
    await li.tap(bot="form.button.done")  # one photo is enough here
    await li.tap(suffix=":ok")
    office = tour.person("office")
    await office.send("/cases")
    await office.tap(position=0)  # the newest case: 李娜's
    sent = tour.harness.emu.sent_to(li.user.id)
    before = len(sent)
    await office.tap(bot="case.button.feature")
    received(tour, "cadre", tour.harness.emu.sent_to(li.user.id)[before:])
