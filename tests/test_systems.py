"""/systems: every village's team records the notice's eight systems; township leaders and the
office see which village lacks which, and which has no slogans or no publicity board — in the
chat, the export's sheets, the county report and the API, from the same two queries."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from bot.web import create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage import publicity, rectification
from storage.models import Person, RectifyAction, Village
from storage.people import set_authority
from storage.rectification import RULE_KINDS
from tests.harness import texts
from tests.test_export import by_header, fetch_workbook
from tests.test_report import fetch_report

# The API's token and a folder for each test's files; 张伟, 王芳 and 吴敏 read Chinese.
from tests.test_targets import TOKEN, bind, exports, settings  # noqa: F401 (fixtures)
from tests.test_visits import button

TODAY = dt.date(2026, 11, 28)  # the harness's clock: Saturday


async def seed(harness, systems: dict[str, tuple[str, ...]],
               boards: dict[str, tuple[int, int]]) -> None:
    """Systems recorded by a cadre of each village, and publicity sessions with
    (slogans, boards), straight through the storage functions the chat calls."""
    now = harness.clock.now()
    cadre_of = {"新村": "王芳", "东岗村": "陈静", "古埠村": "赵强"}
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        for village, kinds in systems.items():
            for kind in kinds:
                await rectification.add_action(session, person=people[cadre_of[village]],
                                               kind=kind, text="…", day=TODAY, now=now)
        for village, (slogans, board) in boards.items():
            await publicity.add_publicity(
                session, person=people[cadre_of[village]], day=TODAY, kind="mass",
                attendance=30, topics=[], slogans=slogans, boards=board, now=now)


async def say(harness, user, command: str) -> str:
    return "\n".join(texts(await harness.send(user, command)))


async def api(harness, path: str, place: str | None = None) -> httpx.Response:
    ctx = AppContext(settings=harness.settings, db=harness.db, clock=harness.clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        return await client.get(f"/api/v1/{path}", params={"place": place} if place else {},
                                headers={"Authorization": f"Bearer {TOKEN}"})


async def test_a_cadre_of_an_unmarked_village_records_a_system_with_buttons(harness):
    users = await bind(harness)
    cadre = users["王芳"]
    replies = await harness.send(cadre, "/systems")
    assert texts(replies)[0].splitlines() == [
        "新村村级制度：已建立 0/8 项",
        "尚缺：村规民约、财务管理制度、村务公开制度、议事规则、村级经济发展规划、“一事一议”制度、"
        "民主监督制度、基层党建制度"]
    assert len([label for row in replies[-1].buttons for label, _ in row]) == 8
    replies = await harness.press(cadre, button(replies, ":one_matter"))
    replies = await harness.send(cadre, "村民代表会议通过《一事一议筹资筹劳办法》")
    replies = await harness.press(cadre, button(replies, f":{TODAY.isoformat()}"))
    replies = await harness.press(cadre, button(replies, ":ok"))
    assert texts(replies)[-1].splitlines() == [
        "✅ 已记录：“一事一议”制度。", "新村村级制度：已建立 1/8 项",
        "已建立：“一事一议”制度",
        "尚缺：村规民约、财务管理制度、村务公开制度、议事规则、村级经济发展规划、民主监督制度、"
        "基层党建制度"]
    async with harness.db.read() as session:
        [row] = (await session.execute(select(RectifyAction))).scalars()
        village = await session.get(Village, row.village_id)
    assert (row.kind, row.day, village.name if village else None) == (
        "one_matter", TODAY, "新村")


async def test_leaders_see_which_village_lacks_which_system_and_publicity(harness):
    users = await bind(harness)
    await seed(harness, {"新村": RULE_KINDS, "东岗村": ("finance", "village_rules")},
               {"新村": (5, 0), "古埠村": (2, 1)})
    shown = await say(harness, users["孙丽"], "/systems")
    assert shown.splitlines() == [
        "Village systems in 黄金埠镇: villages with all 8 systems, 1 of 2.",
        "• 东岗村: 6 lacking — Openness of village affairs, Rules of procedure, Economic and "
        "development plan, One matter, one discussion, Democratic supervision, Grassroots party "
        "building",
        "",
        "Publicity coverage: villages without slogans or a board, 2 of 2.",
        "• 东岗村: no slogans, no publicity board",
        "• 新村: no publicity board"]
    county = await say(harness, users["吴敏"], "/systems")
    assert county.splitlines()[:2] == [
        "全县村级制度：3 个村中，8 项制度齐全的 1 个。",
        "• 古埠镇/古埠村：缺 8 项——村规民约、财务管理制度、村务公开制度、议事规则、村级经济发展"
        "规划、“一事一议”制度、民主监督制度、基层党建制度"]
    assert "• 古埠镇/古埠村：" not in county.split("宣传覆盖")[1]  # slogans and a board
    assert "• 黄金埠镇/东岗村：无宣传标语、无宣传栏" in county
    one = await say(harness, users["吴敏"], "/systems 东岗村")
    assert one.splitlines()[0] == "东岗村村级制度：1 个村中，8 项制度齐全的 0 个。"


async def test_a_leader_is_refused_a_village_outside_their_scope(harness):
    users = await bind(harness)
    assert await say(harness, users["孙丽"], "/systems 古埠村") == (
        "“古埠村” is outside what you can see (黄金埠镇).")
    # A team leader records for their own village; naming another records nothing there.
    replies = await harness.send(users["刘洋"], "/systems 古埠村")
    assert texts(replies)[0].startswith("Village systems of 东岗村")


async def test_a_draft_left_open_saves_nothing_once_the_cadre_has_no_village(harness):
    users = await bind(harness)
    cadre = users["王芳"]
    replies = await harness.send(cadre, "/systems")
    replies = await harness.press(cadre, button(replies, ":plan"))
    replies = await harness.send(cadre, "三年发展规划")
    replies = await harness.press(cadre, button(replies, f":{TODAY.isoformat()}"))
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(Person.name == "王芳"))
                  ).scalar_one()
        set_authority(person, now=harness.clock.now(), village_id=None)  # as an import does
    replies = await harness.press(cadre, button(replies, ":ok"))
    assert "您未完成的村级制度已关闭，已填写的内容没有保存" in "\n".join(texts(replies))
    async with harness.db.read() as session:
        assert list((await session.execute(select(RectifyAction))).scalars()) == []


async def test_the_export_has_the_systems_and_coverage_sheets(harness):
    users = await bind(harness)
    await seed(harness, {"新村": RULE_KINDS, "东岗村": ("plan",)}, {"新村": (5, 1)})
    await harness.send(users["吴敏"], "/export")
    _name, book, _params = await fetch_workbook(harness, users["吴敏"])
    systems = {row["村"]: row for row in by_header(book, "村级制度")}
    assert list(systems) == ["古埠村", "东岗村", "新村"]
    assert systems["东岗村"]["村级经济发展规划"] == "是"
    assert systems["东岗村"]["村规民约"] == "否"
    assert systems["东岗村"]["尚缺"] == ("村规民约、财务管理制度、村务公开制度、议事规则、"
                                        "“一事一议”制度、民主监督制度、基层党建制度")
    assert systems["新村"]["尚缺"] is None
    coverage = {row["村"]: row for row in by_header(book, "宣传覆盖")}
    assert (coverage["新村"]["宣传标语（条）"], coverage["新村"]["宣传栏（块）"],
            coverage["新村"]["缺少"]) == (5, 1, None)
    assert coverage["东岗村"]["缺少"] == "无宣传标语、无宣传栏"


async def test_the_county_report_says_what_villages_lack(harness):
    users = await bind(harness)
    await seed(harness, {"新村": RULE_KINDS, "东岗村": RULE_KINDS[:7]}, {"新村": (5, 1),
                                                                       "东岗村": (3, 0)})
    await harness.send(users["吴敏"], "/report")
    _name, document, _params = await fetch_report(harness, users["吴敏"])
    found = [p.text for p in document.paragraphs
             if p.text.startswith(("村级制度。", "宣传覆盖。"))]
    assert found == [
        "村级制度。全县 3 个村中，8 项制度齐全的 1 个；尚缺的：村规民约 1 个村、"
        "财务管理制度 1 个村、村务公开制度 1 个村、议事规则 1 个村、村级经济发展规划 1 个村、"
        "“一事一议”制度 1 个村、民主监督制度 1 个村、基层党建制度 2 个村。",
        "宣传覆盖。全县 3 个村中，没有宣传标语的 1 个（古埠村），"
        "没有宣传栏的 2 个（古埠村、东岗村）。"]


async def test_the_api_serves_systems_and_coverage_by_place(harness):
    await bind(harness)
    await seed(harness, {"东岗村": ("supervision",)}, {"东岗村": (0, 2)})
    response = await api(harness, "systems", "黄金埠镇")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["villages"], body["complete"]) == (2, 0)
    [dong] = [v for v in body["items"] if v["village"] == "东岗村"]
    assert dong["recorded"]["supervision"] == 1 and "supervision" not in dong["lacking"]
    response = await api(harness, "coverage", "东岗村")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "villages": 1, "without_slogans": 1, "without_boards": 0,
        "items": [{"township": "黄金埠镇", "village": "东岗村", "slogans": 0, "boards": 2,
                   "lacking": ["slogans"]}]}
    assert (await api(harness, "coverage", "无此村")).status_code == 404
