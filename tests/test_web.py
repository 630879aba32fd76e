"""The web side: the webhook's secret, processing before answering, the health check, the API's
token and its schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.web import SECRET_HEADER, create_app, same_secret
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage.migrate import upgrade
from storage.roster import import_roster_file
from tests.harness import DEFAULT_ROSTER

SECRET = "webhook-secret-123"
TOKEN = "api-token-456"


@pytest.fixture
async def web(
    empty_database, emulator, clock, settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The FastAPI app with its lifespan running, on a migrated database."""
    db = empty_database
    await asyncio.to_thread(upgrade, db.url, **db.engine_kwargs)
    await import_roster_file(db, DEFAULT_ROSTER.encode(), "roster.csv", now=clock.now())
    configured = settings.model_copy(update={
        "database_url": db.url, "webhook_secret": SECRET, "api_token": TOKEN,
        "webhook_url": "https://bot.example.org/hook"})
    ctx = AppContext(settings=configured, db=db, clock=clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            yield client, app


@pytest.fixture
def database(empty_database):
    """The web tests migrate their own database (the app checks the schema at start-up)."""
    return empty_database


def raw_update(emulator, update_id: int) -> dict[str, Any]:
    return emulator.updates.history[update_id]


def test_secrets_are_compared_whole_and_an_empty_one_matches_nothing():
    assert same_secret("abc", "abc")
    assert not same_secret("abd", "abc") and not same_secret(None, "abc")
    assert not same_secret("", "")


async def test_the_webhook_refuses_a_wrong_or_missing_secret_and_processes_the_right_one(
    web, emulator
):
    client, _ = web
    user = emulator.user(8101, first_name="Li", language_code="en")
    update = raw_update(emulator, user.send("/start"))
    assert (await client.post("/telegram", json=update)).status_code == 403
    wrong = await client.post("/telegram", json=update, headers={SECRET_HEADER: "nope"})
    assert wrong.status_code == 403
    assert emulator.sent_to(user.id) == []
    ok = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
    assert ok.status_code == 200
    # Processed before the answer: the reply is already with Telegram.
    [reply] = emulator.sent_to(user.id)
    assert "phone" in reply.plain_text.lower()
    again = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
    assert again.status_code == 200 and len(emulator.sent_to(user.id)) == 1
    [hook] = [r for r in emulator.requests if r.method == "setWebhook"]
    assert hook.params["url"] == "https://bot.example.org/hook/telegram"
    assert hook.params["secret_token"] == SECRET


async def test_healthz_reports_the_database_the_scheduler_and_the_outbox(web):
    client, _ = web
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": True, "scheduler": True, "outbox_pending": 0}


async def test_the_api_needs_its_bearer_token(web):
    client, _ = web
    assert (await client.get("/api/v1/stats")).status_code == 401
    wrong = await client.get("/api/v1/stats", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    basic = await client.get("/api/v1/stats", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def test_the_api_serves_the_same_figures_and_rows_as_the_chat_in_pages(web):
    import datetime as dt

    from sqlalchemy import select

    from storage.models import Person, Visit

    client, app = web
    db = app.state.ctx.db
    async with db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        now = app.state.ctx.clock.now()
        for i, name in enumerate(["李娜", "李娜", "陈静", "赵强"]):
            who = people[name]
            session.add(Visit(person_id=who.id, village_id=who.village_id,
                              township_id=who.township_id, unit_id=who.unit_id,
                              day=dt.date(2026, 11, 26 + i % 2), kind="weak", heard="h",
                              wants="w", created_at=now))
    stats = (await client.get("/api/v1/stats", params={"period": "campaign"},
                              headers=auth())).json()
    assert stats["visits"] == 4
    township = (await client.get("/api/v1/stats", params={"period": "campaign",
                                 "place": "黄金埠镇"}, headers=auth())).json()
    assert township["visits"] == 3
    first = (await client.get("/api/v1/visits", params={"per_page": 3},
                              headers=auth())).json()
    assert len(first["items"]) == 3 and first["next_page"] == 2
    assert {"cadre", "village", "kind", "day"} <= set(first["items"][0])
    second = (await client.get("/api/v1/visits", params={"per_page": 3, "page": 2},
                               headers=auth())).json()
    assert len(second["items"]) == 1 and second["next_page"] is None
    village = (await client.get("/api/v1/visits", params={"place": "东岗村"},
                                headers=auth())).json()
    assert [item["cadre"] for item in village["items"]] == ["陈静"]
    assert (await client.get("/api/v1/visits", params={"place": "无此村"},
                             headers=auth())).status_code == 404
    assert (await client.get("/api/v1/stats", params={"period": "someday"},
                             headers=auth())).status_code == 422
    for kind in ("disputes", "summaries"):
        assert (await client.get(f"/api/v1/{kind}", headers=auth())).json()["items"] == []


async def test_the_api_exports_the_workbook_and_publishes_its_schema(web):
    import io

    from openpyxl import load_workbook

    client, _ = web
    response = await client.get("/api/v1/export.xlsx", params={"lang": "en"}, headers=auth())
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert len(book.sheetnames) >= 8
    schema = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/stats", "/api/v1/visits", "/api/v1/disputes", "/api/v1/summaries",
                 "/api/v1/export.xlsx", "/api/v1/report.docx"):
        assert path in schema["paths"], path
    assert "/telegram" not in schema["paths"]
