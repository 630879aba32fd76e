"""/export: an XLSX workbook of the records in the leader's scope, streamed and sent as a file."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import bot.app
from common.i18n import translate
from handlers import export as export_handler
from reports.xlsx import BATCH_ROWS, Sheet, write_workbook
from reports.xlsx_rows import RowSheet
from storage import export
from storage.aid import add_aid
from storage.disputes import add_dispute, move_dispute
from storage.models import Checkin, Person, Summary, Village, Visit
from storage.pairings import pair
from storage.publicity import add_publicity
from storage.visits import add_visit
from tests.harness import texts
from tests.scheduling import SHANGHAI, local

USERS = {"张伟": 7101, "孙丽": 7107, "周杰": 7108, "吴敏": 7109}  # team leader 新村, township
# leader 黄金埠镇, leading group, office
DAY = dt.date


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def bind(harness, language: str) -> dict[str, Any]:
    """Bind the leaders to emulator users (registration has its own tests)."""
    await harness.import_roster()
    users = {}
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            if person.name in USERS:
                person.telegram_user_id = USERS[person.name]
                person.telegram_language = language
                users[person.name] = harness.emu.user(
                    USERS[person.name], first_name=person.name, language_code=language)
    return users


async def seed(harness) -> None:
    """Records in three villages of two townships, some at the edges of local days."""
    async with harness.db.write() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
        # 23:30 in Shanghai is 15:30 UTC: still the 26th, locally and in the sheet.
        await add_visit(s, person=people["李娜"], kind="weak", day=DAY(2026, 11, 26),
                        heard="路灯坏了", wants="修路灯", now=local(2026, 11, 26, 23, 30),
                        household_name="李家", household_category="poor",
                        problem_category="infrastructure")
        await add_visit(s, person=people["陈静"], kind="old", day=DAY(2026, 11, 24),
                        heard="冬修水利", wants="", now=local(2026, 11, 24, 9))
        # 00:30 on the 27th in Shanghai is 16:30 UTC on the 26th.
        await add_visit(s, person=people["赵强"], kind="masses", day=DAY(2026, 11, 27),
                        heard="=SUM(A1:A9)", wants="修桥", now=local(2026, 11, 27, 0, 30),
                        problem_category="infrastructure")
        await add_visit(s, person=people["张伟"], kind="rich", day=DAY(2026, 11, 23),
                        heard="经验", wants="", now=local(2026, 11, 23, 10))
        await add_visit(s, person=people["王芳"], kind="wise", day=DAY(2026, 11, 20),
                        heard="before the campaign", wants="", now=local(2026, 11, 20, 10))
        dispute = await add_dispute(
            s, person=people["王芳"], category="land", parties="甲与乙", people_count=3,
            flags=["repeated", "collective"], description="宅基地", urgency="high",
            day=DAY(2026, 11, 25), now=local(2026, 11, 25, 11))
        await move_dispute(s, dispute=dispute, by_person_id=people["张伟"].id, action="mediate",
                           note="调解中", now=local(2026, 11, 26, 9))
        await add_aid(s, person=people["李娜"], kind="condolence", day=DAY(2026, 11, 27),
                      now=local(2026, 11, 27, 10), household_name="李家", holiday="new_year",
                      amount=Decimal("250.50"))
        await pair(s, person=people["李娜"], now=local(2026, 11, 24, 8), household_name="李家")
        await add_publicity(s, person=people["李娜"], day=DAY(2026, 11, 25), kind="mass",
                            attendance=35, topics=["cooperative_medical", "other"],
                            other_topic="森林防火", slogans=4, boards=1,
                            now=local(2026, 11, 25, 20))
        await add_publicity(s, person=people["赵强"], day=DAY(2026, 11, 26), kind="door_to_door",
                            attendance=6, topics=["rural_pension"], now=local(2026, 11, 26, 9))
        await add_publicity(s, person=people["李娜"], day=DAY(2026, 11, 20), kind="mass",
                            attendance=80, topics=[], now=local(2026, 11, 20, 9))  # before
        for name, away in (("李娜", False), ("赵强", True)):
            p = people[name]
            s.add(Checkin(person_id=p.id, village_id=p.village_id, township_id=p.township_id,
                          unit_id=p.unit_id, day=DAY(2026, 11, 26), in_village=not away,
                          reason="meeting" if away else None, created_at=local(2026, 11, 26, 8),
                          updated_at=local(2026, 11, 26, 8)))
        p = people["李娜"]
        s.add(Summary(person_id=p.id, village_id=p.village_id, township_id=p.township_id,
                      unit_id=p.unit_id, week_start=DAY(2026, 11, 23),
                      figures={"visits": 1, "days_in_village": 4}, achievements="修好路灯",
                      problems="", plan="走访", status="submitted",
                      submitted_at=local(2026, 11, 27, 17)))


async def fetch_workbook(harness, user) -> tuple[str, Any, dict[str, Any]]:
    """Wait for the document the export sends; its file name, workbook and request."""
    emu = harness.emu
    found = await emu.wait_for(
        lambda: [d for d in emu.documents if d[0] == user.id], within=20)
    _chat, filename, content, params = found[-1]
    return filename, load_workbook(BytesIO(content)), params


def sheet_rows(book, title: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in book[title].iter_rows(values_only=True)]


def by_header(book, title: str) -> list[dict[str, Any]]:
    header, *rows = sheet_rows(book, title)
    return [dict(zip(header, row, strict=False)) for row in rows]


async def export_as(harness, user, command: str) -> list[str]:
    return texts(await harness.send(user, command))


async def test_the_office_exports_the_whole_campaign_in_its_language(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    replies = await export_as(harness, users["吴敏"], "/export")
    assert replies == ["Preparing your export of the whole county, 23 – 28 Nov… "
                       "The workbook will arrive here as a file."]
    filename, book, params = await fetch_workbook(harness, users["吴敏"])
    assert filename == "campaign-records-county-23Nov-28Nov.xlsx"
    kinds = [k for k in export.KINDS]
    assert book.sheetnames == ["Summary"] + [translate("en", f"export.sheet.{k}") for k in kinds]
    for kind in kinds:
        header = sheet_rows(book, translate("en", f"export.sheet.{kind}"))[0]
        shown = [c for c in export.COLUMNS[kind] if c not in export_handler.HIDDEN.get(kind, ())]
        assert header == tuple(translate("en", f"export.{kind}.{c}") for c in shown)
    assert book["Visits"].freeze_panes == "A2"
    assert "Visits 4" in params["caption"] and "Problems 2" in params["caption"]
    await harness.emu.wait_for(lambda: not any(exports.iterdir()))  # sent: the file is gone


async def test_a_stop_cancels_an_export_under_way_and_leaves_no_file(harness, exports,
                                                                     monkeypatch):
    users = await bind(harness, "en")
    await seed(harness)
    monkeypatch.setattr(bot.app, "TASKS_AT_STOP_SECONDS", 0)  # no time to finish it
    await export_as(harness, users["吴敏"], "/export")
    assert export_handler.RUNNING
    await harness.stop()
    assert not export_handler.RUNNING
    assert not exports.exists() or not any(exports.iterdir())
    assert not [d for d in harness.emu.documents if d[0] == users["吴敏"].id]


async def test_the_visits_sheet_holds_the_databases_rows_with_local_times(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    await export_as(harness, users["吴敏"], "/export")
    _name, book, _params = await fetch_workbook(harness, users["吴敏"])
    async with harness.db.read() as session:
        expected = (await session.execute(
            select(Visit.day, Person.name, Village.name, Visit.heard)
            .join(Person, Person.id == Visit.person_id)
            .join(Village, Village.id == Visit.village_id)
            .where(Visit.day >= DAY(2026, 11, 23)).order_by(Visit.day, Visit.id))).all()
    rows = by_header(book, "Visits")
    got = [(r["Date"].date(), r["Cadre"], r["Village"], r["What was heard"]) for r in rows]
    assert got == [tuple(e) for e in expected]
    late = next(r for r in rows if r["Cadre"] == "李娜")
    assert late["Recorded at"] == dt.datetime(2026, 11, 26, 23, 30)  # local, not 15:30 UTC
    assert late["Kind of visit"] == "The weak (difficulties)"
    assert late["Township"] == "黄金埠镇" and late["Unit"] == "县教育局"
    assert late["Household"] == "李家" and late["Follow-up needed"] == "yes"
    assert book["Visits"].cell(row=2, column=2).number_format == "d mmm yyyy hh:mm"
    formula = next(i for i, r in enumerate(rows, start=2) if r["Cadre"] == "赵强")
    heard = book["Visits"].cell(row=formula, column=list(rows[0]).index("What was heard") + 1)
    assert (heard.value, heard.data_type) == ("=SUM(A1:A9)", "s")  # text, never a formula


async def test_money_flags_and_the_summary_sheet_read_as_numbers_and_names(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    await export_as(harness, users["吴敏"], "/export")
    _name, book, _params = await fetch_workbook(harness, users["吴敏"])
    help_sheet = book["Help"]
    amount = help_sheet.cell(row=2, column=list(by_header(book, "Help")[0]).index(
        "Amount (yuan)") + 1)
    assert (amount.value, amount.number_format) == (250.5, "General")  # a number, no ¥0.00
    dispute = by_header(book, "Disputes")[0]
    assert dispute["Petition flags"] == "Repeated petition; Collective petition"
    assert dispute[translate("en", "export.disputes.opened_on")].date() == DAY(2026, 11, 25)
    assert [r["Step"] for r in by_header(book, "Dispute steps")] == ["reported", "mediation"]
    summary = dict(row[:2] for row in sheet_rows(book, "Summary") if row and row[0])
    assert summary["Scope"] == "the whole county"
    assert summary["The weak (difficulties)"] == 1
    assert summary["Condolence money (yuan)"] == 250.5
    assert summary["Visits"] == 4 and summary["Roster"] == 9


async def test_the_publicity_sheet_and_summary_hold_the_periods_sessions(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    await export_as(harness, users["吴敏"], "/export")
    _name, book, params = await fetch_workbook(harness, users["吴敏"])
    rows = by_header(book, "Publicity")
    assert [(r["Date"].date(), r["Cadre"], r["Kind of session"], r["Attendance"], r["Topics"],
             r["Other topic"], r["Slogans posted"], r["Boards set up"]) for r in rows] == [
        (DAY(2026, 11, 25), "李娜", "Mass meeting", 35,
         "Rural cooperative medical care; Other", "森林防火", 4, 1),
        (DAY(2026, 11, 26), "赵强", "Door-to-door preaching", 6, "New rural pension pilot",
         None, 0, 0)]  # the session before the period is left out
    assert rows[0]["Recorded at"] == dt.datetime(2026, 11, 25, 20, 0)
    summary = dict(row[:2] for row in sheet_rows(book, "Summary") if row and row[0])
    assert (summary["Publicity sessions"], summary["People attending publicity"],
            summary["Slogans posted"], summary["Publicity boards set up"]) == (2, 41, 4, 1)
    assert "Publicity 2" in params["caption"]


async def test_a_team_leader_gets_only_their_village_in_chinese(harness, exports):
    users = await bind(harness, "zh-hans")
    await seed(harness)
    replies = await export_as(harness, users["张伟"], "/export")
    assert "新村" in replies[0]
    filename, book, _params = await fetch_workbook(harness, users["张伟"])
    assert filename == "驻村工作台账-新村-11月23日至11月28日.xlsx"
    assert book.sheetnames == ["汇总"] + [  # no roster, no audit log
        translate("zh", f"export.sheet.{k}") for k in export.KINDS if k not in ("people", "audit")]
    assert not any(re.search("[A-Za-z]", name) for name in book.sheetnames)
    visits = by_header(book, "走访")
    assert {r["村"] for r in visits} == {"新村"}
    assert sorted(r["干部"] for r in visits) == ["张伟", "李娜"]
    assert visits[0]["需跟进"] == "否"
    assert [r["村"] for r in by_header(book, "签到")] == ["新村"]
    assert [r["村"] for r in by_header(book, "矛盾纠纷")] == ["新村"]
    [held] = by_header(book, "宣传")  # 赵强's session is in another village
    assert (held["宣传形式"], held["宣讲内容"], held["其他内容"], held["参加人数"]) == (
        "群众会", "、".join(translate("zh", f"publicity.topic.{t}")
                          for t in ("cooperative_medical", "other")), "森林防火", 35)


async def test_a_township_leader_may_name_a_village_of_their_township(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    await export_as(harness, users["孙丽"], "/export 东岗村 campaign")
    _name, book, _params = await fetch_workbook(harness, users["孙丽"])
    assert [r["Cadre"] for r in by_header(book, "Visits")] == ["陈静"]
    assert by_header(book, "Problems") == []


async def test_asking_outside_ones_scope_is_refused(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    replies = await export_as(harness, users["孙丽"], "/export 古埠镇")
    assert replies == ["You cannot export 古埠镇: you may see only 黄金埠镇."]
    replies = await export_as(harness, users["张伟"], "/export week 东岗村")
    assert replies == ["You cannot export 东岗村: you may see only 新村."]
    replies = await export_as(harness, users["吴敏"], "/export 不存在村")
    assert replies == ["There is no township or village called 不存在村."]
    replies = await export_as(harness, users["吴敏"], "/export 11-28..11-25")
    assert replies[0].startswith("“11-28..11-25” ends before it starts.")
    await harness.emu.wait_idle()
    assert harness.emu.documents == []


async def test_a_period_keeps_only_the_records_of_its_local_days(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    await export_as(harness, users["周杰"], "/export 11-24 .. 11-26")
    filename, book, _params = await fetch_workbook(harness, users["周杰"])
    assert filename == "campaign-records-county-24Nov-26Nov.xlsx"
    assert [r["Date"].date() for r in by_header(book, "Visits")] == [
        DAY(2026, 11, 24), DAY(2026, 11, 26)]
    # The problem raised at 00:30 on the 27th (16:30 UTC on the 26th) is outside.
    assert [r["Raised at"] for r in by_header(book, "Problems")] == [
        dt.datetime(2026, 11, 26, 23, 30)]
    assert by_header(book, "Help") == []
    assert "Audit log" not in book.sheetnames  # the leading group has no audit sheet
    assert len(by_header(book, "Roster")) == 9


async def test_the_row_sources_stream_and_the_writer_consumes_them_as_they_come(
    database, tmp_path, monkeypatch
):
    where = export.Filter(export.window(DAY(2026, 11, 23), DAY(2026, 11, 28), SHANGHAI))
    async with database.read() as session:
        for kind in export.KINDS:
            source = export.rows(session, kind=kind, where=where)
            assert inspect.isasyncgen(source), kind
            assert [row async for row in source] == []
    appended: list[Any] = []
    original = RowSheet.write

    def counting(sheet, xml):
        original(sheet, xml)
        if sheet.title == "Visits":
            appended.extend(re.findall(r"<row[ >]", xml))

    monkeypatch.setattr(RowSheet, "write", counting)

    async def rows():
        for number in range(1, 2001):
            # Rows go into the sheet as they come, a batch at a time: never all held back.
            assert max(0, len(appended) - 1) >= number - 1 - BATCH_ROWS
            yield (number, f"row {number}")

    [part] = await write_workbook(tmp_path / "x.xlsx", locale="en", tz=SHANGHAI, summary=[],
                                  sheets=[Sheet("visits", ("id", "heard"), rows())])
    assert part.counts == {"visits": 2000}
    assert len(appended) == 2001  # the header and every row
    book = load_workbook(tmp_path / "x.xlsx")
    assert [row[1].value for row in book["Visits"].iter_rows(min_row=2000)] == [
        "row 1999", "row 2000"]


async def test_the_row_writer_keeps_awkward_values_as_a_reader_expects(tmp_path):
    async def rows():
        yield (1, "  lead & <tail>\x01 ", "", None, True, 2**40, 0.1 + 0.2, float("nan"),
               Decimal("12.50"), dt.datetime(2026, 11, 26, 15, 30, 0, 250000, tzinfo=dt.UTC),
               dt.date(2026, 11, 27), {"repeated": True, "count": 3}, ["a", "b"], "#N/A")

    columns = ("id", "text", "empty", "none", "flag", "big", "float", "nan", "money", "at",
               "day", "flags", "list", "error")
    path = tmp_path / "x.xlsx"
    await write_workbook(path, locale="en", tz=SHANGHAI, summary=[],
                         sheets=[Sheet("visits", columns, rows())])
    row = [cell for cell in load_workbook(path)["Visits"][2]]
    assert [c.value for c in row] == [
        1, "  lead & <tail> ", None, None, "yes", 2**40, 0.1 + 0.2, None, 12.5,
        dt.datetime(2026, 11, 26, 23, 30, 0, 250000), dt.datetime(2026, 11, 27),
        "repeated; count: 3", "a; b", "#N/A"]
    assert [c.data_type for c in row[12:]] == ["s", "s"]  # text, never an error value
    assert (row[8].number_format, row[9].number_format, row[10].number_format) == (
        "General", "d mmm yyyy hh:mm", "d mmm yyyy")
