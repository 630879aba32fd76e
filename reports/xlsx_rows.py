"""The data sheets of an export, their rows written as SpreadsheetML text.

openpyxl's write-only sheet builds a cell object and an XML element for every cell and
serialises it through ElementTree: 25-40 µs a cell, with or without lxml, while a county's
campaign is about 12 million cells. Here a row of database values becomes its `<row>` element
by string formatting (about a microsecond a cell), inside a sheet that openpyxl still heads,
closes and packs into the workbook (column widths, frozen header, styles, relationships).
The cells are what openpyxl writes for the same values (inline strings, numbers, and dates and
times as serial numbers with the reader's date formats), floats exactly rather than to 16
digits. A row carries its number (`<row r="5">`: optional in SpreadsheetML, but readers such as
xlsx2csv skip a row without it); its cells carry no reference (a cell follows the one before it,
an empty cell is `<c/>`, as every reader we test takes it): 30 % less text to deflate, and a
part of an export cut into several workbooks is made by copying byte ranges of rows with only
their numbers rewritten (reports/xlsx_parts.py). The sheet counts the bytes it writes and
deflates a sample of them, to foresee the size of its part of the zipped workbook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.packaging.relationship import RelationshipList
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet._writer import WorksheetWriter

from storage.files import new_private_file

MAX_CELL_CHARS = 32_767  # Excel refuses longer cells
EPOCH = dt.date(1899, 12, 30).toordinal()  # Excel's day 0 (Windows dates, as openpyxl writes)
EMPTY_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")
SAMPLE_EVERY = 8  # deflate one write in this many to learn the sheet's compression ratio
# A sheet's rows are the export's personal data: their file is 0600 in the workbook's own
# (0700) folder, where the export sweeper (scheduler/sweep.py) finds one a crash left behind.
SHEET_PREFIX, SHEET_SUFFIX = "grassroots-sheet-", ".xml"


class _Written:
    """What openpyxl's ExcelWriter takes from a closed write-only sheet: its file and
    relationships (the interface of openpyxl's WorksheetWriter that ExcelWriter uses)."""

    def __init__(self, path: str, rels: RelationshipList, *, keep: bool) -> None:
        self.out = path
        self._rels = rels
        self.keep = keep

    def cleanup(self) -> None:
        """Remove the sheet's file once it is in the workbook (unless it is still needed)."""
        if not self.keep:
            os.remove(self.out)


class RowSheet(WriteOnlyWorksheet):
    """A write-only sheet whose rows arrive as XML text, kept in a file in `folder`; set its
    columns and panes first."""

    def __init__(self, parent: Workbook, title: str, *, folder: Path) -> None:
        super().__init__(parent, title)
        self.folder = folder
        self._file: IO[bytes] | None = None
        self._file_path = ""
        self.head = b""  # the sheet's XML up to and including <sheetData>
        self._tail = b""
        self._sheet_rels = RelationshipList()
        self._done = False
        self.keep = False  # the file outlives the workbook's saving (removed with discard())
        self.size = 0  # bytes in the file so far
        self._writes = 0
        self._sampled = [0, 0]  # bytes deflated as a sample, and what they deflated to

    @property
    def file(self) -> str:
        """The file the sheet is written to (rows still to come while it is open). Not
        `path`: that is openpyxl's name of the sheet's part in the package
        (/xl/worksheets/sheetN.xml), which the workbook's zip, its relationships and
        [Content_Types].xml are written from."""
        return self._file_path

    @property
    def ratio(self) -> float:
        """Deflated / plain bytes, as sampled (1.0 before any sample)."""
        plain, packed = self._sampled
        return packed / plain if plain else 1.0

    @property
    def closed(self) -> bool:
        return self._done

    def write(self, xml: str) -> None:
        """Add rows (`<row>` elements); the first call fixes the sheet's head."""
        if self._file is None:
            self._open()
        assert self._file is not None
        data = xml.encode("utf-8")
        self._file.write(data)
        self.size += len(data)
        if self._writes % SAMPLE_EVERY == 0:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._sampled[0] += len(data)
            self._sampled[1] += len(packer.compress(data)) + len(packer.flush())
        self._writes += 1

    def _open(self) -> None:
        # openpyxl writes the sheet without rows; the rows go where its empty sheetData was.
        skeleton = WorksheetWriter(self, out=BytesIO())
        skeleton.write_top()
        xf = skeleton.xf.send(True)
        with xf.element("sheetData"):
            pass
        skeleton.xf.send(None)
        skeleton.write_tail()
        skeleton.close()
        head, tail = EMPTY_DATA.split(skeleton.out.getvalue(), maxsplit=1)
        self._file_path = str(new_private_file(self.folder, prefix=SHEET_PREFIX,
                                               suffix=SHEET_SUFFIX))
        self._file = open(self._file_path, "wb")
        self.head = head + b"<sheetData>"
        self._file.write(self.head)
        self.size = len(self.head)
        self._tail = b"</sheetData>" + tail
        self._sheet_rels = skeleton._rels

    def flush(self) -> None:
        """Make what was written readable in the file (the sheet stays open)."""
        if self._done:
            return
        if self._file is None:
            self._open()
        assert self._file is not None
        self._file.flush()

    def discard(self) -> None:
        """Close and remove the sheet's file, never to be packed."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._file_path:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._file_path)
        self._done = True

    @property
    def tail(self) -> bytes:
        """The sheet's XML after its rows, from </sheetData> on."""
        return self._tail

    def adopt(self, path: str, *, head: bytes, tail: bytes) -> None:
        """Take a file holding `head` and rows (another sheet's, copied) as this sheet's."""
        self.head, self._tail, self._file_path = head, tail, path
        self._file = open(path, "ab")
        self.size = os.path.getsize(path)

    def close(self) -> None:
        """End the sheet's file; the workbook packs it when saved."""
        if self._done:
            return
        if self._file is None:
            self._open()
        assert self._file is not None
        self._file.write(self._tail)
        self._file.close()
        self._writer = _Written(self._file_path, self._sheet_rels, keep=self.keep)
        self._done = True

    def append(self, row: Any) -> None:
        raise TypeError("rows of a RowSheet are written with write()")


def add_sheet(book: Workbook, title: str, *, folder: Path) -> RowSheet:
    """A new RowSheet at the end of a write-only workbook, its rows kept in `folder`."""
    sheet = RowSheet(book, title, folder=folder)
    book._add_sheet(sheet)  # what Workbook.create_sheet does with its own sheet class
    return sheet


class Styles:
    """The workbook's style ids for the cells written here, registered through openpyxl:
    dates and times as date cells in the reader's number formats (zh
    `yyyy"年"m"月"d"日"`, catalog entries export.format.date and export.format.datetime)."""

    def __init__(self, sheet: WriteOnlyWorksheet, *, date: str, datetime: str) -> None:
        bold = WriteOnlyCell(sheet, value="")
        bold.font = Font(bold=True)
        self.bold = bold.style_id
        self.date_format, self.datetime_format = date, datetime
        self.date = self.formatted(sheet, dt.date(2000, 1, 1), date).style_id
        self.datetime = self.formatted(sheet, dt.datetime(2000, 1, 1), datetime).style_id

    @staticmethod
    def formatted(sheet: WriteOnlyWorksheet, value: Any, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell


def inline(text: str) -> str:
    """The end of a cell holding text as an inline string (legal characters only, within a
    cell's limit); an empty text is an empty cell, as openpyxl writes it."""
    if not text.isprintable():
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if not text:
        return ' t="inlineStr"/>'
    text = text[:MAX_CELL_CHARS]
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text[:1].isspace() or text[-1:].isspace():
        return f' t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f' t="inlineStr"><is><t>{text}</t></is></c>'


Cell = Callable[[Any, "str | None"], str]


class RowXml:
    """Rows of database values as `<row>` elements, in one language and time zone.

    Cells are chosen by the value's exact type. `label(prefix, code)` names coded values,
    `flags(mapping, prefix)` a JSON object, `listed(values, prefix)` values picked together;
    yes and no are the reader's words for booleans."""

    def __init__(self, *, tz: dt.tzinfo, styles: Styles, yes: str, no: str,
                 label: Callable[[str, str], str],
                 flags: Callable[[Mapping[str, Any], str | None], str],
                 listed: Callable[[Sequence[Any], str | None], str]) -> None:
        self.tz, self.styles, self.label, self.flags = tz, styles, label, flags
        self.listed = listed
        self._bodies: dict[tuple[str, str], str] = {}
        self._days: dict[dt.date, str] = {}
        self._bool = {True: inline(yes), False: inline(no)}
        self.cell: dict[type, Cell] = {
            str: self._str, int: self._number, float: self._float, bool: self._yes_no,
            dt.datetime: self._datetime, dt.date: self._date, Decimal: self._money,
            dict: self._mapping, list: self._list,
        }

    def header(self, titles: Sequence[str]) -> str:
        """Row 1: bold titles."""
        bold = f'<c s="{self.styles.bold}"'
        return '<row r="1">' + "".join(bold + inline(title) for title in titles) + "</row>"

    def rows(self, rows: Sequence[Sequence[Any]], prefixes: Sequence[str | None], *,
             first: int) -> str:
        """Rows numbered from `first`, their cells each following the one before; coded
        values by prefix; None an empty cell."""
        cell, fallback = self.cell, self._other
        out: list[str] = []
        for number, row in enumerate(rows, start=first):
            out.append(f'<row r="{number}">')
            for value, prefix in zip(row, prefixes, strict=False):
                if value is None:
                    out.append("<c/>")
                else:
                    out.append("<c" + cell.get(type(value), fallback)(value, prefix))
            out.append("</row>")
        return "".join(out)

    def local_day(self, value: Any) -> dt.date | None:
        """The local day of a date or time (None for anything else)."""
        if isinstance(value, dt.datetime):
            return (value.astimezone(self.tz) if value.tzinfo else value).date()
        return value if isinstance(value, dt.date) else None

    def _str(self, value: str, prefix: str | None) -> str:
        if not prefix:
            return inline(value)
        key = (prefix, value)
        body = self._bodies.get(key)
        if body is None:
            body = self._bodies[key] = inline(self.label(prefix, value))
        return body

    def _number(self, value: int, _prefix: str | None) -> str:
        return f"><v>{value}</v></c>"

    def _float(self, value: float, _prefix: str | None) -> str:
        # repr: the shortest text that reads back as the same float (openpyxl keeps 16 digits).
        return f"><v>{value!r}</v></c>" if math.isfinite(value) else "/>"

    def _money(self, value: Decimal, _prefix: str | None) -> str:
        # A plain number (200, 250.5): the header names the unit (元), no ¥0.00 format.
        return f"><v>{float(value):.16g}</v></c>"

    def _yes_no(self, value: bool, _prefix: str | None) -> str:
        return self._bool[value]

    def _datetime(self, value: dt.datetime, _prefix: str | None) -> str:
        if value.tzinfo is not None:
            value = value.astimezone(self.tz)
        seconds = (value.hour * 3600 + value.minute * 60 + value.second
                   + value.microsecond / 10**6)
        serial = value.toordinal() - EPOCH + seconds / 86400
        return f' s="{self.styles.datetime}"><v>{serial:.16g}</v></c>'

    def _date(self, value: dt.date, _prefix: str | None) -> str:
        body = self._days.get(value)
        if body is None:
            serial = value.toordinal() - EPOCH
            body = self._days[value] = f' s="{self.styles.date}"><v>{serial}</v></c>'
        return body

    def _mapping(self, value: Mapping[str, Any], prefix: str | None) -> str:
        return inline(self.flags(value, prefix))

    def _list(self, value: list[Any], prefix: str | None) -> str:
        # Coded values picked together (a session's topics).
        return inline(self.listed(value, prefix))

    def _other(self, value: Any, _prefix: str | None) -> str:
        return inline(str(value))
