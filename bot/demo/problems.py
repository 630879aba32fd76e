"""The demo's problem ledger: the cadre raises a problem and takes it in hand by a deadline she
types as people say it (下周五, next Friday)."""

from __future__ import annotations

from bot.demo.speaker import Tour


async def problem_ledger(tour: Tour) -> None:
    """李娜 raises a problem with /problem, then moves it to "in hand" from /problems."""
    tour.heading("heading.problems")
    li = tour.person("cadre")
    await li.send("/problem")
    await li.tap(suffix=":infrastructure")
    await li.type("problem.description")
    await li.tap(suffix=":high")
    await li.tap(bot="form.button.skip")
    await li.tap(suffix=":ok")
    await li.send("/problems")
    await li.tap(position=0)  # the first, by priority: the footbridge
    await li.tap(suffix=":t")
    await li.type("problem.measures")
    await li.type("problem.who")
    await li.type("problem.deadline")  # 下周五 / next Friday
    await li.tap(suffix=":ok")
