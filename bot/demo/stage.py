"""The demo's summary stage: the stage opens, a cadre writes her personal summary of the
campaign from the drafted figures, and the office drafts a notice from /merit into /broadcast."""

from __future__ import annotations

from typing import Any

from bot.demo.speaker import Speaker


async def summary_stage(harness: Any) -> None:
    """Open the stage today, write a personal summary, then draft and send a notice."""
    print("\n== The summary stage, and commendation ==")
    today = harness.clock.now().astimezone(harness.settings.tz).date()
    harness.settings.summary_stage_start = today  # the demo's campaign reaches its last stage
    cadre = Speaker(harness, harness.emu.user(7001, first_name="Li Na", language_code="zh-hans"),
                    "李娜 (cadre)")
    await cadre.send("/final")
    await cadre.send("走访了全村 12 户困难户，调处了 1 起土地纠纷。")
    await cadre.send("先听群众说，再办群众事。")
    await cadre.send("村道年久失修。")
    await cadre.send("争取资金修复村道。")
    await cadre.tap(suffix=":ok")
    office = Speaker(harness, harness.emu.user(7003, first_name="Wu Min", language_code="en"),
                     "Wu Min (office)")
    await office.send("/merit 2026-11-30..2026-12-06")
    await office.tap("Draft commendation")
    if not any(s.buttons for s in office.replies):  # no one on time with the weekly summary
        await office.send("/merit 2026-11-30..2026-12-06")
        await office.tap("Draft criticism")
    await office.tap(suffix=":all")  # the draft is the notice; the office picks the audience
    await office.tap(suffix=":ok")
