"""/rectify: the office marks villages of the three types; a marked village's cadres record
measures and rules; leaders read the progress; the figures match the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from common.i18n import translator
from reports.villagework import rectification_line, village_line
from storage import rectification as store
from storage.models import AuditEntry, Person, RectifyAction, Village, VillageMark
from tests.harness import texts
from tests.scheduling import SHANGHAI
from tests.test_export import by_header, fetch_workbook, sheet_rows
from tests.test_visits import button

TODAY = dt.date(2026, 11, 28)  # the harness's clock: Saturday
OFFICE, LEADING, TOWNSHIP = "13800138009", "13800138008", "13800138007"
CADRE, LEADER = "13800138002", "13800138001"  # 李娜 and 张伟 of 新村


def labelled(replies, label):
    """The callback_data of the newest button with this label."""
    for sent in reversed(replies):
        for row in sent.buttons:
            for text, data in row:
                if text == label:
                    return data
    raise AssertionError(f"no button {label!r} in {[s.buttons for s in replies]}")


def labels(sent):
    return [label for row in sent.buttons for label, _ in row]


async def _user(harness, phone, language="en", user_id=6501):
    """A person of the roster bound to an emulator user (registration has its own tests)."""
    await harness.import_roster()
    async with harness.db.write() as session:
        person = (await session.execute(
            select(Person).where(Person.phone.like(f"%{phone}")))).scalar_one()
        person.telegram_user_id, person.telegram_language = user_id, language
    return harness.emu.user(user_id, language_code=language)


async def _people(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.name: p for p in (await session.execute(select(Person))).scalars()}


async def _mark(harness, village_name, types, by="吴敏"):
    async with harness.db.write() as session:
        village = (await session.execute(
            select(Village).where(Village.name == village_name))).scalar_one()
        office = (await session.execute(select(Person).where(Person.name == by))).scalar_one()
        await store.set_mark(session, village=village, types=types, by=office,
                             now=harness.clock.now())


async def _marks(harness):
    async with harness.db.read() as session:
        rows = (await session.execute(
            select(Village.name, VillageMark).join(Village, Village.id == VillageMark.village_id)
        )).all()
        return {name: (mark.active, store.types_of(mark)) for name, mark in rows}


async def _audit(harness):
    async with harness.db.read() as session:
        found = await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "village_mark").order_by(AuditEntry.id))
        return [(a.action, a.old_value, a.new_value) for a in found.scalars()]


async def test_the_office_marks_a_village_through_township_and_village_buttons(harness):
    user = await _user(harness, OFFICE)
    replies = await harness.send(user, "/rectify")
    assert texts(replies)[0] == "No village in the county is marked for rectification."
    assert "Which township is the village in?" in replies[1].plain_text
    assert labels(replies[1]) == ["古埠镇", "黄金埠镇"]
    replies = await harness.press(user, labelled(replies, "黄金埠镇"))
    assert "Which village?" in replies[-1].plain_text
    assert labels(replies[-1]) == ["东岗村", "新村"]
    replies = await harness.press(user, labelled(replies, "新村"))
    assert "Which of the three types" in replies[-1].plain_text  # not marked: no unmark step
    assert labels(replies[-1]) == ["Weak team", "Prominent disputes", "Weak management",
                                   "Done ✔"]
    replies = await harness.press(user, button(replies, ":weak_team"))
    replies = await harness.press(user, button(replies, ":weak_management"))
    replies = await harness.press(user, button(replies, ":d:3"))
    assert replies[-1].plain_text.splitlines()[1:5] == [
        "Now: not marked", "Township: 黄金埠镇", "Village: 新村",
        "Types: Weak team、Weak management"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == ("✅ 新村 is marked for rectification: Weak team, "
                                  "Weak management.")
    assert await _marks(harness) == {"新村": (True, ["weak_team", "weak_management"])}
    assert await _audit(harness) == [("mark", None, "weak_team,weak_management")]
    replies = await harness.send(user, "/rectify")
    assert texts(replies)[0].splitlines() == [
        "Villages marked for rectification in the county: 1 (0 with rules complete)",
        "• 新村 (Weak team, Weak management): 0 measures; rules 0 of 8"]


async def test_changing_the_township_on_the_confirm_screen_asks_the_village_again(harness):
    user = await _user(harness, OFFICE)
    replies = await harness.send(user, "/rectify")
    replies = await harness.press(user, labelled(replies, "黄金埠镇"))
    replies = await harness.press(user, labelled(replies, "新村"))
    replies = await harness.press(user, button(replies, ":weak_team"))
    replies = await harness.press(user, button(replies, ":d:3"))
    replies = await harness.press(user, labelled(replies, "✏️ Township"))
    replies = await harness.press(user, labelled(replies, "古埠镇"))
    assert "Which village?" in replies[-1].plain_text  # 新村 is not in 古埠镇
    assert labels(replies[-1]) == ["古埠村"]
    replies = await harness.press(user, labelled(replies, "古埠村"))
    assert "Which of the three types" in replies[-1].plain_text  # asked again for this one
    replies = await harness.press(user, button(replies, ":disputes"))
    replies = await harness.press(user, button(replies, ":d:3"))
    assert replies[-1].plain_text.splitlines()[2:5] == [
        "Township: 古埠镇", "Village: 古埠村", "Types: Prominent disputes"]
    await harness.press(user, button(replies, ":ok"))
    assert await _marks(harness) == {"古埠村": (True, ["disputes"])}


async def test_changing_a_marked_villages_types_starts_from_its_current_types(harness):
    user = await _user(harness, OFFICE)
    await _mark(harness, "古埠村", ["disputes"])
    replies = await harness.send(user, "/rectify 古埠村")
    replies = await harness.press(user, button(replies, ":change"))
    assert labels(replies[-1]) == ["Weak team", "✓ Prominent disputes", "Weak management",
                                   "Done ✔"]
    replies = await harness.press(user, button(replies, ":weak_management"))
    replies = await harness.press(user, button(replies, ":d:3"))
    assert "Types: Prominent disputes、Weak management" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    assert await _marks(harness) == {"古埠村": (True, ["disputes", "weak_management"])}
    # Another village picked instead: its own (no) types, not the first one's.
    replies = await harness.send(user, "/rectify 古埠村")
    replies = await harness.press(user, button(replies, ":change"))
    replies = await harness.press(user, button(replies, ":d:3"))
    replies = await harness.press(user, labelled(replies, "✏️ Township"))
    replies = await harness.press(user, labelled(replies, "黄金埠镇"))
    replies = await harness.press(user, labelled(replies, "新村"))
    assert labels(replies[-1]) == ["Weak team", "Prominent disputes", "Weak management",
                                   "Done ✔"]


async def test_the_office_types_names_changes_and_unmarks_in_chinese(harness):
    user = await _user(harness, OFFICE, language="zh-hans")
    await _mark(harness, "古埠村", ["disputes"])
    replies = await harness.send(user, "/rectify")
    assert texts(replies)[0].splitlines()[1] == "• 古埠村（矛盾突出）：措施 0 项；制度 0/8"
    replies = await harness.send(user, "古埠")  # not a button label: use the buttons
    assert texts(replies)[0] == "请用按钮选择。"
    replies = await harness.send(user, "古埠镇")  # a typed name that is a button's label
    assert "哪个村" in replies[-1].plain_text
    replies = await harness.send(user, "古埠村")
    assert "该村已是整顿村" in replies[-1].plain_text
    assert labels(replies[-1]) == ["修改类型", "取消整顿（已整顿到位）"]
    replies = await harness.send(user, "/back")  # back to the village
    assert "哪个村" in replies[-1].plain_text
    replies = await harness.press(user, labelled(replies, "古埠村"))
    replies = await harness.press(user, button(replies, ":unmark"))
    confirm = replies[-1].plain_text.splitlines()
    assert confirm[1] == "目前类型：矛盾突出" and "操作：取消整顿（已整顿到位）" in confirm
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == "✅ 已取消古埠村的整顿村标记（记入操作日志）。"
    assert await _marks(harness) == {"古埠村": (False, [])}
    assert await _audit(harness) == [("mark", None, "disputes"), ("unmark", "disputes", None)]
    replies = await harness.send(user, "/rectify 古埠村")  # a named village skips to the types
    assert "属于哪类软弱涣散村" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":weak_team"))
    replies = await harness.press(user, button(replies, ":d:3"))
    await harness.press(user, button(replies, ":ok"))
    assert await _marks(harness) == {"古埠村": (True, ["weak_team"])}


async def test_a_cadre_of_an_unmarked_village_is_told_so(harness):
    user = await _user(harness, CADRE)
    assert texts(await harness.send(user, "/rectify")) == [
        "Your village is not marked for rectification, so there is nothing to record here. "
        "The county office marks the villages of the three types."]
    zh = await _user(harness, LEADER, user_id=6502, language="zh-hans")
    assert texts(await harness.send(zh, "/rectify")) == [
        "您所在的村不是整顿村，无需在此记录。整顿村由县活动办确定。"]


async def test_a_cadre_records_a_rule_and_sees_the_progress_in_english(harness):
    user = await _user(harness, CADRE)
    await _mark(harness, "新村", ["weak_team"])
    replies = await harness.send(user, "/rectify")
    assert texts(replies)[0].splitlines() == [
        "Your village is marked for rectification:",
        "• 新村 (Weak team): 0 measures; rules 0 of 8"]
    assert labels(replies[-1]) == ["A measure taken", "Village rules", "Financial management",
                                   "Openness of village affairs", "Rules of procedure",
                                   "Economic and development plan",
                                   "One matter, one discussion", "Democratic supervision",
                                   "Grassroots party building"]
    asked = replies
    replies = await harness.send(user, "a rule")  # typed, not a button
    assert texts(replies) == ["Please answer with the buttons."]  # one line: the buttons wait
    replies = await harness.press(user, button(asked, ":finance"))
    assert "Describe it" in replies[-1].plain_text
    replies = await harness.send(user, "   ")
    assert texts(replies) == ["Please answer in text."]  # one line: the question waits
    asked = await harness.send(user, "Monthly accounts posted; two signatures per payment")
    assert "On which day?" in asked[-1].plain_text
    replies = await harness.send(user, "2030-01-01")
    assert texts(replies) == [  # one line, with what works; the question above still waits
        "That day has not come yet. Please send today's date or an earlier one, such as "
        "“yesterday” or “11-26”."]
    replies = await harness.press(user, button(asked, f":{TODAY.isoformat()}"))
    assert replies[-1].plain_text.splitlines()[1:4] == [
        "Kind: Financial management",
        "Description: Monthly accounts posted; two signatures per payment",
        "Date: Today · Sat 28 Nov"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1].splitlines() == [
        "✅ Recorded: Financial management.",
        "• 新村 (Weak team): 0 measures; rules 1 of 8 — Financial management"]
    async with harness.db.read() as session:
        [row] = (await session.execute(select(RectifyAction))).scalars()
    people = await _people(harness)
    assert (row.person_id, row.village_id, row.township_id, row.kind, row.day) == (
        people["李娜"].id, people["李娜"].village_id, people["李娜"].township_id, "finance",
        TODAY)


async def test_a_team_leader_records_a_measure_in_chinese_and_can_cancel(harness):
    user = await _user(harness, LEADER, language="zh-hans")
    await _mark(harness, "新村", ["weak_team", "disputes"])
    replies = await harness.send(user, "/rectify")
    assert texts(replies)[0].splitlines()[1] == "• 新村（班子软弱、矛盾突出）：措施 0 项；制度 0/8"
    replies = await harness.press(user, button(replies, ":measure"))
    replies = await harness.send(user, "/cancel")
    assert texts(replies) == ["已取消，未保存任何内容。"]
    replies = await harness.send(user, "/rectify")
    replies = await harness.press(user, button(replies, ":measure"))
    replies = await harness.send(user, "调整村两委分工，每周召开一次村务会")
    replies = await harness.send(user, "昨天")
    assert replies[-1].plain_text.splitlines()[1:4] == [
        "类别：整顿措施", "内容：调整村两委分工，每周召开一次村务会",
        "日期：昨天 · 11月27日（周五）"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1].splitlines() == [
        "✅ 已记录：整顿措施。", "• 新村（班子软弱、矛盾突出）：措施 1 项；制度 0/8"]


async def test_leaders_read_the_marked_villages_of_their_scope(harness):
    township = await _user(harness, TOWNSHIP)
    leading = await _user(harness, LEADING, user_id=6502)
    await _mark(harness, "新村", ["weak_team"])
    await _mark(harness, "古埠村", ["disputes", "weak_management"])
    assert texts(await harness.send(township, "/rectify"))[0].splitlines() == [
        "Villages marked for rectification in 黄金埠镇: 1 (0 with rules complete)",
        "• 新村 (Weak team): 0 measures; rules 0 of 8"]
    assert texts(await harness.send(township, "/rectify 古埠镇")) == [
        "“古埠镇” is outside what you can see (黄金埠镇)."]
    lines = texts(await harness.send(leading, "/rectify"))[0].splitlines()
    assert lines[1:] == ["• 古埠村 (Prominent disputes, Weak management): 0 measures; rules 0 of 8",
                         "• 新村 (Weak team): 0 measures; rules 0 of 8"]


async def test_the_figures_match_the_raw_rows(harness):
    await harness.import_roster()
    await _mark(harness, "新村", ["weak_team", "disputes"])
    await _mark(harness, "东岗村", ["disputes"])
    await _mark(harness, "古埠村", ["weak_management"])
    await _mark(harness, "古埠村", [])  # unmarked: its actions no longer count
    now = harness.clock.now()
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        plan = [("李娜", "measure"), ("张伟", "measure"), ("王芳", "village_rules"),
                ("李娜", "village_rules"), ("张伟", "finance"), ("王芳", "openness"),
                ("李娜", "procedure"), ("王芳", "plan"), ("李娜", "one_matter"),
                ("张伟", "supervision"), ("王芳", "party_building"), ("陈静", "finance"),
                ("赵强", "measure")]
        for name, kind in plan:
            await store.add_action(session, person=people[name], kind=kind, text="…",
                                   day=TODAY, now=now)
    async with harness.db.read() as session:
        marks = list((await session.execute(select(VillageMark))).scalars())
        actions = list((await session.execute(select(RectifyAction))).scalars())
        totals = await store.rectification_totals(session)
        township = await store.rectification_totals(session, township_id=people["李娜"].township_id)
        by_village = {v.village: v for v in await store.progress_by_village(session)}
    active = {m.village_id for m in marks if m.active}
    counted = [a for a in actions if a.village_id in active]
    kinds_by_village = {vid: {a.kind for a in counted
                              if a.village_id == vid and a.kind != "measure"} for vid in active}
    assert totals.marked == len(active) == 2
    assert totals.by_type == dict(Counter(t for m in marks if m.active
                                          for t in store.types_of(m)))
    assert totals.measures == sum(1 for a in counted if a.kind == "measure") == 2
    assert totals.rules == sum(1 for a in counted if a.kind != "measure") == 10
    assert totals.complete == sum(1 for k in kinds_by_village.values() if len(k) == 8) == 1
    assert township == totals  # both marked villages lie in 黄金埠镇
    assert by_village["新村"].complete and by_village["新村"].rules["village_rules"] == 2
    assert by_village["东岗村"].rule_kinds == ["finance"]
    assert by_village["新村"].last_action == now
    assert rectification_line(translator("en"), totals) == (
        "Rectification: villages marked 2 (Weak team 1, Prominent disputes 2); "
        "measures 2, rules 10; villages with all eight kinds of rule 1")
    assert village_line(translator("en"), by_village["新村"]) == (
        "• 新村 (Weak team, Prominent disputes): 2 measures; rules 8 of 8 — Village rules, "
        "Financial management, Openness of village affairs, Rules of procedure, Economic and "
        "development plan, One matter, one discussion, Democratic supervision, Grassroots party "
        "building ✅ rules complete")


async def test_the_export_has_a_rectification_sheet_of_marked_villages(harness, tmp_path):
    harness.settings.export_dir = str(tmp_path / "exports")
    office = await _user(harness, OFFICE, user_id=6503)
    await _mark(harness, "新村", ["weak_team", "disputes"])
    await _mark(harness, "古埠村", ["weak_management"])
    await _mark(harness, "东岗村", ["weak_team"])
    await _mark(harness, "东岗村", [])  # unmarked: not on the sheet
    now = harness.clock.now()
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        for kind in ("measure", "measure", "finance", "openness"):
            await store.add_action(session, person=people["李娜"], kind=kind, text="…",
                                   day=TODAY, now=now)
    await harness.send(office, "/export")
    _name, book, _params = await fetch_workbook(harness, office)
    rows = by_header(book, "Rectification")
    assert [tuple(r.values()) for r in rows] == [
        ("古埠镇", "古埠村", "Weak management", 0, *["no"] * 8, None),
        ("黄金埠镇", "新村", "Weak team; Prominent disputes", 2, "no", "yes", "yes",
         *["no"] * 5, now.astimezone(SHANGHAI).replace(tzinfo=None))]
    assert list(rows[0]) == ["Township", "Village", "Types", "Measures", "Village rules",
                             "Financial management", "Openness of village affairs",
                             "Rules of procedure", "Development plan",
                             "One matter, one discussion", "Democratic supervision",
                             "Party building", "Last recorded"]
    summary = dict(row[:2] for row in sheet_rows(book, "Summary") if row and row[0])
    assert (summary["Villages marked"], summary["Measures taken"], summary["Rules established"],
            summary["Villages with all eight kinds of rule"]) == (2, 2, 2, 0)
