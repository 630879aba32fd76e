"""The roster: reading CSV and XLSX, naming every bad line, importing all of it or none of it."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import os
import string
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from common.rosternames import roster_names
from storage import roster
from storage.db import Database
from storage.models import AuditEntry, Base, Person, Township, Unit, Village
from storage.roster import (
    ERROR_CODES,
    INVITE_ALPHABET,
    MAX_ROSTER_BYTES,
    ImportResult,
    RosterError,
    RosterRow,
    import_roster,
    import_roster_file,
    list_invites,
    normalise_phone,
    normalise_rank,
    normalise_role,
    read_roster,
    validate_rows,
)

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
HEADER = ["name", "phone", "rank", "unit", "township", "village", "role"]
ZH_HEADER = ["姓名", "手机", "级别", "单位", "乡镇", "村", "角色"]
NAMES = roster_names()  # the catalogs' names, as the chat and the command line pass them
PEOPLE = [
    ["张伟", "13800138001", "county", "县财政局", "黄金埠镇", "新村", "team_leader"],
    ["李娜", "13800138002", "department", "县教育局", "黄金埠镇", "新村", "cadre"],
    ["王芳", "13800138003", "ordinary", "黄金埠镇政府", "黄金埠镇", "新村", "cadre"],
    ["刘洋", "13800138004", "department", "县水利局", "黄金埠镇", "东岗村", "team_leader"],
    ["赵强", "13800138006", "county", "县委办", "古埠镇", "古埠村", "cadre"],
    ["孙丽", "13800138007", "county", "县人大", "黄金埠镇", "", "township_leader"],
    ["周杰", "13800138008", "county", "", "", "", "leading_group"],
    ["吴敏", "13800138009", "ordinary", "县委活动办", "", "", "office"],
]
NEWCOMER = ["钱进", "13800138010", "ordinary", "县林业局", "古埠镇", "古埠村", "cadre"]
# Where PEOPLE is not shaped as the notice asks: 新村 is (县财政局 and 县教育局 are county organs,
# 黄金埠镇政府 the township's), 东岗村 has one cadre, 古埠镇 no leader and 古埠村 no team leader.
PEOPLE_WARNINGS = [
    roster.ShapeWarning("no_township_leader", "古埠镇"),
    roster.ShapeWarning("no_team_leader", "古埠镇", "古埠村"),
    roster.ShapeWarning("team_shape", "古埠镇", "古埠村", county_organ=1, township_cadres=0),
    roster.ShapeWarning("team_shape", "黄金埠镇", "东岗村", county_organ=1, township_cadres=0),
]

_postgres_down: str | None = None


# --- files ---------------------------------------------------------------------------------


def csv_bytes(
    rows: Sequence[Sequence[str]], *, header: Sequence[str] = HEADER, bom: bool = False
) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_phone_as_number(row: Sequence[str]) -> list[Any]:
    """As Excel keeps a phone typed into a cell: a number."""
    return [int(row[1]) if i == 1 else value for i, value in enumerate(row)]


def codes(result: ImportResult | list[RosterError]) -> list[tuple[int, str]]:
    errors = result.errors if isinstance(result, ImportResult) else result
    return [(error.line, error.code) for error in errors]


# --- databases -----------------------------------------------------------------------------


async def _create_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@asynccontextmanager
async def _postgres_schema() -> AsyncIterator[str]:
    """A uniquely named schema, dropped afterwards; skips when PostgreSQL is unreachable."""
    global _postgres_down
    if _postgres_down:
        pytest.skip(_postgres_down)
    admin = create_async_engine(PG_URL, poolclass=NullPool, connect_args={"timeout": 5})
    schema = f"roster_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except (OSError, TimeoutError, DBAPIError) as exc:
        await admin.dispose()
        _postgres_down = f"PostgreSQL unreachable at {PG_URL}: {exc!r}"
        pytest.skip(_postgres_down)
    try:
        yield schema
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with every table, on a SQLite file or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
        await _create_tables(database)
        yield database
        await database.dispose()
        return
    async with _postgres_schema() as schema:
        database = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
        try:
            await _create_tables(database)
            yield database
        finally:
            await database.dispose()


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the roster touches, in a stable order."""
    people = select(
        Person.id, Person.name, Person.phone, Person.rank, Person.role, Person.unit_id,
        Person.township_id, Person.village_id, Person.invite_code, Person.telegram_user_id,
        Person.active, Person.created_at, Person.updated_at,
    ).order_by(Person.id)  # fmt: skip
    queries = {
        "people": people,
        "townships": select(Township.id, Township.name).order_by(Township.id),
        "villages": select(Village.id, Village.township_id, Village.name).order_by(Village.id),
        "units": select(Unit.id, Unit.name).order_by(Unit.id),
        "audit": select(AuditEntry.id, AuditEntry.action, AuditEntry.field).order_by(AuditEntry.id),
    }
    async with db.read() as session:
        return {name: [tuple(r) for r in await session.execute(q)] for name, q in queries.items()}


async def person(db: Database, phone: str) -> Person:
    async with db.read() as session:
        result = await session.execute(select(Person).where(Person.phone == phone))
        return result.scalar_one()


async def imported(db: Database, rows: Sequence[Sequence[Any]] = PEOPLE, **kw: Any) -> ImportResult:
    result = await import_roster_file(db, csv_bytes(rows), "roster.csv", now=kw.get("now", NOW))
    return result


# --- reading -------------------------------------------------------------------------------


def test_a_csv_with_or_without_a_bom_reads_the_same_rows_numbered_by_line() -> None:
    with_bom, errors_a = read_roster(csv_bytes(PEOPLE, bom=True), "roster.csv")
    without, errors_b = read_roster(csv_bytes(PEOPLE), "roster.csv")
    assert errors_a == errors_b == []
    assert with_bom == without
    assert with_bom[0] == RosterRow(2, *PEOPLE[0])
    assert [row.line for row in with_bom] == list(range(2, len(PEOPLE) + 2))


def test_blank_lines_are_skipped_but_still_counted() -> None:
    header, first, second, end = csv_bytes(PEOPLE[:2]).split(b"\r\n")
    data = b"\r\n".join([header, first, b"", second, end])
    rows, errors = read_roster(data, "roster.csv")
    assert errors == []
    assert [row.line for row in rows] == [2, 4]


def test_an_xlsx_roster_reads_like_the_csv_with_phones_in_number_cells() -> None:
    rows, errors = read_roster(xlsx_bytes([with_phone_as_number(r) for r in PEOPLE]), "名单.xlsx")
    assert errors == []
    assert rows == read_roster(csv_bytes(PEOPLE), "roster.csv")[0]


def test_an_xlsx_is_recognised_by_its_content_whatever_its_name() -> None:
    rows, errors = read_roster(xlsx_bytes(PEOPLE), "roster.csv")
    assert errors == [] and len(rows) == len(PEOPLE)


def test_headers_ignore_case_spaces_and_order_and_may_be_chinese() -> None:
    header = [" Role ", "NAME", "Phone", "rank", "Unit", "TownShip", "village", "备注"]
    reordered = [[r[6], r[0], r[1], r[2], r[3], r[4], r[5], "x"] for r in PEOPLE]
    rows, errors = read_roster(csv_bytes(reordered, header=header), "roster.csv")
    assert errors == [] and rows[0] == RosterRow(2, *PEOPLE[0])
    zh_rows, zh_errors = read_roster(csv_bytes(PEOPLE, header=ZH_HEADER), "roster.csv", NAMES)
    assert zh_errors == [] and zh_rows == read_roster(csv_bytes(PEOPLE), "roster.csv")[0]


def test_wrong_columns_are_one_error_naming_every_missing_column() -> None:
    header = ["name", "mobile", "rank", "unit", "township", "village"]
    rows, errors = read_roster(csv_bytes([r[:6] for r in PEOPLE], header=header), "roster.csv")
    assert rows == []
    assert errors == [RosterError(1, "missing_column", "phone, role")]


def test_a_column_given_twice_is_an_error() -> None:
    header = [*HEADER, "电话"]
    _, errors = read_roster(csv_bytes([[*r, r[1]] for r in PEOPLE], header=header), "r.csv",
                            NAMES)
    assert errors == [RosterError(1, "duplicate_column", "电话")]


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"this is not a zip file at all \x00\x01\x02", "roster.xlsx", "bad_file"),
        (b"PK\x03\x04 a broken zip", "roster.xlsx", "bad_file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel", "roster.xls", "bad_file"),
        (b"name,phone\n\xff\x80\x80", "roster.csv", "bad_encoding"),
        (b"name,phone\x00,rank\n", "roster.csv", "bad_file"),
        (b"", "roster.csv", "empty_file"),
        (b"\r\n\r\n", "roster.csv", "empty_file"),
        (csv_bytes([]), "roster.csv", "empty_file"),
    ],
    ids=[
        "binary-named-xlsx",
        "broken-zip",
        "old-xls",
        "neither-utf8-nor-gb18030",
        "nul",
        "empty",
        "blank",
        "header-only",
    ],
)
def test_a_file_that_cannot_be_read_is_one_file_level_error(
    data: bytes, filename: str, code: str
) -> None:
    assert read_roster(data, filename) == ([], [RosterError(0, code)])


def test_a_file_over_ten_mib_is_too_large_without_being_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def must_not_parse(_data: bytes) -> None:
        raise AssertionError("parsed a file over the limit")

    monkeypatch.setattr(roster, "_csv_table", must_not_parse)
    monkeypatch.setattr(roster, "_xlsx_table", must_not_parse)
    data = csv_bytes(PEOPLE) + b"x" * (11 * 1024 * 1024)
    assert len(data) > MAX_ROSTER_BYTES
    rows, errors = read_roster(data, "roster.csv")
    assert rows == [] and [e.code for e in errors] == ["too_large"]


def test_formulas_are_an_error_on_their_own_row_in_csv_and_xlsx() -> None:
    poisoned = [PEOPLE[0], [PEOPLE[1][0], '=HYPERLINK("http://x")', *PEOPLE[1][2:]], PEOPLE[2]]
    rows, errors = read_roster(csv_bytes(poisoned), "roster.csv")
    assert [r.line for r in rows] == [2, 4]
    assert errors == [RosterError(3, "formula", '=HYPERLINK("http://x")')]
    sheet = [PEOPLE[0], [*PEOPLE[1][:3], "=A1&B1", *PEOPLE[1][4:]], PEOPLE[2]]
    rows, errors = read_roster(xlsx_bytes(sheet), "roster.xlsx")
    assert [r.line for r in rows] == [2, 4]
    assert codes(errors) == [(3, "formula")]


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["138 0013 8000", "+86-138-0013-8000", "8613800138000", "13800138000", "+86 138 0013 8000",
     "１３８００１３８０００", "＋８６ １３８ ００１３ ８０００", "0086 138 0013 8000",
     " 13800138000 "],
)  # fmt: skip
def test_every_written_form_of_a_phone_is_the_same_number(raw: str) -> None:
    assert normalise_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["", "12345", "1380013800", "phone", "138001380001234", "+86"])
def test_what_is_not_a_phone_number_normalises_to_none(raw: str) -> None:
    assert normalise_phone(raw) is None


@given(st.lists(st.sampled_from([" ", "-", "", "  "]), min_size=11, max_size=11))
def test_separators_anywhere_in_a_phone_never_change_the_number(separators: list[str]) -> None:
    written = "".join(d + s for d, s in zip("13800138000", separators, strict=True))
    assert normalise_phone(written) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "rank"),
    [("county", "county"), (" County ", "county"), ("县级", "county"), ("科级", "department"),
     ("DEPARTMENT", "department"), ("一般", "ordinary"), ("ordinary", "ordinary"), ("", None),
     ("一般干部", "ordinary"), ("县处级", "county"), ("乡科级", "department"),
     ("county level", "county"), ("general", None), (None, None)],
)  # fmt: skip
def test_ranks_are_stored_as_english_codes(raw: str | None, rank: str | None) -> None:
    assert normalise_rank(raw, NAMES) == rank


@pytest.mark.parametrize(
    ("raw", "role"),
    [("cadre", "cadre"), ("Team Leader", "team_leader"), ("team-leader", "team_leader"),
     ("TOWNSHIP_LEADER", "township_leader"), ("leading_group", "leading_group"),
     ("office", "office"), ("办公室", "office"), ("captain", None), ("", None),
     ("干部", "cadre"), ("驻村干部", "cadre"), ("队长", "team_leader"), ("工作队长", "team_leader"),
     ("乡镇领导", "township_leader"), ("乡镇负责人", "township_leader"),
     ("领导小组", "leading_group"), ("县活动办", "office"), ("活动办", "office"),
     ("县活动办工作人员", "office"), ("领导小组办公室", "office")],
)  # fmt: skip
def test_roles_are_stored_as_their_codes(raw: str, role: str | None) -> None:
    assert normalise_role(raw, NAMES) == role


def test_validate_rows_needs_no_database_and_names_every_bad_line() -> None:
    rows = [RosterRow(2, *PEOPLE[0]), RosterRow(3, "", "1", "x", "", "", "", "boss")]
    assert codes(validate_rows(rows)) == [
        (3, "empty_name"), (3, "bad_phone"), (3, "unknown_rank"), (3, "unknown_role"),
    ]  # fmt: skip


# --- importing -----------------------------------------------------------------------------


async def test_a_csv_roster_with_a_bom_puts_everyone_in_their_place(db: Database) -> None:
    result = await import_roster_file(db, csv_bytes(PEOPLE, bom=True), "名单.csv", now=NOW)
    assert result == ImportResult(created=8, updated=0, unchanged=0, errors=[],
                                  warnings=PEOPLE_WARNINGS)
    cadre = await person(db, "+8613800138002")
    assert (cadre.name, cadre.rank, cadre.role) == ("李娜", "department", "cadre")
    assert cadre.unit and cadre.unit.name == "县教育局"
    assert cadre.village and (cadre.village.name, cadre.village.township.name) == (
        "新村",
        "黄金埠镇",
    )
    assert cadre.active and cadre.created_at == cadre.updated_at == NOW
    leader = await person(db, "+8613800138007")
    assert leader.township and leader.township.name == "黄金埠镇" and leader.village is None
    office = await person(db, "+8613800138008")
    assert (office.unit, office.township, office.village) == (None, None, None)
    state = await snapshot(db)
    assert (len(state["townships"]), len(state["villages"]), len(state["units"])) == (2, 3, 7)
    invite_codes = [row[8] for row in state["people"]]
    assert len(set(invite_codes)) == 8
    assert all(len(c) == 8 and set(c) <= set(INVITE_ALPHABET) for c in invite_codes)


async def test_an_xlsx_roster_imports_and_matches_the_csv(db: Database) -> None:
    data = xlsx_bytes([with_phone_as_number(r) for r in PEOPLE])
    assert (await import_roster_file(db, data, "roster.xlsx", now=NOW)).created == 8
    again = await imported(db, now=LATER)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)


async def test_chinese_headers_and_chinese_ranks_are_stored_as_codes(db: Database) -> None:
    zh = {"county": "县级", "department": "科级", "ordinary": "一般"}
    rows = [[*r[:2], zh[r[2]], *r[3:]] for r in PEOPLE]
    result = await import_roster_file(db, csv_bytes(rows, header=ZH_HEADER), "名单.csv", now=NOW,
                                      names=NAMES)
    assert result.created == 8 and result.errors == []
    assert [p[3] for p in (await snapshot(db))["people"]] == [r[2] for r in PEOPLE]


async def test_importing_the_same_file_twice_changes_nothing(db: Database) -> None:
    await imported(db)
    before = await snapshot(db)
    again = await imported(db, now=LATER)
    assert again == ImportResult(created=0, updated=0, unchanged=8, errors=[],
                                 warnings=PEOPLE_WARNINGS)
    assert await snapshot(db) == before


async def test_a_phone_written_differently_in_a_later_file_is_the_same_person(db: Database) -> None:
    await imported(db)
    before = await snapshot(db)
    forms = ["+86 138 0013 8001", "8613800138002", "+86-138-0013-8003", "138 0013 8004"]
    rewritten = [[r[0], forms[i] if i < len(forms) else r[1], *r[2:]] for i, r in enumerate(PEOPLE)]
    assert (await imported(db, rewritten, now=LATER)).unchanged == 8
    assert await snapshot(db) == before
    rewritten[1][0] = "李娜娜"
    result = await imported(db, rewritten, now=LATER)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 7)
    assert (await person(db, "+8613800138002")).name == "李娜娜"


async def test_a_changed_row_updates_that_person_only_keeping_binding_and_code(
    db: Database,
) -> None:
    await imported(db)
    async with db.write() as session:
        await session.execute(
            update(Person).where(Person.phone == "+8613800138002").values(telegram_user_id=4242)
        )
    before = await snapshot(db)
    moved = [list(r) for r in PEOPLE]
    moved[1][5] = "东岗村"
    result = await imported(db, moved, now=LATER)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 7)
    after = await snapshot(db)
    changed = await person(db, "+8613800138002")
    assert changed.village and changed.village.name == "东岗村"
    assert changed.telegram_user_id == 4242 and changed.updated_at == LATER
    old = next(p for p in before["people"] if p[2] == "+8613800138002")
    assert changed.invite_code == old[8] and changed.created_at == NOW
    assert [p for p in after["people"] if p[0] != changed.id] == [
        p for p in before["people"] if p[0] != changed.id
    ]
    assert ("roster_update", "village_id") in [(a[1], a[2]) for a in after["audit"]]


async def test_an_import_leaves_people_absent_from_the_file_alone(db: Database) -> None:
    await imported(db)
    before = await snapshot(db)
    result = await imported(db, PEOPLE[:2], now=LATER)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert await snapshot(db) == before


async def test_an_inactive_person_in_the_file_is_active_again(db: Database) -> None:
    await imported(db)
    async with db.write() as session:
        await session.execute(update(Person).where(Person.name == "王芳").values(active=False))
    assert (await imported(db, now=LATER)).updated == 1
    assert (await person(db, "+8613800138003")).active


def _bad(index: int, value: str, base: Sequence[str] = NEWCOMER) -> list[str]:
    row = list(base)
    row[index] = value
    return row


BAD_ROWS = {
    "empty_name": (_bad(0, "  "), ["empty_name"]),
    "bad_phone": (_bad(1, "12345"), ["bad_phone"]),
    "unknown_rank": (_bad(2, "general"), ["unknown_rank"]),
    "unknown_role": (_bad(6, "captain"), ["unknown_role"]),
    "village_without_township": (_bad(4, ""), ["village_without_township"]),
    "needs_village": (_bad(5, ""), ["needs_village"]),
    "needs_unit": (_bad(3, ""), ["needs_unit"]),
    "needs_township": (
        ["甲", "13800138010", "county", "", "", "", "township_leader"],
        ["needs_township"],
    ),
    "township_leader_with_village": (_bad(6, "township_leader"), ["township_leader_with_village"]),
    "office_with_place": (
        ["乙", "13800138010", "ordinary", "", "古埠镇", "", "office"],
        ["office_with_place"],
    ),
    "too_long": (_bad(0, "名" * 101), ["too_long"]),
    "formula": (_bad(2, "=1+1"), ["formula"]),
}


@pytest.mark.parametrize(("row", "expected"), BAD_ROWS.values(), ids=BAD_ROWS.keys())
async def test_each_bad_row_rejects_the_whole_file_by_its_line(
    db: Database, row: list[str], expected: list[str]
) -> None:
    await imported(db)
    before = await snapshot(db)
    changed = [list(r) for r in PEOPLE]
    changed[1][2] = "county"  # a valid change that must not be written either
    rows = [
        *changed[:3],
        row,
        *changed[3:],
        ["新人", "13900139000", "county", "县委", "", "", "office"],
    ]
    result = await imported(db, rows, now=LATER)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert codes(result) == [(5, code) for code in expected]
    assert await snapshot(db) == before


async def test_a_duplicate_phone_rejects_the_whole_file_and_names_both_lines(db: Database) -> None:
    rows = [*PEOPLE, _bad(1, "+86 138-0013-8002")]
    result = await imported(db, rows)
    assert result.errors == [
        RosterError(3, "duplicate_phone", "13800138002"),
        RosterError(10, "duplicate_phone", "+86 138-0013-8002"),
    ]
    state = await snapshot(db)
    assert state["people"] == state["townships"] == state["units"] == []


async def test_several_bad_rows_in_one_file_are_all_named(db: Database) -> None:
    rows = [
        PEOPLE[0],
        ["", "12", "boss", "", "", "", "cadre"],
        PEOPLE[1],
        _bad(2, "=A1"),
        ["丙", "13800138001", "county", "", "黄金埠镇", "新村", "team_leader"],
    ]
    result = await imported(db, rows)
    assert codes(result) == [
        (2, "duplicate_phone"), (2, "two_team_leaders"),
        (3, "empty_name"), (3, "bad_phone"), (3, "unknown_rank"), (3, "needs_village"),
        (3, "needs_unit"), (5, "formula"),
        (6, "needs_unit"), (6, "duplicate_phone"), (6, "two_team_leaders"),
    ]  # fmt: skip
    assert (await snapshot(db))["people"] == []


async def test_two_team_leaders_for_one_village_in_the_file_are_both_named(db: Database) -> None:
    rows = [*PEOPLE, _bad(6, "team_leader", _bad(5, "新村", _bad(4, "黄金埠镇")))]
    result = await imported(db, rows)
    assert result.errors == [
        RosterError(2, "two_team_leaders", "黄金埠镇/新村"),
        RosterError(10, "two_team_leaders", "黄金埠镇/新村"),
    ]
    assert (await snapshot(db))["people"] == []


async def test_a_second_team_leader_against_the_database_is_rejected(db: Database) -> None:
    await imported(db)
    before = await snapshot(db)
    newcomer = _bad(6, "team_leader", _bad(5, "新村", _bad(4, "黄金埠镇")))
    result = await imported(db, [newcomer], now=LATER)
    assert result.errors == [RosterError(2, "two_team_leaders", "黄金埠镇/新村")]
    assert await snapshot(db) == before
    # Demoting the old leader in the same file makes room for the new one.
    demoted = _bad(6, "cadre", PEOPLE[0])
    result = await imported(db, [demoted, newcomer], now=LATER)
    assert (result.created, result.updated, result.errors) == (1, 1, [])


async def test_an_inactive_team_leader_in_the_database_leaves_the_village_free(
    db: Database,
) -> None:
    await imported(db)
    async with db.write() as session:
        await session.execute(update(Person).where(Person.name == "张伟").values(active=False))
    newcomer = _bad(6, "team_leader", _bad(5, "新村", _bad(4, "黄金埠镇")))
    assert (await imported(db, [newcomer], now=LATER)).created == 1


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"\x00\x01binary", "roster.xlsx", "bad_file"),
        (csv_bytes([r[:6] for r in PEOPLE], header=HEADER[:6]), "roster.csv", "missing_column"),
        (b"x" * (MAX_ROSTER_BYTES + 1), "roster.csv", "too_large"),
    ],
    ids=["bad_file", "missing_column", "too_large"],
)
async def test_a_file_level_error_writes_nothing(
    db: Database, data: bytes, filename: str, code: str
) -> None:
    await imported(db)
    before = await snapshot(db)
    result = await import_roster_file(db, data, filename, now=LATER)
    assert [e.code for e in result.errors] == [code]
    assert await snapshot(db) == before


async def test_a_failure_while_writing_leaves_nothing_behind(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> ImportResult:
        raise RuntimeError("disk full")

    monkeypatch.setattr(roster, "_write_people", broken)
    with pytest.raises(RuntimeError):
        await imported(db)
    state = await snapshot(db)
    assert state["townships"] == state["villages"] == state["units"] == state["people"] == []


async def test_import_roster_works_inside_the_callers_transaction(db: Database) -> None:
    rows = read_roster(csv_bytes(PEOPLE), "roster.csv")[0]
    async with db.write() as session:
        result = await import_roster(session, rows, now=NOW, actor_id=None)
        count = await session.scalar(select(func.count()).select_from(Person))
    assert result.created == 8 and count == 8


async def test_a_five_thousand_row_roster_imports(db: Database) -> None:
    rows = []
    for i in range(5000):
        township, village = f"镇{i // 250:02d}", f"村{i // 10:03d}"
        role = "team_leader" if i % 10 == 0 else "cadre"
        rows.append(
            [f"干部{i:04d}", f"139{i:08d}", "ordinary", f"单位{i % 40}", township, village, role]
        )
    result = await imported(db, rows)
    assert (result.created, result.errors) == (5000, [])
    async with db.read() as session:
        invites = await list_invites(session)
    assert len(invites) == 5000 and len({i.invite_code for i in invites}) == 5000


async def test_invites_are_listed_by_township_village_and_name_with_binding(db: Database) -> None:
    await imported(db)
    async with db.write() as session:
        await session.execute(
            update(Person).where(Person.name == "王芳").values(telegram_user_id=7)
        )
        await session.execute(update(Person).where(Person.name == "周杰").values(active=False))
        invites = await list_invites(session)
    places = [(i.township, i.village, i.name) for i in invites]
    assert places == [
        (None, None, "吴敏"),
        ("古埠镇", "古埠村", "赵强"),
        ("黄金埠镇", None, "孙丽"),
        ("黄金埠镇", "东岗村", "刘洋"),
        ("黄金埠镇", "新村", "张伟"),
        ("黄金埠镇", "新村", "李娜"),
        ("黄金埠镇", "新村", "王芳"),
    ]
    assert [i.name for i in invites if i.bound] == ["王芳"]
    assert invites[0].phone == "+8613800138009" and invites[0].role == "office"


# --- the notice's shape ----------------------------------------------------------------------

# Each village team 2 county-organ cadres and 1 township cadre, one of them its team leader;
# each township a leader. A township's cadre comes from its government (黄金埠镇政府).
SHAPED = [
    ["张伟", "13800138001", "county", "县财政局", "黄金埠镇", "新村", "team_leader"],
    ["李娜", "13800138002", "department", "县教育局", "黄金埠镇", "新村", "cadre"],
    ["王芳", "13800138003", "ordinary", "黄金埠镇政府", "黄金埠镇", "新村", "cadre"],
    ["刘洋", "13800138004", "department", "县水利局", "黄金埠镇", "东岗村", "cadre"],
    ["陈静", "13800138005", "ordinary", "县农业局", "黄金埠镇", "东岗村", "cadre"],
    ["何平", "13800138011", "ordinary", "黄金埠镇党委", "黄金埠镇", "东岗村", "team_leader"],
    ["孙丽", "13800138007", "county", "县人大", "黄金埠镇", "", "township_leader"],
    ["吴敏", "13800138009", "ordinary", "县委活动办", "", "", "office"],
]
# 古埠村: three county-organ cadres and no team leader; 古埠镇: no leader.
MISSHAPED = [
    *SHAPED,
    ["赵强", "13800138006", "county", "县委办", "古埠镇", "古埠村", "cadre"],
    ["钱进", "13800138010", "ordinary", "县林业局", "古埠镇", "古埠村", "cadre"],
    ["郑红", "13800138012", "department", "县卫健委", "古埠镇", "古埠村", "cadre"],
]


async def test_a_roster_of_the_notices_shape_imports_without_warnings(db: Database) -> None:
    result = await imported(db, SHAPED)
    assert (result.created, result.errors, result.warnings) == (8, [], [])


async def test_a_roster_not_of_the_notices_shape_is_imported_with_its_warnings(
    db: Database,
) -> None:
    result = await imported(db, MISSHAPED)
    assert (result.created, result.errors) == (11, [])
    assert result.warnings == [
        roster.ShapeWarning("no_township_leader", "古埠镇"),
        roster.ShapeWarning("no_team_leader", "古埠镇", "古埠村"),
        roster.ShapeWarning("team_shape", "古埠镇", "古埠村", county_organ=3, township_cadres=0),
    ]
    state = await snapshot(db)
    assert len(state["people"]) == 11  # warned, and saved all the same


async def test_the_warnings_are_of_the_whole_roster_after_the_import(db: Database) -> None:
    """A second file that brings only the missing people ends the warnings; a village the file
    does not name is still judged; a deactivated leader leaves their place unled."""
    assert (await imported(db, SHAPED[:5])).warnings == [
        roster.ShapeWarning("no_township_leader", "黄金埠镇"),
        roster.ShapeWarning("no_team_leader", "黄金埠镇", "东岗村"),
        roster.ShapeWarning("team_shape", "黄金埠镇", "东岗村", county_organ=2, township_cadres=0),
    ]
    assert (await imported(db, SHAPED[5:])).warnings == []
    gone = [*SHAPED[6], "no"]
    result = await import_roster_file(
        db, csv_bytes([gone], header=[*HEADER, "active"]), "roster.csv", now=LATER)
    assert (result.skipped, result.warnings) == (1, [])  # a row marked gone changes nothing
    async with db.write() as session:
        await session.execute(update(Person).where(Person.phone == "+8613800138007")
                              .values(active=False))
    result = await imported(db, SHAPED[:1], now=LATER)
    assert result.warnings == [roster.ShapeWarning("no_township_leader", "黄金埠镇")]


def test_a_township_cadre_is_one_whose_unit_is_named_after_a_township() -> None:
    townships = ["黄金埠镇", "古埠镇"]
    assert roster.is_township_cadre("黄金埠镇政府", townships)
    assert roster.is_township_cadre("古埠镇人民政府", townships)
    assert not roster.is_township_cadre("县财政局", townships)
    assert not roster.is_township_cadre(None, townships)
    member = roster.Member
    team = [member("team_leader", "县财政局", "古埠镇", "古埠村"),
            member("cadre", "县教育局", "古埠镇", "古埠村"),
            member("cadre", "黄金埠镇政府", "古埠镇", "古埠村"),
            member("township_leader", "县人大", "古埠镇", None)]
    assert roster.shape_warnings(team, townships) == []  # another township's cadre counts too
    assert roster.shape_warnings(team[:2] + team[3:], townships) == [
        roster.ShapeWarning("team_shape", "古埠镇", "古埠村", county_organ=2, township_cadres=0)]


def test_cli_roster_import_prints_the_warnings_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/live.db"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    (tmp_path / "misshaped.csv").write_bytes(csv_bytes(MISSHAPED))
    (tmp_path / "shaped.csv").write_bytes(csv_bytes(SHAPED))
    assert main(["roster", "import", "--lang", "en", str(tmp_path / "shaped.csv")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Roster imported: 8 added, 0 updated, 0 unchanged."]
    assert main(["roster", "import", "--lang", "zh", str(tmp_path / "misshaped.csv")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "花名册已导入：新增 3 人，更新 0 人，未变 8 人。",
        "请注意：以下 3 处的人员配备与通知要求不符（花名册仍已导入，请核对）：",
        "• 古埠镇：没有乡镇工作组组长。",
        "• 古埠镇/古埠村：工作队没有队长。",
        "• 古埠镇/古埠村：工作队有县直机关干部 3 人、乡镇干部 0 人，"
        "通知要求县直机关干部 2 人、乡镇干部 1 人。",
    ]


# --- catalogs ------------------------------------------------------------------------------


def _catalog(locale: str) -> dict[str, str]:
    path = ROOT / "common" / "locales" / locale / "LC_MESSAGES" / "roster.po"
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=locale) if m.id}


def _codes_in_source() -> set[str]:
    """The code of every RosterError and _FileError the module constructs, all literals."""
    tree = ast.parse((ROOT / "storage" / "roster.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            position = {"RosterError": 1, "_FileError": 0}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Attribute) and argument.attr == "code":
                continue  # a _FileError's code passed on: found at the _FileError itself
            assert isinstance(argument, ast.Constant), ast.unparse(node)
            found.add(argument.value)
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_error_code_the_code_produces_has_a_message_in_both_catalogs() -> None:
    produced = _codes_in_source()
    assert produced == set(ERROR_CODES)
    for locale in ("zh", "en"):
        catalog = _catalog(locale)
        missing = [c for c in produced if not catalog.get(f"roster.error.{c}")]
        assert missing == [], (locale, missing)


def test_catalog_messages_use_only_their_placeholders_and_are_html_safe() -> None:
    allowed = {"roster.report": {"created", "updated", "unchanged"}, "roster.rejected": {"count"},
               "roster.skipped": {"skipped", "active", "no"},
               # the names a file may use, listed in the reader's language
               "roster.error.missing_column": {"line", "value", "columns"},
               "roster.error.unknown_rank": {"line", "value", "ranks"},
               "roster.error.unknown_role": {"line", "value", "roles"},
               "roster.error.unknown_active": {"line", "value", "active", "yes", "no"},
               # where the roster is not shaped as the notice asks
               "roster.warnings": {"count"}, "roster.warnings_more": {"count"},
               "roster.warning.no_team_leader": {"village"},
               "roster.warning.team_shape": {"village", "county_organ", "township_cadres"},
               "roster.warning.no_township_leader": {"township"}}
    roles = {"cadre", "team_leader", "township_leader", "leading_group", "office", "supervisor"}
    zh, en = _catalog("zh"), _catalog("en")
    assert zh.keys() == en.keys()
    for catalog in (zh, en):
        for msgid, text in catalog.items():
            assert "<" not in text and "&" not in text, msgid
            names = msgid.startswith(("roster.column_names.", "roster.rank_names.",
                                      "roster.role_names."))
            expected = allowed.get(msgid, set() if names else {"line", "value"})
            assert _placeholders(text) <= expected | (roles if "error" in msgid else set()), msgid
            if msgid in allowed:
                assert _placeholders(text) == expected, msgid
            text.format(line=2, value="x", created=1, updated=2, unchanged=3, count=4,
                        columns="a", ranks="b", roles="c", active="d", yes="e", no="f",
                        skipped=5, village="v", township="t", county_organ=6,
                        township_cadres=7, **{role: role for role in roles})


def test_a_file_with_more_rows_than_the_cap_is_too_many_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(roster, "MAX_ROSTER_ROWS", 3)
    assert read_roster(csv_bytes(PEOPLE[:3]), "roster.csv")[1] == []
    assert read_roster(csv_bytes(PEOPLE[:4]), "roster.csv") == (
        [],
        [RosterError(0, "too_many_rows", "3")],
    )
