"""The office's tools in Chromium: the export downloads as the chat's workbook under its Chinese
name, and a notice composed on the page is counted, sent and reported as delivered."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from handlers.export import Job, export_file
from storage import broadcasts
from storage import console as links
from storage.models import Person
from storage.scope import Scope
from tests.console_kit import console_settings
from tests.scheduling import tick
from tests.test_schedules import bind_everyone

pytest_plugins = ("tests.browser",)

NOTICE = "周一上午 9 点在县会议中心开会，请带上工作台账。"


@pytest.fixture
def settings(settings):
    return console_settings(settings)


def _sheets(content: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


async def _sign_in(live_app, page, name: str) -> None:
    """Open a one-time link, as /console sends it; the page signs in by itself."""
    async with live_app.ctx.db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        token = await links.new_link(session, person_id=person.id, now=live_app.ctx.clock.now())
    await page.goto(f"/console/signin?token={token}")
    await page.wait_for_url(re.compile(r"/console/$"))


async def test_the_office_downloads_the_export_and_sends_a_notice_from_the_page(
        harness, live_app, app_page, page_errors):
    chats = await bind_everyone(harness, language="zh")
    await _sign_in(live_app, app_page, "吴敏")
    await app_page.get_by_role("link", name="县活动办工具").click()
    await app_page.wait_for_url(re.compile(r"/console/office$"))

    async with app_page.expect_download() as started:
        await app_page.locator("#export-download").click()
    download = await started.value
    assert download.suggested_filename == "驻村工作台账-全县-11月23日至11月28日.xlsx"
    saved = await download.path()
    job = Job(chat_id=0, person_id=0, role="office", locale="zh", scope=Scope("county"),
              start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 28))
    path = await export_file(live_app.ctx, job)
    assert path is not None
    assert _sheets(saved.read_bytes()) == _sheets(path.read_bytes())
    path.unlink()

    await app_page.locator("textarea[name=text]").fill(NOTICE)
    await app_page.locator("input[name=audience][value=township]").check()
    await app_page.locator("select[name=township]").select_option(label="黄金埠镇")
    await app_page.locator("form.compose button[type=submit]").click()
    send = app_page.locator("#broadcast-send")
    assert await send.inner_text() == "发送给 6 人"
    await send.click()
    await app_page.wait_for_url(re.compile(r"/console/office/broadcasts/1$"))
    assert await app_page.locator("#count-pending .value").inner_text() == "6"

    for _ in range(2):  # deliver; then the author's report
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    for name in ("张伟", "李娜", "王芳", "刘洋", "陈静", "孙丽"):
        assert any(NOTICE in s.plain_text for s in harness.emu.sent_to(chats[name]) if s.text)
    await app_page.reload()
    async with live_app.ctx.db.read() as session:
        counts = await broadcasts.delivery_counts(session, broadcast_id=1)
    for status in ("sent", "blocked", "failed", "pending"):
        shown = await app_page.locator(f"#count-{status} .value").inner_text()
        assert int(shown) == counts[status], status
    assert counts["sent"] == 6
    assert page_errors == []
