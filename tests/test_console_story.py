"""The issue's story, in Chromium: an office worker opens the console from the bot's /console
link, sees the county this week, drills down to a township, a village, its team, one cadre's
week and one of her visits, and sees its photo and history — in Chinese; a team leader who
opens the same page sees only his village, and the county's address is refused to him."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

from tests.console_kit import console_settings
from tests.test_console_records import seed
from tests.test_console_records_browser import picture

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def link_from_the_bot(harness, user) -> str:
    """The path of the one-time link the bot's /console reply carries."""
    [reply] = await harness.send(user, "/console")
    url = urlparse(reply.reply_markup["inline_keyboard"][-1][0]["url"])
    return f"{url.path}?{url.query}"


async def test_the_office_drills_down_to_a_visit_and_a_team_leader_sees_only_his_village(
        harness, live_app: LiveApp, app_page, browser, page_errors):
    from tests.browser import open_page

    await harness.import_roster()
    office = await harness.register("13800138009", user_id=7009)  # 吴敏
    leader = await harness.register("13800138001", user_id=7001)  # 张伟, 新村's team leader
    made = await seed(harness, picture())

    await app_page.goto(await link_from_the_bot(harness, office))
    await app_page.wait_for_url(f"{live_app.url}/console/")
    main = app_page.locator("main")
    assert "全县" in await app_page.locator("nav.crumbs").inner_text()
    assert await app_page.locator("#places tbody tr").count() == 2  # two townships
    assert await app_page.locator("#places-chart canvas").count() == 1

    await app_page.locator("#places tbody tr", has_text="黄金埠镇").click()
    await app_page.wait_for_url("**place=township**")
    await app_page.locator("#places tbody tr", has_text="新村").click()
    await app_page.wait_for_url("**place=village**")
    assert "新村" in await app_page.locator("nav.crumbs").inner_text()

    await app_page.goto("/console/people")  # the team's page, from the people index
    await app_page.get_by_role("link", name="新村").first.click()
    await app_page.wait_for_url("**/console/people/team/**")
    await app_page.get_by_role("link", name="李娜").click()
    await app_page.wait_for_url("**/console/people/*week=**")
    await app_page.locator(f"a[href='/console/records/visits/{made['ids']['lamp']}']").click()
    await app_page.wait_for_url(f"**/console/records/visits/{made['ids']['lamp']}")
    text = await main.inner_text()
    assert "村口路灯坏了" in text and "李娜" in text and "访弱势群体（问困难）" in text
    photo = app_page.locator("img.photo")
    await photo.wait_for()
    assert await photo.evaluate("img => img.complete && img.naturalWidth") == 3
    assert page_errors == []

    # The team leader opens the same first page: his village, nothing above it.
    errors: list[str] = []
    async with open_page(browser, errors, live_app.url) as his:
        await his.goto(await link_from_the_bot(harness, leader))
        await his.wait_for_url(f"{live_app.url}/console/")
        crumbs = await his.locator("nav.crumbs").inner_text()
        assert "新村" in crumbs and "全县" not in crumbs and "黄金埠镇" not in crumbs
        assert errors == []
        county = await his.goto(app_page.url.split("/console/")[0] + "/console/?place=township:"
                                + (await township_id(live_app, "黄金埠镇")))
        assert county is not None and county.status == 403
        assert "不在您的查看范围内" in await his.locator("main").inner_text()


async def township_id(live_app: LiveApp, name: str) -> str:
    from sqlalchemy import select

    from storage.models import Township

    async with live_app.ctx.db.read() as session:
        return str((await session.scalars(select(Township.id).where(Township.name == name)))
                   .one())
