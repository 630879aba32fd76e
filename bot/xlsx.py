"""Write an XLSX workbook row by row (openpyxl write-only), never holding a sheet in memory.

A summary sheet comes first, then one sheet per record kind with a translated header row,
its rows written as XML text by bot/xlsx_rows.py (openpyxl's cells are ~8x slower).
Datetimes are shown in the county's time zone, money as numbers with two decimals, yes/no and
coded values (kinds, statuses) in the reader's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
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

from bot.i18n import catalog, translate
from bot.xlsx_rows import MAX_CELL_CHARS, MONEY_FORMAT, RowSheet, RowXml, Styles, add_sheet

MIN_WIDTH, MAX_WIDTH = 8, 60
# Rows are turned into XML in a worker thread, this many at a time, so the event loop keeps
# answering updates during a long export.
BATCH_ROWS = 500


@dataclass
class Sheet:
    """One record kind: its column keys and its rows, consumed as they come."""

    kind: str
    columns: tuple[str, ...]
    rows: AsyncIterator[tuple[Any, ...]]
    # Column key -> message id prefix for coded values ("visit.kind." + "weak").
    codes: Mapping[str, str] = field(default_factory=dict)


class Cells:
    """Turns database values into what a cell shows, in one language and time zone."""

    def __init__(self, locale: str, tz: dt.tzinfo) -> None:
        self.locale = locale
        self.tz = tz
        self.messages = catalog(locale)
        self.yes = translate(locale, "export.yes")
        self.no = translate(locale, "export.no")
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
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = MONEY_FORMAT
            return cell
        if isinstance(value, dict):
            return self.text(self.flags(value, prefix))
        if isinstance(value, list):  # coded values picked together (a session's topics)
            return self.text("; ".join(self.label(prefix, str(v)) if prefix else str(v)
                                       for v in value))
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

    def flags(self, value: Mapping[str, Any], prefix: str | None) -> str:
        """A JSON object as readable text: true flags by name, other entries as 'name: value'."""
        parts: list[str] = []
        for key, item in value.items():
            name = self.label(prefix, str(key)) if prefix else str(key)
            if item is True:
                parts.append(name)
            elif isinstance(item, dict):
                inner = ", ".join(f"{k} {v}" for k, v in item.items())
                parts.append(f"{name}: {inner}" if inner else name)
            elif item not in (None, False):
                parts.append(f"{name}: {item}")
        return "; ".join(parts)


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


async def write_sheet(book: Workbook, cells: Cells, spec: Sheet, xml: RowXml) -> int:
    """Add one sheet and stream its rows into it; returns how many rows it holds."""
    tr = cells.messages
    sheet = add_sheet(book, tr.get(f"export.sheet.{spec.kind}", spec.kind)[:31])
    cells.sheet = sheet
    headers = [tr.get(f"export.{spec.kind}.{column}", column) for column in spec.columns]
    prefixes = [spec.codes.get(column) for column in spec.columns]
    count = 0
    try:
        first = await _first(spec.rows)
        _start_sheet(sheet, headers, None if first is None else
                     _converted(cells, first, prefixes))
        sheet.write(xml.header(headers))
        if first is None:
            return 0
        batch: list[tuple[Any, ...]] = [first]
        async for row in spec.rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                await asyncio.to_thread(_write_rows, sheet, xml, batch, prefixes, count + 2)
                count, batch = count + len(batch), []
        await asyncio.to_thread(_write_rows, sheet, xml, batch, prefixes, count + 2)
        count += len(batch)
    finally:
        aclose = getattr(spec.rows, "aclose", None)
        if aclose is not None:
            await aclose()
    return count


def _write_rows(sheet: RowSheet, xml: RowXml, rows: list[tuple[Any, ...]],
                prefixes: list[str | None], first: int) -> None:
    sheet.write(xml.rows(rows, prefixes, first))


def _converted(cells: Cells, row: Sequence[Any], prefixes: list[str | None]) -> list[Any]:
    value = cells.value
    return [value(item, prefix) for item, prefix in zip(row, prefixes, strict=True)]


def write_summary(book: Workbook, *, title: str) -> WriteOnlyWorksheet:
    """The first sheet, two columns wide: label and value."""
    sheet = book.create_sheet(title=title[:31])
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 40
    return sheet


def append_pairs(sheet: WriteOnlyWorksheet, rows: Iterable[tuple[str, Any]]) -> None:
    """Label/value rows; a row without a value is a bold heading."""
    for label, value in rows:
        if not label:
            sheet.append([])
        elif value is None:
            sheet.append([_bold(sheet, label)])
        elif isinstance(value, Decimal):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = MONEY_FORMAT
            sheet.append([label, cell])
        else:
            sheet.append([label, value])


async def write_workbook(
    path: Path,
    *,
    locale: str,
    tz: dt.tzinfo,
    summary: Iterable[tuple[str, Any]],
    sheets: Iterable[Sheet],
) -> dict[str, int]:
    """Write the summary and every sheet to `path`; returns the rows written per kind."""
    book = Workbook(write_only=True)
    first = write_summary(book, title=translate(locale, "export.sheet.summary"))
    append_pairs(first, summary)
    cells = Cells(locale, tz)
    xml = RowXml(tz=tz, styles=Styles(first), yes=cells.yes, no=cells.no, label=cells.label,
                 flags=cells.flags)
    counts: dict[str, int] = {}
    try:
        for spec in sheets:
            counts[spec.kind] = await write_sheet(book, cells, spec, xml)
    except BaseException:
        # Saving is the public way to close the sheets and remove their temporary files; the
        # caller throws the half-written workbook away.
        with contextlib.suppress(Exception):
            book.save(str(path))
        raise
    # The summary ends with what each sheet holds, known only now (write-only sheets
    # each stream to their own temporary file, so the first can still grow).
    append_pairs(first, [("", None), (translate(locale, "export.summary.rows"), None)])
    append_pairs(first, [(cells.messages.get(f"export.sheet.{kind}", kind), count)
                         for kind, count in counts.items()])
    # Zipping the sheets is the one long step left: off the event loop.
    await asyncio.to_thread(book.save, str(path))
    return counts
