"""GET /api/v1/report.docx: the /report draft over the HTTP API, with the API's token, period and
language; its figures against the database, counted here directly."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pytest
from docx import Document
from sqlalchemy import func, select

from bot.api import DOCX
from storage.disputes import add_dispute
from storage.models import Person, Visit
from storage.visits import add_visit
from tests.scheduling import local
from tests.test_api_input import TOKEN, api, assert_validation_error, database  # noqa: F401
from tests.test_report import EN_HEADINGS, ZH_HEADINGS, headings, key_figures

URL = "/api/v1/report.docx"


@pytest.fixture
def settings(settings, tmp_path):
    """The drafts are written in this test's own folder."""
    settings.export_dir = str(tmp_path / "exports")
    return settings


async def seed(db) -> None:
    async with db.write() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
        for name, kind, day in (("李娜", "weak", 24), ("李娜", "old", 25), ("赵强", "masses", 26),
                                ("陈静", "weak", 20)):
            await add_visit(s, person=people[name], kind=kind, day=dt.date(2026, 11, day),
                            heard="听取意见", wants="", now=local(2026, 11, day, 10),
                            household_category="poor" if kind == "weak" else None)
        await add_dispute(s, person=people["王芳"], category="land", parties="甲与乙",
                          people_count=2, flags=[], description="宅基地", urgency="normal",
                          day=dt.date(2026, 11, 25), now=local(2026, 11, 25, 11))


async def visits_between(db, start: dt.date, end: dt.date) -> int:
    async with db.read() as s:
        return await s.scalar(select(func.count()).select_from(Visit).where(
            Visit.day >= start, Visit.day <= end))


async def test_the_report_comes_as_a_word_draft_with_the_databases_figures(
        api, empty_database, tmp_path):  # noqa: F811
    await seed(empty_database)
    response = await api.get(URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    name = "驻村工作报告（草稿）-11月23日至11月28日.docx"
    assert quote(name) in response.headers["content-disposition"]
    document = Document(io.BytesIO(response.content))
    assert headings(document) == ZH_HEADINGS
    figures = key_figures(document)
    assert figures["走访（次）"] == await visits_between(
        empty_database, dt.date(2026, 11, 23), dt.date(2026, 11, 28)) == 3
    assert figures["访弱势群体"] == 1 and figures["贫困户"] == 1
    assert figures["新排查矛盾纠纷（件）"] == 1
    assert not any((tmp_path / "exports").iterdir())  # sent: the file is gone


async def test_a_period_and_english(api, empty_database):  # noqa: F811
    await seed(empty_database)
    response = await api.get(URL, params={"period": "11-20..11-25", "lang": "en"})
    assert response.status_code == 200, response.text
    assert "campaign-report-draft-20Nov-25Nov.docx" in response.headers["content-disposition"]
    document = Document(io.BytesIO(response.content))
    assert headings(document) == EN_HEADINGS
    assert key_figures(document)["Visits"] == await visits_between(
        empty_database, dt.date(2026, 11, 20), dt.date(2026, 11, 25)) == 3


async def test_the_token_period_and_language_are_checked(api):  # noqa: F811
    assert (await api.get(URL, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert_validation_error(await api.get(URL, params={"period": "someday"}), "period")
    assert_validation_error(await api.get(URL, params={"period": "9999-12-31"}), "period")
    assert_validation_error(await api.get(URL, params={"lang": "fr"}), "lang")
    schema = (await api.get("/openapi.json")).json()
    operation = schema["paths"][URL]["get"]
    assert list(operation["responses"]["200"]["content"]) == [DOCX]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert TOKEN not in str(schema)
