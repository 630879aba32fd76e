"""The overview in a real browser: signed in by a one-time link, the county's page draws its
chart, a click on a column's header sorts the table, a click on a row drills down to the
township, and nothing goes wrong in the page on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from storage import console as links
from storage.models import Person
from tests.console_kit import console_settings
from tests.test_schedules import bind_everyone
from tests.test_stats import seed

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def sign_in(app_page, live_app: LiveApp, name: str) -> None:
    """The person signs in as the browser does: the link's page presses its own button."""
    async with live_app.ctx.db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        token = await links.new_link(session, person_id=person.id,
                                     now=live_app.ctx.clock.now())
    await app_page.goto(f"/console/signin?token={token}")
    await app_page.wait_for_url("**/console/")


async def column(app_page, index: int) -> list[str]:
    return await app_page.locator(f"#places tbody tr td:nth-child({index})").all_inner_texts()


async def test_the_overview_sorts_drills_down_and_draws_its_chart(
        harness, live_app: LiveApp, app_page, page_errors):
    await bind_everyone(harness, "zh")
    await seed(harness)
    await sign_in(app_page, live_app, "吴敏")
    assert app_page.url.endswith("/console/")
    await app_page.wait_for_selector("#places-chart canvas")
    assert await app_page.locator(".crumbs").inner_text() == "全县"
    names = await column(app_page, 1)
    assert sorted(names) == ["古埠镇", "黄金埠镇"]

    # Sorting by cadres: 古埠镇 has 1, 黄金埠镇 5; once ascending, once descending.
    header = app_page.locator("#places thead th").nth(1)
    await header.click()
    assert await column(app_page, 1) == ["古埠镇", "黄金埠镇"]
    assert await header.get_attribute("aria-sort") == "ascending"
    await header.click()
    assert await column(app_page, 1) == ["黄金埠镇", "古埠镇"]
    assert await header.get_attribute("aria-sort") == "descending"

    # A click on the row (not on its link) goes one level down.
    async with app_page.expect_navigation():
        await app_page.locator("#places tbody tr", has_text="黄金埠镇").locator(
            "td").nth(2).click()
    assert "place=township" in app_page.url
    assert (await app_page.locator(".crumbs").inner_text()).split() == ["全县", "›", "黄金埠镇"]
    assert sorted(await column(app_page, 1)) == ["东岗村", "新村"]
    await app_page.wait_for_selector("#places-chart canvas")
    assert page_errors == []
