"""The roster: reading a CSV or XLSX file of people and importing it, all of it or none of it.

Reading and validating know nothing of Telegram or languages: every problem is a
`RosterError` with a line, a code and the offending value, and the bot renders
``roster.error.<code>`` in the user's language. File-level problems have line 0.

The names a file may give its columns, ranks and roles are a `RosterNames`: storage knows
only the codes (``name, phone, …``, ``county``, ``team_leader``); the callers pass the
catalogs' names in both languages (common/rosternames.py), the export's own among them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import phonenumbers
from openpyxl import load_workbook
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import AuditEntry, Person, Township, Unit, Village
from storage.people import INVITE_ALPHABET, INVITE_LENGTH, RANKS, ROLES, authority_stamp

MAX_ROSTER_BYTES = 10 * 1024 * 1024
# A county sends thousands of cadres; far more rows than this is a wrong file, and the cap
# bounds the work a small but highly compressed workbook can cause.
MAX_ROSTER_ROWS = 50_000
COLUMNS = ("name", "phone", "rank", "unit", "township", "village", "role")
# A column a file may have, as the export's roster sheet does: whether the person is on the
# roster. A row marked not active is left as it is: an import neither ends access nor gives it
# back to someone a file marks as gone.
OPTIONAL_COLUMNS = ("active",)
# Values are echoed back in chat messages; a long one would crowd out the other errors.
MAX_VALUE_CHARS = 60
# Any constant works: it only has to be the same for every process importing a roster.
_ROSTER_LOCK_KEY = 0x526F73746572

ERROR_CODES = (
    "too_large",
    "too_many_rows",
    "empty_file",
    "bad_file",
    "bad_encoding",
    "missing_column",
    "duplicate_column",
    "formula",
    "empty_name",
    "bad_phone",
    "unknown_rank",
    "unknown_role",
    "unknown_active",
    "too_long",
    "duplicate_phone",
    "same_person",
    "village_without_township",
    "needs_township",
    "needs_village",
    "needs_unit",
    "township_leader_with_village",
    "office_with_place",
    "two_team_leaders",
)
# Errors after which there are no rows to check: the import stops at once.
_FILE_CODES = frozenset(
    {"too_large", "too_many_rows", "empty_file", "bad_file", "bad_encoding"}
    | {"missing_column", "duplicate_column"}
)

_PLACED_ROLES = ("cadre", "team_leader")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 binary .xls format


def fold(raw: Any) -> str:
    """A name as it is compared: NFKC (full-width letters), lower case, without spaces, hyphens
    and underscores (``Team leader``, ``team_leader`` and ``ＴＥＡＭ－ＬＥＡＤＥＲ`` are one)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).lower()
    return "".join(ch for ch in text if not (ch.isspace() or ch in "-_"))


@dataclass(frozen=True)
class RosterNames:
    """What a file may call each column, rank and role, and how it may say yes and no (the
    active column), each name folded, pointing to its code."""

    columns: Mapping[str, str]
    ranks: Mapping[str, str]
    roles: Mapping[str, str]
    flags: Mapping[str, bool]

    @classmethod
    def of(
        cls, *, columns: Mapping[str, Iterable[str]] | None = None,
        ranks: Mapping[str, Iterable[str]] | None = None,
        roles: Mapping[str, Iterable[str]] | None = None,
        yes: Iterable[str] = (), no: Iterable[str] = (),
    ) -> RosterNames:  # fmt: skip
        """The names of each code (the code itself is always one). Raises ValueError when
        one name would stand for two codes."""
        return cls(
            columns=_names_of((*COLUMNS, *OPTIONAL_COLUMNS), columns or {}),
            ranks=_names_of(RANKS, ranks or {}),
            roles=_names_of(ROLES, roles or {}),
            flags=_names_of((True, False), {True: ["yes", "true", *yes],
                                            False: ["no", "false", *no]}),
        )


def _names_of(codes: Iterable[Any], names: Mapping[Any, Iterable[str]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for code in codes:
        for name in [str(code), *names.get(code, ())]:
            key = fold(name)
            if not key:
                continue
            if found.setdefault(key, code) != code:
                raise ValueError(f"{name!r} names both {found[key]!r} and {code!r}")
    return found


# The codes alone: the names of a file written for the machine (the README's English).
CODES = RosterNames.of()


@dataclass(frozen=True)
class RosterRow:
    """One data row as read: raw strings; `line` is the file's line (the header is line 1)."""

    line: int
    name: str
    phone: str
    rank: str
    unit: str
    township: str
    village: str
    role: str
    active: str = ""  # the optional column: empty when the file has none


@dataclass(frozen=True)
class RosterError:
    """A problem with the file (line 0) or with one of its lines."""

    line: int
    code: str
    value: str = ""


@dataclass
class ImportResult:
    """What an import did; when `errors` is not empty it wrote nothing."""

    created: int
    updated: int
    unchanged: int
    errors: list[RosterError] = field(default_factory=list)
    # Rows marked not active, left as they are (not created, changed or given access back).
    skipped: int = 0
    # Where the whole active roster, as the import left it, is not shaped as the notice asks.
    warnings: list[ShapeWarning] = field(default_factory=list)


SHAPE_CODES = ("no_team_leader", "team_shape", "no_township_leader")
# The notice: each village team is 2 county-organ cadres and 1 township cadre.
TEAM_COUNTY_ORGAN = 2
TEAM_TOWNSHIP = 1


@dataclass(frozen=True)
class ShapeWarning:
    """A place the roster does not staff as the notice asks; the import still stands.

    `code` is one of SHAPE_CODES; `village` is None for a township's warning; `county_organ`
    and `township_cadres` count the team of a ``team_shape`` warning."""

    code: str
    township: str
    village: str | None = None
    county_organ: int = 0
    township_cadres: int = 0


class Member(NamedTuple):
    """An active person as the roster's shape sees them."""

    role: str
    unit: str | None
    township: str | None
    village: str | None


def is_township_cadre(unit: str | None, townships: Iterable[str]) -> bool:
    """Whether a cadre comes from a township (乡镇干部) rather than a county organ (县直机关干部).

    The roster records no such level (rank is 县级/科级/一般干部, which sets the pairing
    quota), but it records the home unit: a township's own cadre is sent by that township's
    government or party committee, whose name begins with the township's (黄金埠镇政府,
    黄金埠镇党委), while county organs are named after the county (县财政局, 县委办). So a
    unit whose name begins with the name of a township on the roster is a township's."""
    return unit is not None and any(unit.startswith(name) for name in townships if name)


def shape_warnings(members: Iterable[Member], townships: Iterable[str]) -> list[ShapeWarning]:
    """Where active people are not shaped as the notice asks, by township then village: a
    village with cadres but no team leader, a village team that is not 2 county-organ cadres
    and 1 township cadre (the team leader is one of the team), and a township with cadres in
    its villages but no township leader. `townships` are every township's name."""
    names = list(townships)
    teams: dict[tuple[str, str], list[Member]] = defaultdict(list)
    led: set[str] = set()
    for member in members:
        if member.role in _PLACED_ROLES and member.township and member.village:
            teams[(member.township, member.village)].append(member)
        elif member.role == "township_leader" and member.township:
            led.add(member.township)
    warnings: list[ShapeWarning] = []
    for township in sorted({township for township, _ in teams}):
        if township not in led:
            warnings.append(ShapeWarning("no_township_leader", township))
        for (_, village), team in sorted(item for item in teams.items() if item[0][0] == township):
            if not any(member.role == "team_leader" for member in team):
                warnings.append(ShapeWarning("no_team_leader", township, village))
            local = sum(is_township_cadre(member.unit, names) for member in team)
            if (len(team) - local, local) != (TEAM_COUNTY_ORGAN, TEAM_TOWNSHIP):
                warnings.append(ShapeWarning("team_shape", township, village,
                                             county_organ=len(team) - local,
                                             township_cadres=local))
    return warnings


async def roster_shape(session: AsyncSession) -> list[ShapeWarning]:
    """`shape_warnings` of the whole active roster as the database holds it."""
    query = (
        select(Person.role, Unit.name, Township.name, Village.name)
        .outerjoin(Unit, Person.unit_id == Unit.id)
        .outerjoin(Village, Person.village_id == Village.id)
        .outerjoin(Township, Person.township_id == Township.id)
        .where(Person.active.is_(True))
    )
    members = [Member(*row) for row in await session.execute(query)]
    townships = (await session.execute(select(Township.name))).scalars()
    return shape_warnings(members, townships)


class Invite(NamedTuple):
    """A person's invite code, with where they serve and whether they have bound Telegram."""

    name: str
    phone: str
    role: str
    township: str | None
    village: str | None
    invite_code: str
    bound: bool


class _FileError(Exception):
    """The file cannot be read at all."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _Cell(NamedTuple):
    text: str
    formula: bool


# --- normalisation -------------------------------------------------------------------------


def _clean(raw: str) -> str:
    """NFKC (full-width letters and digits) with runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def normalise_phone(raw: str, region: str = "CN") -> str | None:
    """The number in E.164 (``+8613800138000``), or None when it is not a valid number."""
    cleaned = unicodedata.normalize("NFKC", raw or "").strip()
    if not cleaned or len(cleaned) > 40:
        return None
    candidates = [cleaned]
    digits = "".join(ch for ch in cleaned if ch.isdigit())
    # "8613800138000": the country code written without its plus.
    if digits == cleaned.replace(" ", "").replace("-", "") and digits.startswith("86"):
        if len(digits) == 13:
            candidates.insert(0, "+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def normalise_rank(raw: Any, names: RosterNames = CODES) -> str | None:
    """``county``, ``department`` or ``ordinary`` (or a name of one in `names`), else None."""
    return names.ranks.get(fold(raw))


def normalise_role(raw: Any, names: RosterNames = CODES) -> str | None:
    """One of the role codes (or a name of one in `names`), else None."""
    return names.roles.get(fold(raw))


def _active(raw: str, names: RosterNames) -> bool | None:
    """Active when the column is empty or says yes; False for no; None for anything else."""
    return True if not raw.strip() else names.flags.get(fold(raw))


def _shown(value: str) -> str:
    value = value.strip()
    return value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"


# --- reading -------------------------------------------------------------------------------


def read_roster(
    data: bytes, filename: str, names: RosterNames = CODES
) -> tuple[list[RosterRow], list[RosterError]]:
    """The rows of a CSV or XLSX roster and the problems met reading it, by line; `names` are
    the column names it may use. Of a workbook, the first sheet with every column is read (the
    export's roster is not its first sheet), else its first sheet."""
    if len(data) > MAX_ROSTER_BYTES:
        return [], [RosterError(0, "too_large", f"{MAX_ROSTER_BYTES // (1024 * 1024)} MiB")]
    name = filename.lower()
    try:
        if data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
            raise _FileError("bad_file")
        is_xlsx = data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm"))
        table = _xlsx_table(data, names) if is_xlsx else _csv_table(data)
        return _rows_from_table(table, names)
    except _FileError as exc:
        return [], [RosterError(0, exc.code)]


def _csv_table(data: bytes) -> Iterator[tuple[int, list[_Cell]]]:
    """Each record with the line it starts on."""
    content = _decoded(data)
    if "\x00" in content:
        raise _FileError("bad_file")
    first_line = content.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            # A leading "=" is what a spreadsheet would run as a formula.
            yield start, [_Cell(cell.strip(), cell.strip().startswith("=")) for cell in record]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _FileError("bad_file") from exc


def _decoded(data: bytes) -> str:
    """The text of a CSV as Excel and WPS save one: UTF-8 with or without a BOM ("CSV UTF-8"),
    UTF-16 with its BOM ("Unicode text"), or GBK, which GB 18030 contains (plain "CSV" on a
    Chinese Windows)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _FileError("bad_encoding")


def _xlsx_table(data: bytes, names: RosterNames) -> Iterator[tuple[int, list[_Cell]]]:
    """Each row of the roster's worksheet with its row number; formulas kept as formulas."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # whatever openpyxl trips over, the upload is not a workbook
        raise _FileError("bad_file") from exc
    try:
        if not workbook.worksheets:
            raise _FileError("bad_file")
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # some writers record a wrong used range
        sheet = next((s for s in workbook.worksheets if _has_every_column(s, names)),
                     workbook.worksheets[0])
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, [_Cell(_cell_text(c.value), c.data_type == "f") for c in row]
    except _FileError:
        raise
    except Exception as exc:  # read-only sheets parse lazily: damage shows up mid-way
        raise _FileError("bad_file") from exc
    finally:
        workbook.close()


def _has_every_column(sheet: Any, names: RosterNames) -> bool:
    """Whether the sheet's first row with text names every column a roster needs."""
    for row in sheet.iter_rows(values_only=True):
        header = {names.columns.get(fold(value)) for value in row if value is not None}
        if header - {None}:
            return set(COLUMNS) <= header
        if any(value is not None and str(value).strip() for value in row):
            return False
    return False


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed into a number cell
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _rows_from_table(
    table: Iterable[tuple[int, list[_Cell]]], names: RosterNames
) -> tuple[list[RosterRow], list[RosterError]]:
    """Header first (blank rows skipped), then one RosterRow or one error per data row."""
    records = ((line, cells) for line, cells in table if any(c.text for c in cells))
    header = next(records, None)
    if header is None:
        return [], [RosterError(0, "empty_file")]
    positions, errors = _header_positions(*header, names)
    if errors:
        return [], errors
    rows: list[RosterRow] = []
    for count, (line, cells) in enumerate(records, start=1):
        if count > MAX_ROSTER_ROWS:
            return [], [RosterError(0, "too_many_rows", str(MAX_ROSTER_ROWS))]
        values = {
            col: cells[i] if i < len(cells) else _Cell("", False) for col, i in positions.items()
        }
        formula = next((c.text for c in values.values() if c.formula), None)
        if formula is not None:
            errors.append(RosterError(line, "formula", _shown(formula)))
        else:
            rows.append(RosterRow(line, **{col: cell.text for col, cell in values.items()}))
    if not rows and not errors:
        return [], [RosterError(0, "empty_file")]
    return rows, errors


def _header_positions(
    line: int, cells: list[_Cell], names: RosterNames
) -> tuple[dict[str, int], list[RosterError]]:
    """Which cell holds each column; one error naming every missing column (by its code)."""
    positions: dict[str, int] = {}
    errors: list[RosterError] = []
    for index, cell in enumerate(cells):
        column = names.columns.get(fold(cell.text))
        if column is None:
            continue  # extra columns (notes, a serial number) are ignored
        if column in positions:
            errors.append(RosterError(line, "duplicate_column", _shown(cell.text)))
        positions[column] = index
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        errors.insert(0, RosterError(line, "missing_column", ", ".join(missing)))
    return positions, errors


# --- validation ----------------------------------------------------------------------------


@dataclass
class _Entry:
    """A row with every field normalised; None where the field is invalid."""

    line: int
    name: str
    phone: str | None
    rank: str | None
    role: str | None
    unit: str | None
    township: str | None
    village: str | None
    active: bool | None
    errors: list[RosterError]


def _column_length(model: Any) -> int:
    return int(model.__table__.c.name.type.length)


_LIMITS = {"name": _column_length(Person), "unit": _column_length(Unit)}
_LIMITS |= {"township": _column_length(Township), "village": _column_length(Village)}


def _entry(row: RosterRow, names: RosterNames) -> _Entry:
    """Normalise one row and collect every reason it is bad."""
    line = row.line
    place = {k: _clean(getattr(row, k)) or None for k in ("unit", "township", "village")}
    entry = _Entry(
        line, _clean(row.name), normalise_phone(row.phone), normalise_rank(row.rank, names),
        normalise_role(row.role, names), active=_active(row.active, names), errors=[], **place,
    )  # fmt: skip
    errors = entry.errors
    if not entry.name:
        errors.append(RosterError(line, "empty_name"))
    if entry.phone is None:
        errors.append(RosterError(line, "bad_phone", _shown(row.phone)))
    if entry.rank is None:
        errors.append(RosterError(line, "unknown_rank", _shown(row.rank)))
    if entry.role is None:
        errors.append(RosterError(line, "unknown_role", _shown(row.role)))
    if entry.active is None:
        errors.append(RosterError(line, "unknown_active", _shown(row.active)))
    sized = {"name": entry.name, **place}
    errors.extend(
        RosterError(line, "too_long", _shown(value))
        for key, value in sized.items()
        if value and len(value) > _LIMITS[key]
    )
    if entry.role is not None:
        errors.extend(_place_errors(entry))
    return entry


def _place_errors(entry: _Entry) -> list[RosterError]:
    """Where a role must and must not be placed."""
    line, township, village = entry.line, entry.township, entry.village
    errors: list[RosterError] = []
    if entry.role in _PLACED_ROLES:
        if village and not township:
            errors.append(RosterError(line, "village_without_township", _shown(village)))
        elif not village:
            errors.append(RosterError(line, "needs_village", _shown(township or "")))
        if not entry.unit:
            errors.append(RosterError(line, "needs_unit"))
    elif entry.role == "township_leader":
        if not township:
            errors.append(RosterError(line, "needs_township"))
        if village:
            errors.append(RosterError(line, "township_leader_with_village", _shown(village)))
    elif township or village:
        errors.append(RosterError(line, "office_with_place", _shown(township or village or "")))
    return errors


def _village_label(township: str, village: str) -> str:
    return _shown(f"{township}/{village}")


def _duplicate_errors(entries: Sequence[_Entry], rows: Sequence[RosterRow]) -> list[RosterError]:
    """Every line of a phone given twice, and every team leader of a village led twice."""
    phones: dict[str, list[int]] = defaultdict(list)
    leaders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        if entry.phone:
            phones[entry.phone].append(index)
        if entry.role == "team_leader" and entry.active and entry.township and entry.village:
            leaders[(entry.township, entry.village)].append(index)
    errors = [
        RosterError(entries[i].line, "duplicate_phone", _shown(rows[i].phone))
        for group in phones.values() if len(group) > 1 for i in group
    ]  # fmt: skip
    errors += [
        RosterError(entries[i].line, "two_team_leaders", _village_label(*place))
        for place, group in leaders.items() if len(group) > 1 for i in group
    ]  # fmt: skip
    return errors


def _validate(
    rows: Sequence[RosterRow], names: RosterNames
) -> tuple[list[_Entry], list[RosterError]]:
    entries = [_entry(row, names) for row in rows]
    errors = [error for entry in entries for error in entry.errors]
    return entries, errors + _duplicate_errors(entries, rows)


def _by_line(errors: Iterable[RosterError]) -> list[RosterError]:
    # A leader doubled in the file and in the database is one problem, said once.
    return sorted(dict.fromkeys(errors), key=lambda error: error.line)


def validate_rows(rows: Sequence[RosterRow], names: RosterNames = CODES) -> list[RosterError]:
    """Every bad row by line and reason, duplicates within the file included."""
    return _by_line(_validate(rows, names)[1])


# --- importing -----------------------------------------------------------------------------


class _Known(NamedTuple):
    """A person already in the database, as far as the roster describes them."""

    id: int
    phone: str
    name: str
    rank: str
    role: str
    unit_id: int | None
    township_id: int | None
    village_id: int | None
    active: bool
    invite_code: str


_ROSTER_FIELDS = ("phone", "name", "rank", "role", "unit_id", "township_id", "village_id",
                  "active")


@dataclass
class _State:
    """The database's places, units and people, loaded in a few queries."""

    townships: dict[str, int]
    villages: dict[tuple[int, str], int]
    units: dict[str, int]
    people: dict[str, _Known]  # by phone
    codes: set[str]
    # Phones of the active team leaders of each (township name, village name).
    leaders: dict[tuple[str, str], set[str]]


async def _load_state(session: AsyncSession) -> _State:
    """Everything the import compares against, without one query per row."""
    townships = {n: i for i, n in await session.execute(select(Township.id, Township.name))}
    village_rows = (
        await session.execute(select(Village.id, Village.township_id, Village.name))
    ).all()
    units = {n: i for i, n in await session.execute(select(Unit.id, Unit.name))}
    people_rows = await session.execute(select(*(getattr(Person, f) for f in _Known._fields)))
    people = {known.phone: known for known in map(_Known._make, people_rows)}
    names = {i: n for n, i in townships.items()}
    place_of = {vid: (names[tid], name) for vid, tid, name in village_rows}
    leaders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for phone, known in people.items():
        if known.active and known.role == "team_leader" and known.village_id in place_of:
            leaders[place_of[known.village_id]].add(phone)
    return _State(
        townships=townships,
        villages={(tid, name): vid for vid, tid, name in village_rows},
        units=units,
        people=people,
        codes={known.invite_code for known in people.values()},
        leaders=leaders,
    )


_Profile = tuple[str, str | None, str | None, int | None, int | None, int | None]


def _profile(entry: _Entry, state: _State) -> _Profile | None:
    """All a row says of a person but the phone, as ids; None when it names a place or unit
    the database lacks (then it is no one on the roster)."""
    township_id = state.townships.get(entry.township) if entry.township else None
    village_id = state.villages.get((township_id or 0, entry.village)) if entry.village else None
    unit_id = state.units.get(entry.unit) if entry.unit else None
    if (entry.township and township_id is None) or (entry.village and village_id is None) \
            or (entry.unit and unit_id is None):
        return None
    return (entry.name, entry.rank, entry.role, unit_id, township_id, village_id)


def _new_phones(
    entries: Sequence[_Entry], state: _State
) -> tuple[dict[int, _Known], list[RosterError]]:
    """Rows that give a person on the roster a new phone, by line, and the rows that would each
    give the same person one. A row does when its phone is no one's and exactly one person,
    whose phone no row has, is all the row says but the phone (an export whose phone cell was
    changed in a spreadsheet); the audit trail keeps the old number."""
    in_file = {entry.phone for entry in entries if entry.phone}
    unheard: dict[_Profile, list[_Known]] = defaultdict(list)
    for known in state.people.values():
        if known.phone not in in_file:
            unheard[(known.name, known.rank, known.role, known.unit_id, known.township_id,
                     known.village_id)].append(known)
    claims: dict[int, list[_Entry]] = defaultdict(list)
    people: dict[int, _Known] = {}
    for entry in entries:
        if entry.active and entry.phone and entry.phone not in state.people:
            profile = _profile(entry, state)
            found = unheard.get(profile, []) if profile is not None else []
            if len(found) == 1:
                claims[found[0].id].append(entry)
                people[found[0].id] = found[0]
    renumbered = {group[0].line: people[person_id]
                  for person_id, group in claims.items() if len(group) == 1}
    errors = [RosterError(entry.line, "same_person", _shown(entry.name))
              for group in claims.values() if len(group) > 1 for entry in group]
    return renumbered, errors


def _known(entry: _Entry, state: _State, renumbered: dict[int, _Known]) -> _Known | None:
    """The person a row is: the one with its phone, or the one it gives a new phone."""
    return state.people.get(entry.phone or "") or renumbered.get(entry.line)


def _leader_conflicts(
    entries: Sequence[_Entry], state: _State, renumbered: dict[int, _Known]
) -> list[RosterError]:
    """A file's team leader for a village whose active leader in the database is not in the file
    (or is, marked not active: the import leaves them as they are)."""
    imported = [entry for entry in entries if entry.active]
    in_file = {entry.phone for entry in imported if entry.phone}
    in_file |= {known.phone for known in renumbered.values()}
    errors = []
    for entry in entries:
        if (entry.role != "team_leader" or not entry.active
                or not (entry.township and entry.village)):
            continue
        others = state.leaders.get((entry.township, entry.village), set()) - in_file
        if others:
            errors.append(
                RosterError(
                    entry.line, "two_team_leaders", _village_label(entry.township, entry.village)
                )
            )
    return errors


async def _lock_roster(session: AsyncSession) -> None:
    """On PostgreSQL, one import at a time; SQLite writers are serialised already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROSTER_LOCK_KEY})


async def _ensure_places(
    session: AsyncSession, *, entries: Sequence[_Entry], state: _State
) -> None:
    """Create the townships, units and villages the file names and the database lacks."""
    townships = {e.township for e in entries if e.township} - state.townships.keys()
    units = {e.unit for e in entries if e.unit} - state.units.keys()
    new_townships = [Township(name=name) for name in sorted(townships)]
    new_units = [Unit(name=name) for name in sorted(units)]
    session.add_all([*new_townships, *new_units])
    await session.flush()
    state.townships |= {t.name: t.id for t in new_townships}
    state.units |= {u.name: u.id for u in new_units}
    wanted = {(state.townships[e.township], e.village) for e in entries if e.township and e.village}
    new_villages = [
        Village(township_id=tid, name=name) for tid, name in sorted(wanted - state.villages.keys())
    ]
    session.add_all(new_villages)
    await session.flush()
    state.villages |= {(v.township_id, v.name): v.id for v in new_villages}


def _new_invite_code(taken: set[str]) -> str:
    """A fresh code no one else holds, from an alphabet without 0/O and 1/I/L."""
    while True:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def _new_code(known: _Known, state: _State) -> dict[str, str]:
    """A new invite code for a person the import makes active again (nothing otherwise)."""
    return {} if known.active else {"invite_code": _new_invite_code(state.codes)}


def _wanted_fields(entry: _Entry, state: _State) -> dict[str, Any]:
    township_id = state.townships[entry.township] if entry.township else None
    village_id = (
        state.villages[(township_id, entry.village)]
        if township_id is not None and entry.village
        else None
    )
    return {
        "name": entry.name,
        "rank": entry.rank,
        "role": entry.role,
        "phone": entry.phone,
        "unit_id": state.units[entry.unit] if entry.unit else None,
        "township_id": township_id,
        "village_id": village_id,
        "active": True,
    }


def _audit(
    *, at: dt.datetime, actor_id: int | None, person_id: int, action: str, changes: dict[str, Any]
) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=at, actor_id=actor_id, entity="person", entity_id=person_id, action=action,
            field=name, old_value=None if old is None else str(old),
            new_value=None if new is None else str(new),
        )
        for name, (old, new) in changes.items()
    ]  # fmt: skip


@dataclass
class _Plan:
    """What the import will write: new people, changed people (and what changed)."""

    created: list[Person] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[int, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    unchanged: int = 0


def _plan_people(
    entries: Sequence[_Entry], state: _State, renumbered: dict[int, _Known], *, now: dt.datetime
) -> _Plan:
    """Sort each row into a new person, a changed one or an identical one."""
    plan = _Plan()
    for entry in entries:
        wanted = _wanted_fields(entry, state)
        known = _known(entry, state, renumbered)
        if known is None:
            code = _new_invite_code(state.codes)
            person = Person(invite_code=code, created_at=now, updated_at=now, **wanted)
            plan.created.append(person)
            continue
        changes = {f: (getattr(known, f), wanted[f]) for f in _ROSTER_FIELDS}
        changes = {f: pair for f, pair in changes.items() if pair[0] != pair[1]}
        if not changes:
            plan.unchanged += 1
            continue
        # Only roster fields are written: the Telegram binding and the invite code survive,
        # but access given back comes with a new code (the old one may have gone round).
        # A new role or place, or access given back, ends the drafts and buttons of the old.
        plan.updates.append({"id": known.id, **wanted, "updated_at": now,
                             **authority_stamp(changes, now=now), **_new_code(known, state)})
        # The new code is a credential and stays out of the audit trail (None stands for it).
        plan.changes[known.id] = changes | (
            {"invite_code": (known.invite_code, None)} if not known.active else {})
    return plan


async def _write_people(
    session: AsyncSession, plan: _Plan, *, now: dt.datetime, actor_id: int | None
) -> ImportResult:
    """Insert and update in bulk, with an audit entry per change."""
    session.add_all(plan.created)
    await session.flush()
    if plan.updates:
        await session.execute(update(Person), plan.updates)
    audits = [
        entry
        for person_id, changes in plan.changes.items()
        for entry in _audit(
            at=now, actor_id=actor_id, person_id=person_id, action="roster_update", changes=changes
        )
    ]
    for person in plan.created:
        changes = {"phone": (None, person.phone)}
        audits += _audit(
            at=now, actor_id=actor_id, person_id=person.id, action="roster_create", changes=changes
        )
    session.add_all(audits)
    await session.flush()
    return ImportResult(
        created=len(plan.created), updated=len(plan.updates), unchanged=plan.unchanged, errors=[]
    )


async def _import(
    session: AsyncSession, rows: Sequence[RosterRow], *, now: dt.datetime, actor_id: int | None,
    read_errors: Sequence[RosterError], names: RosterNames,
) -> ImportResult:  # fmt: skip
    """Check everything first, then write; nothing is written when anything is wrong."""
    await _lock_roster(session)
    entries, errors = _validate(rows, names)
    state = await _load_state(session)
    renumbered, same_person = _new_phones(entries, state)
    all_errors = _by_line([*read_errors, *errors, *same_person,
                           *_leader_conflicts(entries, state, renumbered)])
    if all_errors:
        return ImportResult(created=0, updated=0, unchanged=0, errors=all_errors)
    imported = [entry for entry in entries if entry.active]
    await _ensure_places(session, entries=imported, state=state)
    plan = _plan_people(imported, state, renumbered, now=now)
    result = await _write_people(session, plan, now=now, actor_id=actor_id)
    result.skipped = len(entries) - len(imported)
    result.warnings = await roster_shape(session)
    return result


async def import_roster(
    session: AsyncSession, rows: list[RosterRow], *, now: dt.datetime, actor_id: int | None = None,
    names: RosterNames = CODES,
) -> ImportResult:
    """Validate rows against themselves and the database, then upsert them by phone.

    All or nothing: with any error nothing is written. People absent from the file are
    left as they are: deactivation is an explicit act, never a side effect of an import.
    """
    return await _import(session, rows, now=now, actor_id=actor_id, read_errors=(), names=names)


async def import_roster_file(
    db: Database, data: bytes, filename: str, *, now: dt.datetime, actor_id: int | None = None,
    names: RosterNames = CODES,
) -> ImportResult:
    """Read, validate and import a roster file in one transaction: all of it or none of it."""
    async with db.write() as session:
        return await import_roster_data(session, data, filename, now=now, actor_id=actor_id,
                                        names=names)


async def import_roster_data(
    session: AsyncSession, data: bytes, filename: str, *, now: dt.datetime,
    actor_id: int | None = None, names: RosterNames = CODES,
) -> ImportResult:  # fmt: skip
    """import_roster_file inside the caller's transaction (which may check who imports first):
    all of it or none of it."""
    rows, read_errors = read_roster(data, filename, names)
    if any(error.code in _FILE_CODES for error in read_errors):
        return ImportResult(created=0, updated=0, unchanged=0, errors=read_errors)
    return await _import(session, rows, now=now, actor_id=actor_id, read_errors=read_errors,
                         names=names)


async def list_invites(session: AsyncSession) -> list[Invite]:
    """Every active person's invite code and binding, ordered by township, village and name."""
    query = (
        select(
            Person.name, Person.phone, Person.role, Township.name, Village.name,
            Person.invite_code, Person.telegram_user_id.is_not(None), Person.id,
        )
        .outerjoin(Township, Person.township_id == Township.id)
        .outerjoin(Village, Person.village_id == Village.id)
        .where(Person.active.is_(True))
    )  # fmt: skip
    # Sorted here, not in SQL: the backends order NULLs and collate text differently.
    rows = sorted(
        (await session.execute(query)).all(), key=lambda r: (r[3] or "", r[4] or "", r[0], r[7])
    )
    return [Invite(*row[:6], bound=bool(row[6])) for row in rows]
