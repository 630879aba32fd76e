"""Every export file has an owner and a lifetime: private while it lives (0600 in a 0700
folder), swept EXPORT_KEEP_HOURS after it was written whatever became of its message, and a
message that finds its file swept tells the requester it expired."""

from __future__ import annotations

import datetime as dt
import os
import random
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo.rhythm import save_private
from common.i18n import translate
from handlers import export as export_handler
from reports import xlsx_parts
from reports.xlsx import Sheet, write_workbook
from scheduler.sender import drain
from scheduler.sweep import sweep_exports
from storage.files import new_private_file, private_dir
from storage.models import OutboxMessage, Person
from storage.people import deactivate
from tests.harness import texts
from tests.scheduling import SHANGHAI
from tests.test_export import bind, seed
from tests.test_export_split import LIMIT, seed_visits

OFFICE = "吴敏"


@pytest.fixture
def exports(harness, tmp_path) -> Path:
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def workbooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("export-*.xlsx"))


def written_at(path: Path, when: dt.datetime) -> Path:
    """Make the file look last written at `when`."""
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


async def export_left_waiting(harness, exports: Path, user, *,
                              parts: bool = False) -> tuple[Path, OutboxMessage]:
    """/export whose (first) document Telegram answers with a 502: the workbook (or its parts)
    stays in the folder and its row waits to be retried."""
    harness.emu.fail_next("sendDocument", 502)
    await harness.send(user, "/export")
    running = export_handler.RUNNING.get(user.id)
    if running is not None:
        await running
    rows = await document_rows(harness)
    assert {row.status for row in rows} == {"pending"} and rows[0].attempts == 1
    if parts:
        return workbooks(exports)[0], rows[0]
    [path] = workbooks(exports)
    return path, rows[0]


async def document_rows(harness) -> list[OutboxMessage]:
    async with harness.db.read() as session:
        return list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.method == "sendDocument"))).scalars())


async def test_the_sweeper_removes_our_files_older_than_the_setting_and_keeps_the_rest(
        harness, exports):
    harness.settings.export_keep_hours = 24
    now = harness.clock.now()
    exports.mkdir(mode=0o755)  # as an older version left it
    exports.chmod(0o755)
    for name, hours in (("export-old.xlsx", 25), ("export-abc-part2.xlsx", 24.5),
                        ("grassroots-sheet-left.xml", 30), ("export-young.xlsx", 23),
                        ("notes.txt", 100)):  # not a name we give: the operator's own
        (exports / name).write_bytes(b"PK")
        written_at(exports / name, now - dt.timedelta(hours=hours))
    (exports / "export-folder.xlsx").mkdir()  # only files are swept
    written_at(exports / "export-folder.xlsx", now - dt.timedelta(hours=48))

    removed = await sweep_exports(harness.ctx)

    assert sorted(p.name for p in removed) == [
        "export-abc-part2.xlsx", "export-old.xlsx", "grassroots-sheet-left.xml"]
    assert sorted(p.name for p in exports.iterdir()) == [
        "export-folder.xlsx", "export-young.xlsx", "notes.txt"]
    assert mode(exports) == 0o700
    harness.settings.export_keep_hours = 22  # the setting is read at each sweep
    assert [p.name for p in await sweep_exports(harness.ctx)] == ["export-young.xlsx"]


async def test_an_export_whose_send_failed_and_whose_requester_was_deactivated_is_swept(
        harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    path, _row = await export_left_waiting(harness, exports, users[OFFICE])
    async with harness.db.write() as session:
        office = (await session.execute(select(Person).where(Person.name == OFFICE))).scalar_one()
        await deactivate(session, person=office, by=None, now=harness.clock.now())
    [row] = await document_rows(harness)
    assert row.status == "withdrawn"
    assert path.exists()  # no request will ever be made for it: only its age removes it

    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    harness.at(written + dt.timedelta(hours=23))
    assert await sweep_exports(harness.ctx) == []
    harness.at(written + dt.timedelta(hours=25))
    assert await sweep_exports(harness.ctx) == [path]
    assert list(exports.iterdir()) == []
    before = len(harness.emu.sent_to(users[OFFICE].id))
    await drain(harness.ctx, harness.application.bot)
    assert harness.emu.sent_to(users[OFFICE].id)[before:] == []  # nor told: no longer theirs


async def test_a_swept_export_fails_as_expired_and_its_requester_is_told_in_their_language(
        harness, exports):
    users = await bind(harness, "en")  # the county's default language is Chinese
    await seed(harness)
    office = users[OFFICE]
    path, _row = await export_left_waiting(harness, exports, office)
    harness.at(dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) + dt.timedelta(hours=25))
    assert await sweep_exports(harness.ctx) == [path]
    before = len(harness.emu.sent_to(office.id))

    await drain(harness.ctx, harness.application.bot)  # the retry finds the file gone

    [row] = await document_rows(harness)
    assert row.status == "failed" and row.error.startswith("upload expired")
    assert texts(harness.emu.sent_to(office.id)[before:]) == [
        translate("en", "export.expired")]
    assert not [d for d in harness.emu.documents if d[0] == office.id]
    await drain(harness.ctx, harness.application.bot)  # told once, not at every pass
    assert len(harness.emu.sent_to(office.id)) == before + 1


async def test_the_folder_and_the_workbook_of_an_export_are_private(harness, exports):
    old = os.umask(0o022)  # the usual umask: what a plain mkdir or open would leave readable
    try:
        users = await bind(harness, "zh")
        await seed(harness)
        path, _row = await export_left_waiting(harness, exports, users[OFFICE])
    finally:
        os.umask(old)
    assert mode(exports) == 0o700
    assert mode(path) == 0o600


async def test_the_sheets_rows_on_the_way_and_the_parts_are_private_files_of_the_folder(
        tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where they went before
    seen: dict[str, dict[str, int]] = {}

    def ours() -> dict[str, int]:
        return {p.name: mode(p) for p in folder.glob("grassroots-sheet-*.xml")}

    noise = random.Random(5)

    async def rows():
        for number in range(3000):
            if number == 10:  # the header and first rows are in the sheet's file by now
                seen["rows"] = ours()
            yield (number, dt.date(2026, 11, 1) + dt.timedelta(days=number // 100),
                   noise.randbytes(40).hex())

    original = xlsx_parts._copy

    def copying(source, out, start, end, **numbering):
        seen.setdefault("copy", ours())  # the sheet's file and the first part's copy of it
        return original(source, out, start, end, **numbering)

    monkeypatch.setattr(xlsx_parts, "_copy", copying)
    path = new_private_file(folder, prefix="export-", suffix=".xlsx")  # as /export does
    parts = await write_workbook(path, locale="en", tz=SHANGHAI, summary=[],
                                 sheets=[Sheet("visits", ("id", "day", "heard"), rows(), day=1)],
                                 limit=60_000)

    assert len(seen["rows"]) == 1 and set(seen["rows"].values()) == {0o600}
    assert len(seen["copy"]) == 2 and set(seen["copy"].values()) == {0o600}
    assert len(parts) > 1
    assert {part.path.parent for part in parts} == {folder}
    assert {mode(part.path) for part in parts} == {0o600}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]  # nothing outside it
    assert ours() == {}  # the sheets' files went with the workbook's saving


async def test_the_sweeper_runs_at_start_up(harness, exports):
    private_dir(exports)
    left = exports / "export-crashed.xlsx"
    left.write_bytes(b"PK")
    written_at(left, harness.clock.now() - dt.timedelta(hours=25))
    await harness.stop()
    await harness.start(jobs=True)
    await harness.emu.wait_for(lambda: not left.exists(), within=10)


def test_the_demos_workbook_is_written_private_even_over_an_old_readable_one(tmp_path):
    old = os.umask(0o022)
    try:
        fresh, earlier = tmp_path / "fresh.xlsx", tmp_path / "earlier.xlsx"
        earlier.write_bytes(b"old")
        earlier.chmod(0o644)  # what the demo wrote before
        save_private(fresh, b"PK")
        save_private(earlier, b"PK")
    finally:
        os.umask(old)
    assert (mode(fresh), mode(earlier)) == (0o600, 0o600)
    assert earlier.read_bytes() == b"PK"


async def test_an_export_cut_into_parts_that_all_expired_is_announced_once(
        harness, exports, monkeypatch):
    monkeypatch.setattr(export_handler, "MAX_UPLOAD_BYTES", LIMIT)
    users = await bind(harness, "en")
    await seed_visits(harness)
    office = users[OFFICE]
    await export_left_waiting(harness, exports, office, parts=True)
    parts = workbooks(exports)
    assert len(parts) > 1
    newest = max(dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC) for p in parts)
    harness.at(newest + dt.timedelta(hours=25))
    assert sorted(await sweep_exports(harness.ctx)) == parts
    before = len(harness.emu.sent_to(office.id))

    await drain(harness.ctx, harness.application.bot)

    assert {row.status for row in await document_rows(harness)} == {"failed"}
    assert texts(harness.emu.sent_to(office.id)[before:]) == [
        translate("en", "export.expired")]
