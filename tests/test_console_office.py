"""The office's tools in the console: the /export workbook downloaded, a broadcast counted,
sent through the outbox and watched, the roster listed and imported — the chat's own code each
time — and nobody but the office let in."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import func, select

from common.rosternames import import_report, roster_names
from handlers.export import Job, export_file
from storage import broadcasts, roster
from storage.models import Broadcast, Person, Visit
from storage.people import set_authority
from storage.scope import Scope
from tests.console_kit import console, console_settings, text_of
from tests.harness import ROSTER_HEADER
from tests.scheduling import tick
from tests.test_schedules import bind_everyone

__all__ = ["console"]  # the fixture, used by name

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
# Every role but the office's: a team leader, a cadre, a township leader, the leading group, and
# 王芳 made a supervisor.
OTHERS = ("张伟", "李娜", "孙丽", "周杰", "王芳")
EXPORT = "/console/office/export.xlsx?start=2026-11-23&end=2026-11-28"


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def _everyone(harness, language: str = "zh") -> dict[str, int]:
    """Everyone on the roster registered (bound to a Telegram account)."""
    return await bind_everyone(harness, language=language)


async def _set(console, name: str, **fields) -> None:
    async with console.ctx.db.write() as session:
        person = await session.get(Person, (await console.person(name)).id)
        assert person is not None
        set_authority(person, now=console.ctx.clock.now(),
                      **{k: v for k, v in fields.items() if k == "active"})
        for key, value in fields.items():
            if key != "active":
                setattr(person, key, value)


async def _visits(console) -> None:
    """A few visits in 新村 and 东岗村, so the workbook has rows to compare."""
    async with console.ctx.db.write() as session:
        for name, kind, day in (("李娜", "weak", 24), ("王芳", "all", 25), ("陈静", "weak", 26)):
            person = (await session.scalars(select(Person).where(Person.name == name))).one()
            session.add(Visit(person_id=person.id, village_id=person.village_id,
                              township_id=person.township_id, day=dt.date(2026, 11, day),
                              kind=kind, heard="听取意见", wants="修路", created_at=NOW))


def _sheets(content: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


async def test_only_the_office_may_open_the_tools_or_post_to_them(harness, console):
    await _everyone(harness)
    async with console.ctx.db.write() as session:
        person = await session.get(Person, (await console.person("王芳")).id)
        assert person is not None
        set_authority(person, now=harness.clock.now(), role="supervisor", village_id=None,
                      township_id=None)
    roles = {(await console.person(name)).role for name in OTHERS}
    assert roles == {"team_leader", "cadre", "township_leader", "leading_group", "supervisor"}
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office")
    gets = ("/console/office", "/console/office/roster", EXPORT, "/console/office/broadcasts/1")
    for name in OTHERS:
        browser = await console.sign_in(name)
        own = await console.csrf(browser)
        for path in gets:
            refused = await browser.get(path)
            assert refused.status_code == 403, (name, path)
            assert "只有县活动办可以使用" in text_of(refused.text)
        preview = await browser.post("/console/office/broadcast/preview",
                                     data={"csrf": own, "text": "通知", "audience": "all"})
        send = await browser.post("/console/office/broadcast",
                                  data={"csrf": own, "text": "通知", "kind": "all"})
        upload = await browser.post("/console/office/roster", data={"csrf": own},
                                    files={"file": ("roster.csv", ROSTER_HEADER.encode())})
        assert [preview.status_code, send.status_code, upload.status_code] == [403] * 3, name
        assert "县活动办工具" not in text_of(
            (await browser.get("/console/", follow_redirects=True)).text)
    home = await office.get("/console/office")
    assert home.status_code == 200 and "导出台账" in text_of(home.text)
    assert "/console/office" in (await office.get("/console/")).text  # the menu offers it
    # The office's own token does not carry another person's post either.
    forged = await office.post("/console/office/broadcast",
                               data={"csrf": "not-it", "text": "通知", "kind": "all"})
    assert forged.status_code == 403 and csrf
    async with console.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_the_export_is_the_chats_workbook_under_the_chats_name(harness, console):
    await _everyone(harness)
    await _visits(console)
    # A Chinese name travels as RFC 5987's filename*; an English one is plain ASCII.
    disposition = {"zh": "attachment; filename*=utf-8''" + quote(
                       "驻村工作台账-全县-11月23日至11月28日.xlsx"),
                   "en": 'attachment; filename="campaign-records-county-23Nov-28Nov.xlsx"'}
    for locale in ("zh", "en"):  # one campaign, the office in each language in turn
        await _set(console, "吴敏", locale=locale)
        office = await console.sign_in("吴敏")
        got = await office.get(EXPORT)
        assert got.status_code == 200, locale
        assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
        job = Job(chat_id=0, person_id=0, role="office", locale=locale, scope=Scope("county"),
                  start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 28))
        assert got.headers["content-disposition"] == disposition[locale]
        path = await export_file(console.ctx, job)
        assert path is not None
        expected = _sheets(path.read_bytes())
        path.unlink()
        downloaded = _sheets(got.content)
        assert downloaded == expected, locale
        visits_sheet = next(rows for title, rows in downloaded.items() if len(rows) == 4
                            and any("修路" in str(v) for row in rows for v in row))
        assert len(visits_sheet) == 4  # the header and the three visits


async def test_a_village_export_holds_only_that_village_and_a_bad_period_is_refused(
        harness, console):
    await _everyone(harness)
    await _visits(console)
    office = await console.sign_in("吴敏")
    page = await office.get("/console/office")
    [code] = set(re.findall(r'<option value="(v\d+)">黄金埠镇/新村</option>', page.text))
    got = await office.get(f"{EXPORT}&place={code}")
    assert got.status_code == 200
    lina = await console.person("李娜")
    job = Job(chat_id=0, person_id=0, role="office", locale="zh",
              scope=Scope("village", "新村", lina.township_id, lina.village_id),
              start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 28))
    assert quote("驻村工作台账-新村-11月23日至11月28日.xlsx") in got.headers["content-disposition"]
    path = await export_file(console.ctx, job)
    assert path is not None
    assert _sheets(got.content) == _sheets(path.read_bytes())
    path.unlink()
    held = str(_sheets(got.content))
    assert "李娜" in held and "陈静" not in held  # 陈静 visits in 东岗村

    reversed_period = await office.get("/console/office/export.xlsx?start=2026-11-28"
                                       "&end=2026-11-23")
    assert reversed_period.status_code == 400
    assert "开始日期不能晚于结束日期" in text_of(reversed_period.text)
    far = await office.get("/console/office/export.xlsx?start=2020-01-01&end=2026-11-23")
    assert far.status_code == 400
    assert "2025年11月22日（周六）至2027年11月29日（周一）" in text_of(far.text)
    whole = await office.get("/console/office/export.xlsx")  # as /export: the campaign so far
    county = quote("驻村工作台账-全县-11月23日至11月28日.xlsx")
    assert county in whole.headers["content-disposition"]
    unknown = await office.get(f"{EXPORT}&place=v999999")
    assert unknown.status_code == 404


async def test_a_broadcast_is_counted_sent_through_the_outbox_and_its_report_watched(
        harness, console):
    chats = await _everyone(harness)
    harness.emu.blocked_by(chats["李娜"])
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office")
    page = await office.get("/console/office")
    [township] = set(re.findall(r'<option value="(t\d+)">黄金埠镇</option>', page.text))
    notice = "周一上午 9 点在县会议中心开会，请带上工作台账。"
    preview = await office.post("/console/office/broadcast/preview", data={
        "csrf": csrf, "text": notice, "audience": "township", "township": township})
    shown = text_of(preview.text)
    assert preview.status_code == 200
    assert "将发送给 6 人：黄金埠镇。" in shown and "发送给 6 人" in shown and notice in shown
    async with console.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0

    fields = dict(re.findall(r'name="(text|kind|value|after)" value="([^"]*)"', preview.text))
    assert fields["after"] == "0"
    sent = await office.post("/console/office/broadcast", data={"csrf": csrf, **fields})
    assert sent.status_code == 303 and sent.headers["location"] == "/console/office/broadcasts/1"
    # The same confirm page sent again (a double tap) sends nothing more.
    again = await office.post("/console/office/broadcast", data={"csrf": csrf, **fields})
    assert again.status_code == 303 and again.headers["location"] == sent.headers["location"]
    async with console.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 1
    waiting = text_of((await office.get("/console/office/broadcasts/1")).text)
    assert "待发 6" in waiting and "已送达 0" in waiting

    for _ in range(2):  # deliver; then the author's report
        await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    for name in ("张伟", "王芳", "刘洋", "陈静", "孙丽"):
        assert any(notice in s.plain_text for s in harness.emu.sent_to(chats[name]) if s.text)
    outside = {name: [s.plain_text for s in harness.emu.sent_to(chats[name]) if s.text
                      and s.plain_text.startswith("📢 县活动办通知")] for name in ("周杰", "吴敏")}
    assert outside == {"周杰": [], "吴敏": []}
    async with console.ctx.db.read() as session:
        counts = await broadcasts.delivery_counts(session, broadcast_id=1)
    assert counts == {"pending": 0, "sent": 5, "blocked": 1, "failed": 0, "withdrawn": 0}
    report = await office.get("/console/office/broadcasts/1")
    said = text_of(report.text)
    assert "已送达 5" in said and "已屏蔽机器人 1" in said and "发送失败 0" in said
    assert "待发 0" in said and "李娜" in said and 'http-equiv="refresh"' not in report.text
    # The chat's report to the author says the same.
    reports = [s.plain_text for s in harness.emu.sent_to(chats["吴敏"]) if s.text
               and "送达报告" in s.plain_text]
    assert reports and "已送达：5" in reports[0] and "已屏蔽机器人：1" in reports[0]
    missing = await office.get("/console/office/broadcasts/2")
    assert missing.status_code == 404 and "没有这条通知" in text_of(missing.text)
    assert (await office.get(f"/console/office/broadcasts/{2**40}")).status_code == 422
    home = text_of((await office.get("/console/office")).text)
    assert "第 1 号通知" in home and "黄金埠镇 6 5 1 0 0" in home


async def test_the_confirm_page_states_the_paid_lane_and_its_stars_for_a_large_broadcast(
        harness, console):
    await _everyone(harness)
    console.ctx.settings.paid_broadcast = True
    console.ctx.settings.paid_broadcast_min_recipients = 3
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office")
    large = await office.post("/console/office/broadcast/preview",
                              data={"csrf": csrf, "text": "通知", "audience": "role",
                                    "role": "cadre"})
    assert ("💫 收件人较多，将使用 Telegram 的付费发送，比免费速度（约需 1 分钟）快，"
            "也不占用回复干部的额度。最多花费 1 颗 Telegram 星星，从机器人的余额中扣除。"
            ) in text_of(large.text)
    small = await office.post("/console/office/broadcast/preview",
                              data={"csrf": csrf, "text": "通知", "audience": "unit",
                                    "unit": "财政"})
    assert "将发送给 1 人" in text_of(small.text) and "付费发送" not in text_of(small.text)


async def test_a_broadcast_to_a_role_or_unit_and_a_notice_too_long_or_empty(harness, console):
    await _everyone(harness)
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office")

    async def preview(**fields):
        return await office.post("/console/office/broadcast/preview", data={"csrf": csrf,
                                                                           **fields})

    async with console.ctx.db.read() as session:
        cadres = len(await broadcasts.audience(session, kind="role", value="cadre"))
    assert cadres >= 3
    role = text_of((await preview(text="通知", audience="role", role="cadre")).text)
    assert f"将发送给 {cadres} 人：全体驻村干部。" in role
    unit = text_of((await preview(text="通知", audience="unit", unit="财政")).text)
    assert "将发送给 1 人：县财政局派出的人员。" in unit
    nobody = await preview(text="通知", audience="unit", unit="没有这个单位")
    assert nobody.status_code == 400 and "没有找到名称含“没有这个单位”" in text_of(nobody.text)
    empty = await preview(text="   ", audience="all")
    assert empty.status_code == 400 and "请填写内容。" in text_of(empty.text)
    long = await preview(text="长" * 3901, audience="all")
    assert long.status_code == 400 and "3900" in text_of(long.text)
    no_village = await preview(text="通知", audience="village")
    assert no_village.status_code == 400 and "请选择村。" in text_of(no_village.text)


async def test_a_send_rechecks_the_role_in_its_own_transaction(harness, console):
    await _everyone(harness)
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office")
    async with console.ctx.db.write() as session:
        person = await session.get(Person, (await console.person("吴敏")).id)
        assert person is not None
        set_authority(person, now=harness.clock.now(), role="leading_group")
    refused = await office.post("/console/office/broadcast",
                                data={"csrf": csrf, "text": "通知", "kind": "all"})
    assert refused.status_code == 403
    async with console.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_the_roster_page_lists_filters_and_pages_with_phones_masked(harness, console):
    await _everyone(harness)
    extra = "".join(f"新人{n:03d},139{n:08d},ordinary,县农业局,古埠镇,古埠村,cadre\n"
                    for n in range(60))
    await harness.import_roster(ROSTER_HEADER + extra)
    await _set(console, "陈静", active=False)
    await _set(console, "王芳", telegram_user_id=None)
    office = await console.sign_in("吴敏")
    first = await office.get("/console/office/roster")
    shown = text_of(first.text)
    assert first.status_code == 200
    assert "张伟 队长 黄金埠镇 新村 县财政局 县级 ****8001 ✅ 已注册" in shown
    assert "13800138001" not in first.text
    assert "陈静" in shown and "⛔ 已停用" in shown and "王芳" in shown and "⏳ 未注册" in shown
    assert "下一页" in shown and shown.count("新人") == 50 - 9
    second = text_of((await office.get("/console/office/roster?page=2")).text)
    assert second.count("新人") == 60 - 41 and "下一页" not in second and "上一页" in second

    page = await office.get("/console/office/roster?name=新人00")
    assert text_of(page.text).count("新人00") == 10
    by_phone = text_of((await office.get("/console/office/roster?name=138001380")).text)
    assert by_phone.count("****") == 9
    inactive = text_of((await office.get("/console/office/roster?state=inactive")).text)
    assert "陈静" in inactive and "张伟" not in inactive
    waiting = text_of((await office.get("/console/office/roster?state=unregistered")).text)
    assert "王芳" in waiting and "张伟" not in waiting and "陈静" not in waiting
    leaders = text_of((await office.get("/console/office/roster?role=team_leader")).text)
    assert "张伟" in leaders and "刘洋" in leaders and "李娜" not in leaders
    township = re.findall(r'<option value="(\d+)">古埠镇</option>', first.text)[0]
    gubu = text_of((await office.get(f"/console/office/roster?township={township}")).text)
    assert "赵强" in gubu and "张伟" not in gubu


async def test_a_roster_import_reports_as_the_chat_and_imports_nothing_with_errors(
        harness, console):
    await _everyone(harness)
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office/roster")
    bad = (ROSTER_HEADER + "钱多,13800138010,ordinary,县教育局,古埠镇,古埠村,cadre\n"
           "孔明,12345,ordinary,县教育局,古埠镇,古埠村,cadre\n").encode()
    # What the chat would say of the same file, imported and rolled back, in Chinese.
    async with console.ctx.db.write() as session:
        expected = await roster.import_roster_data(session, bad, "名单.csv",
                                                   now=harness.clock.now(), names=roster_names())
    refused = await office.post("/console/office/roster", data={"csrf": csrf},
                                files={"file": ("名单.csv", bad, "text/csv")})
    assert refused.status_code == 400
    said = text_of(refused.text)
    assert "花名册未导入：发现 1 处问题，未做任何更改" in said
    assert text_of(import_report("zh", expected).replace("\n", " ")) in said
    async with console.ctx.db.read() as session:
        assert await session.scalar(select(Person).where(Person.name == "钱多")) is None

    good = (ROSTER_HEADER + "钱多,13800138010,ordinary,县教育局,古埠镇,古埠村,cadre\n").encode()
    imported = await office.post("/console/office/roster", data={"csrf": csrf},
                                 files={"file": ("名单.csv", good, "text/csv")})
    assert imported.status_code == 200
    assert "花名册已导入：新增 1 人，更新 0 人，未变 0 人。" in text_of(imported.text)
    async with console.ctx.db.read() as session:
        added = await session.scalar(select(Person).where(Person.name == "钱多"))
    assert added is not None and added.role == "cadre"
    other = await office.post("/console/office/roster", data={"csrf": csrf},
                              files={"file": ("名单.pdf", good, "application/pdf")})
    assert other.status_code == 400 and "CSV 或 Excel" in text_of(other.text)
    forged = await office.post("/console/office/roster", data={"csrf": "x"},
                               files={"file": ("名单.csv", good, "text/csv")})
    assert forged.status_code == 403


async def test_the_tools_speak_english_to_an_office_that_chose_it(harness, console):
    await _everyone(harness, language="en")
    office = await console.sign_in("吴敏")
    home = text_of((await office.get("/console/office")).text)
    assert "Office tools" in home and "Send a notice" in home and "导出台账" not in home
    roster_page = text_of((await office.get("/console/office/roster")).text)
    assert "Name or phone" in roster_page and "team leader" in roster_page.lower()
