"""The demo's problem ledger: the cadre raises a problem and takes it in hand."""

from __future__ import annotations

from typing import Any

from bot.demo.speaker import Speaker


async def problem_ledger(harness: Any, user: Any) -> None:
    """李娜 raises a problem with /problem, then moves it to "in hand" from /problems."""
    print("\n== The problem ledger: /problem, /problems ==")
    li = Speaker(harness, user, "李娜 (cadre)")
    await li.send("/problem")
    await li.tap(suffix=":infrastructure")
    await li.send("The footbridge to the east hamlet's fields is broken; 12 households use it.")
    await li.tap(suffix=":high")
    await li.tap("Skip")
    await li.tap("Save")
    await li.send("/problems")
    await li.tap(position=0)  # the first, by priority: the footbridge
    await li.tap(suffix=":t")
    await li.send("Rebuild it with the village's labour; the township supplies the timber.")
    await li.send("Wang Jun, village committee")
    await li.tap(position=1)  # in 7 days
    await li.tap("Save")
