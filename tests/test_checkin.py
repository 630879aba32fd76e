"""/checkin through the emulator: one tap, away with a reason, a correction, a location."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import AuditEntry, Checkin, Person
from storage.summaries import figures_between
from tests.conftest import SHANGHAI


async def _cadre(harness, user_id=6101, language="en"):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=user_id, language_code=language)


async def _rows(harness):
    async with harness.db.read() as session:
        return list((await session.execute(select(Checkin).order_by(Checkin.day))).scalars())


async def test_one_tap_records_today_in_the_village_with_the_cadres_team(harness):
    user = await _cadre(harness)
    prompt = (await harness.send(user, "/checkin"))[0]
    assert "Sat 28 Nov" in prompt.plain_text
    replies = await harness.press(user, "ci:v")
    assert any("Checked in for Sat 28 Nov: in the village" in r.plain_text for r in replies)
    [row] = await _rows(harness)
    async with harness.db.read() as session:
        person = (
            await session.execute(select(Person).where(Person.phone.like("%8002")))
        ).scalar_one()
    assert (row.day, row.in_village, row.village_id, row.unit_id) == (
        dt.date(2026, 11, 28),
        True,
        person.village_id,
        person.unit_id,
    )


async def test_away_asks_the_reason_and_records_it(harness):
    user = await _cadre(harness, language="zh-hans")
    await harness.send(user, "/checkin")
    reasons = await harness.press(user, "ci:a")
    assert [data for row in reasons[0].buttons for _, data in row] == [
        "ci:r:meeting",
        "ci:r:sick",
        "ci:r:other",
    ]
    assert "请假须先用 /leave 申请" in reasons[0].plain_text  # leave is asked for, not picked
    assert not [r for r in await harness.press(user, "ci:r:leave") if r.method == "sendMessage"]
    assert await _rows(harness) == []
    replies = await harness.press(user, "ci:r:sick")
    assert any("不在村（生病）" in r.plain_text for r in replies)
    [row] = await _rows(harness)
    assert (row.in_village, row.reason) == (False, "sick")


async def test_a_second_checkin_offers_a_correction_and_keeps_an_audit_trail(harness):
    user = await _cadre(harness)
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    offer = (await harness.send(user, "/checkin"))[0]
    assert "already checked in today: in the village" in offer.plain_text
    await harness.press(user, "ci:a")
    replies = await harness.press(user, "ci:r:meeting")
    assert any("corrected" in r.plain_text for r in replies)
    [row] = await _rows(harness)
    assert (row.in_village, row.reason) == (False, "meeting")
    async with harness.db.read() as session:
        [entry] = (
            await session.execute(select(AuditEntry).where(AuditEntry.entity == "checkin"))
        ).scalars()
    assert (entry.old_value, entry.new_value) == ("village", "away:meeting")


async def test_a_double_tap_records_one_checkin(harness):
    user = await _cadre(harness)
    prompt = (await harness.send(user, "/checkin"))[0]
    await harness.press(user, "ci:v", message_id=prompt.message_id)
    second = await harness.press(user, "ci:v", message_id=prompt.message_id)
    assert second == []
    assert harness.emu.callback_answers[-1].get("text") == "Already recorded."
    assert len(await _rows(harness)) == 1


async def test_the_day_rolls_over_at_local_midnight(harness):
    user = await _cadre(harness)
    harness.at(dt.datetime(2026, 11, 28, 23, 59, tzinfo=SHANGHAI))
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    harness.at(dt.datetime(2026, 11, 29, 0, 1, tzinfo=SHANGHAI))  # 16:01 UTC on the 28th
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    assert [r.day for r in await _rows(harness)] == [dt.date(2026, 11, 28), dt.date(2026, 11, 29)]
    async with harness.db.read() as session:
        figures = await figures_between(
            session, person_id=(await _rows(harness))[0].person_id,
            start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 29), tz=SHANGHAI)
    assert figures["days_in_village"] == 2


async def test_a_shared_location_is_attached_to_todays_checkin(harness):
    user = await _cadre(harness)
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    replies = await harness.roundtrip(user, user.location(28.69, 116.69))
    assert "Location added" in replies[0].plain_text
    [row] = await _rows(harness)
    assert (round(row.latitude, 2), round(row.longitude, 2)) == (28.69, 116.69)


async def test_office_staff_cannot_check_in(harness):
    await harness.import_roster()
    office = await harness.register("13800138009", user_id=6102, language_code="en")
    replies = await harness.send(office, "/checkin")
    assert "not available to your role" in replies[0].plain_text
    await harness.press(office, "ci:v", message_id=replies[0].message_id)  # a forged button
    assert await _rows(harness) == []


async def test_a_checkin_far_from_the_village_is_saved_and_marked_for_the_team_leader(harness):
    """The village's place is where its cadres checked in during the campaign's first week
    (their median point); a check-in in the village shared from 30 km away is kept, and the
    team leader's /team marks it, in Chinese and English. A near one is not marked."""
    user = await _cadre(harness, language="zh-hans")
    leader = await harness.register("13800138001", user_id=6102, language_code="zh-hans")
    now = harness.clock.now()
    async with harness.db.write() as session:
        wang = (await session.execute(select(Person).where(Person.name == "王芳"))).scalar_one()
        for day, lat in ((25, 28.690), (26, 28.691), (27, 28.689)):  # the first week, near
            session.add(Checkin(person_id=wang.id, village_id=wang.village_id, in_village=True,
                                day=dt.date(2026, 11, day), latitude=lat, longitude=116.690,
                                created_at=now, updated_at=now))
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    replies = await harness.roundtrip(user, user.location(28.96, 116.69))  # ~30 km north
    assert any("位置" in r.plain_text for r in replies if r.text)  # saved, not refused
    [row] = [r for r in await _rows(harness) if r.day == dt.date(2026, 11, 28)]
    assert row.in_village and row.latitude == 28.96
    team = (await harness.send(leader, "/team"))[-1].plain_text.splitlines()
    assert team[team.index(next(t for t in team if t.startswith("李娜："))) + 1] == (
        "　└ ⚠️ 签到位置距本村较远：11月28日（周六）（约 30 公里）")
    assert not any("王芳" in t and "⚠️" in t for t in team)
    assert sum("⚠️" in t for t in team) == 1
    async with harness.db.write() as session:  # 张伟 reads English now
        zhang = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        zhang.locale = "en"
    assert "⚠️ Checked in far from the village: Sat 28 Nov (about 30 km)" in (
        await harness.send(leader, "/team"))[-1].plain_text
