"""Cutting an export that would be too large to send into several workbooks, by days.

While a data sheet is written (reports/xlsx.py), each run of rows of one local day is a `Segment`:
its place in the sheet's file and how many rows it holds. Cells carry no references, rows only
their numbers (reports/xlsx_rows.py), so a part's sheet is the original's head and header row
followed by the byte ranges of the part's days, copied with only the rows' numbers rewritten:
the rows are turned into XML once.

How large a part will be once zipped is foreseen from each sheet's sampled compression ratio;
parts are planned to FILL of the limit and measured once saved (reports/xlsx.py retries with
the ratios corrected by what was measured).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from reports.xlsx_rows import SHEET_PREFIX, SHEET_SUFFIX, RowSheet
from storage.files import new_private_file

FILL = 0.9  # share of the limit a part is planned to: the sizes are foreseen, not known
OVERHEAD = 16 * 1024  # a part's zip directory, styles, workbook and summary (~8 KB zipped)
COPY_CHUNK = 1 << 20
ROW_START = b'<row r="'  # how every row of reports/xlsx_rows.py begins, its number next


class TooLarge(Exception):
    """Even one day's rows (or the sheets kept whole) would not fit into one workbook."""


@dataclass
class Segment:
    """Rows of one local day (None: a sheet kept whole) at [start, end) of the sheet's file."""

    day: dt.date | None
    start: int
    end: int
    rows: int


@dataclass
class Written:
    """One data sheet as written: where its rows start and its segments in file order."""

    kind: str
    sheet: RowSheet
    first: int  # where the rows start: after the head and the header row
    dated: bool  # rows come by day and may be cut into parts
    segments: list[Segment] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(segment.rows for segment in self.segments)

    @property
    def next_row(self) -> int:
        """The number of the next row written: after the header row and the rows so far."""
        return 2 + self.rows

    def add(self, day: dt.date | None, rows: int, xml: str) -> None:
        """Write rows of one day (or of no day) and remember where they are."""
        start = self.sheet.size
        self.sheet.write(xml)
        last = self.segments[-1] if self.segments else None
        if last is not None and last.day == day and last.end == start:
            last.end, last.rows = self.sheet.size, last.rows + rows
        else:
            self.segments.append(Segment(day, start, self.sheet.size, rows))

    def packed(self, start: int, end: int) -> float:
        """Foreseen zipped size of bytes [start, end) of the sheet's file."""
        return (end - start) * self.sheet.ratio


def estimate(written: list[Written]) -> float:
    """Foreseen size of one workbook holding every sheet whole."""
    return OVERHEAD + sum(w.packed(0, w.sheet.size) for w in written)


def plan(written: list[Written], *, budget: float) -> list[list[dt.date]]:
    """The days of each part, in order: whole months while they fit, a month that is too
    large for one part cut by days. The first part also holds the sheets kept whole."""
    sizes: dict[dt.date | None, float] = defaultdict(float)  # None: rows without a day
    for w in written:
        for segment in w.segments:
            if w.dated:
                sizes[segment.day] += w.packed(segment.start, segment.end)
    fresh = OVERHEAD + sum(w.packed(0, w.first) for w in written if w.dated)
    used = fresh + sum(w.packed(0, w.sheet.size) for w in written if not w.dated)
    used += sizes.pop(None, 0.0)  # a dated sheet's rows without a date go with the first part
    if used > budget:
        raise TooLarge("the sheets kept whole")
    parts: list[list[dt.date]] = [[]]
    for month in _months(sorted(day for day in sizes if day is not None)):
        whole = sum(sizes[day] for day in month)
        units = [month] if fresh + whole <= budget else [[day] for day in month]
        for unit in units:
            need = sum(sizes[day] for day in unit)
            if used + need > budget:
                if fresh + need > budget:
                    raise TooLarge(f"the rows of {unit[0].isoformat()}")
                parts.append([])
                used = fresh
            parts[-1].extend(unit)
            used += need
    return parts


def _months(days: list[dt.date]) -> list[list[dt.date]]:
    months: dict[tuple[int, int], list[dt.date]] = {}
    for day in days:
        months.setdefault((day.year, day.month), []).append(day)
    return list(months.values())


def copy_rows(written: Written, days: set[dt.date | None] | None) -> tuple[str, int]:
    """A new file beside the sheet's own (0600, as it is): the sheet's head and header row and
    its rows of `days` (None: all), numbered again from 2; its path and how many rows it
    holds."""
    path = str(new_private_file(Path(written.sheet.file).parent, prefix=SHEET_PREFIX,
                                suffix=SHEET_SUFFIX))
    rows = 0
    ranges: list[list[int]] = [[0, written.first]]
    for segment in written.segments:
        if days is None or segment.day in days:
            rows += segment.rows
            if ranges[-1][1] == segment.start:
                ranges[-1][1] = segment.end
            else:
                ranges.append([segment.start, segment.end])
    try:
        with open(path, "wb") as out, open(written.sheet.file, "rb") as source:
            number = 2
            for start, end in ranges:
                number = _copy(source, out, start, end, number=number)
    except BaseException:
        os.remove(path)
        raise
    return path, rows


def _copy(source: IO[bytes], out: IO[bytes], start: int, end: int, *, number: int) -> int:
    """Copy bytes [start, end) of whole rows (the first range also holds the head and the
    header row, row 1, kept as it is), the data rows numbered from `number`; the number
    after the last. A chunk is cut before its last row's start (text never holds a bare
    `<`: it is escaped), so a row's number is never split."""
    source.seek(start)
    left = end - start
    carry = b""
    while left > 0 or carry:
        chunk = b""
        if left > 0:
            chunk = source.read(min(COPY_CHUNK, left))
            if not chunk:
                raise EOFError("the sheet's file is shorter than its segments")
            left -= len(chunk)
        data, carry = carry + chunk, b""
        if left > 0:
            cut = data.rfind(ROW_START)
            data, carry = (data[:cut], data[cut:]) if cut > 0 else (b"", data)
        pieces = data.split(ROW_START)
        for index in range(1, len(pieces)):
            piece = pieces[index]
            end_of_number = piece.index(b'"')
            if piece[:end_of_number] != b"1":  # the header row keeps its number
                pieces[index] = b"%d" % number + piece[end_of_number:]
                number += 1
        out.write(ROW_START.join(pieces))
    return number

