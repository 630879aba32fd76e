"""Schedules live in the database: each run happens once, after a restart, across processes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from common.context import AppContext
from common.ratelimit import RateLimiter
from common.settings import Settings
from scheduler.jobs import run_due
from scheduler.timing import daily, summary_deadline, weekly
from storage import schedules
from storage.db import Database
from storage.models import Checkin, LeaveRequest, OutboxMessage, Person
from tests.scheduling import local, tick

ROLES_BY_PHONE = {
    "13800138001": 7001,  # 张伟, team leader, 新村
    "13800138002": 7002,  # 李娜, cadre, 新村
    "13800138003": 7003,  # 王芳, cadre, 新村
    "13800138004": 7004,  # 刘洋, team leader, 东岗村
    "13800138005": 7005,  # 陈静, cadre, 东岗村
    "13800138007": 7007,  # 孙丽, township leader, 黄金埠镇
    "13800138008": 7008,  # 周杰, leading group
    "13800138009": 7009,  # 吴敏, office
}


async def bind_everyone(harness, language: str = "en") -> dict[str, int]:
    """Bind the roster's people to Telegram accounts without the chat (the registration tests
    cover that); returns each name's chat id."""
    await harness.import_roster()
    chats: dict[str, int] = {}
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            user_id = ROLES_BY_PHONE.get(person.phone.removeprefix("+86"))
            if user_id is not None:
                person.telegram_user_id = user_id
                person.telegram_language = language
                person.last_seen_at = harness.clock.now()
                chats[person.name] = user_id
                harness.emu.user(user_id, first_name=person.name, language_code=language)
    return chats


def messages(harness, chat_id: int) -> list[str]:
    return [s.plain_text for s in harness.emu.sent_to(chat_id) if s.text is not None]


def test_daily_and_weekly_times_are_local_and_strictly_after_now():
    settings = Settings(_env_file=None)
    at_eight = daily(lambda s: dt.time(20, 0))
    assert at_eight(settings, local(2026, 11, 30, 19, 59)) == local(2026, 11, 30, 20, 0)
    assert at_eight(settings, local(2026, 11, 30, 20, 0)) == local(2026, 12, 1, 20, 0)
    # Monday 08:00 report: Sunday 23:59 in Shanghai is 15:59 UTC, still the old week.
    report = weekly(lambda s: 0, lambda s: dt.time(8, 0))
    sunday_late = dt.datetime(2026, 12, 6, 15, 59, tzinfo=dt.UTC)
    assert report(settings, sunday_late) == local(2026, 12, 7, 8, 0)
    reminder = weekly(lambda s: 4, lambda s: dt.time(17, 0), lambda s: -dt.timedelta(hours=3))
    assert reminder(settings, local(2026, 12, 2, 9, 0)) == local(2026, 12, 4, 14, 0)
    assert reminder(settings, local(2026, 12, 4, 14, 1)) == local(2026, 12, 11, 14, 0)
    assert summary_deadline(settings, dt.date(2026, 11, 30)) == local(2026, 12, 4, 17, 0)


async def test_it_reminds_only_cadres_without_a_checkin_and_not_those_on_approved_leave(
    harness
):
    """Approved leave covering today spares the reminder; a request still waiting, a declined
    one, or a check-in marked away on leave the day before spare nothing."""
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 7, 0))  # first sight: the rows are created, not run
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        now = harness.clock.now()
        session.add(Checkin(person_id=people["李娜"].id, day=dt.date(2026, 12, 1), in_village=True,
                            created_at=now, updated_at=now))
        for name, status in (("王芳", "approved"), ("陈静", "pending"), ("刘洋", "declined")):
            session.add(LeaveRequest(person_id=people[name].id, first_day=dt.date(2026, 11, 30),
                                     last_day=dt.date(2026, 12, 2), reason="r", status=status,
                                     requested_at=now))
        session.add(Checkin(person_id=people["张伟"].id, day=dt.date(2026, 11, 30),
                            in_village=False, reason="leave", created_at=now, updated_at=now))
    ran = await tick(harness, local(2026, 12, 1, 8, 0))
    assert ran["checkin_reminder"] == 3  # 张伟, 刘洋, 陈静: cadres and team leaders
    for name in ("张伟", "刘洋", "陈静"):
        assert messages(harness, chats[name]) == [
            "Good morning. You have not checked in today: send /checkin "
            "(one tap if you are in the village)."]
    for name in ("李娜", "王芳", "孙丽", "吴敏"):
        assert messages(harness, chats[name]) == []
    assert (await tick(harness, local(2026, 12, 1, 8, 30))).get("checkin_reminder") is None


async def test_a_morning_reminder_missed_while_down_is_not_sent_the_next_day(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 7, 0))
    await harness.stop()  # down from Tuesday 07:00 to Wednesday 07:30: Tuesday's 08:00 passed
    harness.at(local(2026, 12, 2, 7, 30))
    await harness.start()
    assert (await tick(harness))["checkin_reminder"] == 0
    assert messages(harness, chats["陈静"]) == []
    assert (await tick(harness, local(2026, 12, 2, 8, 0)))["checkin_reminder"] == 5
    assert len(messages(harness, chats["陈静"])) == 1


async def test_a_bot_down_at_2000_sends_the_digest_once_when_it_is_back(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 19, 0))
    await harness.stop()  # down from 19:00 to 23:10
    harness.at(local(2026, 12, 1, 23, 10))
    await harness.start()
    ran = await tick(harness)
    assert ran["evening_digest"] == 3  # two team leaders and the township leader
    await harness.restart()
    await tick(harness, local(2026, 12, 1, 23, 20))
    digests = [m for m in messages(harness, chats["张伟"]) if "digest" in m]
    assert len(digests) == 1 and digests[0].startswith("Team digest · 新村 · Tue 1 Dec")
    [township] = [m for m in messages(harness, chats["孙丽"]) if "digest" in m]
    assert township.startswith("Township digest · 黄金埠镇 · Tue 1 Dec")
    async with harness.db.read() as session:
        [state] = [s for s in await schedules.all_states(session) if s.name == "evening_digest"]
    assert state.next_run_at == local(2026, 12, 2, 20, 0)


async def test_two_scheduler_processes_on_one_database_send_each_digest_once(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 19, 0))
    harness.at(local(2026, 12, 1, 20, 0))
    second_db = Database(harness.db.url, **harness.db.engine_kwargs)
    other = AppContext(settings=harness.settings, db=second_db, clock=harness.clock,
                       limiter=RateLimiter(1000, 1000))
    try:
        results = await asyncio.gather(*(run_due(ctx) for ctx in [harness.ctx, other] * 3))
    finally:
        await other.db.dispose()
    assert sum(r.get("evening_digest", 0) for r in results) == 3
    await tick(harness)
    assert len([m for m in messages(harness, chats["刘洋"]) if "digest" in m]) == 1
    async with harness.db.read() as session:
        keys = (await session.execute(select(OutboxMessage.dedup_key))).scalars().all()
    assert sorted(k for k in keys if k and k.startswith("digest:")) == sorted(
        f"digest:2026-12-01:{pid}" for pid in await _ids(harness, "张伟", "刘洋", "孙丽"))


async def _ids(harness, *names: str) -> list[int]:
    async with harness.db.read() as session:
        rows = await session.execute(select(Person.id).where(Person.name.in_(names)))
        return list(rows.scalars())


@pytest.fixture
def moved_settings(settings):
    return settings.model_copy(update={"digest_time": dt.time(18, 30)})


async def test_a_changed_schedule_setting_retimes_the_stored_run(harness, moved_settings):
    await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 12, 0))
    harness.ctx.settings = moved_settings
    await tick(harness, local(2026, 12, 1, 12, 1))
    async with harness.db.read() as session:
        [state] = [s for s in await schedules.all_states(session) if s.name == "evening_digest"]
    assert state.next_run_at == local(2026, 12, 1, 18, 30) and state.last_run_at is None
