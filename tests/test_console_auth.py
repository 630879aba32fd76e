"""The console's sign-in: /console's buttons, the Mini App's initData, the one-time link, the
session cookie, CSRF, sign-out, and who is refused."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest

from bot.console.auth import COOKIE, BadInitData, check_init_data
from storage.models import Person
from storage.people import set_authority
from tests.console_kit import CONSOLE_URL, console, console_settings, forged_init_data, text_of

__all__ = ["console"]  # the fixture, used by name

TOKEN = "123456:TEST-token"
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(settings):
    return console_settings(settings)


def test_init_data_signed_with_the_bot_token_names_its_user():
    data = forged_init_data(TOKEN, user_id=42, signed_at=NOW - dt.timedelta(minutes=5))
    user = check_init_data(data, bot_token=TOKEN, now=NOW, max_age_seconds=3600)
    assert user["id"] == 42 and user["language_code"] == "zh-hans"


@pytest.mark.parametrize("case", ["tampered", "other token", "too old", "no hash", "twice",
                                  "garbage"])
def test_init_data_not_signed_by_telegram_or_too_old_is_refused(case):
    signed_at = NOW - dt.timedelta(hours=2 if case == "too old" else 0)
    data = forged_init_data("999:other" if case == "other token" else TOKEN, user_id=42,
                            signed_at=signed_at, tamper=case == "tampered")
    if case == "no hash":
        data = data.split("&hash=")[0]
    if case == "twice":
        data += "&auth_date=1"
    if case == "garbage":
        data = "%%%not a query"
    with pytest.raises(BadInitData):
        check_init_data(data, bot_token=TOKEN, now=NOW, max_age_seconds=3600)


async def test_console_sends_a_mini_app_button_and_a_one_time_link_that_signs_in_once(
        harness, console):
    user = await harness.register("13800138009", user_id=7009)  # 吴敏, the office
    [reply] = await harness.send(user, "/console")
    assert "驻村工作台" in reply.plain_text and "10 分钟" in reply.plain_text
    [[app_button], [link_button]] = reply.reply_markup["inline_keyboard"]
    assert app_button["text"] == "打开工作台"
    assert app_button["web_app"]["url"] == f"{CONSOLE_URL}/console/app"
    assert link_button["text"] == "在浏览器中登录"
    url = urlparse(link_button["url"])
    assert f"{url.scheme}://{url.netloc}" == CONSOLE_URL and url.path == "/console/signin"
    token = parse_qs(url.query)["token"][0]

    client = console.client
    # Opening the link shows a page that signs in (a previewer fetching it uses nothing up).
    landing = await client.get(f"/console/signin?token={token}")
    assert landing.status_code == 200 and "进入工作台" in landing.text
    signed = await client.post("/console/signin", data={"token": token})
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = signed.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" in cookie and "Path=/console" in cookie and "Max-Age=43200" in cookie
    home = await client.get("/console/")
    assert home.status_code == 200 and "吴敏" in text_of(home.text)

    # The same link again, in another browser: refused, and that browser is not signed in.
    client.cookies.clear()
    again = await client.post("/console/signin", data={"token": token})
    assert again.status_code == 403 and "已用过或已失效" in text_of(again.text)
    assert (await client.get("/console/")).status_code == 401


async def test_a_link_expires_after_ten_minutes_and_a_session_after_its_hours(harness, console):
    await harness.register("13800138009", user_id=7009)
    token = await console.link("吴敏")
    harness.at(harness.clock.now() + dt.timedelta(minutes=10, seconds=1))
    late = await console.client.post("/console/signin", data={"token": token})
    assert late.status_code == 403 and "10 分钟" in text_of(late.text)

    browser = await console.sign_in("吴敏")
    assert (await browser.get("/console/")).status_code == 200
    harness.at(harness.clock.now() + dt.timedelta(hours=12, seconds=1))
    expired = await browser.get("/console/")
    assert expired.status_code == 401 and "/console" in text_of(expired.text)


async def test_the_mini_app_signs_in_with_telegrams_init_data_and_refuses_a_forged_one(
        harness, console):
    await harness.register("13800138001", user_id=7001)  # 张伟, team leader of 新村
    client = console.client
    page = await client.get("/console/app")
    assert page.status_code == 200 and "/console/static/webapp.js" in page.text
    token = harness.settings.telegram_bot_token
    forged = forged_init_data(token, user_id=7001, signed_at=harness.clock.now(), tamper=True)
    refused = await client.post("/console/webapp", data={"init_data": forged})
    assert refused.status_code == 401 and "登录信息无效" in text_of(refused.text)
    assert COOKIE not in refused.headers.get("set-cookie", "")
    stale = forged_init_data(token, user_id=7001,
                             signed_at=harness.clock.now() - dt.timedelta(hours=2))
    assert (await client.post("/console/webapp", data={"init_data": stale})).status_code == 401

    good = forged_init_data(token, user_id=7001, signed_at=harness.clock.now())
    signed = await client.post("/console/webapp", data={"init_data": good})
    assert signed.status_code == 204 and COOKIE in signed.headers["set-cookie"]
    # Telegram Web shows the Mini App in an iframe: its cookie must go there too (https only)
    assert "SameSite=none" in signed.headers["set-cookie"]
    assert "Secure" in signed.headers["set-cookie"]
    home = await client.get("/console/")
    assert home.status_code == 200 and "张伟（新村）" in text_of(home.text)


async def test_unregistered_and_deactivated_people_get_a_refusal_in_their_language(
        harness, console):
    token = harness.settings.telegram_bot_token
    stranger = forged_init_data(token, user_id=999, signed_at=harness.clock.now(),
                                language_code="en")
    page = await console.client.post("/console/webapp", data={"init_data": stranger})
    assert page.status_code == 403 and "You have not registered" in text_of(page.text)

    await harness.register("13800138002", user_id=7002)  # 李娜
    browser = await console.sign_in("李娜")
    home = await browser.get("/console/")  # a cadre's first page is their own week
    assert home.status_code == 303 and home.headers["location"] == "/console/people/me"
    async with harness.db.write() as session:
        person = await session.get(Person, (await console.person("李娜")).id)
        assert person is not None
        set_authority(person, now=harness.clock.now(), active=False)
    refused = await browser.get("/console/")
    assert refused.status_code == 403 and "已在花名册中停用" in text_of(refused.text)
    link = await console.link("李娜")
    again = await console.client.post("/console/signin", data={"token": link})
    assert again.status_code == 403 and "已在花名册中停用" in text_of(again.text)


async def test_signing_out_needs_the_pages_csrf_token_and_ends_the_session(harness, console):
    await harness.register("13800138009", user_id=7009)
    browser = await console.sign_in("吴敏")
    csrf = await console.csrf(browser)
    forged = await browser.post("/console/signout", data={"csrf": "not-it"})
    assert forged.status_code == 403 and "页面已失效" in text_of(forged.text)
    assert (await browser.get("/console/")).status_code == 200
    out = await browser.post("/console/signout", data={"csrf": csrf})
    assert out.status_code == 200 and "已退出" in text_of(out.text)
    assert (await browser.get("/console/")).status_code == 401


async def test_console_without_an_address_says_it_is_not_set_up(harness, console):
    harness.settings.console_url = ""
    user = await harness.register("13800138002", user_id=7002)
    [reply] = await harness.send(user, "/console")
    assert "还没有开通" in reply.plain_text and not reply.reply_markup
