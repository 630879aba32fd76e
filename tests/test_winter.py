"""/winter: the team leader sets each year-end item's target and progress; cadres and leaders
above read them; /stats and the county report sum them exactly as the raw rows do."""

from __future__ import annotations

from sqlalchemy import select

from common.i18n import translator
from reports.villagework import VillageWork, report_lines, winter_lines
from storage import rectification, winter
from storage.models import Person, Village, WinterItem, WinterUpdate
from tests.harness import texts
from tests.scheduling import local, tick
from tests.test_export import by_header, fetch_workbook, sheet_rows
from tests.test_schedules import bind_everyone, messages
from tests.test_visits import button

CADRE, LEADER, TOWNSHIP, OFFICE = "13800138002", "13800138001", "13800138007", "13800138009"
NO_TARGETS_EN = [
    "Water-works repair: no target yet (in projects)",
    "Winter planting: no target yet (in mu)",
    "Winter construction: no target yet (in projects)",
    "Rural living environment improvement: no target yet (in households)",
    "Afforestation: no target yet (in mu)",
    "Forest-fire prevention: no target yet (in households)",
    "Investment attracted: no target yet (in yuan)",
    "Residents' medical insurance enrolment: no target yet (in people)",
    "Residents' pension insurance enrolment: no target yet (in people)"]


async def _user(harness, phone, language="en", user_id=6601):
    """A person of the roster bound to an emulator user (registration has its own tests)."""
    await harness.import_roster()
    async with harness.db.write() as session:
        person = (await session.execute(
            select(Person).where(Person.phone.like(f"%{phone}")))).scalar_one()
        person.telegram_user_id, person.telegram_language = user_id, language
    return harness.emu.user(user_id, language_code=language)


async def _items(harness):
    async with harness.db.read() as session:
        rows = (await session.execute(select(Village.name, WinterItem).join(
            Village, Village.id == WinterItem.village_id))).all()
        history = (await session.execute(select(WinterUpdate).order_by(WinterUpdate.id))).scalars()
        return ({(name, i.item): (i.target, i.progress) for name, i in rows},
                [(u.target, u.progress) for u in history])


async def _set(harness, who, item, target, progress):
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(Person.name == who))).scalar_one()
        village = await session.get(Village, person.village_id)
        await winter.set_item(session, village=village, item=item, target=target,
                              progress=progress, by=person, now=harness.clock.now())


async def test_the_team_leader_sets_a_target_and_progress_in_english(harness):
    user = await _user(harness, LEADER)
    replies = await harness.send(user, "/winter")
    lines = replies[0].plain_text.splitlines()
    assert lines == ["Winter work of 新村", *NO_TARGETS_EN,
                     "Press an item to set its target or progress."]
    assert len(replies[0].buttons) == 9 and replies[0].buttons[4] == [
        ("Afforestation", "wnt:afforestation")]
    replies = await harness.press(user, "wnt:afforestation")
    assert texts(replies)[0] == "Afforestation: no target yet (in mu)"
    assert "What is the village's target" in replies[-1].plain_text
    assert replies[-1].buttons == []  # no target to keep yet
    replies = await harness.send(user, "0")
    assert texts(replies)[0] == "The smallest value allowed is 1."
    replies = await harness.send(user, "two hundred")
    assert "whole number" in texts(replies)[0]
    replies = await harness.send(user, "200 mu")
    assert "How much is done so far?" in replies[-1].plain_text
    replies = await harness.send(user, "700")
    assert texts(replies)[0] == ("That is more than 300% of the target (at most 600). "
                                 "Please check the number.")
    replies = await harness.send(user, "120")
    assert replies[-1].plain_text.splitlines()[1:4] == [
        "Item: Afforestation (in mu)", "Target: 200", "Done so far: 120"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == "✅ Saved. Afforestation: 120/200 mu (60%)"
    assert await _items(harness) == ({("新村", "afforestation"): (200, 120)}, [(200, 120)])
    # the second time the target can be kept; more than the target is allowed
    replies = await harness.press(user, "wnt:afforestation")
    assert texts(replies)[0] == "Afforestation: 120/200 mu (60%)"
    replies = await harness.press(user, button(replies, ":keep"))
    replies = await harness.send(user, "250")
    assert "Target: Keep 200 mu" in replies[-1].plain_text.splitlines()
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == "✅ Saved. Afforestation: 250/200 mu (125%)"
    assert await _items(harness) == ({("新村", "afforestation"): (200, 250)},
                                     [(200, 120), (200, 250)])


async def test_the_team_leader_updates_in_chinese_with_back_and_cancel(harness):
    user = await _user(harness, LEADER, language="zh-hans")
    await _set(harness, "张伟", "investment", 50000, 10000)
    replies = await harness.send(user, "/winter")
    assert "招商引资：10,000 元/50,000 元（20%）" in replies[0].plain_text.splitlines()
    replies = await harness.press(user, "wnt:investment")
    assert "本村这项工作的任务是多少" in replies[-1].plain_text
    assert [label for row in replies[-1].buttons for label, _ in row] == ["保持 50,000 元"]
    replies = await harness.send(user, "六万元")
    assert "目前已完成多少" in replies[-1].plain_text
    replies = await harness.send(user, "/back")
    assert "本村这项工作的任务是多少" in replies[-1].plain_text
    replies = await harness.send(user, "四万多")  # an estimate is no figure: one line, still asked
    assert texts(replies) == ["请填写确切的数字，如“30”；“三十多”“十几”这样的约数无法统计。"]
    replies = await harness.send(user, "40000")
    replies = await harness.send(user, "30000")
    assert replies[-1].plain_text.splitlines()[1:4] == [
        "工作：招商引资（单位：元）", "任务：40000", "已完成：30000"]
    replies = await harness.send(user, "/cancel")
    assert texts(replies) == ["已取消，未保存任何内容。"]
    assert (await _items(harness))[0] == {("新村", "investment"): (50000, 10000)}
    replies = await harness.press(user, "wnt:investment")
    replies = await harness.send(user, "40000")
    replies = await harness.send(user, "30000")
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == "✅ 已保存。招商引资：30,000 元/40,000 元（75%）"


async def test_a_lower_target_must_still_fit_the_progress(harness):
    user = await _user(harness, LEADER)
    await harness.send(user, "/winter")
    replies = await harness.press(user, "wnt:pension")
    await harness.send(user, "100")
    replies = await harness.send(user, "90")
    replies = await harness.press(user, button(replies, ":e:0"))  # change the target
    replies = await harness.send(user, "20")
    assert texts(replies)[0].startswith("The progress already given (90) is too far above")
    replies = await harness.send(user, "30")
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == (
        "✅ Saved. Residents' pension insurance enrolment: 90/30 people (300%)")


async def test_cadres_only_read_and_cannot_update(harness):
    user = await _user(harness, CADRE)
    await _set(harness, "张伟", "winter_planting", 80, 20)
    replies = await harness.send(user, "/winter")
    assert replies[0].buttons == []
    lines = replies[0].plain_text.splitlines()
    assert lines[2] == "Winter planting: 20/80 mu (25%)"
    assert lines[-1] == "Only the team leader updates these."
    # a forged button (a cadre is offered none) changes nothing
    assert await harness.press(user, "wnt:winter_planting", replies[0].message_id) == []
    assert harness.emu.callback_answers[-1].get("text") == (
        "Only a village's team leader updates its winter work.")
    zh = await _user(harness, "13800138003", user_id=6602, language="zh-hans")
    assert texts(await harness.send(zh, "/winter"))[0].splitlines()[-1] == "由队长更新进度。"


async def test_leaders_see_their_scope_per_place(harness):
    township = await _user(harness, TOWNSHIP)
    office = await _user(harness, OFFICE, user_id=6602, language="zh-hans")
    await _set(harness, "张伟", "afforestation", 200, 50)   # 新村 25%
    await _set(harness, "张伟", "investment", 100, 100)            # 新村 100%
    await _set(harness, "刘洋", "afforestation", 100, 100)  # 东岗村 100%
    lines = texts(await harness.send(township, "/winter"))[0].splitlines()
    assert lines == [
        "Winter work of 黄金埠镇",
        "Winter work (done / target over villages with a target):",
        "  Afforestation: 150/300 mu (50%) · villages 2",
        "  Investment attracted: ¥100/¥100 (100%) · villages 1",
        "Overall progress (mean of the items, each counted at most 100%):",
        "• 东岗村: 100%", "• 新村: 62% — lagging: Afforestation 25%"]
    lines = texts(await harness.send(township, "/winter 新村"))[0].splitlines()
    assert lines[0] == "Winter work of 新村" and "Afforestation: 50/200 mu (25%)" in lines
    lines = texts(await harness.send(office, "/winter"))[0].splitlines()
    assert lines == ["全县冬季工作", "冬季工作（完成/任务，仅计已设任务的村）：",
                     "  植树造林：150/300 亩（50%），2 个村",
                     "  招商引资：100 元/100 元（100%），1 个村",
                     "总体进度（各项平均，单项最多按 100% 计）：", "• 黄金埠镇：75%"]


async def test_the_figures_match_the_raw_rows(harness):
    await harness.import_roster()
    await _set(harness, "张伟", "afforestation", 200, 120)
    await _set(harness, "刘洋", "afforestation", 50, 10)
    await _set(harness, "赵强", "afforestation", 30, 45)
    await _set(harness, "刘洋", "medical_care", 400, 380)
    await _set(harness, "赵强", "investment", 9000, 0)
    await _set(harness, "张伟", "afforestation", 220, 130)  # a change: the row, not the history
    async with harness.db.read() as session:
        rows = list((await session.execute(select(WinterItem))).scalars())
        totals = await winter.winter_totals(session)
        per_township = await winter.winter_by_township(session)
        names = await winter.township_names(session)
    expected: dict[str, tuple[int, int, int]] = {}
    for row in rows:
        target, done, count = expected.get(row.item, (0, 0, 0))
        expected[row.item] = (target + row.target, done + row.progress, count + 1)
    assert {item: (s.target, s.progress, s.villages) for item, s in totals.items()} == expected
    assert expected["afforestation"] == (300, 185, 3)
    for tid, items in per_township.items():
        mine = [r for r in rows if r.township_id == tid]
        assert {i: s.target for i, s in items.items()} == {
            i: sum(r.target for r in mine if r.item == i) for i in {r.item for r in mine}}
    assert winter_lines(translator("en"), totals) == [
        "Winter work (done / target over villages with a target):",
        "  Afforestation: 185/300 mu (62%) · villages 3",
        "  Investment attracted: ¥0/¥9,000 (0%) · villages 1",
        "  Residents' medical insurance enrolment: 380/400 people (95%) · villages 1"]
    work = VillageWork({names[t]: i for t, i in per_township.items()},
                       rectification.RectificationTotals(), 50)
    assert report_lines(translator("en"), work)[1:-1] == [
        "<b>Winter work and rectification</b> (overall progress per township, the furthest "
        "behind first):",
        "• 古埠镇: 50% — lagging: Investment attracted 0%",
        "• 黄金埠镇: 73%",  # afforestation 140/270 is 52%: not lagging
        "Rectification: no village marked."]


async def test_stats_show_winter_work_and_rectification(harness):
    office = await _user(harness, OFFICE)
    await _set(harness, "张伟", "afforestation", 200, 120)
    replies = await harness.send(office, "/stats")
    lines = replies[0].plain_text.splitlines()
    assert "Rectification: no village marked." in lines
    assert "  Afforestation: 120/200 mu (60%) · villages 1" in lines


async def test_the_monday_county_report_shows_winter_work_per_township(harness):
    chats = await bind_everyone(harness)
    await _set(harness, "张伟", "afforestation", 200, 50)
    await _set(harness, "赵强", "investment", 100, 100)
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        village = await session.get(Village, people["张伟"].village_id)
        await rectification.set_mark(session, village=village, types=["weak_team"],
                                     by=people["吴敏"], now=harness.clock.now())
    await tick(harness, local(2026, 11, 30, 7, 0))
    await tick(harness, local(2026, 11, 30, 8, 0))
    report = messages(harness, chats["吴敏"])[0].splitlines()
    at = report.index("Winter work and rectification (overall progress per township, the "
                      "furthest behind first):")
    assert report[at + 1:at + 4] == [
        "• 黄金埠镇: 25% — lagging: Afforestation 25%", "• 古埠镇: 100%",
        "Rectification: villages marked 1 (Weak team 1); measures 0, rules 0; "
        "villages with all eight kinds of rule 0"]


async def test_the_export_has_a_winter_sheet_of_village_items(harness, tmp_path):
    harness.settings.export_dir = str(tmp_path / "exports")
    office = await _user(harness, OFFICE, user_id=6603)
    leader = await _user(harness, LEADER, user_id=6604, language="zh-hans")
    await _set(harness, "张伟", "afforestation", 200, 120)
    await _set(harness, "赵强", "investment", 9000, 0)
    await _set(harness, "刘洋", "medical_care", 400, 380)
    await harness.send(office, "/export")
    _name, book, _params = await fetch_workbook(harness, office)
    assert by_header(book, "Winter work") == [
        {"Township": "古埠镇", "Village": "古埠村", "Item": "Investment attracted", "Unit": "yuan",
         "Target": 9000, "Done": 0, "% done": 0},
        {"Township": "黄金埠镇", "Village": "东岗村",
         "Item": "Residents' medical insurance enrolment", "Unit": "people", "Target": 400,
         "Done": 380, "% done": 95},
        {"Township": "黄金埠镇", "Village": "新村", "Item": "Afforestation", "Unit": "mu",
         "Target": 200, "Done": 120, "% done": 60}]
    await harness.send(leader, "/export")  # a team leader: their village only, in Chinese
    _name, book, _params = await fetch_workbook(harness, leader)
    assert sheet_rows(book, "冬季工作") == [
        ("乡镇", "村", "工作", "单位", "任务", "已完成", "完成率（%）"),
        ("黄金埠镇", "新村", "植树造林", "亩", 200, 120, 60)]
