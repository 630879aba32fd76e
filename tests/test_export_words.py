"""A Chinese /export speaks Chinese: no codes and no English in any sheet, the audit log's
objects, actions, fields and values in words, no internal ids, money a plain number and dates
as date cells in a Chinese format; the English export says the same in English."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
from sqlalchemy import select

from common.i18n import translate
from handlers.export import HIDDEN
from storage import export, rectification, spotchecks
from storage.models import Person, Village
from storage.people import deactivate
from storage.scope import Scope
from tests.harness import DEFAULT_ROSTER
from tests.scheduling import local
from tests.test_export import bind, by_header, export_as, fetch_workbook, seed

OFFICE = "吴敏"
# Words a sheet may hold in ASCII letters: what people typed (a formula kept as text).
TYPED = {"=SUM(A1:A9)"}


async def seed_audit(harness) -> None:
    """Audit entries of several kinds, made as the bot makes them: a village marked, a spot
    check drawn and answered (and so a row of the spot-check sheet), a person deactivated, a
    unit changed by a roster import."""
    async with harness.db.write() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
        village = (await s.execute(select(Village).where(Village.name == "新村"))).scalar_one()
        now = local(2026, 11, 27, 15)
        await rectification.set_mark(s, village=village, types=["weak_team", "disputes"],
                                     by=people[OFFICE], now=now)
        # The leading group draws; the office, outside the cadre's chain, verifies.
        [check, *_] = await spotchecks.draw(
            s, scope=Scope("county"), n=1, since=dt.date(2026, 11, 23), by=people["周杰"],
            now=now, rng=random.Random(1))
        assert check.assigned_to == people[OFFICE].id
        await spotchecks.answer(s, check=check, status="confirmed", note="属实", by=people[OFFICE],
                                now=local(2026, 11, 27, 16))
        await deactivate(s, person=people["陈静"], by=people[OFFICE].id,
                         now=local(2026, 11, 27, 17))
    await harness.import_roster(DEFAULT_ROSTER.replace("李娜,13800138002,department,县教育局",
                                                       "李娜,13800138002,department,县卫健委"))


@pytest.fixture
def exports(harness, tmp_path):
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


def cells(book, title: str) -> list[Any]:
    return [value for row in book[title].iter_rows(values_only=True) for value in row]


async def exported(harness, language: str):
    """The whole county's export as the office asks for it in `language`, after the records and
    the audited actions: its file name and workbook."""
    users = await bind(harness, language)
    await seed(harness)
    await seed_audit(harness)
    await export_as(harness, users[OFFICE], "/export")
    filename, book, _params = await fetch_workbook(harness, users[OFFICE])
    return filename, book


async def test_a_chinese_export_has_no_codes_and_no_english_in_any_sheet(harness, exports):
    filename, book = await exported(harness, "zh-hans")
    assert filename == "驻村工作台账-全县-11月23日至11月28日.xlsx"
    for sheet in book.worksheets:
        for value in cells(book, sheet.title):
            if isinstance(value, str) and value not in TYPED:
                assert not re.search(r"[A-Za-z]", value), (sheet.title, value)
            assert not isinstance(value, bool), sheet.title

    log = by_header(book, translate("zh", "export.sheet.audit"))
    said = {(r["对象"], r["操作"], r["字段"], r["原值"], r["新值"]) for r in log}
    assert ("纠纷 #1", "调解", "状态", translate("zh", "dispute.status.reported"),
            translate("zh", "dispute.status.mediating")) in said
    assert ("整顿村：新村", "列为整顿村", translate("zh", "export.rectification.types"), None,
            "、".join(translate("zh", f"rectify.type.{t}") for t in ("weak_team", "disputes"))
            ) in said
    assert ("人员：陈静", "停用", translate("zh", "export.people.active"), "是", "否") in said
    assert ("人员：陈静", "停用", "邀请码", "（不显示）", None) in said  # a secret stays out
    assert ("人员：李娜", "花名册导入（修改）", translate("zh", "export.people.unit"),
            "县教育局", "县卫健委") in said  # the units by name, not by id
    drawn = [r for r in log if r["对象"] == "抽查"]
    assert {r["操作"] for r in drawn} == {"抽取", "核实"}
    confirmed = translate("zh", "spotcheck.status.confirmed")
    assert {(r["原值"], r["新值"]) for r in drawn} in (
        {(None, "走访记录"), (translate("zh", "spotcheck.status.pending"), f"{confirmed}：属实")},
        {(None, "帮扶记录"), (translate("zh", "spotcheck.status.pending"), f"{confirmed}：属实")})
    assert all(isinstance(r["时间"], dt.datetime) for r in log)

    # No internal ids: a sheet's first column is a record number only where the chat quotes
    # it (纠纷 #1, 问题 #1, 案例 #1).
    for kind, hidden in HIDDEN.items():
        header = [c.value for c in book[translate("zh", f"export.sheet.{kind}")][1]]
        assert not {translate("zh", f"export.{kind}.{c}") for c in hidden} & set(header), kind
    assert "编号" in [c.value for c in book[translate("zh", "export.sheet.disputes")][1]]

    # Money is a number with its unit in the header; dates and times are date cells shown in
    # Chinese.
    aid_sheet = book[translate("zh", "export.sheet.aid")]
    header = [c.value for c in aid_sheet[1]]
    amount = aid_sheet.cell(row=2, column=header.index("金额（元）") + 1)
    assert (amount.value, amount.number_format) == (250.5, "General")
    visits = book[translate("zh", "export.sheet.visits")]
    header = [c.value for c in visits[1]]
    day = visits.cell(row=2, column=header.index(translate("zh", "export.visits.day")) + 1)
    made = visits.cell(row=2, column=header.index(translate("zh", "export.visits.created_at")) + 1)
    assert (day.value, day.number_format) == (dt.datetime(2026, 11, 23), 'yyyy"年"m"月"d"日"')
    assert made.number_format == 'yyyy"年"m"月"d"日" hh:mm'
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row[0]}
    assert summary["时段"] == "11月23日—11月28日"
    assert summary["导出时间"] == dt.datetime(2026, 11, 28, 10, 0)
    [held] = [r for r in by_header(book, translate("zh", "export.sheet.publicity"))
              if r[translate("zh", "export.publicity.attendance")] == 35]
    assert "、" in held[translate("zh", "export.publicity.topics")]  # a Chinese list


async def test_the_english_export_says_the_same_in_english(harness, exports):
    filename, book = await exported(harness, "en")
    assert filename == "campaign-records-county-23Nov-28Nov.xlsx"
    log = by_header(book, "Audit log")
    said = {(r["Record"], r["Action"], r["Field"], r["Old value"], r["New value"]) for r in log}
    assert ("Person: 陈静", "deactivated", "Invite code", "(not shown)", None) in said
    assert ("Village to rectify: 新村", "marked for rectification", "Types", None,
            "Weak team; Prominent disputes") in said
    codes = set(export.KINDS) | {"dispute", "problem", "person", "village_mark", "spot_check",
                                 "roster_update", "deactivate", "escalate", "invite_code"}
    for row in log:
        assert not codes & set(row.values()), row
    assert book["Visits"].cell(row=2, column=1).number_format == "d mmm yyyy"
