"""The roster: reading a CSV or XLSX file of people and importing it, all of it or none of it.

Reading and validating know nothing of Telegram or languages: every problem is a
`RosterError` with a line, a code and the offending value, and the bot renders
``roster.error.<code>`` in the user's language. File-level problems have line 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
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
    "too_long",
    "duplicate_phone",
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

_HEADERS = {
    "name": "name", "姓名": "name",
    "phone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone", "手机号码": "phone",
    "电话号码": "phone",
    "rank": "rank", "级别": "rank",
    "unit": "unit", "单位": "unit",
    "township": "township", "乡镇": "township",
    "village": "village", "村": "village",
    "role": "role", "角色": "role",
}  # fmt: skip
_RANKS = {
    **{rank: rank for rank in RANKS},
    "县级": "county", "县处级": "county", "处级": "county",
    "科级": "department", "乡科级": "department",
    "一般": "ordinary", "一般干部": "ordinary", "普通": "ordinary",
}  # fmt: skip
_ROLES = {
    **{role: role for role in ROLES},
    "驻村干部": "cadre", "干部": "cadre", "队长": "team_leader",
    "乡镇组长": "township_leader", "领导小组": "leading_group", "办公室": "office",
}  # fmt: skip
_PLACED_ROLES = ("cadre", "team_leader")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 binary .xls format


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


def _key(raw: Any) -> str:
    return _clean(str(raw or "")).lower().replace("-", "_").replace(" ", "_")


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


def normalise_rank(raw: Any) -> str | None:
    """``county``, ``department`` or ``ordinary`` (县级, 科级, 一般 too), else None."""
    return _RANKS.get(_key(raw))


def normalise_role(raw: Any) -> str | None:
    """One of the role codes, case- and separator-insensitive, else None."""
    return _ROLES.get(_key(raw))


def _shown(value: str) -> str:
    value = value.strip()
    return value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"


# --- reading -------------------------------------------------------------------------------


def read_roster(data: bytes, filename: str) -> tuple[list[RosterRow], list[RosterError]]:
    """The rows of a CSV or XLSX roster and the problems met reading it, by line."""
    if len(data) > MAX_ROSTER_BYTES:
        return [], [RosterError(0, "too_large", f"{MAX_ROSTER_BYTES // (1024 * 1024)} MiB")]
    name = filename.lower()
    try:
        if data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
            raise _FileError("bad_file")
        is_xlsx = data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm"))
        return _rows_from_table(_xlsx_table(data) if is_xlsx else _csv_table(data))
    except _FileError as exc:
        return [], [RosterError(0, exc.code)]


def _csv_table(data: bytes) -> Iterator[tuple[int, list[_Cell]]]:
    """Each record with the line it starts on."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileError("bad_encoding") from exc
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


def _xlsx_table(data: bytes) -> Iterator[tuple[int, list[_Cell]]]:
    """Each row of the first worksheet with its row number; formulas kept as formulas."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # whatever openpyxl trips over, the upload is not a workbook
        raise _FileError("bad_file") from exc
    try:
        if not workbook.worksheets:
            raise _FileError("bad_file")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong used range
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, [_Cell(_cell_text(c.value), c.data_type == "f") for c in row]
    except _FileError:
        raise
    except Exception as exc:  # read-only sheets parse lazily: damage shows up mid-way
        raise _FileError("bad_file") from exc
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed into a number cell
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _rows_from_table(
    table: Iterable[tuple[int, list[_Cell]]],
) -> tuple[list[RosterRow], list[RosterError]]:
    """Header first (blank rows skipped), then one RosterRow or one error per data row."""
    records = ((line, cells) for line, cells in table if any(c.text for c in cells))
    header = next(records, None)
    if header is None:
        return [], [RosterError(0, "empty_file")]
    positions, errors = _header_positions(*header)
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


def _header_positions(line: int, cells: list[_Cell]) -> tuple[dict[str, int], list[RosterError]]:
    """Which cell holds each column; one error naming every missing column."""
    positions: dict[str, int] = {}
    errors: list[RosterError] = []
    for index, cell in enumerate(cells):
        column = _HEADERS.get("".join(_clean(cell.text).lower().split()))
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
    errors: list[RosterError]


def _column_length(model: Any) -> int:
    return int(model.__table__.c.name.type.length)


_LIMITS = {"name": _column_length(Person), "unit": _column_length(Unit)}
_LIMITS |= {"township": _column_length(Township), "village": _column_length(Village)}


def _entry(row: RosterRow) -> _Entry:
    """Normalise one row and collect every reason it is bad."""
    line = row.line
    place = {k: _clean(getattr(row, k)) or None for k in ("unit", "township", "village")}
    entry = _Entry(
        line, _clean(row.name), normalise_phone(row.phone), normalise_rank(row.rank),
        normalise_role(row.role), errors=[], **place,
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
    return _shown(f"{township} / {village}")


def _duplicate_errors(entries: Sequence[_Entry], rows: Sequence[RosterRow]) -> list[RosterError]:
    """Every line of a phone given twice, and every team leader of a village led twice."""
    phones: dict[str, list[int]] = defaultdict(list)
    leaders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        if entry.phone:
            phones[entry.phone].append(index)
        if entry.role == "team_leader" and entry.township and entry.village:
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


def _validate(rows: Sequence[RosterRow]) -> tuple[list[_Entry], list[RosterError]]:
    entries = [_entry(row) for row in rows]
    errors = [error for entry in entries for error in entry.errors]
    return entries, errors + _duplicate_errors(entries, rows)


def _by_line(errors: Iterable[RosterError]) -> list[RosterError]:
    # A leader doubled in the file and in the database is one problem, said once.
    return sorted(dict.fromkeys(errors), key=lambda error: error.line)


def validate_rows(rows: Sequence[RosterRow]) -> list[RosterError]:
    """Every bad row by line and reason, duplicates within the file included."""
    return _by_line(_validate(rows)[1])


# --- importing -----------------------------------------------------------------------------


class _Known(NamedTuple):
    """A person already in the database, as far as the roster describes them."""

    id: int
    name: str
    rank: str
    role: str
    unit_id: int | None
    township_id: int | None
    village_id: int | None
    active: bool
    invite_code: str


_ROSTER_FIELDS = ("name", "rank", "role", "unit_id", "township_id", "village_id", "active")


@dataclass
class _State:
    """The database's places, units and people, loaded in a few queries."""

    townships: dict[str, int]
    villages: dict[tuple[int, str], int]
    units: dict[str, int]
    people: dict[str, _Known]
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
    people_rows = await session.execute(
        select(Person.phone, *(getattr(Person, f) for f in _Known._fields))
    )
    people = {phone: _Known(*rest) for phone, *rest in people_rows}
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


def _leader_conflicts(entries: Sequence[_Entry], state: _State) -> list[RosterError]:
    """A file's team leader for a village whose active leader in the database is not in the file."""
    in_file = {entry.phone for entry in entries if entry.phone}
    errors = []
    for entry in entries:
        if entry.role != "team_leader" or not (entry.township and entry.village):
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


def _plan_people(entries: Sequence[_Entry], state: _State, *, now: dt.datetime) -> _Plan:
    """Sort each row into a new person, a changed one or an identical one."""
    plan = _Plan()
    for entry in entries:
        wanted = _wanted_fields(entry, state)
        known = state.people.get(entry.phone or "")
        if known is None:
            code = _new_invite_code(state.codes)
            person = Person(
                phone=entry.phone, invite_code=code, created_at=now, updated_at=now, **wanted
            )
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
    read_errors: Sequence[RosterError],
) -> ImportResult:  # fmt: skip
    """Check everything first, then write; nothing is written when anything is wrong."""
    await _lock_roster(session)
    entries, errors = _validate(rows)
    state = await _load_state(session)
    all_errors = _by_line([*read_errors, *errors, *_leader_conflicts(entries, state)])
    if all_errors:
        return ImportResult(created=0, updated=0, unchanged=0, errors=all_errors)
    await _ensure_places(session, entries=entries, state=state)
    plan = _plan_people(entries, state, now=now)
    return await _write_people(session, plan, now=now, actor_id=actor_id)


async def import_roster(
    session: AsyncSession, rows: list[RosterRow], *, now: dt.datetime, actor_id: int | None = None
) -> ImportResult:
    """Validate rows against themselves and the database, then upsert them by phone.

    All or nothing: with any error nothing is written. People absent from the file are
    left as they are: deactivation is an explicit act, never a side effect of an import.
    """
    return await _import(session, rows, now=now, actor_id=actor_id, read_errors=())


async def import_roster_file(
    db: Database, data: bytes, filename: str, *, now: dt.datetime, actor_id: int | None = None
) -> ImportResult:
    """Read, validate and import a roster file in one transaction: all of it or none of it."""
    rows, read_errors = read_roster(data, filename)
    if any(error.code in _FILE_CODES for error in read_errors):
        return ImportResult(created=0, updated=0, unchanged=0, errors=read_errors)
    async with db.write() as session:
        return await _import(session, rows, now=now, actor_id=actor_id, read_errors=read_errors)


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
