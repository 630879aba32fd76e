"""/roster in chat: import a file by the command line's rules, list a village, deactivate a
person (records kept, access gone at once, even mid-dialog), and only for the office."""

from __future__ import annotations

import datetime as dt
import io
import os

import openpyxl
from sqlalchemy import func, select

from storage.models import AuditEntry, Checkin, Dialog, Person
from tests.harness import DEFAULT_ROSTER, ROSTER_HEADER, texts
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
    assert texts(replies) == ["Roster imported: 2 added, 1 updated, 8 unchanged."]
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
        "名单未导入：发现 5 处问题，未做任何更改。请改正后重新发送整个文件。",
        "第 3 行：含有公式（“=HYPERLINK(\"http://x\")”），请直接填写数值。",
        "第 4 行：电话号码 13800138011 在多行中重复出现。",
        "第 5 行：电话号码 13800138011 在多行中重复出现。",
        "第 6 行：“12345”不是有效的电话号码。",
        "第 6 行：级别“general”无效，应为 县级、科级、一般（或 county, department, ordinary）。",
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
    assert "lacks the columns: unit, township, village, role" in texts(replies)[0]
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
    assert texts(replies) == ["古埠镇/新村：共 1 人\n• 钱多 · 驻村干部 · ****8010 · ⏳ 未登记"]


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
    assert texts(replies) == ["名单已导入：新增 1 人，更新 0 人，未变 9 人。"]
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
