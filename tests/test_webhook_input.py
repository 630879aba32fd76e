"""The webhook's bad bodies: with the right secret, a body that is not a Telegram update is
answered 400 and logged in one line; with a wrong secret nothing is read at all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.web import SECRET_HEADER, create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage.migrate import upgrade

SECRET = "webhook-input-secret"
NOT_UPDATES = {
    "empty object": b"{}",
    "a list": b"[1]",
    "truncated JSON": b'{"update_id": 5, "message": {"message_id": 1, "da',
    "not JSON": b"hello",
    "not UTF-8": b"\xff\xfe{}",
    "null": b"null",
    "a string": b'"update"',
    "a text update_id": b'{"update_id": "7"}',
    "a true update_id": b'{"update_id": true}',
    "a message without its fields": b'{"update_id": 7, "message": {"text": "hi"}}',
    "a message that is a string": b'{"update_id": 7, "message": "hi"}',
    "a sender that is a number": b'{"update_id": 7, "message": {"message_id": 1, "date": 0, '
                                 b'"chat": {"id": 1, "type": "private"}, "from": 5}}',
    "a date out of range": b'{"update_id": 7, "message": {"message_id": 1, "date": 1e300, '
                           b'"chat": {"id": 1, "type": "private"}}}',
}


@pytest.fixture
def database(empty_database):
    """The app checks the schema at start-up: migrate instead of create_all."""
    return empty_database


@pytest.fixture
async def client(database, emulator, clock, settings) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook app with its lifespan running; a failure is a response, as under uvicorn."""
    await asyncio.to_thread(upgrade, database.url, **database.engine_kwargs)
    ctx = AppContext(settings=settings.model_copy(update={"webhook_secret": SECRET}),
                     db=database, clock=clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            yield http


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record of INFO or above that any logger writes while the test runs (but httpx's
    request lines, which the test's own client writes and the deployment silences)."""

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not record.name.startswith("httpx"):
                kept.append(record)

    kept: list[logging.LogRecord] = []
    handler, root = Keep(logging.INFO), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield kept
    root.removeHandler(handler)
    root.setLevel(old_level)


async def post(client: httpx.AsyncClient, body: bytes, secret: str) -> httpx.Response:
    return await client.post("/telegram", content=body, headers={
        SECRET_HEADER: secret, "Content-Type": "application/json"})


@pytest.mark.parametrize("body", NOT_UPDATES.values(), ids=NOT_UPDATES.keys())
async def test_a_body_that_is_not_an_update_is_answered_400_and_logged_once(
    client, records, emulator, body
):
    records.clear()  # what the start-up logged
    answer = await post(client, body, SECRET)
    assert answer.status_code == 400
    assert answer.json() == {"detail": "the body is not a Telegram update"}
    [line] = records
    assert line.name == "bot.web" and line.levelno == logging.WARNING
    assert line.exc_info is None and line.exc_text is None
    assert "not a Telegram update" in line.getMessage()
    assert [r for r in emulator.requests if r.method == "sendMessage"] == []


async def test_a_wrong_secret_is_refused_before_the_body_is_read(client, records):
    records.clear()
    for secret in ("wrong", ""):
        for body in (b"{}", b"hello", b'{"update_id": 9}'):
            assert (await post(client, body, secret)).status_code == 403
    assert records == []


async def test_an_update_with_nothing_in_it_is_still_accepted(client, records):
    # Telegram may send a kind of update this bot does not ask for: it is an update all the same.
    records.clear()
    assert (await post(client, b'{"update_id": 11, "poll": null}', SECRET)).status_code == 200
    assert records == []
