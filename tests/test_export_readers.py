"""A Chinese /export opened by three independent readers: openpyxl, python-calamine (Rust's
calamine) and xlsx2csv (its own SAX parser). Every sheet of the workbook, and of each workbook
of an export cut into parts, reads the same in all three, Chinese intact; the package holds its
worksheets at xl/worksheets/ with the content types and relationships that name them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from io import BytesIO
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from xlsx2csv import Xlsx2csv

import handlers.export
from common.i18n import translate
from storage import export
from tests.test_export import bind, export_as, seed
from tests.test_export_split import LIMIT, seed_visits

Sheets = dict[str, list[list[str]]]
PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


@pytest.fixture
def exports(harness, tmp_path):
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


def shown(value: Any) -> str:
    """One cell as text the three readers can agree on: numbers without a needless .0, dates
    and times to the second."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise AssertionError(f"a boolean cell {value!r}: yes and no are written as words")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return shown(dt.datetime.combine(value, dt.time()))
    if isinstance(value, dt.time):
        raise AssertionError(f"a time cell {value!r}")
    return str(value)


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    """Rows without trailing empty cells, the sheet without trailing empty rows (readers pad
    a sheet to different widths)."""
    out = []
    for row in rows:
        while row and row[-1] == "":
            row = row[:-1]
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def by_openpyxl(content: bytes) -> Sheets:
    book = load_workbook(BytesIO(content), read_only=True)
    return {sheet.title: trimmed([[shown(v) for v in row]
                                  for row in sheet.iter_rows(values_only=True)])
            for sheet in book.worksheets}


def by_calamine(content: bytes) -> Sheets:
    book = CalamineWorkbook.from_filelike(BytesIO(content))
    return {name: trimmed([[shown(v) for v in row] for row in
                           book.get_sheet_by_name(name).to_python(skip_empty_area=False)])
            for name in book.sheet_names}


MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


def by_xlsx2csv(content: bytes) -> Sheets:
    sheets: Sheets = {}
    names = [sheet["name"] for sheet in Xlsx2csv(BytesIO(content)).workbook.sheets]
    for number, name in enumerate(names, start=1):
        out = io.StringIO()
        Xlsx2csv(BytesIO(content), dateformat="%Y-%m-%d %H:%M:%S.%f").convert(
            out, sheetid=number)
        sheets[name] = trimmed([[_second(value) for value in row]
                                for row in csv.reader(io.StringIO(out.getvalue()))])
    return sheets


def _second(value: str) -> str:
    """xlsx2csv's date or time (a float of days, to the microsecond) to the nearest second."""
    if not MOMENT.fullmatch(value):
        return value
    moment = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f") + dt.timedelta(seconds=0.5)
    return shown(moment.replace(microsecond=0))


def read_alike(content: bytes) -> Sheets:
    """Every sheet as the three readers see it, asserted the same; openpyxl's reading."""
    first, second, third = by_openpyxl(content), by_calamine(content), by_xlsx2csv(content)
    assert list(first) == list(second) == list(third)
    for name in first:
        assert first[name] == second[name], name
        assert first[name] == third[name], name
    return first


def check_package(content: bytes) -> None:
    """Worksheets at xl/worksheets/sheetN.xml, each with its content type and the workbook's
    relationship to it; nothing at a temporary path."""
    with zipfile.ZipFile(BytesIO(content)) as package:
        names = package.namelist()
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/"))
        book = ElementTree.fromstring(package.read("xl/workbook.xml"))
        count = len(book.findall(".//{*}sheet"))
        assert sheets == sorted(f"xl/worksheets/sheet{n}.xml" for n in range(1, count + 1))
        assert all(n.startswith(("xl/", "docProps/", "_rels/", "[Content_Types]"))
                   for n in names), names
        types = ElementTree.fromstring(package.read("[Content_Types].xml"))
        overrides = {o.get("PartName"): o.get("ContentType")
                     for o in types.iter(f"{TYPES}Override")}
        assert {"/" + n for n in sheets} == {p for p, t in overrides.items() if t == WORKSHEET}
        rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Target").lstrip("/") for r in rels.iter(f"{PACKAGE}Relationship")
                   if r.get("Type").endswith("/worksheet")}
        assert targets == set(sheets)


async def test_a_chinese_export_reads_the_same_in_three_readers_every_sheet(harness, exports):
    users = await bind(harness, "zh-hans")
    await seed(harness)
    await export_as(harness, users["吴敏"], "/export")
    emu = harness.emu
    [(_chat, filename, content, _params)] = await emu.wait_for(
        lambda: [d for d in emu.documents if d[0] == users["吴敏"].id], within=20)
    assert filename == "驻村工作台账-全县-11月23日至11月28日.xlsx"
    check_package(content)
    sheets = read_alike(content)
    assert list(sheets) == ["汇总"] + [translate("zh", f"export.sheet.{k}") for k in export.KINDS]
    visits = sheets[translate("zh", "export.sheet.visits")]
    assert len(visits) == 5  # the header and the period's four visits
    late = next(row for row in visits if "李娜" in row)
    assert {"新村", "黄金埠镇", "县教育局", "李家", "路灯坏了", "访弱势群体（问困难）"} <= set(late)
    assert "2026-11-26 23:30:00" in late  # the local time, as a date cell in every reader
    help_rows = sheets[translate("zh", "export.sheet.aid")]
    assert "250.5" in help_rows[1]  # money, a number
    for name, rows in sheets.items():
        assert rows and rows[0], name  # every sheet has its header row, in every reader


async def test_each_part_of_a_cut_export_reads_the_same_in_three_readers(harness, exports,
                                                                         monkeypatch):
    monkeypatch.setattr(handlers.export, "MAX_UPLOAD_BYTES", LIMIT)
    users = await bind(harness, "zh-hans")
    await seed_visits(harness)
    await export_as(harness, users["吴敏"], "/export 10-25..11-28")
    emu = harness.emu
    parts = await emu.wait_for(
        lambda: (docs := [d for d in emu.documents if d[0] == users["吴敏"].id])
        and exports.is_dir() and not any(exports.iterdir()) and docs, within=60)
    count = len(parts)
    assert count >= 3
    visits, seen = translate("zh", "export.sheet.visits"), 0
    for number, (_chat, filename, content, _params) in enumerate(parts, start=1):
        assert re.fullmatch(r"驻村工作台账-全县-\d+月\d+日(至\d+月\d+日)?"
                            rf"-第{number}部分共{count}部分\.xlsx", filename), filename
        check_package(content)
        sheets = read_alike(content)
        rows = sheets[visits]
        seen += len(rows) - 1
        cadre = rows[0].index(translate("zh", "export.visits.cadre"))
        assert {row[cadre] for row in rows[1:]} <= {"张伟", "李娜", "王芳", "刘洋", "陈静", "赵强"}
        assert any(row[:2] == [translate("zh", "export.summary.part"),
                               translate("zh", "export.summary.part_of", number=number,
                                         count=count)] for row in sheets["汇总"])
    assert seen == 12 * 35

