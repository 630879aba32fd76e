"""The API at its edge: every input bounded (periods, pages, control characters), every refusal
in the shape the OpenAPI schema documents, the bearer scheme in any case, and a village name
two townships use answered 409 with the candidates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.api import MAX_PAGE, MAX_PER_PAGE
from bot.web import create_app
from common.context import AppContext
from common.ratelimit import RateLimiter
from storage.migrate import upgrade
from storage.roster import import_roster_file
from tests.harness import DEFAULT_ROSTER

TOKEN = "api-token-789"
# 新村 is a village of 黄金埠镇 in the default roster; here 古埠镇 has one too.
ROSTER = DEFAULT_ROSTER + "钱军,13800138010,ordinary,县林业局,古埠镇,新村,cadre\n"
ENDPOINTS = ("/stats", "/visits", "/disputes", "/summaries", "/export.xlsx")
EDGES = ("0001-01-01..0001-01-02", "2026-01-01..9999-12-31", "9999-12-31", "0001-01-01")


@pytest.fixture
def database(empty_database):
    """The app checks the schema at start-up: these tests migrate their own database."""
    return empty_database


@pytest.fixture
async def api(empty_database, emulator, clock, settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running FastAPI app, on a migrated database with ROSTER."""
    db = empty_database
    await asyncio.to_thread(upgrade, db.url, **db.engine_kwargs)
    result = await import_roster_file(db, ROSTER.encode(), "roster.csv", now=clock.now())
    assert not result.errors, result.errors
    ctx = AppContext(settings=settings.model_copy(update={"database_url": db.url,
                                                          "api_token": TOKEN}),
                     db=db, clock=clock,
                     limiter=RateLimiter(per_second=10_000, per_chat_per_second=10_000))
    app = create_app(ctx, register_webhook=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bot", headers=AUTH) as client:
            yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def assert_validation_error(response: httpx.Response, field: str) -> None:
    """FastAPI's HTTPValidationError: {"detail": [{"loc", "msg", "type"}, ...]} naming `field`."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for error in detail:
        assert isinstance(error["msg"], str) and isinstance(error["type"], str)
    assert ["query", field] in [error["loc"] for error in detail]


async def test_periods_at_the_edge_of_the_calendar_are_422_on_every_endpoint(api):
    for path in ENDPOINTS:
        for period in EDGES:
            response = await api.get(f"/api/v1{path}", params={"period": period})
            assert_validation_error(response, "period")
    [error] = (await api.get("/api/v1/stats", params={"period": EDGES[0]})).json()["detail"]
    assert error["msg"] == "days from 2025-11-22 to 2027-11-29 only"
    for period in ("someday", "11-28..11-20"):
        assert_validation_error(await api.get("/api/v1/stats", params={"period": period}),
                                "period")


async def test_a_single_day_and_the_edges_of_the_bounds_are_answered(api):
    for period in ("2026-11-26", "2025-11-22..2027-11-29"):
        response = await api.get("/api/v1/visits", params={"period": period})
        assert response.status_code == 200, response.text
    assert response.json()["period"] == ["2025-11-22", "2027-11-29"]
    one = (await api.get("/api/v1/stats", params={"period": "2026-11-26"}))
    assert one.status_code == 200 and one.json()["visits"] == 0


async def test_a_page_past_the_computed_maximum_is_422_and_the_last_one_answers(api):
    for kind in ("visits", "disputes", "summaries"):
        last = await api.get(f"/api/v1/{kind}",
                             params={"page": MAX_PAGE, "per_page": MAX_PER_PAGE})
        assert last.status_code == 200, last.text
        assert last.json()["items"] == [] and last.json()["next_page"] is None
        for page in (MAX_PAGE + 1, 10**19, 10**40):
            assert_validation_error(await api.get(f"/api/v1/{kind}", params={"page": page}),
                                    "page")
    assert (MAX_PAGE - 1) * MAX_PER_PAGE < 2**31  # the offset fits a 32-bit integer


async def test_control_characters_and_overlong_text_are_422_not_a_database_error(api):
    for path in ENDPOINTS:
        for place in ("\x00", "新\x00村", "新村\n", "村" * 61):
            assert_validation_error(await api.get(f"/api/v1{path}", params={"place": place}),
                                    "place")
        for period in ("week\x00", "\x1b[2J", "1" * 41):
            assert_validation_error(await api.get(f"/api/v1{path}", params={"period": period}),
                                    "period")


async def test_the_bearer_scheme_is_read_in_any_case_and_a_refusal_is_documented(api):
    for scheme in ("bearer", "BEARER", "Bearer", "bEaReR"):
        response = await api.get("/api/v1/stats", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200, scheme
    for header in ("Bearer nope", f"Basic {TOKEN}", TOKEN, "bearer"):
        refused = await api.get("/api/v1/stats", headers={"Authorization": header})
        assert refused.status_code == 401, header
        assert refused.json() == {"detail": "bearer token required"}
        assert refused.headers["www-authenticate"] == "Bearer"


async def test_a_village_name_two_townships_use_is_409_with_both_and_one_is_named_directly(api):
    for path in ENDPOINTS:
        response = await api.get(f"/api/v1{path}", params={"place": "新村"})
        assert response.status_code == 409, (path, response.text)
        body = response.json()
        assert sorted(body["candidates"]) == ["古埠镇/新村", "黄金埠镇/新村"]
        assert isinstance(body["detail"], str)
    named = await api.get("/api/v1/visits", params={"place": "古埠镇/新村"})
    assert named.status_code == 200 and named.json()["place"] == "新村"
    assert (await api.get("/api/v1/stats", params={"place": "东岗村"})).status_code == 200


def _ref(responses: dict[str, Any], status: str) -> str:
    return responses[status]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]


async def test_the_schema_documents_every_refusal_with_its_body(api):
    schema = (await api.get("/openapi.json")).json()
    for path in ENDPOINTS:
        responses = schema["paths"][f"/api/v1{path}"]["get"]["responses"]
        assert {name: _ref(responses, name) for name in ("401", "404", "409", "422")} == {
            "401": "Problem", "404": "Problem", "409": "Ambiguous",
            "422": "HTTPValidationError"}, path
        assert schema["paths"][f"/api/v1{path}"]["get"]["security"] == [{"HTTPBearer": []}]
    export = schema["paths"]["/api/v1/export.xlsx"]["get"]["responses"]
    assert _ref(export, "413") == "Problem"
    assert list(export["200"]["content"]) == [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    ambiguous = schema["components"]["schemas"]["Ambiguous"]
    assert set(ambiguous["required"]) == {"detail", "candidates"}
