"""Tokens and phone numbers never reach the logs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import logging
import logging.config
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from common.logs import RedactingFilter, logging_config, redact, settings_secrets
from common.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Person
from storage.roster import import_roster_file
from tests.conftest import POSTGRES_URL, _postgres_reachable, backends
from tests.harness import DEFAULT_ROSTER


def test_redact_masks_tokens_phones_and_configured_secrets():
    text = ("POST https://api.telegram.org/bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345/sendMessage "
            "for +8613800138002, 138 0013 8003 and 13800138004; secret s3cr3t-hook")
    masked = redact(text, ("s3cr3t-hook",))
    for leaked in ("ABCdefGHI", "13800138002", "0013 8003", "13800138004", "s3cr3t-hook"):
        assert leaked not in masked
    assert "[token]" in masked and "[phone …02]" in masked and "[secret]" in masked
    assert redact("visit on 2026-11-28, 3 households, id 1234567") == (
        "visit on 2026-11-28, 3 households, id 1234567")


def test_redact_masks_the_values_database_errors_repeat_and_keeps_the_rest():
    text = ("(sqlite3.IntegrityError) UNIQUE constraint failed: people.phone\n"
            "[SQL: INSERT INTO people (name) VALUES (?)]\n[parameters: ('张三丰',)]\n"
            "DETAIL:  Key (name)=(张三丰) already exists.\n"
            "DETAIL:  Failing row contains (3, 张三丰, null).\n"
            "asyncpg.exceptions.DataError: invalid input for query argument $1: '张三丰' "
            "(expected int, got str)\n"
            'invalid input syntax for type integer: "张三丰"')
    masked = redact(text)
    assert "张三丰" not in masked
    for kept in ("UNIQUE constraint failed: people.phone", "[SQL: INSERT INTO people (name)",
                 "[parameters hidden]", "Key (name)=([hidden]) already exists.",
                 "Failing row contains ([hidden])", "query argument $1: [hidden]",
                 "invalid input syntax for type integer: [hidden]"):
        assert kept in masked, kept


def test_the_database_password_is_a_secret_and_a_url_that_is_none_hides_nothing():
    settings = Settings(_env_file=None, database_url="postgresql://grass:pw%2F77x@db/grassroots",
                        telegram_bot_token="123:abc", api_token="api-1")
    secrets = settings_secrets(settings)
    assert "pw/77x" in secrets and "123:abc" in secrets and "api-1" in secrets
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "cannot connect with %s to %s",
                               ("pw/77x", "postgresql://grass:pw%2F77x@db"), None)
    RedactingFilter(*secrets).filter(record)
    assert "77x" not in record.getMessage()
    broken = Settings(_env_file=None, database_url="not a url")
    assert settings_secrets(broken) == ("", "", "", "")


async def _busy_job_warnings(logger: logging.Logger) -> list[str]:
    """The warnings a real scheduler writes through `logger` while a job that runs 0.35 s
    ticks every 0.1 s (one run at a time, as the JobQueue's are)."""
    seen: list[str] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Seen(logging.WARNING)
    logger.addHandler(handler)
    logger.propagate = False

    async def slow() -> None:
        await asyncio.sleep(0.35)

    scheduler = AsyncIOScheduler(logger=logger)
    scheduler.add_job(slow, "interval", seconds=0.1, max_instances=1)
    scheduler.start()
    try:
        await asyncio.sleep(1.0)
        logger.warning("Run time of job %s was missed by %s", "outbox", "0:00:02")
    finally:
        scheduler.shutdown(wait=False)
        logger.removeHandler(handler)
    return seen


async def test_a_job_still_running_at_its_next_tick_fills_no_log_other_warnings_stay():
    config = logging_config()
    entry = config["loggers"]["apscheduler.scheduler"]
    configurator = logging.config.DictConfigurator(config)
    unfiltered = logging.getLogger(f"test.scheduler.{uuid.uuid4().hex}")
    assert sum("skipped: maximum number of running instances" in line
               for line in await _busy_job_warnings(unfiltered)) >= 3
    filtered = logging.getLogger(f"test.scheduler.{uuid.uuid4().hex}")
    filtered.setLevel(entry["level"])
    for name in entry["filters"]:
        filtered.addFilter(configurator.configure_filter(dict(config["filters"][name])))
    assert await _busy_job_warnings(filtered) == ["Run time of job outbox was missed by 0:00:02"]


async def test_a_database_error_is_logged_with_its_sql_and_none_of_its_values(database, clock):
    await import_roster_file(database, DEFAULT_ROSTER.encode(), "roster.csv", now=clock.now())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("grassroots.test.db")
    logger.addHandler(handler)
    try:
        for person_id in (1, 2):  # the second takes the first's invite code: unique, refused
            async with database.write() as session:
                await session.execute(text("UPDATE people SET invite_code = :code WHERE id = :id"),
                                      {"code": "暗号甲乙丙", "id": person_id})
    except IntegrityError:
        logger.exception("saving failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "saving failed" in written and "UPDATE people SET invite_code" in written
    assert "暗号甲乙丙" not in written and "invite_code" in written


async def test_a_registration_and_a_failure_log_no_token_and_no_phone(harness, emulator):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(harness.settings.telegram_bot_token))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        await harness.import_roster()
        user = emulator.user(8201, first_name="Li", language_code="en")
        await harness.contact(user, "+8613800138002")
        emulator.fail_next("sendMessage", 400)
        await harness.send(user, "/help")
        logging.getLogger("grassroots.test").error(
            "failed for %s with %s", "13800138003", harness.settings.telegram_bot_token)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    written = stream.getvalue()
    assert "Telegram refused" in written and "failed for" in written  # it did log
    assert harness.settings.telegram_bot_token not in written
    assert harness.settings.telegram_bot_token.split(":")[1] not in written
    assert "13800138002" not in written and "13800138003" not in written


# --- `grassroots serve`, in one process or with workers: all log through the one configuration

SECRET = "hook-secret-5150"
API_TOKEN = "api-token-8642"
PLACE = "坏村庄名"  # a query parameter no log line may carry
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) \[(?P<pid>\d+)\] ")


@pytest.fixture(params=backends())
async def served_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A database of its own (a subprocess cannot share a test schema), migrated."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/serve.db"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    if not await _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    name = f"gr_logs_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bind_one_person(url: str) -> None:
    """A bound person whose menu was never sent: the first worker to start queues it (INFO)."""
    db = Database(url)
    try:
        await import_roster_file(db, DEFAULT_ROSTER.encode(), "roster.csv",
                                 now=dt.datetime.now(dt.UTC))
        async with db.write() as session:
            person = (await session.execute(select(Person).order_by(Person.id))).scalars().first()
            assert person is not None
            person.telegram_user_id, person.telegram_language = 8301, "zh-hans"
    finally:
        await db.dispose()


async def break_townships(url: str) -> None:
    """The API's place lookup now fails in SQL, with the place among its parameters."""
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(text("ALTER TABLE townships RENAME COLUMN name TO gone"))
    finally:
        await db.dispose()


async def serve(env: dict[str, str], port: int, log: Path,
                workers: int) -> asyncio.subprocess.Process:
    """`grassroots serve --workers N`, stdout and stderr into one file, once all are up."""
    script = Path(sys.executable).with_name("grassroots")
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            str(script), "serve", "--workers", str(workers), "--port", str(port), env=env,
            stdout=out, stderr=subprocess.STDOUT)
    written = ""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(600):
            written = await asyncio.to_thread(log.read_text, errors="replace")
            started = written.count("Application startup complete")
            if started >= workers:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        return process
            if process.returncode is not None:
                break
            await asyncio.sleep(0.2)
    process.kill()
    raise AssertionError("serve never came up:\n" + written[-3000:])


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_workers_log_with_timestamps_info_and_redaction_through_one_config(
    served_url, emulator, tmp_path, workers
):
    await bind_one_person(served_url)
    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": emulator.token,
           "BOT_API_BASE_URL": emulator.base_url, "DATABASE_URL": served_url,
           "WEBHOOK_SECRET": SECRET, "API_TOKEN": API_TOKEN, "WEBHOOK_URL": ""}
    process = await serve(env, port, log, workers)
    try:
        await break_townships(served_url)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            seen = await client.get("/healthz", params={
                "phone": "+8613800138002", "token": emulator.token, "key": API_TOKEN,
                "hook": SECRET})
            assert seen.status_code == 200
            failed = await client.get("/api/v1/stats", params={"place": PLACE},
                                      headers={"Authorization": f"Bearer {API_TOKEN}"})
            assert failed.status_code == 500
    finally:
        await stop(process)
    written = log.read_text(errors="replace")
    lines = written.splitlines()
    started = [m for line in lines if "Application startup complete" in line
               for m in [STAMP.match(line)]]
    assert len(started) == workers and all(started), written[-3000:]
    pids = {m["pid"] for m in started if m}
    assert len(pids) == workers
    # The application's own INFO line, written by a worker (no worker dropped INFO).
    assert any((m := STAMP.match(line)) and m["level"] == "INFO" and m["pid"] in pids
               and "bot.app: queued 1 command menus" in line for line in lines), written[-3000:]
    # The access log goes through the same handler: stamped, the secrets and phone masked.
    [access] = [line for line in lines if "GET /healthz?" in line]
    assert STAMP.match(access) and "uvicorn.access" in access, access
    assert "[phone …02]" in access and access.count("[secret]") == 3, access
    # The 500's traceback is written (stamped), with its SQL but none of its parameters.
    [failure] = [i for i, line in enumerate(lines) if "Exception in ASGI application" in line]
    assert STAMP.match(lines[failure]) and "Traceback" in written
    for leaked in ("13800138002", emulator.token, quote(emulator.token, safe=""), API_TOKEN,
                   SECRET, PLACE, "[parameters:"):
        assert leaked not in written, leaked
