"""The console's sign-in in a real browser (Chromium): the Mini App's page posts Telegram's
initData from its address and opens the console; a one-time link logs in once; logging out
ends it."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.console_kit import console_settings, forged_init_data

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def test_the_mini_app_opens_the_console_with_telegrams_init_data(
        harness, live_app: LiveApp, app_page, page_errors):
    await harness.import_roster()
    await harness.register("13800138007", user_id=7007)  # 孙丽, township leader of 黄金埠镇
    data = forged_init_data(harness.settings.telegram_bot_token, user_id=7007,
                            signed_at=harness.clock.now())
    # Telegram opens the Mini App's address with its data in the fragment.
    await app_page.goto(f"/console/app#tgWebAppData={quote(data)}&tgWebAppVersion=9.0")
    await app_page.wait_for_url(f"{live_app.url}/console/")
    assert "孙丽（黄金埠镇）" in await app_page.locator("header").inner_text()
    assert page_errors == []


async def test_a_link_logs_in_once_and_logging_out_ends_the_session(
        harness, live_app: LiveApp, app_page, browser, page_errors):
    from storage import console as links
    from tests.browser import open_page

    await harness.import_roster()
    await harness.register("13800138009", user_id=7009)  # 吴敏, the office
    async with live_app.ctx.db.write() as session:
        person = await harness_person(session, "吴敏")
        token = await links.new_link(session, person_id=person, now=harness.clock.now())
    await app_page.goto(f"/console/signin?token={token}")
    await app_page.wait_for_url(f"{live_app.url}/console/")
    assert "吴敏" in await app_page.locator("header").inner_text()
    assert page_errors == []

    # The same link in another browser: refused, in Chinese.
    other_errors: list[str] = []
    async with open_page(browser, other_errors, live_app.url) as other:
        await other.goto(f"/console/signin?token={token}")
        await other.wait_for_selector("h1:has-text('无法打开')")
        assert "已用过或已失效" in await other.locator("main").inner_text()

    await app_page.click("form.signout button")
    await app_page.wait_for_selector("h1:has-text('已退出登录')")
    await app_page.goto("/console/")
    assert "请先登录" in await app_page.locator("main").inner_text()


async def harness_person(session, name: str) -> int:
    from sqlalchemy import select

    from storage.models import Person

    return (await session.scalars(select(Person.id).where(Person.name == name))).one()
