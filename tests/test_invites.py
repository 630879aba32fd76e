"""Invite codes: wrong ones limited per Telegram account and per hour in all, and a new code when
a person is deactivated or made active again (issue 15, item 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage.models import AuditEntry, InviteAttempt, Person
from tests.conftest import SHANGHAI
from tests.harness import DEFAULT_ROSTER, texts
from tests.test_schedules import bind_everyone

OFFICE_CHAT = 7009  # 吴敏, the office (bind_everyone)
BAD = "This invite code is not valid."


async def _person(harness, name: str) -> Person:
    async with harness.db.read() as session:
        return (await session.execute(select(Person).where(Person.name == name))).scalar_one()


async def _attempts(harness) -> int:
    async with harness.db.read() as session:
        return (await session.execute(select(func.count()).select_from(InviteAttempt))).scalar_one()


async def test_an_account_is_refused_codes_after_five_wrong_ones_in_an_hour_and_told_until_when(
        harness):
    await harness.import_roster()
    code = (await _person(harness, "吴敏")).invite_code
    guesser = harness.emu.user(6001, language_code="en")
    for attempt in range(5):
        assert texts(await harness.send(guesser, f"/start WRONG{attempt:03d}"))[0].startswith(BAD)
    # 300 more in a few seconds: none is looked up, none counted, the right one neither.
    for attempt in range(12):
        replies = await harness.send(guesser, f"/start GUESS{attempt:03d}")
    replies = await harness.send(guesser, f"/start {code}")
    assert texts(replies) == [
        "Too many invalid invite codes from your account. You can try a code again in 60 min "
        "(after 11:00), or share your phone number with the button below."]
    assert replies[0].reply_markup["keyboard"][0][0]["request_contact"] is True
    assert await _attempts(harness) == 5
    assert (await _person(harness, "吴敏")).telegram_user_id is None
    harness.at(dt.datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI))
    assert "You are registered" in "\n".join(texts(await harness.send(guesser, f"/start {code}")))


async def test_the_window_slides_and_the_time_told_is_when_the_oldest_wrong_code_leaves_it(
        harness):
    await harness.import_roster()
    guesser = harness.emu.user(6002, language_code="zh-hans")
    for minute in (0, 10, 40, 40, 45):
        harness.at(dt.datetime(2026, 11, 28, 10, minute, 30, tzinfo=SHANGHAI))
        await harness.send(guesser, "/start NOPE")
    harness.at(dt.datetime(2026, 11, 28, 10, 50, tzinfo=SHANGHAI))
    assert texts(await harness.send(guesser, "/start NOPE")) == [
        "您的账号多次使用无效的邀请码，暂时不能再用邀请码注册。"
        "请在 11 分钟后（11:01以后）再试，或点下面的按钮分享手机号注册。"]
    harness.at(dt.datetime(2026, 11, 28, 11, 0, 31, tzinfo=SHANGHAI))  # 10:00:30 has left
    assert texts(await harness.send(guesser, "/start NOPE"))[0].startswith("邀请码无效")


async def test_one_accounts_wrong_codes_do_not_lock_another_account(harness):
    await harness.import_roster()
    guesser = harness.emu.user(6003, language_code="en")
    for _ in range(6):
        await harness.send(guesser, "/start WRONG")
    code = (await _person(harness, "李娜")).invite_code
    other = harness.emu.user(6004, language_code="en")
    assert "You are registered" in "\n".join(texts(await harness.send(other, f"/start {code}")))


class TestTheCapOfAllAccounts:
    """Wrong codes from all accounts together, with a small cap to reach it in a test."""

    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"invite_wrong_codes_per_hour_all": 4})

    async def test_wrong_codes_from_many_accounts_pause_codes_for_everyone_but_not_phones(
            self, harness):
        await harness.import_roster()
        for user_id in range(6010, 6014):  # a botnet: one wrong code from each account
            await harness.send(harness.emu.user(user_id, language_code="en"), "/start WRONG")
        newcomer = harness.emu.user(6020, language_code="en")
        code = (await _person(harness, "李娜")).invite_code
        assert texts(await harness.send(newcomer, f"/start {code}")) == [
            "Too many wrong invite codes have reached the bot in the last hour, so codes are "
            "paused. You can try again in 60 min (after 11:00), or share your phone number with "
            "the button below."]
        # Sharing the phone number needs no code: Telegram vouches for it.
        shared = await harness.contact(newcomer, "13800138002")
        assert "You are registered" in "\n".join(texts(shared))


async def _deactivate(harness, office, phone: str) -> None:
    replies = await harness.send(office, f"/roster off {phone}")
    replies = await harness.press(office, replies[-1].buttons[0][0][1])
    confirm = [data for row in replies[-1].buttons for _, data in row if data.endswith(":ok")]
    replies = await harness.press(office, confirm[0])
    assert "is deactivated" in texts(replies)[-1]


async def test_deactivation_gives_a_new_code_and_the_old_one_stops_working_at_once(harness):
    await bind_everyone(harness)
    office = harness.emu.user(OFFICE_CHAT, language_code="en")
    old = (await _person(harness, "王芳")).invite_code
    await _deactivate(harness, office, "13800138003")
    after = await _person(harness, "王芳")
    assert after.invite_code != old and not after.active
    stranger = harness.emu.user(6030, language_code="en")
    assert texts(await harness.send(stranger, f"/start {old}"))[0].startswith(BAD)
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity_id == after.id, AuditEntry.field == "invite_code"))).scalar_one()
    # Audited like every roster change, but the new code, a credential, is not written down.
    assert (audit.action, audit.old_value, audit.new_value) == ("deactivate", old, None)
    assert audit.actor_id == (await _person(harness, "吴敏")).id


async def test_a_roster_import_that_makes_a_person_active_again_gives_another_new_code(harness):
    await bind_everyone(harness)
    office = harness.emu.user(OFFICE_CHAT, language_code="en")
    first = (await _person(harness, "王芳")).invite_code
    lina = (await _person(harness, "李娜")).invite_code
    await _deactivate(harness, office, "13800138003")
    second = (await _person(harness, "王芳")).invite_code
    await harness.import_roster(DEFAULT_ROSTER)  # 王芳 is on it: access comes back
    back = await _person(harness, "王芳")
    assert back.active and back.invite_code not in (first, second)
    # The code from before the deactivation does not bind; the new one does.
    stranger = harness.emu.user(6031, language_code="en")
    assert texts(await harness.send(stranger, f"/start {first}"))[0].startswith(BAD)
    wang = harness.emu.user(6032, language_code="en")
    assert "You are registered" in "\n".join(
        texts(await harness.send(wang, f"/start {back.invite_code}")))
    async with harness.db.read() as session:
        audits = (await session.execute(select(AuditEntry.action, AuditEntry.old_value,
                                               AuditEntry.new_value).where(
            AuditEntry.entity_id == back.id, AuditEntry.field == "invite_code")
            .order_by(AuditEntry.id))).all()
    assert [tuple(a) for a in audits] == [("deactivate", first, None),
                                          ("roster_update", second, None)]
    # Unchanged people keep their codes through the same import.
    assert (await _person(harness, "李娜")).invite_code == lina
