"""/export over the upload limit: several workbooks cut by days, each within the limit."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import handlers.export
from common.i18n import format_span
from reports import xlsx_parts
from reports.xlsx import Sheet, write_workbook
from reports.xlsx_parts import OVERHEAD, Segment, TooLarge, Written, plan
from storage.models import Checkin, Person, Visit
from tests.scheduling import SHANGHAI, local
from tests.test_export import bind, by_header, export_as, sheet_rows

DAY = dt.date
FIRST, LAST = DAY(2026, 10, 25), DAY(2026, 11, 28)
LIMIT = 40_000  # bytes: the upload limit lowered for these tests (Telegram's is 50 MB)


@pytest.fixture
def exports(harness, tmp_path, monkeypatch):
    """Workbooks built in this test's folder (the sheets' temporary files are made there too,
    so an empty folder means none is left behind), and a low upload limit."""
    harness.settings.export_dir = str(tmp_path / "exports")
    monkeypatch.setattr(handlers.export, "MAX_UPLOAD_BYTES", LIMIT)
    return tmp_path


async def seed_visits(harness) -> None:
    """Twelve visits a day for 35 days across October and November, with text that does not
    compress away, and a check-in a day."""
    noise = random.Random(7)
    async with harness.db.write() as s:
        people = [p for p in (await s.execute(select(Person).order_by(Person.id))).scalars()
                  if p.village_id is not None]
        day = FIRST
        while day <= LAST:
            for n in range(12):
                p = people[n % len(people)]
                at = local(day.year, day.month, day.day, 8 + n // 2, n % 2 * 30)
                s.add(Visit(person_id=p.id, village_id=p.village_id, township_id=p.township_id,
                            unit_id=p.unit_id, day=day, kind="weak", heard=noise.randbytes(
                                120).hex(), wants="", created_at=at))
            p = people[0]
            s.add(Checkin(person_id=p.id, village_id=p.village_id, township_id=p.township_id,
                          unit_id=p.unit_id, day=day, in_village=True,
                          created_at=local(day.year, day.month, day.day, 8),
                          updated_at=local(day.year, day.month, day.day, 8)))
            day += dt.timedelta(days=1)


async def fetch_parts(harness, user) -> tuple[str, list[tuple[str, Any, bytes, str]]]:
    """The message saying how the export was cut, and each part: name, workbook, bytes and
    caption, in the order they came."""
    emu = harness.emu
    split = await emu.wait_for(lambda: [s.text for s in emu.sent_to(user.id)
                                        if s.text and "workbooks" in s.text], within=30)
    count = int(re.search(r"comes as (\d+) workbooks", split[0]).group(1))
    found = await emu.wait_for(
        lambda: (docs := [d for d in emu.documents if d[0] == user.id]) and
        len(docs) == count and docs, within=30)
    return split[0], [(name, load_workbook(BytesIO(content)), content, params["caption"])
                      for _chat, name, content, params in found]


async def test_an_export_over_the_limit_arrives_as_workbooks_cut_by_days(harness, exports):
    users = await bind(harness, "en")
    await seed_visits(harness)
    replies = await export_as(harness, users["吴敏"], "/export 10-25..11-28")
    assert replies[0].startswith("Preparing your export of the whole county, 25 Oct – 28 Nov…")
    message, parts = await fetch_parts(harness, users["吴敏"])
    count = len(parts)
    assert count >= 3
    assert all(len(content) <= LIMIT for _name, _book, content, _caption in parts)
    # Each file is named with its days and its number; the parts tile the period.
    spans = []
    for number, (name, _book, _content, caption) in enumerate(parts, start=1):
        found = re.fullmatch(r"campaign-records-county-(\d+[A-Z][a-z]{2})(?:-(\d+[A-Z][a-z]{2}))?"
                             r"-part(\d+)of(\d+)\.xlsx", name)
        assert found and found.group(3, 4) == (str(number), str(count)), name
        start, end = (dt.datetime.strptime(f"{day} 2026", "%d%b %Y").date()
                      for day in (found.group(1), found.group(2) or found.group(1)))
        spans.append((start, end))
        days = format_span("en", start, end)
        assert f"part {number} of {count}: {days}" in caption
        assert f"Part {number}: {days}" in message
    assert spans[0][0] == FIRST and spans[-1][1] == LAST
    assert all(b[0] == a[1] + dt.timedelta(days=1) for a, b in itertools.pairwise(spans))
    assert message.startswith("The export of the whole county, 25 Oct – 28 Nov, is "
                              f"larger than one file a bot may send (0 MB), so it comes as "
                              f"{count} workbooks, cut by days:")
    assert "Roster" in message.splitlines()[-1]
    await check_rows(harness, parts, spans)
    await harness.emu.wait_for(lambda: not any((exports / "exports").iterdir()))  # all sent


async def check_rows(harness, parts, spans) -> None:
    """Every visit once, in order, in the part of its day, with its values and types; the
    summary in each part; the sheets kept whole in the first."""
    async with harness.db.read() as session:
        expected = (await session.execute(select(Visit.day, Visit.heard).order_by(
            Visit.day, Visit.id))).all()
    got = []
    for number, ((_name, book, _content, _caption), (start, end)) in enumerate(
            zip(parts, spans, strict=True), start=1):
        rows = by_header(book, "Visits")
        assert all(start <= r["Date"].date() <= end for r in rows)
        got += [(r["Date"].date(), r["What was heard"]) for r in rows]
        assert book["Visits"].cell(row=2, column=1).number_format == "d mmm yyyy"
        assert book["Visits"].freeze_panes == "A2"
        assert {r["Date"] for r in by_header(book, "Check-ins")} == {
            dt.datetime.combine(start + dt.timedelta(days=n), dt.time())
            for n in range((end - start).days + 1)}
        summary = dict(row[:2] for row in sheet_rows(book, "Summary") if row and row[0])
        assert summary["Part"] == f"{number} of {len(parts)}"
        assert summary["Visits"] == len(rows)
        assert ("Roster" in book.sheetnames) == (number == 1)
    assert got == [tuple(e) for e in expected]


def written(kind: str, days: dict[DAY | None, int], *, dated: bool = True) -> Written:
    """A sheet as written: `days` maps a day to the bytes of its rows; ratio 1."""
    sheet = SimpleNamespace(ratio=1.0, size=100)
    done = Written(kind, sheet, 100, dated)  # type: ignore[arg-type]
    for day, size in days.items():
        done.segments.append(Segment(day if dated else None, sheet.size, sheet.size + size, 1))
        sheet.size += size
    return done


def test_parts_hold_whole_months_while_they_fit_and_cut_a_larger_month_by_days():
    october = {DAY(2026, 10, d): 1_000 for d in range(1, 32)}  # 31,000 bytes
    november = {DAY(2026, 11, d): 3_000 for d in range(1, 31)}  # 90,000 bytes
    december = {DAY(2026, 12, d): 1_000 for d in range(1, 11)}  # 10,000 bytes
    sheets = [written("visits", october | november | december),
              written("people", {DAY(2026, 1, 1): 5_000}, dated=False)]
    budget = OVERHEAD + 200 + 5_000 + 40_000  # room for 15 days of November beside a header
    days = list(november)
    assert plan(sheets, budget=budget) == [
        list(october) + days[:3],  # October whole beside the roster, then what fits of November
        days[3:18], days[18:],  # November is too large for one part: cut by days
        list(december)]  # whole: it does not fit beside November's end
    # Rows of a dated sheet without a date go with the first part.
    undated = written("visits", {None: 30_000, DAY(2026, 10, 1): 30_000})
    assert plan([undated], budget=budget) == [[], [DAY(2026, 10, 1)]]
    with pytest.raises(TooLarge):
        plan([written("visits", {DAY(2026, 10, 1): 50_000})], budget=budget)


async def test_a_failure_while_cutting_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    noise = random.Random(3)

    async def rows():
        for number in range(3000):
            yield (number, DAY(2026, 11, 1) + dt.timedelta(days=number // 100),
                   noise.randbytes(40).hex())

    copies = 0
    original = xlsx_parts._copy

    def failing(source, out, start, end, **numbering):
        nonlocal copies
        copies += 1
        if copies == 4:  # the header and rows of the first part's sheet, then the second's
            raise OSError("disk full")
        return original(source, out, start, end, **numbering)

    monkeypatch.setattr(xlsx_parts, "_copy", failing)
    sheets = [Sheet("visits", ("id", "day", "heard"), rows(), day=1)]
    with pytest.raises(OSError, match="disk full"):
        await write_workbook(tmp_path / "x.xlsx", locale="en", tz=SHANGHAI, summary=[],
                             sheets=sheets, limit=60_000)
    assert copies == 4
    assert list(tmp_path.iterdir()) == []  # neither a sheet's file, nor a part, nor a copy
