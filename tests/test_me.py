"""/me: the cadre's own week and campaign so far."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from common.i18n import translator
from handlers.me import render_me
from storage.models import Checkin
from tests.test_summary import NOW, add_records, person

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def settings(settings):
    """Replies paced for tests: the emulator does not rate-limit, and 1/s per chat is slow."""
    return settings.model_copy(update={"outbox_per_chat_per_second": 50.0})


def figures(days: int, visits: int) -> dict:
    return {"days_in_village": days, "visits": visits, "visits_by_kind": {},
            "disputes_opened": 1, "disputes_resolved": 0, "aid": 2}


def test_render_me_shows_the_week_the_campaign_and_the_summary_status():
    overview = {
        "week_start": dt.date(2026, 11, 30), "today": dt.date(2026, 12, 2),
        "campaign_start": dt.date(2026, 11, 23), "week": figures(2, 1),
        "campaign": figures(7, 5), "summary_status": None,
    }
    text = render_me(translator("en"), overview, min_days=5)
    week, campaign = text.split("\n\n")
    assert "(30 Nov – 2 Dec)" in week and "Days in the village: 2" in week and "Visits: 1" in week
    assert "not submitted yet" in week and "At least 5 days" in week
    assert "Days in the village: 7" in campaign and "Visits: 5" in campaign
    chinese = render_me(translator("zh"), {**overview, "summary_status": "accepted"}, min_days=5)
    assert "驻村天数：2" in chinese and "已审核通过" in chinese


async def test_me_counts_this_week_so_far_and_the_campaign_since_it_began(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6301, language_code="zh-hans")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25], visits={"weak": 2})
    harness.at(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    async with harness.db.write() as session:
        session.add(Checkin(person_id=cadre.id, in_village=True, day=dt.date(2026, 11, 30),
                            created_at=NOW, updated_at=NOW))
    [reply] = await harness.send(user, "/me")
    week, campaign = reply.plain_text.split("\n\n")
    assert "（11月30日—12月1日）" in week and "驻村天数：1" in week and "走访：0 次" in week
    assert "尚未提交" in week
    # The check-in and visit on 20 and 22 November came before the campaign began.
    assert "驻村天数：4" in campaign and "走访：2 次" in campaign
