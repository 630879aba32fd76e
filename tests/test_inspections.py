"""/inspect transcripts: a supervisor (督查组) records an unannounced visit of 新村 — township
and village by buttons, today unless changed (a typed 11月25日 or 11.25 too), the team members
found there ticked, the findings; the team leader is told at once and opens the record with
查看记录; the members found away show in /laggards and /team, in the export's 督查暗访 sheet
and in the county report's 督查暗访和抽查 section; cadres and team leaders cannot /inspect, and
a team leader of another village cannot open the record. The roster takes the role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from common.rosternames import roster_error, roster_names
from scheduler.reports import county_report
from scheduler.runs import Run
from storage.models import AuditEntry, Inspection, InspectionCadre, Person
from storage.roster import import_roster_file
from tests.harness import DEFAULT_ROSTER, ROSTER_HEADER, texts
from tests.scheduling import local
from tests.test_export import by_header, fetch_workbook
from tests.test_export import exports as exports  # the fixture, for this module's tests
from tests.test_leave import settings as settings  # replies paced for tests
from tests.test_report import fetch_report, headings

SATURDAY = dt.date(2026, 11, 28)  # the harness's today
SUPERVISOR = "钱进,13800138010,ordinary,县纪委,,,supervisor\n"


async def registered(harness) -> dict[str, object]:
    """The roster with a supervisor; the supervisor, two team leaders, a cadre and the office
    register by sharing their phones, in Chinese."""
    await harness.import_roster(DEFAULT_ROSTER + SUPERVISOR)
    phones = {"钱进": ("13800138010", 7110), "张伟": ("13800138001", 7101),
              "刘洋": ("13800138004", 7104), "李娜": ("13800138002", 7102),
              "吴敏": ("13800138009", 7109)}
    return {name: await harness.register(phone, user_id=user_id)
            for name, (phone, user_id) in phones.items()}


async def inspections(harness) -> list[Inspection]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Inspection).order_by(Inspection.id))).scalars())


async def found_present(harness, inspection_id: int) -> dict[str, bool]:
    async with harness.db.read() as session:
        rows = (await session.execute(
            select(Person.name, InspectionCadre.present).join(
                Person, Person.id == InspectionCadre.person_id).where(
                InspectionCadre.inspection_id == inspection_id))).all()
    return dict(rows)


async def inspect_xincun(harness, user, *, present: list[str], findings: str,
                         day: str | None = None) -> list:
    """/inspect through its buttons: 黄金埠镇, 新村, 暗访, the members ticked, the findings;
    `day` typed on the confirm screen instead of today; then 提交."""
    replies = await harness.send(user, "/inspect")
    assert "请选择乡镇" in replies[-1].plain_text
    replies = await harness.tap(user, replies, "黄金埠镇")
    replies = await harness.tap(user, replies, "新村")
    replies = await harness.tap(user, replies, "暗访")
    assert "点选当时在村的队员" in replies[-1].plain_text
    assert [label for row in replies[-1].buttons for label, _ in row] == [
        "张伟", "李娜", "王芳", "选好了 ✔", "跳过"]
    for name in present:
        replies = await harness.tap(user, replies, name)
    replies = await harness.tap(user, replies, "选好了 ✔")
    replies = await harness.send(user, findings)
    if day is not None:
        replies = await harness.tap(user, replies, "✏️ 日期")
        replies = await harness.send(user, day)
    return replies


async def test_a_supervisor_records_an_unannounced_visit_and_the_leader_is_told(harness):
    users = await registered(harness)
    leader_seen = len(harness.emu.sent_to(users["张伟"].id))
    replies = await inspect_xincun(harness, users["钱进"], present=["张伟"],
                                   findings="李娜、王芳不在村，村里说这周没见到")
    confirm = replies[-1].plain_text
    assert "日期：今天 · 11月28日（周六）" in confirm and "方式：暗访" in confirm
    assert "在村队员：张伟" in confirm
    assert "没有点选的队员记为“督查时不在村”，计入考勤。" in confirm
    replies = await harness.tap(users["钱进"], replies, suffix=":ok")
    assert texts(replies)[-1] == "✅ 已记录新村的督查暗访，不在村 2 人。\n已告知队长张伟。"
    [row] = await inspections(harness)
    assert (row.kind, row.day) == ("unannounced", SATURDAY)
    assert await found_present(harness, row.id) == {"张伟": True, "王芳": False, "李娜": False}
    async with harness.db.read() as session:
        [audit] = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "inspection"))).scalars().all()
    assert (audit.entity_id, audit.action, audit.field, audit.new_value) == (
        row.id, "record", "village_id", str(row.village_id))

    notice = (await harness.emu.wait_sent(users["张伟"].id, count=leader_seen + 1))[-1]
    lines = notice.plain_text.splitlines()
    assert lines[:2] == ["督查组到您村进行了督查暗访：",
                         "暗访记录：11月28日（周六），钱进到黄金埠镇新村暗访。"]
    assert "不在村：王芳、李娜" in lines or "不在村：李娜、王芳" in lines
    assert [label for r in notice.buttons for label, _ in r] == ["查看记录"]
    [(_, data)] = notice.buttons[0]
    assert data == f"isp:{row.id}"
    opened = texts(await harness.tap(users["张伟"], [notice], "查看记录"))
    assert opened[-1].splitlines()[0] == "暗访记录：11月28日（周六），钱进到黄金埠镇新村暗访。"
    assert opened[-1].splitlines()[-1] == "发现的情况：李娜、王芳不在村，村里说这周没见到"

    # Another village's team leader cannot open it, even with the button's data.
    newest = (await harness.send(users["刘洋"], "/help"))[-1].message_id
    assert await harness.press(users["刘洋"], f"isp:{row.id}", message_id=newest) == []
    assert harness.emu.callback_answers[-1].get("text") == "这条记录不在您现在负责的范围内。"

    # The members found away are in /laggards and /team, for the leader and the supervisor.
    for name in ("张伟", "钱进"):
        lagging = texts(await harness.send(users[name], "/laggards 新村"))[-1].splitlines()
        for cadre in ("李娜", "王芳"):
            line = next(t for t in lagging if t.startswith(f"• {cadre}") or cadre in t)
            assert "督查时不在村 1 次" in line, line
        assert not any("张伟" in t and "督查时不在村" in t for t in lagging)
    team = texts(await harness.send(users["张伟"], "/team"))[-1].splitlines()
    for cadre in ("李娜", "王芳"):
        at = team.index(next(t for t in team if t.startswith(f"{cadre}：")))
        assert "　└ ⚠️ 督查时不在村 1 次" in team[at + 1:at + 4]
    at = team.index(next(t for t in team if t.startswith("张伟")))
    assert "督查时不在村" not in "".join(team[at:at + 2])


async def test_a_typed_date_and_the_record_in_the_export_and_the_report(harness, exports):
    users = await registered(harness)
    replies = await inspect_xincun(harness, users["钱进"], present=["张伟", "王芳"],
                                   findings="台账齐全", day="11.25")
    assert "日期：11月25日（周三）" in replies[-1].plain_text
    await harness.tap(users["钱进"], replies, suffix=":ok")
    replies = await inspect_xincun(harness, users["钱进"], present=[], findings="无人在岗",
                                   day="11月26日")
    assert "日期：11月26日（周四）" in replies[-1].plain_text
    replies = await harness.tap(users["钱进"], replies, suffix=":ok")
    assert texts(replies)[-1].startswith("✅ 已记录新村的督查暗访，不在村 3 人。")
    assert [(r.day, r.kind) for r in await inspections(harness)] == [
        (dt.date(2026, 11, 25), "unannounced"), (dt.date(2026, 11, 26), "unannounced")]

    await harness.send(users["吴敏"], "/export")
    _, book, _ = await fetch_workbook(harness, users["吴敏"])
    assert "督查暗访" in book.sheetnames and "抽查" in book.sheetnames
    rows = by_header(book, "督查暗访")
    assert [(r["日期"], r["方式"], r["乡镇"], r["村"], r["督查人"], r["发现的情况"])
            for r in rows] == [
        (dt.datetime(2026, 11, 25), "暗访", "黄金埠镇", "新村", "钱进", "台账齐全"),
        (dt.datetime(2026, 11, 26), "暗访", "黄金埠镇", "新村", "钱进", "无人在岗")]
    assert set(rows[0]["在村队员"].split("、")) == {"张伟", "王芳"}
    assert rows[0]["不在村队员"] == "李娜"
    assert rows[1]["在村队员"] is None
    assert set(rows[1]["不在村队员"].split("、")) == {"张伟", "王芳", "李娜"}
    logged = [(r["对象"], r["操作"], r["字段"], r["新值"]) for r in by_header(book, "操作日志")
              if r["对象"] == "督查暗访"]
    assert logged == [("督查暗访", "记录", "村", "新村")] * 2  # in words, no codes

    harness.emu.documents.clear()  # the report is the next document
    await harness.send(users["吴敏"], "/report")
    _, document, _ = await fetch_report(harness, users["吴敏"])
    assert headings(document)[2] == "三、督查暗访和抽查"
    texts_after = [p.text for p in document.paragraphs]
    at = texts_after.index("三、督查暗访和抽查")
    assert texts_after[at + 1].endswith(
        "督查组共督查暗访 2 次（督查 0 次、暗访 2 次），到过 1 个村；查到工作队员 6 人次，"
        "其中不在村 4 人次，已计入考勤。")
    assert texts_after[at + 2] == "本期没有抽查记录。"


async def test_the_monday_report_goes_to_the_supervisors_with_the_weeks_inspections(harness):
    users = await registered(harness)
    replies = await inspect_xincun(harness, users["钱进"], present=["张伟"], findings="台账齐全")
    await harness.tap(users["钱进"], replies, suffix=":ok")
    harness.at(local(2026, 11, 30, 8, 0))  # Monday: the report of last week
    now = harness.clock.now()
    async with harness.db.write() as session:
        out = await county_report(Run(harness.ctx, session, now, now))
    reports = {m.person_id: str(m.payload["text"]) for m in out if m.method == "sendMessage"}
    for name in ("钱进", "吴敏"):  # the supervisor as well as the office
        lines = reports[await person_id(harness, name)]
        assert "督查暗访：1 次，到过 1 个村，查到不在村 2 人次（已计入考勤）" in lines.splitlines()
    # A week with no inspection says nothing of them.
    harness.at(local(2026, 12, 7, 8, 0))
    now = harness.clock.now()
    async with harness.db.write() as session:
        out = await county_report(Run(harness.ctx, session, now, now))
    assert not any("督查暗访" in str(m.payload.get("text", "")) for m in out)


async def person_id(harness, name: str) -> int:
    async with harness.db.read() as session:
        return int((await session.execute(select(Person.id).where(Person.name == name)))
                   .scalar_one())


async def test_cadres_and_team_leaders_cannot_inspect(harness):
    users = await registered(harness)
    for name in ("李娜", "张伟"):
        replies = await harness.send(users[name], "/inspect")
        assert texts(replies)[-1] == "您的角色不能使用这个命令。发送 /help 查看您可以使用的命令。"
        assert "/inspect" not in texts(await harness.send(users[name], "/help"))[-1]
    assert await inspections(harness) == []
    # The supervisor's /help lists it, with the reading commands and without the office's.
    shown = texts(await harness.send(users["钱进"], "/help"))[-1]
    for command in ("/inspect", "/stats", "/team", "/laggards", "/export", "/spotcheck",
                    "/cancel"):
        assert command in shown, command
    for command in ("/broadcast", "/roster", "/review", "/checkin"):
        assert command not in shown, command
    assert "/spotcheck — 查看抽查结果；交您核实的记录会单独发给您" in shown
    # A cancelled draft saves nothing.
    await harness.send(users["钱进"], "/inspect")
    assert texts(await harness.send(users["钱进"], "/cancel"))[-1]
    assert await inspections(harness) == []


async def test_the_roster_takes_the_supervisor_role_in_chinese(harness):
    header = "姓名,电话,职级,单位,乡镇,村,角色\n"
    result = await import_roster_file(
        harness.db, (header + "钱进,13800138010,一般干部,县纪委,,,督查组\n"
                     "郑红,13800138011,科级,县委组织部,,,督导组\n").encode(), "花名册.csv",
        now=harness.clock.now(), names=roster_names())
    assert not result.errors
    async with harness.db.read() as session:
        roles = dict((await session.execute(select(Person.name, Person.role))).all())
    assert roles == {"钱进": "supervisor", "郑红": "supervisor"}
    # A supervisor is placed in no township or village.
    result = await import_roster_file(
        harness.db, (ROSTER_HEADER + "冯刚,13800138012,ordinary,县纪委,黄金埠镇,,supervisor\n"
                     ).encode(), "roster.csv", now=harness.clock.now(), names=roster_names())
    [error] = result.errors
    assert roster_error("zh", error) == (
        "第 2 行：县领导小组成员、县活动办和督查组成员不填写乡镇和村（填了“黄金埠镇”）。")
