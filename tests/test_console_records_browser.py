"""The console's Records in a real browser (Chromium): the list filtered by a select and by
words, a record opened from it with its history and its photo, and no console errors."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from tests.console_kit import console_settings
from tests.test_console_records import seed

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)


@pytest.fixture
def settings(settings):
    return console_settings(settings)


def picture() -> bytes:
    """A real JPEG, three pixels wide, that the browser can draw."""
    out = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_the_office_filters_the_records_and_opens_a_visit(
        harness, live_app: LiveApp, app_page, page_errors):
    from sqlalchemy import select

    from storage import console as links
    from storage.models import Person

    await harness.import_roster()
    await harness.register("13800138009", user_id=7009)  # 吴敏, the office
    made = await seed(harness, picture())
    async with live_app.ctx.db.write() as session:
        person = (await session.scalars(select(Person.id).where(Person.name == "吴敏"))).one()
        token = await links.new_link(session, person_id=person, now=harness.clock.now())
    await app_page.goto(f"/console/signin?token={token}")
    await app_page.wait_for_url(f"{live_app.url}/console/")

    await app_page.goto("/console/records")
    rows = app_page.locator("table.records tbody tr")
    assert await rows.count() == 5  # the week's visits in the county
    assert "走访" in await app_page.locator("nav.tabs a.current").inner_text()

    # A select filters at once: the kind of visit.
    await app_page.select_option("select[name=code]", "weak")
    await app_page.wait_for_url("**code=weak**")
    assert await rows.count() == 2
    # Words, with the button.
    await app_page.fill("input[name=q]", "路灯")
    await app_page.click("#record-filters button[type=submit]")
    await app_page.wait_for_url("**q=**")
    assert await rows.count() == 1
    assert "王大爷" in await rows.first.inner_text()

    # A period typed as in the chat: the 26th, when neither weak visit was made.
    await app_page.fill("input[name=typed]", "11月26日")
    await app_page.click("#record-filters button[type=submit]")
    await app_page.wait_for_url("**typed=**")
    assert await rows.count() == 0
    assert "11月26日" in await app_page.locator("select[name=period]").inner_text()
    async with app_page.expect_navigation():
        await app_page.select_option("select[name=period]", "week")  # back to the week
    assert "typed=&" in app_page.url  # the typed period was cleared
    assert await rows.count() == 1

    await rows.first.locator("a").click()
    await app_page.wait_for_url(f"{live_app.url}/console/records/visits/{made['ids']['lamp']}")
    main = await app_page.locator("main").inner_text()
    assert "村口路灯坏了" in main and "访弱势群体（问困难）" in main and "李娜" in main
    photo = app_page.locator("img.photo")
    await photo.wait_for()
    await app_page.wait_for_function(
        "document.querySelector('img.photo').complete")
    assert await photo.evaluate("img => img.naturalWidth") == 3  # fetched through the bot

    # A dispute's page, its steps in the chat's words.
    await app_page.goto(f"/console/records/disputes/{made['ids']['dispute']}")
    steps = await app_page.locator("table.steps").inner_text()
    assert "调解" in steps and "退回" in steps and "先在村里再调解一次" in steps
    assert page_errors == []
