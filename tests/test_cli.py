"""The command line refuses with one sentence and a non-zero exit, never a traceback; a bug is
logged with its traceback (through the redaction) and still exits non-zero."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import POSTGRES_URL, _postgres_reachable
from tests.test_backup import live_sqlite, sqlite_url, unrelated_sqlite


async def run_cli(monkeypatch, capsys, url: str, *argv: str) -> tuple[int, str]:
    """The exit status and what reached stderr."""
    monkeypatch.setenv("DATABASE_URL", url)
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    return status, capsys.readouterr().err.strip()


def one_sentence(err: str) -> str:
    assert "Traceback" not in err and err, err
    assert len(err.splitlines()) == 1, err
    return err


def not_a_database(tmp: Path) -> list[str]:
    (tmp / "notes.txt").write_text("my notes\n")
    return ["backup", str(tmp / "notes.txt")]


def another_database(tmp: Path) -> list[str]:
    unrelated_sqlite(tmp / "other.db")
    return ["backup", str(tmp / "other.db")]


def under_a_file(tmp: Path) -> list[str]:
    (tmp / "plain").write_text("a file, not a folder\n")
    return ["backup", str(tmp / "plain" / "sub" / "copy.db")]


def a_folder(command: str) -> Callable[[Path], list[str]]:
    def argv(tmp: Path) -> list[str]:
        (tmp / "folder").mkdir()
        return [*command.split(), str(tmp / "folder")]
    return argv


NOT_OURS = "is not a Grassroots SQLite backup"
FILE_FAILURES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "backup over a file that is not a database": (not_a_database, NOT_OURS),
    "backup over another program's database": (another_database, NOT_OURS),
    "backup into a folder under a file": (under_a_file, "cannot create the folder"),
    "backup onto a folder": (a_folder("backup"), "is a folder"),
    "restore of a folder": (a_folder("restore"), "is a folder, not a backup file"),
    "restore of a missing file": (lambda tmp: ["restore", str(tmp / "nope.db")],
                                  "does not exist"),
    "roster import of a missing file": (
        lambda tmp: ["roster", "import", str(tmp / "名册.csv")], "”。"),
    "roster import of a missing file, in English": (
        lambda tmp: ["roster", "import", "--lang", "en", str(tmp / "roster.csv")],
        "does not exist."),
    "roster import of a folder": (a_folder("roster import"), "是文件夹，不是文件。"),
}


@pytest.mark.parametrize("case", sorted(FILE_FAILURES))
async def test_a_file_the_command_cannot_use_is_one_sentence(case, tmp_path, monkeypatch,
                                                               capsys):
    url, db = await live_sqlite(tmp_path / "live.db")
    await db.dispose()
    make_argv, said = FILE_FAILURES[case]
    argv = make_argv(tmp_path)
    status, err = await run_cli(monkeypatch, capsys, url, *argv)
    assert status == 1
    assert said in one_sentence(err)
    if case == "backup over a file that is not a database":
        assert (tmp_path / "notes.txt").read_text() == "my notes\n"  # left as it was
    if case == "backup over another program's database":
        with sqlite3.connect(tmp_path / "other.db") as conn:
            assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]
        conn.close()


async def test_a_backup_into_a_missing_folder_creates_it(tmp_path, monkeypatch, capsys):
    url, db = await live_sqlite(tmp_path / "live.db")
    await db.dispose()
    status, err = await run_cli(monkeypatch, capsys, url, "backup",
                                str(tmp_path / "new" / "copy.db"))
    assert (status, err) == (0, "")
    assert (tmp_path / "new" / "copy.db").is_file()


async def test_a_backup_of_a_database_that_is_not_there_is_one_sentence(
    tmp_path, monkeypatch, capsys
):
    status, err = await run_cli(monkeypatch, capsys, sqlite_url(tmp_path / "missing.db"),
                                "backup", str(tmp_path / "copy.db"))
    assert status == 1
    assert "there is no database at" in one_sentence(err)
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "copy.db").exists()


WRONG_URLS = {
    "not a URL": ("not a url at all", "DATABASE_URL is not a database URL"),
    "another database": ("mysql://user@localhost/campaign", "names a mysql database"),
    "a SQLite folder that is missing": (None, "does not exist: check DATABASE_URL"),
}


@pytest.mark.parametrize("case", sorted(WRONG_URLS))
@pytest.mark.parametrize("command", ["db upgrade", "roster invites"])
async def test_a_wrong_database_url_is_one_sentence(case, command, tmp_path, monkeypatch,
                                                    capsys):
    url, said = WRONG_URLS[case]
    url = url or sqlite_url(tmp_path / "no" / "such" / "folder" / "live.db")
    status, err = await run_cli(monkeypatch, capsys, url, *command.split())
    assert status == 1
    assert said in one_sentence(err)


@pytest.mark.parametrize("where", ["a closed port", "a missing database"])
async def test_an_unusable_postgresql_server_is_one_sentence(where, monkeypatch, capsys):
    if not await _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    url, said = {
        "a closed port": (base.replace(":5432", ":1") + "/test", "cannot be reached"),
        "a missing database": (base + "/no_such_database", "does not exist"),
    }[where]
    status, err = await run_cli(monkeypatch, capsys, url, "db", "upgrade")
    assert status == 1
    assert said in one_sentence(err)


async def test_a_setting_that_is_not_valid_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CAMPAIGN_START", "the first of December")
    status, err = await run_cli(monkeypatch, capsys, sqlite_url(tmp_path / "live.db"),
                                "db", "upgrade")
    assert status == 1
    assert "CAMPAIGN_START" in one_sentence(err)


async def test_a_bug_is_logged_with_its_traceback_and_exits_non_zero(
    tmp_path, monkeypatch, capsys
):
    def broken(url: str, target: Path) -> None:
        raise ZeroDivisionError("a bug in the code")

    monkeypatch.setattr("storage.backup.backup", broken)
    url, db = await live_sqlite(tmp_path / "live.db")
    await db.dispose()
    status, err = await run_cli(monkeypatch, capsys, url, "backup", str(tmp_path / "copy.db"))
    assert status == 1
    log, sentence = err.rsplit("\n", 1)
    assert sentence == ("grassroots backup failed unexpectedly (ZeroDivisionError); "
                        "the log above has the details")
    assert "grassroots: grassroots backup failed" in log  # through the logging's handler
    assert "Traceback" in log and "ZeroDivisionError: a bug in the code" in log
