"""Help targets (issue 19): labour export, project funds, unit donations and holiday condolences,
each below and then above its threshold in every place it is shown — /targets (a team leader's
/pairs), the digest's line (/digest and the evening job), the export's sheet and the API — in
Chinese and English, with the records made through /aid in the chat."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.web import create_app
from common.context import AppContext
from common.i18n import translate
from common.ratelimit import RateLimiter
from storage.models import Person, Village
from tests.emulator import Sent
from tests.harness import texts
from tests.scheduling import local, tick
from tests.test_export import by_header, fetch_workbook
from tests.test_report import fetch_report
from tests.test_schedules import bind_everyone, messages

TOKEN = "targets-token-1"
# A day after New Year's Day: its condolences are due; the Spring Festival's (6 Feb) are not.
NOON = local(2027, 1, 2, 10, 0)
ZH = ("张伟", "王芳", "吴敏")  # the rest read English


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"outbox_per_chat_per_second": 50.0,
                                       "api_token": TOKEN})


@pytest.fixture(autouse=True)
def exports(harness, tmp_path):
    """The workbooks and drafts of this test, in a folder of its own."""
    harness.settings.export_dir = str(tmp_path / "exports")


async def report(harness, user) -> str:
    """The county report's help targets paragraph, from the /report draft."""
    await harness.send(user, "/report")
    _name, document, _params = await fetch_report(harness, user)
    harness.emu.documents.clear()
    [found] = [p.text for p in document.paragraphs if "帮扶目标" in p.text
               or "help targets" in p.text]
    return found


async def bind(harness) -> dict[str, Any]:
    chats = await bind_everyone(harness, "en")
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            if person.name in ZH:
                person.telegram_language = "zh-hans"
    return {name: harness.emu.user(chat, first_name=name,
                                   language_code="zh-hans" if name in ZH else "en")
            for name, chat in chats.items()}


async def tap(harness, user, replies: list[Sent], label: str) -> list[Sent]:
    keyboard = [r for r in replies if r.buttons][-1]
    return await harness.press(user, keyboard.callback_data(label))


async def aid(harness, user, kind: str, *answers: str, zh: bool = False) -> None:
    """One /aid record: the kind's button, then each answer (a `+label` is a button)."""
    replies = await tap(harness, user, await harness.send(user, "/aid"), kind)
    for answer in answers:
        if answer.startswith("+"):
            replies = await tap(harness, user, replies, answer[1:])
        else:
            replies = await harness.send(user, answer)
    replies = await tap(harness, user, replies, "提交" if zh else "Save")
    assert any(("已保存" if zh else "Saved") in t or "paired" in t for t in texts(replies)), \
        texts(replies)


async def say(harness, user, command: str) -> str:
    return "\n".join(texts(await harness.send(user, command)))


async def api_targets(harness, place: str | None = None) -> dict[str, Any]:
    ctx = AppContext(settings=harness.settings, db=harness.db, clock=harness.clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        response = await client.get("/api/v1/targets", params={"place": place} if place else {},
                                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def village(body: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [v for v in body["items"] if v["village"] == name]
    return found


async def sheet(harness, user, language: str) -> dict[str, dict[str, Any]]:
    """The export's targets sheet of `user`, opened back: rows by (village, target label)."""
    await harness.send(user, "/export")
    _name, book, _params = await fetch_workbook(harness, user)
    title = translate(language, "export.sheet.targets")
    head = {key: translate(language, f"export.targets.{key}")
            for key in ("village", "target", "done", "required", "met", "short")}
    harness.emu.documents.clear()
    return {f"{row[head['village']]}:{row[head['target']]}": {k: row[h] for k, h in head.items()}
            for row in by_header(book, title)}


async def test_each_target_below_then_above_everywhere_it_is_shown(harness):
    harness.at(NOON)
    users = await bind(harness)
    li, wang, zhang = users["李娜"], users["王芳"], users["张伟"]
    sun, wu = users["孙丽"], users["吴敏"]

    # Below: one person placed, a project under the threshold, one unit of three donated, the
    # paired household visited for the Spring Festival but not for New Year's Day (due).
    await aid(harness, li, "Pair", "张三家")
    await aid(harness, li, "Labour", "1", "Ningbo")
    await aid(harness, li, "Project", "Greenhouses", "+Farming", "20000")
    await aid(harness, zhang, "单位捐赠", "电脑两台", "5000", zh=True)
    await aid(harness, wang, "慰问", "张三家", "+春节", "300", zh=True)

    shown = await say(harness, sun, "/targets")
    assert shown.splitlines()[:3] == [
        "Help targets · 黄金埠镇",
        "Each village: at least 2 people placed in work, a project with at least ¥30,000, a "
        "donation from every home unit of its cadres, and a condolence visit to every paired "
        "household at New Year and the Spring Festival.",
        "Villages below target: 2 of 2"]
    assert ("黄金埠镇 · 新村\n"
            "· Placed in work: 1, fewer than 2\n"
            "· Project “Greenhouses” (Farming): ¥20,000 secured, under ¥30,000\n"
            "· Home units that have not donated: 县教育局, 黄金埠镇政府\n"
            "· Paired households without a New Year's Day condolence visit: 张三家") in shown
    assert ("黄金埠镇 · 东岗村\n· Placed in work: 0, fewer than 2\n· No project introduced yet\n"
            "· Home units that have not donated: 县农业局, 县水利局") in shown
    assert "Spring Festival (Sat 6 Feb) condolences: 1 of 1 paired households so far" in shown
    assert "All targets met" not in shown

    county = await say(harness, wu, "/targets")
    assert county.splitlines()[0] == "帮扶目标 · 全县"
    assert "未达标的村：3 个（共 3 个）" in county
    assert "· 项目“Greenhouses”（种养殖）争取资金 20,000 元，不足 30,000 元" in county
    assert "· 尚未捐赠的派出单位：县教育局、黄金埠镇政府" in county
    assert "· 元旦未慰问的结对户：张三家" in county
    assert "春节（2月6日（周六））慰问：1 户结对户中已慰问 1 户" in county

    own = await say(harness, zhang, "/pairs")  # a team leader's targets are under /pairs
    assert "帮扶目标 · 新村" in own and "· 劳务输出 1 人，少于 2 人" in own
    assert "东岗村" not in own
    assert (await say(harness, zhang, "/digest")).splitlines()[-1] == (
        "帮扶目标未达标：劳务输出、项目资金、单位捐赠、节日慰问，详见 /pairs")
    assert (await say(harness, sun, "/digest")).splitlines()[-1] == (
        "Help targets: 2 of 2 villages below target — see /targets")

    rows = await sheet(harness, sun, "en")
    assert rows["新村:labour export"] == {
        "village": "新村", "target": "labour export", "done": 1, "required": 2, "met": "no",
        "short": None}
    assert rows["新村:project funds"]["done"] == 20000 and rows["新村:project funds"]["short"] \
        == "Greenhouses" and rows["新村:project funds"]["met"] == "no"
    assert rows["新村:unit donations"]["done"] == 1 and rows["新村:unit donations"]["required"] \
        == 3 and rows["新村:unit donations"]["short"] == "县教育局; 黄金埠镇政府"
    new_year = rows["新村:New Year condolences (paired households)"]
    assert (new_year["done"], new_year["required"], new_year["met"], new_year["short"]) == (
        0, 1, "no", "张三家")
    spring = rows["新村:Spring Festival condolences (paired households)"]
    assert (spring["done"], spring["met"]) == (1, None)  # not due yet: neither met nor missed
    assert rows["东岗村:project funds"]["done"] is None
    zh_rows = await sheet(harness, wu, "zh")
    assert zh_rows["古埠村:劳务输出"]["met"] == "否"

    assert await report(harness, wu) == (
        "对照帮扶目标，全县 3 个村中尚有 3 个未达标：劳务输出不足 2 人的 3 个，没有争取资金达到"
        " 30,000 元的项目的 3 个，有派出单位尚未捐赠的 3 个，有结对户节日未慰问的 1 个。")

    body = await api_targets(harness, "新村")
    assert body["villages_below"] == 1 and body["rules"]["due"] == ["new_year"]
    assert village(body, "新村")["missed"] == ["labour", "project", "donation", "condolence"]
    assert village(body, "新村")["projects"][0]["type"] == "farming"
    assert village(body, "新村")["condolences"]["new_year"]["without"] == ["张三家"]

    # Above: a second person placed, a project over the threshold, every unit donated, the
    # household visited for New Year's Day.
    await aid(harness, li, "Labour", "1", "Shenzhen")
    await aid(harness, li, "Project", "Reservoir", "+Water", "30000")
    await aid(harness, li, "Donation", "Books", "800")
    await aid(harness, wang, "单位捐赠", "桌椅", "1200", zh=True)
    await aid(harness, li, "condolence", "+张三家", "+New Year", "200")

    shown = await say(harness, sun, "/targets")
    assert "Villages below target: 1 of 2" in shown and "All targets met: 新村" in shown
    assert "黄金埠镇 · 新村" not in shown and "Greenhouses" not in shown
    county = await say(harness, wu, "/targets")
    assert "未达标的村：2 个（共 3 个）" in county and "全部达标：新村" in county
    own = await say(harness, zhang, "/pairs")
    assert "未达标的村：0 个（共 1 个）" in own and "全部达标：新村" in own
    assert (await say(harness, zhang, "/digest")).splitlines()[-1] == "帮扶目标：全部达标"
    assert (await say(harness, sun, "/digest")).splitlines()[-1] == (
        "Help targets: 1 of 2 villages below target — see /targets")
    # The evening job writes the same lines.
    await tick(harness, local(2027, 1, 2, 19, 0))  # the schedules learn their next time
    harness.emu.sent.clear()
    await tick(harness, local(2027, 1, 2, 20, 0))
    [team] = [m for m in messages(harness, zhang.id) if m.startswith("工作队日报 · 新村")]
    assert team.splitlines()[-1] == "帮扶目标：全部达标"
    [township] = [m for m in messages(harness, sun.id) if m.startswith("Township digest")]
    assert township.splitlines()[-1] == "Help targets: 1 of 2 villages below target — see " \
        "/targets"

    # The leading group and the office get no evening digest: Monday's county report has the line.
    harness.emu.sent.clear()
    await tick(harness, local(2027, 1, 4, 8, 0))
    [weekly] = [m for m in messages(harness, wu.id) if m.startswith("全县周报")]
    assert "帮扶目标：3 个村中 2 个未达标，详见 /targets" in weekly.splitlines()
    assert (await say(harness, wu, "/digest")).splitlines()[-1] == (
        "帮扶目标：3 个村中 2 个未达标，详见 /targets")

    rows = await sheet(harness, sun, "en")
    assert (rows["新村:labour export"]["done"], rows["新村:labour export"]["met"]) == (2, "yes")
    assert rows["新村:project funds"]["done"] == 30000 and rows["新村:project funds"]["met"] \
        == "yes" and rows["新村:project funds"]["short"] == "Greenhouses"  # still under
    assert rows["新村:unit donations"]["met"] == "yes" and rows["新村:unit donations"]["done"] == 3
    assert rows["新村:New Year condolences (paired households)"]["met"] == "yes"
    assert rows["东岗村:labour export"]["met"] == "no"

    assert await report(harness, wu) == (
        "对照帮扶目标，全县 3 个村中尚有 2 个未达标：劳务输出不足 2 人的 2 个，没有争取资金达到"
        " 30,000 元的项目的 2 个，有派出单位尚未捐赠的 2 个，有结对户节日未慰问的 0 个。")
    async with harness.db.write() as session:  # the leading group reads English
        leader = (await session.execute(select(Person).where(Person.name == "周杰"))).scalar_one()
        leader.telegram_language = "en"
    assert await report(harness, users["周杰"]) == (
        "Against the help targets, 2 of the county's 3 villages still fall short: 2 with fewer "
        "than 2 people placed in work, 2 without a project of ¥30,000, 2 with a home unit that "
        "has not donated, 0 with a paired household not visited for a holiday.")

    body = await api_targets(harness)
    assert body["villages"] == 3 and body["villages_below"] == 2
    assert village(body, "新村")["missed"] == [] and village(body, "新村")["labour"] == 2
    assert village(body, "东岗村")["missed"] == ["labour", "project", "donation"]


def listed_misses(body: dict[str, Any]) -> dict[str, list[str]]:
    """Each village's missed targets as its listed figures show them: people placed, projects
    with their funds, each home unit's donations, the paired households without a condolence
    of a holiday that is due."""
    rules = body["rules"]
    found = {}
    for item in body["items"]:
        shown = {"labour": item["labour"] < rules["labour_min"],
                 "project": not any(p["met"] for p in item["projects"]),
                 "donation": any(u["count"] == 0 for u in item["donations"]),
                 "condolence": any(item["condolences"][h]["without"] for h in rules["due"])}
        found[item["village"]] = [target for target, missed in shown.items() if missed]
    return found


async def test_the_targets_each_village_misses_are_what_its_figures_list(harness):
    # Both holidays are due: a paired household needs both condolences.
    harness.at(local(2027, 2, 8, 10, 0))
    users = await bind(harness)
    li, wang, zhang = users["李娜"], users["王芳"], users["张伟"]
    # 东岗村's cadres all come from 李娜's unit: her donation to 新村 is not one to 东岗村.
    async with harness.db.write() as session:
        people = (await session.execute(select(Person, Village.name).join(
            Village, Village.id == Person.village_id))).all()
        unit = next(p.unit_id for p, _ in people if p.name == "李娜")
        for person, name in people:
            if name == "东岗村":
                person.unit_id = unit

    async def misses() -> dict[str, list[str]]:
        body = await api_targets(harness)
        assert body["rules"]["due"] == ["new_year", "spring_festival"]
        missed = {item["village"]: item["missed"] for item in body["items"]}
        assert missed == listed_misses(body)
        return missed

    before = await misses()
    assert before["新村"] == ["labour", "project", "donation"]  # no paired household yet

    # Exactly at each threshold; the household visited for one holiday of the two.
    await aid(harness, li, "Pair", "张三家")
    await aid(harness, li, "Labour", "2", "Ningbo")
    await aid(harness, li, "Project", "Greenhouses", "+Farming", "30000")
    await aid(harness, wang, "慰问", "张三家", "+春节", "300", zh=True)
    mid = await misses()
    assert mid["新村"] == ["donation", "condolence"]
    assert {k: v for k, v in mid.items() if k != "新村"} == {
        k: v for k, v in before.items() if k != "新村"}  # the other villages are as they were

    await aid(harness, li, "Donation", "Books", "800")
    await aid(harness, zhang, "单位捐赠", "电脑两台", "5000", zh=True)
    await aid(harness, wang, "单位捐赠", "桌椅", "1200", zh=True)
    await aid(harness, li, "condolence", "+张三家", "+New Year", "200")
    after = await misses()
    assert after["新村"] == []
    assert {k: v for k, v in after.items() if k != "新村"} == {
        k: v for k, v in before.items() if k != "新村"}
