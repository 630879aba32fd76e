"""/roster in chat: import a file by the command line's rules, list a village, deactivate a
person (records kept, access gone at once, even mid-dialog), and only for the office."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import re

import openpyxl
from sqlalchemy import func, select

from bot import cli
from common.i18n import translate
from storage import people
from storage.models import AuditEntry, Checkin, Dialog, Person, Township, Village
from storage.people import ROLES
from tests.harness import DEFAULT_ROSTER, ROSTER_HEADER, texts
from tests.test_export import fetch_workbook
from tests.test_schedules import bind_everyone
from tests.test_visits import button

QIAN = "钱多,13800138010,ordinary,县教育局,古埠镇,新村,cadre\n"  # a second 新村, in 古埠镇
OFFICE_CHAT = 7009  # 吴敏
LINA_CHAT = 7002  # 李娜, a cadre of 新村


async def _office(harness, language: str = "en"):
    chats = await bind_everyone(harness, language=language)
    return chats, harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code=language)


async def _upload(harness, user, filename: str, content: bytes, caption: str | None = "/roster",
                  mime_type: str = "text/csv"):
    update_id = user.document(filename, content, mime_type=mime_type, caption=caption)
    return await harness.roundtrip(user, update_id)


async def _people(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.name: p for p in (await session.execute(select(Person))).scalars()}


async def _snapshot(harness) -> dict[str, tuple]:
    """What the roster says of everyone, to compare before and after."""
    return {name: (p.phone, p.rank, p.role, p.unit_id, p.township_id, p.village_id, p.active,
                   p.telegram_user_id) for name, p in (await _people(harness)).items()}


def _summaries(replies) -> list[str]:
    """Each reply's first paragraph: an import's counts, without the warnings after them of
    where the roster is not shaped as the notice asks (tested on their own below)."""
    return [text.split("\n\n")[0] for text in texts(replies)]


def _downloads(harness) -> int:
    return sum(1 for r in harness.emu.requests if r.method == "getFile")


def _xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_an_xlsx_sent_with_the_caption_is_imported_and_the_counts_reported(harness):
    await _office(harness)
    office = harness.emu.user(OFFICE_CHAT, first_name="吴敏", language_code="en")
    rows = [line.split(",") for line in DEFAULT_ROSTER.strip().splitlines()]
    rows[2][2] = "county"  # 李娜 is promoted
    rows += [["钱多", "13800138010", "ordinary", "县教育局", "古埠镇", "古埠村", "cadre"],
             ["孔明", "13800138011", "department", "县科技局", "古埠镇", "新村", "cadre"]]
    replies = await _upload(harness, office, "名单.xlsx", _xlsx(rows),
                            mime_type="application/vnd.ms-excel")
    assert _summaries(replies) == ["Roster imported: 2 added, 1 updated, 8 unchanged."]
    people = await _people(harness)
    assert people["李娜"].rank == "county" and people["孔明"].village.name == "新村"
    async with harness.db.read() as session:
        actors = (await session.execute(select(AuditEntry.action, AuditEntry.actor_id).where(
            AuditEntry.entity_id.in_([people["钱多"].id, people["李娜"].id]),
            AuditEntry.actor_id.is_not(None)).order_by(AuditEntry.action))).all()
    assert actors == [("roster_create", people["吴敏"].id), ("roster_update", people["吴敏"].id)]


async def test_a_bad_file_is_rejected_whole_with_every_bad_line_and_nothing_changes(harness):
    _, office = await _office(harness, language="zh-hans")
    before = await _snapshot(harness)
    bad = ROSTER_HEADER + "\n".join([
        "钱多,13800138010,ordinary,县教育局,古埠镇,古埠村,cadre",
        "=HYPERLINK(\"http://x\"),13800138012,ordinary,县教育局,古埠镇,古埠村,cadre",
        "孔明,13800138011,department,县科技局,古埠镇,新村,cadre",
        "孔亮,13800138011,department,县科技局,古埠镇,新村,cadre",
        "张飞,12345,general,县武装部,古埠镇,新村,cadre",
    ]) + "\n"
    replies = await _upload(harness, office, "roster.csv", bad.encode())
    assert texts(replies) == ["\n".join([
        "花名册未导入：发现 5 处问题，未做任何更改。请改正后重新发送整个文件。",
        "第 3 行：含有公式（“=HYPERLINK(\"http://x\")”），请直接填写数值。",
        "第 4 行：电话号码 13800138011 在多行中重复出现。",
        "第 5 行：电话号码 13800138011 在多行中重复出现。",
        "第 6 行：“12345”不是有效的电话号码。",
        "第 6 行：职级“general”无效，应为县级、科级、一般干部之一。",
    ])]
    assert await _snapshot(harness) == before


async def test_rows_beside_a_formula_are_not_written_and_the_chat_goes_on(harness):
    _, office = await _office(harness)
    before = set(await _people(harness))
    bad = ROSTER_HEADER + "钱多,13800138010,ordinary,县教育局,古埠镇,古埠村,cadre\n" \
        "孔明,=1+1,department,县科技局,古埠镇,新村,cadre\n"
    replies = await _upload(harness, office, "roster.csv", bad.encode())
    assert texts(replies) == [
        "The roster was not imported: 1 problem(s) found, and nothing was changed. Fix them "
        "and send the whole file again.\nLine 3: contains a formula (“=1+1”). Type the values "
        "themselves."]
    assert set(await _people(harness)) == before
    replies = await harness.send(office, "/roster list 新村")
    assert "黄金埠镇/新村: 3 people" in texts(replies)[0]


async def test_wrong_columns_a_binary_xlsx_and_many_errors_are_each_explained(harness):
    _, office = await _office(harness)
    before = await _snapshot(harness)
    replies = await _upload(harness, office, "r.csv", "name,phone,rank\n张三,13800138020,一般\n"
                            .encode())
    assert "lacks the columns: Unit, Township, Village, Role." in texts(replies)[0]
    replies = await _upload(harness, office, "roster.xlsx", os.urandom(2048),
                            mime_type="application/vnd.openxmlformats-officedocument."
                                      "spreadsheetml.sheet")
    assert "could not be read" in texts(replies)[0]
    many = ROSTER_HEADER + "".join(f"某{i},123{i},ordinary,县委,古埠镇,新村,cadre\n"
                                   for i in range(25))
    replies = await _upload(harness, office, "roster.csv", many.encode())
    lines = texts(replies)[0].splitlines()
    assert "25 problem(s)" in lines[0] and len(lines) == 22 and lines[-1] == "… and 5 more."
    assert await _snapshot(harness) == before


async def test_an_oversized_file_is_refused_without_downloading_it(harness):
    _, office = await _office(harness)
    replies = await _upload(harness, office, "roster.csv", b"x" * (6 * 1024 * 1024))
    assert texts(replies) == ["The file is 6.0 MB; a roster file may be at most 5.0 MB. It was "
                              "not downloaded, and nothing was changed."]
    assert _downloads(harness) == 0


async def test_the_menu_lists_a_village_by_buttons_with_masked_phones(harness):
    _, office = await _office(harness)
    replies = await harness.send(office, "/roster")
    assert [d for row in replies[0].buttons for _, d in row] == ["ros:imp", "ros:list", "ros:off"]
    replies = await harness.press(office, "ros:imp")
    assert "caption /roster" in texts(replies)[0]
    replies = await harness.press(office, "ros:list")
    replies = await harness.press(office, replies[-1].callback_data("黄金埠镇"))
    replies = await harness.press(office, replies[-1].callback_data("新村"))
    assert texts(replies) == ["黄金埠镇/新村: 3 people\n"
                              "• 张伟 · team leader · ****8001 · ✅ registered\n"
                              "• 李娜 · cadre · ****8002 · ✅ registered\n"
                              "• 王芳 · cadre · ****8003 · ✅ registered"]
    replies = await harness.send(office, "/roster list 古埠村")
    assert "赵强 · cadre · ****8006 · ⏳ not registered" in texts(replies)[0]


async def test_a_village_name_two_townships_share_is_asked_about(harness):
    _, office = await _office(harness, language="zh-hans")
    await harness.import_roster(ROSTER_HEADER + QIAN)
    replies = await harness.send(office, "/roster list 新村")
    assert "有多个乡镇都有名为“新村”的村" in texts(replies)[0]
    replies = await harness.press(office, replies[-1].callback_data("古埠镇/新村"))
    assert texts(replies) == ["古埠镇/新村：共 1 人\n• 钱多 · 驻村干部 · ****8010 · ⏳ 未注册"]


async def test_a_deactivated_cadre_mid_visit_is_refused_at_once_and_keeps_records(harness):
    _, office = await _office(harness)
    lina = harness.emu.user(LINA_CHAT, first_name="李娜", language_code="en")
    async with harness.db.write() as session:
        lina_id = (await session.execute(select(Person.id).where(
            Person.name == "李娜"))).scalar_one()
        now = harness.clock.now()
        session.add(Checkin(person_id=lina_id, day=dt.date(2026, 11, 27), in_village=True,
                            created_at=now, updated_at=now))
    replies = await harness.send(lina, "/visit")
    assert "Which of the eight visits was it?" in texts(replies)[-1]
    replies = await harness.send(office, "/roster off 李")
    assert [label for row in replies[-1].buttons for label, _ in row] == [
        "李娜 · cadre · 黄金埠镇/新村 · ****8002"]
    replies = await harness.press(office, replies[-1].buttons[0][0][1])
    assert "李娜 will lose access to the bot at once" in replies[-1].plain_text
    replies = await harness.press(office, button(replies, ":ok"))
    assert texts(replies)[-1] == ("🚫 李娜 is deactivated: their access has ended and their "
                                  "records are kept.")
    assert texts(harness.emu.sent_to(LINA_CHAT))[-1].startswith(
        "Your access to the campaign bot has ended")
    deleted = [r.params for r in harness.emu.requests if r.method == "deleteMyCommands"]
    assert deleted == [{"scope": {"type": "chat", "chat_id": LINA_CHAT}}]  # no stale menu
    replies = await harness.send(lina, "The old man in house 3")
    assert texts(replies)[0].startswith("Welcome to Grassroots")  # no longer anyone's account
    lina_now = (await _people(harness))["李娜"]
    assert (lina_now.active, lina_now.telegram_user_id) == (False, None)
    async with harness.db.read() as session:
        dialogs = (await session.execute(select(func.count()).select_from(Dialog).where(
            Dialog.chat_id == LINA_CHAT))).scalar_one()
        checkins = (await session.execute(select(func.count()).select_from(Checkin).where(
            Checkin.person_id == lina_id))).scalar_one()
        audit = (await session.execute(select(AuditEntry.field).where(
            AuditEntry.action == "deactivate"))).scalars().all()
    assert (dialogs, checkins, sorted(audit)) == (
        0, 1, ["active", "invite_code", "telegram_user_id"])  # a new code: the old one is void
    replies = await harness.send(office, "/roster list 新村")
    assert "李娜 · cadre · ****8002 · ⛔ deactivated" in texts(replies)[0]
    replies = await harness.contact(lina, "+8613800138002")
    assert "not on the campaign roster" in texts(replies)[0]


async def test_deactivation_by_phone_and_not_of_oneself(harness):
    _, office = await _office(harness)
    replies = await harness.send(office, "/roster off 13800138009")
    replies = await harness.press(office, replies[-1].buttons[0][0][1])
    replies = await harness.press(office, button(replies, ":ok"))
    assert texts(replies)[-1] == "You cannot deactivate yourself. Nothing was changed."
    replies = await harness.send(office, "/roster")
    replies = await harness.press(office, "ros:off")
    replies = await harness.send(office, "+86 138 0013 8003")
    assert [label for row in replies[-1].buttons for label, _ in row] == [
        "王芳 · cadre · 黄金埠镇/新村 · ****8003"]
    replies = await harness.send(office, "/cancel")
    assert (await _people(harness))["王芳"].active


async def test_only_the_office_may_use_the_roster(harness):
    chats = await bind_everyone(harness)
    before = await _snapshot(harness)
    for name in ("李娜", "周杰"):
        user = harness.emu.user(chats[name], first_name=name, language_code="en")
        refused = ["That command is not available to your role. Send /help to see your commands."]
        assert texts(await harness.send(user, "/roster")) == refused
        assert texts(await _upload(harness, user, "roster.csv", DEFAULT_ROSTER.encode())) == refused
        await harness.send(user, "/language")  # a message with buttons to press on
        await harness.press(user, "ros:v:1")
        assert harness.emu.callback_answers[-1].get("text") == "This button no longer works."
    assert _downloads(harness) == 0
    assert await _snapshot(harness) == before


async def test_a_roster_file_sent_without_a_caption_is_imported_too(harness):
    chats, office = await _office(harness, language="zh-hans")
    rows = [line.split(",") for line in DEFAULT_ROSTER.strip().splitlines()]
    rows += [["孔明", "13800138011", "department", "县科技局", "古埠镇", "新村", "cadre"]]
    replies = await _upload(harness, office, "名单.xlsx", _xlsx(rows), caption=None,
                            mime_type="application/vnd.ms-excel")
    assert _summaries(replies) == ["花名册已导入：新增 1 人，更新 0 人，未变 9 人。"]
    assert (await _people(harness))["孔明"].village.name == "新村"
    # Another kind of file from the office, and a CSV from a cadre, are not taken for a roster.
    before, downloads = await _snapshot(harness), _downloads(harness)
    replies = await _upload(harness, office, "notice.pdf", b"%PDF-1.4", caption=None,
                            mime_type="application/pdf")
    assert texts(replies) == ["没有看懂这条消息。发送 /help 查看可以做什么。"]
    lina = harness.emu.user(chats["李娜"], first_name="李娜", language_code="en")
    replies = await _upload(harness, lina, "roster.csv", DEFAULT_ROSTER.encode(), caption=None)
    assert texts(replies) == ["I did not understand that. Send /help to see what you can do."]
    assert _downloads(harness) == downloads and await _snapshot(harness) == before


# --- the roster exported, edited in a spreadsheet and imported again -----------------------


def _edit_people_sheet(content: bytes, edits: dict[str, dict[str, str]]) -> bytes:
    """The export's workbook with cells of its roster sheet changed, as Excel or WPS would save
    it: `edits` maps a person's name to {column: new text}, columns by their export header."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book[translate("zh", "export.sheet.people")]
    header = [cell.value for cell in sheet[1]]
    name_at = header.index(translate("zh", "export.people.name"))
    for row in sheet.iter_rows(min_row=2):
        for column, text in edits.get(row[name_at].value, {}).items():
            row[header.index(translate("zh", f"export.people.{column}"))].value = text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _deactivate(harness, name: str) -> None:
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(Person.name == name))).scalar_one()
        await people.deactivate(session, person=person, by=None, now=harness.clock.now())


async def _village_id(harness, township: str, village: str) -> int:
    async with harness.db.read() as session:
        return (await session.execute(select(Village.id).join(Township).where(
            Township.name == township, Village.name == village))).scalar_one()


async def test_the_exported_roster_edited_in_a_spreadsheet_imports_again_in_chat_and_cli(
    harness, tmp_path, monkeypatch, capsys
):
    harness.settings.export_dir = str(tmp_path / "exports")
    _, office = await _office(harness, language="zh-hans")
    await _deactivate(harness, "王芳")  # on the sheet as not on the roster
    await harness.send(office, "/export")
    _, book, _ = await fetch_workbook(harness, office)
    buffer = io.BytesIO()
    book.save(buffer)
    exported = buffer.getvalue()
    sheet = book[translate("zh", "export.sheet.people")]
    header = [c.value for c in sheet[1]]
    assert {"姓名", "电话", "职级", "角色", "单位", "乡镇", "村", "在册"} <= set(header), header
    before = await _snapshot(harness)

    # In the chat: 李娜 has a new phone, 陈静 moves from 东岗村 to 新村.
    edited = _edit_people_sheet(exported, {"李娜": {"phone": "139 0013 9002"},
                                           "陈静": {"village": "新村"}})
    replies = await _upload(harness, office, "人员名册.xlsx", edited,
                            mime_type="application/vnd.openxmlformats-officedocument."
                                      "spreadsheetml.sheet")
    assert _summaries(replies) == ["花名册已导入：新增 0 人，更新 2 人，未变 6 人。\n"
                              "另有 1 人的“在册”一栏为“否”，未作更改。"]
    expected = dict(before)
    expected["李娜"] = ("+8613900139002", *before["李娜"][1:])
    xincun = await _village_id(harness, "黄金埠镇", "新村")
    expected["陈静"] = (*before["陈静"][:5], xincun, *before["陈静"][6:])
    assert await _snapshot(harness) == expected
    assert before["王芳"][6] is False and before["陈静"][5] != xincun

    # The same file again changes nothing; nor does the untouched export.
    replies = await _upload(harness, office, "人员名册.xlsx", edited)
    assert texts(replies)[0].startswith("花名册已导入：新增 0 人，更新 0 人，未变 8 人。")
    if not harness.settings.database_url.startswith("sqlite"):
        return  # the command line reaches a PostgreSQL test schema by no URL
    # On the command line: 刘洋 has a new phone, written as Excel shows a number.
    edited = _edit_people_sheet(edited, {"刘洋": {"phone": "13700137004"}})
    path = tmp_path / "人员名册.xlsx"
    path.write_bytes(edited)
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    # The command's own logging set-up would outlive the test (the bot still runs).
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["roster", "import", "--lang", "zh", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "花名册已导入：新增 0 人，更新 1 人，未变 7 人。",
        "另有 1 人的“在册”一栏为“否”，未作更改。"]
    expected["刘洋"] = ("+8613700137004", *before["刘洋"][1:])
    assert await _snapshot(harness) == expected


async def test_a_new_phone_is_a_persons_only_when_all_else_of_the_row_is_theirs(harness):
    _, office = await _office(harness, language="zh-hans")
    header = "姓名,手机号,职级,派出单位,乡镇,村,角色\n"
    # 李娜 of 新村 with a new number: the same person (her old number is on no line).
    lina = "李娜,13900139002,科级,县教育局,黄金埠镇,新村,驻村干部\n"
    # Another 陈静, of another village: a new person, the first keeps her number.
    other = "陈静,13900139005,一般干部,县农业局,古埠镇,古埠村,驻村干部\n"
    replies = await _upload(harness, office, "名单.csv", (header + lina + other).encode())
    assert _summaries(replies) == ["花名册已导入：新增 1 人，更新 1 人，未变 0 人。"]
    found = await _people(harness)
    assert found["李娜"].phone == "+8613900139002"
    async with harness.db.read() as session:
        chens = (await session.execute(select(Person.phone).where(Person.name == "陈静"))).all()
    assert sorted(chens) == [("+8613800138005",), ("+8613900139005",)]
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry.old_value, AuditEntry.new_value).where(
            AuditEntry.entity_id == found["李娜"].id, AuditEntry.field == "phone"))).all()
    assert ("+8613800138002", "+8613900139002") in audit
    # Two lines that would both be 东岗村's 陈静 with a new number: which is meant is unclear.
    twice = header + "陈静,13700137005,一般,县农业局,黄金埠镇,东岗村,干部\n" \
        "陈静,13700137015,一般,县农业局,黄金埠镇,东岗村,干部\n"
    replies = await _upload(harness, office, "名单.csv", twice.encode("utf-8-sig"))
    assert texts(replies) == ["\n".join([
        "花名册未导入：发现 2 处问题，未做任何更改。请改正后重新发送整个文件。",
        "第 2 行：与另一行都是花名册中的陈静（只有电话不同），每人只能占一行。",
        "第 3 行：与另一行都是花名册中的陈静（只有电话不同），每人只能占一行。",
    ])]


async def test_chinese_headers_and_names_read_from_every_encoding_a_spreadsheet_saves(harness):
    _, office = await _office(harness, language="zh-hans")
    text = ("姓名,手机号,级别,派出单位,乡镇,村,角色\n"
            "钱多,13800138010,科级,县教育局,古埠镇,古埠村,工作队长\n"
            "孔明,13800138011,一般,县科技局,古埠镇,古埠村,干部\n"
            "关羽,13800138012,县级,县委,古埠镇,,乡镇负责人\n"
            "张飞,13800138013,县级,县委,,,领导小组\n"
            "刘备,13800138014,一般干部,县委,,,县活动办工作人员\n")
    added = {"钱多": "team_leader", "孔明": "cadre", "关羽": "township_leader",
             "张飞": "leading_group", "刘备": "office"}
    first = True
    for encoding in ("gb18030", "gbk", "utf-8-sig", "utf-8", "utf-16"):
        data = text.replace(",", "\t").encode(encoding) if encoding == "utf-16" \
            else text.encode(encoding)
        replies = await _upload(harness, office, "名单.csv", data)
        created, unchanged = (5, 0) if first else (0, 5)
        said = f"花名册已导入：新增 {created} 人，更新 0 人，未变 {unchanged} 人。"
        assert _summaries(replies) == [said], encoding
        first = False
    found = await _people(harness)
    assert {name: found[name].role for name in added} == added
    assert found["钱多"].rank == "department" and found["孔明"].rank == "ordinary"


async def test_errors_name_the_columns_ranks_and_roles_in_the_readers_language(harness):
    _, office = await _office(harness, language="zh-hans")
    data = "姓名,电话,职级\n张三,13800138020,一般\n".encode()
    replies = await _upload(harness, office, "名单.csv", data)
    assert texts(replies) == [
        "花名册未导入：发现 1 处问题，未做任何更改。请改正后重新发送整个文件。\n"
        "表头（第 1 行）缺少以下列：单位、乡镇、村、角色。"
        "花名册需要的列为：姓名、电话、职级、单位、乡镇、村、角色。"]
    data = ("姓名,电话,职级,单位,乡镇,村,角色,在册\n"
            "张三,13800138020,厅级,县委,古埠镇,新村,村长,也许\n").encode()
    replies = await _upload(harness, office, "名单.csv", data)
    lines = texts(replies)[0].splitlines()[1:]
    assert lines == [
        "第 2 行：职级“厅级”无效，应为县级、科级、一般干部之一。",
        "第 2 行：角色“村长”无效，应为" + "、".join(
            translate("zh", f"role.{role}") for role in ROLES) + "之一。",
        "第 2 行：“在册”一栏应填“是”或“否”，而不是“也许”。",
    ]
    assert not re.search(r"[A-Za-z]", texts(replies)[0])  # no codes, no English


# The default roster's places not shaped as the notice asks: 东岗村 has no township cadre,
# 古埠村 one county cadre and no team leader, 古埠镇 no leader. The people who complete them:
COMPLETING = (ROSTER_HEADER
              + "何平,13800138011,ordinary,黄金埠镇党委,黄金埠镇,东岗村,cadre\n"
              + "钱多,13800138012,department,县教育局,古埠镇,古埠村,team_leader\n"
              + "孔明,13800138013,ordinary,古埠镇政府,古埠镇,古埠村,cadre\n"
              + "关羽,13800138014,county,县委,古埠镇,,township_leader\n")
# A new village of three county-organ cadres and no team leader, in a new township unled.
MISSHAPED = (ROSTER_HEADER
             + "马超,13800138021,county,县财政局,石口镇,石口村,cadre\n"
             + "黄忠,13800138022,department,县交通局,石口镇,石口村,cadre\n"
             + "魏延,13800138023,ordinary,县林业局,石口镇,石口村,cadre\n")


async def test_the_office_sees_where_the_roster_is_not_of_the_notices_shape_in_chinese(harness):
    _, office = await _office(harness, language="zh-hans")
    replies = await _upload(harness, office, "名单.csv", MISSHAPED.encode())
    assert texts(replies) == ["\n".join([
        "花名册已导入：新增 3 人，更新 0 人，未变 0 人。",
        "",
        "请注意：以下 7 处的人员配备与通知要求不符（花名册仍已导入，请核对）：",
        "• 古埠镇：没有乡镇工作组组长。",
        "• 古埠镇/古埠村：工作队没有队长。",
        "• 古埠镇/古埠村：工作队有县直机关干部 1 人、乡镇干部 0 人，"
        "通知要求县直机关干部 2 人、乡镇干部 1 人。",
        "• 石口镇：没有乡镇工作组组长。",
        "• 石口镇/石口村：工作队没有队长。",
        "• 石口镇/石口村：工作队有县直机关干部 3 人、乡镇干部 0 人，"
        "通知要求县直机关干部 2 人、乡镇干部 1 人。",
        "• 黄金埠镇/东岗村：工作队有县直机关干部 2 人、乡镇干部 0 人，"
        "通知要求县直机关干部 2 人、乡镇干部 1 人。",
    ])]
    assert not re.search(r"[A-Za-z]", texts(replies)[0])  # no codes, no English
    found = await _people(harness)
    assert {found[name].village.name for name in ("马超", "黄忠", "魏延")} == {"石口村"}
    # The people who complete the default roster's places leave only the new village's.
    replies = await _upload(harness, office, "名单.csv", COMPLETING.encode())
    assert texts(replies)[0].split("\n")[2:] == [
        "请注意：以下 3 处的人员配备与通知要求不符（花名册仍已导入，请核对）：",
        "• 石口镇：没有乡镇工作组组长。",
        "• 石口镇/石口村：工作队没有队长。",
        "• 石口镇/石口村：工作队有县直机关干部 3 人、乡镇干部 0 人，"
        "通知要求县直机关干部 2 人、乡镇干部 1 人。",
    ]


async def test_a_roster_of_the_notices_shape_imports_without_warnings_in_english(harness):
    _, office = await _office(harness, language="en")
    replies = await _upload(harness, office, "roster.csv", MISSHAPED.encode())
    lines = texts(replies)[0].split("\n")
    assert lines[:4] == [
        "Roster imported: 3 added, 0 updated, 0 unchanged.",
        "",
        "Please note: 7 place(s) are not staffed as the notice asks (the roster is still "
        "imported; please check):",
        "• 古埠镇: no township leader.",
    ]
    assert "• 石口镇/石口村: the village team has 3 county-organ cadre(s) and 0 township "\
           "cadre(s); the notice asks for 2 county-organ cadres and 1 township cadre." in lines
    assert "• 石口镇/石口村: the village team has no team leader." in lines
    # The new village's people leave; with the default roster completed, nothing is said.
    for name in ("马超", "黄忠", "魏延"):
        await _deactivate(harness, name)
    replies = await _upload(harness, office, "roster.csv", COMPLETING.encode())
    assert texts(replies) == ["Roster imported: 4 added, 0 updated, 0 unchanged."]
    assert {p.name for p in (await _people(harness)).values()} >= {"何平", "钱多", "孔明", "关羽"}


async def test_more_than_twenty_warnings_are_cut_short_with_how_many_more(harness):
    _, office = await _office(harness, language="zh-hans")
    # Twelve villages of one cadre each, each without a team leader and with a wrong team (24),
    # and the default roster's 4: the first 20 are listed, then how many more.
    rows = "".join(f"干部{i:02d},139001390{i:02d},ordinary,县委,古埠镇,村{i:02d},cadre\n"
                   for i in range(12))
    replies = await _upload(harness, office, "名单.csv", (ROSTER_HEADER + rows).encode())
    lines = texts(replies)[0].split("\n")
    assert lines[2] == "请注意：以下 28 处的人员配备与通知要求不符（花名册仍已导入，请核对）："
    assert len(lines) == 3 + 20 + 1 and lines[-1] == "……另有 8 处。"
    assert len(await _people(harness)) == 9 + 12
