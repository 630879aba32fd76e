"""Write an XLSX workbook row by row (openpyxl write-only), never holding a sheet in memory.

A summary sheet comes first, then one sheet per record kind with a translated header row,
its rows written as XML text by reports/xlsx_rows.py (openpyxl's cells are ~8x slower).
Dates and times are date cells in the county's time zone with the reader's number formats,
money plain numbers (the header names the unit), yes/no and coded values (kinds, statuses) in
the reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import unicodedata
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from common.i18n import catalog, format_short_day, translate
from reports.xlsx_parts import FILL, TooLarge, Written, copy_rows, estimate, plan
from reports.xlsx_rows import MAX_CELL_CHARS, RowSheet, RowXml, Styles, add_sheet
from storage.files import FILE_MODE, make_private

MIN_WIDTH, MAX_WIDTH = 8, 60
# Rows are turned into XML in a worker thread, this many at a time, so the event loop keeps
# answering updates during a long export.
BATCH_ROWS = 500
# The codes inside a figure kept as a JSON object (a summary's visits by kind), by name.
INNER_CODES = {"visits_by_kind": "summary.visit_kind."}


@dataclass
class Sheet:
    """One record kind: its column keys and its rows, consumed as they come."""

    kind: str
    columns: tuple[str, ...]
    rows: AsyncIterator[tuple[Any, ...]]
    # Column key -> message id prefix for coded values ("visit.kind." + "weak").
    codes: Mapping[str, str] = field(default_factory=dict)
    # The column (a date or time) the rows come in the order of: such a sheet can be cut by
    # days into several workbooks. None: the sheet is kept whole.
    day: int | None = None


class Cells:
    """Turns database values into what a cell shows, in one language and time zone."""

    def __init__(self, locale: str, tz: dt.tzinfo) -> None:
        self.locale = locale
        self.tz = tz
        self.messages = catalog(locale)
        self.yes = translate(locale, "export.yes")
        self.no = translate(locale, "export.no")
        self.date_format = translate(locale, "export.format.date")
        self.datetime_format = translate(locale, "export.format.datetime")
        self.separator = translate(locale, "export.list")
        self.pair = translate(locale, "export.list_pair")
        self._labels: dict[tuple[str, str], str] = {}
        self.sheet: WriteOnlyWorksheet | None = None

    def label(self, prefix: str, code: str) -> str:
        """The translated name of a code, or the code itself when the catalog has none."""
        key = (prefix, code)
        found = self._labels.get(key)
        if found is None:
            found = self._labels[key] = self.messages.get(prefix + code, code)
        return found

    def value(self, value: Any, prefix: str | None = None) -> Any:
        """A cell value (or a styled cell) for one database value."""
        kind = type(value)
        if value is None or kind is int or kind is float:
            return value
        if kind is str:
            return self.text(self.label(prefix, value) if prefix else value)
        if kind is bool:
            return self.yes if value else self.no
        if kind is dt.datetime:
            local = value.astimezone(self.tz) if value.tzinfo else value
            return local.replace(tzinfo=None)
        if kind is Decimal:
            return float(value)
        if isinstance(value, dict):
            return self.text(self.flags(value, prefix))
        if isinstance(value, list):  # coded values picked together (a session's topics)
            return self.text(self.listed(value, prefix))
        return value if kind is dt.date else self.text(str(value))

    def text(self, value: str) -> Any:
        """Text as text: no control characters, within a cell's limit, and never read as a
        formula or an error code."""
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
        if value.startswith("=") or value in ERROR_CODES:
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def listed(self, values: Sequence[Any], prefix: str | None) -> str:
        """Values picked together, by name, joined as the reader's language lists them
        (export.list: 、 in Chinese)."""
        return self.separator.join(self.label(prefix, str(v)) if prefix else str(v)
                                   for v in values)

    def flags(self, value: Mapping[str, Any], prefix: str | None) -> str:
        """A JSON object as readable text: true flags by name, other entries as 'name: value'
        (export.list_pair: 走访次数：1)."""
        parts: list[str] = []
        for key, item in value.items():
            name = self.label(prefix, str(key)) if prefix else str(key)
            if item is True:
                parts.append(name)
            elif isinstance(item, dict):
                codes = INNER_CODES.get(str(key))
                inner = self.separator.join(f"{self.label(codes, k) if codes else k} {v}"
                                            for k, v in item.items())
                parts.append(self.pair.format(name=name, value=inner) if inner else name)
            elif isinstance(item, list):  # days (a summary's excused days) as people read them
                if item:
                    inner = self.separator.join(self._day(str(v)) for v in item)
                    parts.append(self.pair.format(name=name, value=inner))
            elif item not in (None, False):
                parts.append(self.pair.format(name=name, value=item))
        return self.separator.join(parts)


    def _day(self, text: str) -> str:
        """An ISO day kept in a JSON value, as a reader writes it (12月4日); other text as is."""
        try:
            return format_short_day(self.locale, dt.date.fromisoformat(text))
        except ValueError:
            return text


def display_width(text: str) -> int:
    """Columns a text needs: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(header: str, sample: Any) -> float:
    if isinstance(sample, Cell):
        sample = sample.value
    if isinstance(sample, dt.datetime):
        guess = 19
    elif isinstance(sample, dt.date):
        guess = 11
    elif isinstance(sample, str):
        guess = display_width(sample)
    else:
        guess = len(str(sample)) if sample is not None else 0
    return max(MIN_WIDTH, min(MAX_WIDTH, max(display_width(header), guess) + 2))


def _bold(sheet: WriteOnlyWorksheet, value: Any) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def _start_sheet(sheet: WriteOnlyWorksheet, headers: Sequence[str], first: Any) -> None:
    """Column widths (from the header and the first row) and a frozen header row."""
    for index, header in enumerate(headers, start=1):
        sample = first[index - 1] if first is not None else None
        sheet.column_dimensions[get_column_letter(index)].width = _width(header, sample)
    sheet.freeze_panes = "A2"


async def _first(rows: AsyncIterator[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    try:
        return await anext(rows)
    except StopAsyncIteration:
        return None


async def write_sheet(book: Workbook, cells: Cells, spec: Sheet, xml: RowXml, *,
                      folder: Path) -> Written:
    """Add one sheet and stream its rows into it (a file in `folder`); what it holds, and
    where, by day."""
    tr = cells.messages
    sheet = add_sheet(book, tr.get(f"export.sheet.{spec.kind}", spec.kind)[:31], folder=folder)
    cells.sheet = sheet
    headers = [tr.get(f"export.{spec.kind}.{column}", column) for column in spec.columns]
    prefixes = [spec.codes.get(column) for column in spec.columns]
    try:
        first = await _first(spec.rows)
        _start_sheet(sheet, headers, None if first is None else
                     _converted(cells, first, prefixes))
        sheet.write(xml.header(headers))
        done = Written(spec.kind, sheet, sheet.size, spec.day is not None)
        if first is None:
            return done
        batch: list[tuple[Any, ...]] = [first]
        async for row in spec.rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                await asyncio.to_thread(_write_rows, done, xml, batch, prefixes, spec.day)
                batch = []
        await asyncio.to_thread(_write_rows, done, xml, batch, prefixes, spec.day)
    finally:
        aclose = getattr(spec.rows, "aclose", None)
        if aclose is not None:
            await aclose()
    return done


def _write_rows(done: Written, xml: RowXml, rows: list[tuple[Any, ...]],
                prefixes: list[str | None], day: int | None) -> None:
    """Write rows, a run of one local day at a time for a sheet ordered by days."""
    if day is None:
        done.add(None, len(rows), xml.rows(rows, prefixes, first=done.next_row))
        return
    start = 0
    days = [xml.local_day(row[day]) for row in rows]
    for index in range(1, len(rows) + 1):
        if index == len(rows) or days[index] != days[start]:
            done.add(days[start], index - start,
                     xml.rows(rows[start:index], prefixes, first=done.next_row))
            start = index


def _converted(cells: Cells, row: Sequence[Any], prefixes: list[str | None]) -> list[Any]:
    value = cells.value
    return [value(item, prefix) for item, prefix in zip(row, prefixes, strict=True)]


def write_summary(book: Workbook, *, title: str) -> WriteOnlyWorksheet:
    """The first sheet, two columns wide: label and value."""
    sheet = book.create_sheet(title=title[:31])
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 40
    return sheet


def append_pairs(sheet: WriteOnlyWorksheet, rows: Iterable[tuple[str, Any]],
                 cells: Cells) -> None:
    """Label/value rows; a row without a value is a bold heading. Money is a plain number
    (the label names the unit), a date or time a date cell in the reader's format."""
    for label, value in rows:
        if not label:
            sheet.append([])
        elif value is None:
            sheet.append([_bold(sheet, label)])
        elif isinstance(value, Decimal):
            sheet.append([label, float(value)])
        elif isinstance(value, dt.datetime):
            local = value.astimezone(cells.tz).replace(tzinfo=None) if value.tzinfo else value
            sheet.append([label, Styles.formatted(sheet, local, cells.datetime_format)])
        elif isinstance(value, dt.date):
            sheet.append([label, Styles.formatted(sheet, value, cells.date_format)])
        else:
            sheet.append([label, value])


@dataclass(frozen=True)
class Part:
    """One workbook written: its file, its rows per kind and, when the export was cut into
    several, the first and last day of its dated rows (None for a whole export)."""

    path: Path
    size: int
    counts: dict[str, int]
    days: tuple[dt.date, dt.date] | None = None


async def write_workbook(
    path: Path,
    *,
    locale: str,
    tz: dt.tzinfo,
    summary: Iterable[tuple[str, Any]],
    sheets: Iterable[Sheet],
    limit: int | None = None,
) -> list[Part]:
    """Write the summary and every sheet to `path`. With a `limit` (bytes) an export that
    would be larger becomes several workbooks, `path` with -part1, -part2…, cut by days
    (reports/xlsx_parts.py), each within the limit; raises TooLarge when it cannot be cut so.
    Every file, the sheets' rows on the way included, is 0600 in `path`'s (0700) folder."""
    book = Workbook(write_only=True)
    # The summary is written last (it ends with what each sheet holds) but comes first.
    first = write_summary(book, title=translate(locale, "export.sheet.summary"))
    cells = Cells(locale, tz)
    styles = Styles(first, date=cells.date_format, datetime=cells.datetime_format)
    xml = RowXml(tz=tz, styles=styles, yes=cells.yes, no=cells.no, label=cells.label,
                 flags=cells.flags, listed=cells.listed)
    written: list[Written] = []
    try:
        for spec in sheets:
            written.append(await write_sheet(book, cells, spec, xml, folder=path.parent))
    except BaseException:
        # Saving is the public way to close the sheets and remove their temporary files; the
        # caller throws the half-written workbook away.
        with contextlib.suppress(Exception):
            book.save(str(path))
        raise
    for done in written:
        done.sheet.keep = limit is not None  # a part may still need it once the whole is saved
    try:
        return await _finish(book, path, list(summary), cells, written, limit)
    finally:
        for done in written:
            done.sheet.discard()


async def _finish(book: Workbook, path: Path, summary: list[tuple[str, Any]], cells: Cells,
                  written: list[Written], limit: int | None) -> list[Part]:
    """One workbook when it fits (or there is no limit), else parts."""
    scale = 1.0
    if limit is None or estimate(written) <= limit * FILL:
        counts = {done.kind: done.rows for done in written}
        _summarise(book.worksheets[0], summary, cells, counts)
        # Zipping the sheets is the one long step left: off the event loop.
        size = await asyncio.to_thread(_save, book, path)
        if limit is None or size <= limit:
            return [Part(path, size, counts)]
        scale = size / estimate(written)  # larger than foreseen: cut, with the ratio corrected
        _remove([Part(path, size, counts)])
    return await _save_parts(book, path, summary, cells, written, limit, scale)


def _summarise(sheet: WriteOnlyWorksheet, summary: list[tuple[str, Any]], cells: Cells,
               counts: dict[str, int], part: str | None = None) -> None:
    """The summary's figures, then the part it is in and what each sheet of it holds."""
    append_pairs(sheet, summary, cells)
    tr = cells.messages
    if part is not None:
        append_pairs(sheet, [("", None), (tr.get("export.summary.part", "Part"), part)], cells)
    append_pairs(sheet, [("", None), (tr.get("export.summary.rows", "Rows"), None)], cells)
    append_pairs(sheet, [(tr.get(f"export.sheet.{kind}", kind), count)
                         for kind, count in counts.items()], cells)


async def _save_parts(book: Workbook, path: Path, summary: list[tuple[str, Any]],
                      cells: Cells, written: list[Written], limit: int,
                      scale: float) -> list[Part]:
    """Plan the parts from the foreseen sizes and save them; when one comes out over the
    limit after all, plan again with the ratios corrected by what was measured."""
    for done in written:
        done.sheet.flush()  # still open unless the whole workbook was saved
    for _attempt in range(3):
        days = plan(written, budget=limit * FILL / scale)
        parts: list[Part] = []
        try:
            for number, chosen in enumerate(days, start=1):
                target = path.with_name(f"{path.stem}-part{number}{path.suffix}")
                parts.append(await asyncio.to_thread(
                    _save_part, book, target, summary, cells, written, chosen,
                    (number, len(days))))
        except BaseException:
            _remove(parts)
            raise
        worst = max(part.size for part in parts)
        if worst <= limit:
            return parts
        _remove(parts)
        scale *= worst / (limit * FILL)
    raise TooLarge("the parts came out over the limit three times")


def _save_part(book: Workbook, target: Path, summary: list[tuple[str, Any]], cells: Cells,
               written: list[Written], days: list[dt.date], number: tuple[int, int]) -> Part:
    """Part `number` (of how many): the summary, each dated sheet's rows of `days`; the
    first part also holds the sheets kept whole. Copies and zips: run it in a thread."""
    book._sheets = []  # the same workbook, so the styles and their ids stay the same
    head = write_summary(book, title=translate(cells.locale, "export.sheet.summary"))
    counts: dict[str, int] = {}
    chosen: set[dt.date | None] = set(days) | ({None} if number[0] == 1 else set())
    try:
        for done in written:
            if done.dated or number[0] == 1:
                copied, counts[done.kind] = copy_rows(done, chosen if done.dated else None)
                sheet = add_sheet(book, done.sheet.title, folder=target.parent)
                sheet.adopt(copied, head=done.sheet.head, tail=done.sheet.tail)
        _summarise(head, summary, cells, counts,
                   translate(cells.locale, "export.summary.part_of", number=number[0],
                             count=number[1]))
        size = _save(book, target)
    finally:
        for sheet in book.worksheets:
            if isinstance(sheet, RowSheet):
                sheet.discard()
    return Part(target, size, counts, (days[0], days[-1]) if days else None)


def _save(book: Workbook, path: Path) -> int:
    """Zip the workbook into `path` (a new file readable by this user only, as the whole
    export's own); its size in bytes."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    book.save(str(path))
    make_private(path)  # a file that was there already keeps its mode through the save
    return path.stat().st_size


def _remove(parts: list[Part]) -> None:
    for part in parts:
        part.path.unlink(missing_ok=True)
