"""The demo's summary stage: the stage opens, a cadre writes her personal summary of the
campaign from the drafted figures, and the office drafts a notice from /merit into /broadcast."""

from __future__ import annotations

from bot.demo.speaker import Tour


async def summary_stage(tour: Tour) -> None:
    """Open the stage today, write a personal summary, then draft and send a notice."""
    tour.heading("heading.stage")
    harness = tour.harness
    today = harness.clock.now().astimezone(harness.settings.tz).date()
    harness.settings.summary_stage_start = today  # the demo's campaign reaches its last stage
    cadre = tour.person("cadre")
    await cadre.send("/final")
    await cadre.type("final.work")
    await cadre.type("final.lessons")
    await cadre.type("final.problems")
    await cadre.type("final.suggestions")
    await cadre.tap(suffix=":ok")
    office = tour.person("office")
    merit = "/merit " + tour.say("types.last_week")
    await office.send(merit)
    await office.tap(bot="merit.button.commend")
    if not any(s.buttons for s in office.replies):  # no one on time with the weekly summary
        await office.send(merit)
        await office.tap(bot="merit.button.criticise")
    await office.tap(suffix=":all")  # the draft is the notice; the office picks the audience
    await office.tap(suffix=":ok")
