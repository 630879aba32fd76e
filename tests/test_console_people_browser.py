"""The people pages and the map in Chromium: a cadre's week renders, and the map with no tiles
set draws a marker per located record, whose popup names the cadre, with no console error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from storage import console as links
from storage.models import Person, Visit
from tests.test_console_people import lina_week, located_records, register

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)


@pytest.fixture
def settings(settings):
    # Served over plain http on the loopback: the cookie is not marked Secure.
    return settings.model_copy(update={"console_url": "http://127.0.0.1",
                                       "outbox_per_chat_per_second": 50.0})


async def sign_in(app_page, live_app: LiveApp, name: str) -> None:
    """Sign in with a one-time link, as a desktop browser does."""
    who = await person_in(live_app, name)
    async with live_app.ctx.db.write() as session:
        token = await links.new_link(session, person_id=who, now=live_app.ctx.clock.now())
    # The link's page presses its button itself.
    await app_page.goto(f"/console/signin?token={token}")
    await app_page.wait_for_url("**/console/")


async def person_in(live_app: LiveApp, name: str) -> int:
    async with live_app.ctx.db.read() as session:
        return (await session.scalars(select(Person.id).where(Person.name == name))).one()


def real(errors: list[str]) -> list[str]:
    # Chromium asks for /favicon.ico, which the app does not have.
    return [e for e in errors if "/favicon.ico" not in e]


async def test_a_week_and_the_map_without_tiles_render_in_chromium(
        harness, live_app: LiveApp, app_page, page_errors):
    await harness.import_roster()
    await register(harness, "周杰")
    lina = await lina_week(harness)
    await located_records(harness)
    await sign_in(app_page, live_app, "周杰")

    await app_page.goto(f"/console/people/{lina.id}")
    assert await app_page.locator("ol.week li.day").count() == 7
    assert "李娜的一周" in await app_page.locator("h1").inner_text()
    # Two days of the week and Saturday's located check-in.
    assert "驻村天数：3" in await app_page.locator("#figures").inner_text()
    # The period selector: last week.
    async with app_page.expect_navigation():
        await app_page.get_by_role("link", name="上周").click()
    assert "week=2026-11-16" in app_page.url
    assert "驻村天数：0" in await app_page.locator("#figures").inner_text()

    await app_page.goto("/console/map")
    markers = app_page.locator("#map path.leaflet-interactive")
    await markers.first.wait_for()
    assert await markers.count() == 4
    assert await app_page.locator("#map .leaflet-tile").count() == 0
    assert await app_page.locator("#points tr.checkin, #points tr.visit").count() == 4
    await app_page.locator("#map path.point.visit").click()
    popup = app_page.locator(".leaflet-popup-content")
    await popup.wait_for()
    text = await popup.inner_text()
    assert "李娜" in text and "走访：访弱势群体（问困难）" in text
    assert await popup.get_by_role("link", name="查看详情").get_attribute("href") == (
        f"/console/records/visits/{(await visit_id(live_app))}")
    assert real(page_errors) == []


async def visit_id(live_app: LiveApp) -> int:
    async with live_app.ctx.db.read() as session:
        return (await session.scalars(select(Visit.id).where(
            Visit.latitude.is_not(None)))).one()

