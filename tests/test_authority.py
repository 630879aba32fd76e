"""Authority that outlives the role (issue 15, item 3): a role or place changed by a roster
import ends what the person had open — drafts, buttons — at their next update, and privileged
drafts expire. The access matrix over every form and button is in test_access.py."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from sqlalchemy import func, select, update

import tests.emulator.world as emulator_world
from storage import cases as case_store
from storage.models import Broadcast, Dialog, Person, SpotCheck
from storage.people import AuthorityNotStamped, bind, set_authority
from storage.visits import add_visit
from tests.harness import DEFAULT_ROSTER, keyboard_dropped, offered_buttons, texts
from tests.test_schedules import bind_everyone
from tests.test_stats import people
from tests.test_visits import button

CHANGED = "Your role, township/village or access changed on Sat 28 Nov 10:01"
DISPUTE_CLOSED = CHANGED + ("; your unfinished dispute report was closed and nothing of it "
                            "was saved. Send the command again if you still need it.")
STALE_BUTTON = CHANGED + "; this button no longer works. Please send the command again."


@pytest.fixture(autouse=True)
def telegram_follows_the_clock(monkeypatch, harness):
    """Messages the emulator creates are dated by the test's clock, as Telegram's servers and
    the bot's clock agree in production (otherwise every date is the machine's today)."""
    monkeypatch.setattr(emulator_world, "time",
                        types.SimpleNamespace(time=lambda: harness.clock.now().timestamp()))


def roster(**changes: str) -> str:
    """The default roster with some people's rows replaced: name -> 'township,village,role'."""
    lines = []
    for line in DEFAULT_ROSTER.splitlines():
        name, phone, rank, unit, *_ = line.split(",")
        lines.append(f"{name},{phone},{rank},{unit},{changes[name]}" if name in changes else line)
    return "\n".join(lines) + "\n"


async def change(harness, **changes: str) -> None:
    """A minute later, the office's roster import changes these people."""
    harness.at(harness.clock.now() + dt.timedelta(minutes=1))
    await harness.import_roster(roster(**changes))


def user(harness, chats, name):
    return harness.emu.user(chats[name], first_name=name, language_code="en")


async def dialogs(harness, chat_id: int) -> int:
    async with harness.db.read() as session:
        query = select(func.count()).select_from(Dialog).where(Dialog.chat_id == chat_id)
        return (await session.execute(query)).scalar_one()


async def count(harness, model) -> int:
    async with harness.db.read() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


def prefixed(replies, prefix: str) -> tuple[str, int]:
    """The newest offered button of this prefix: (callback_data, message_id)."""
    for _, data, message_id in offered_buttons(replies):
        if data.startswith(prefix + ":"):
            return data, message_id
    raise LookupError(prefix)


# --- the three cases of the issue ------------------------------------------------------------


async def test_a_demoted_office_workers_broadcast_draft_is_closed_and_never_sent(harness):
    chats = await bind_everyone(harness)
    office = user(harness, chats, "吴敏")
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, "Everyone to the county hall.")
    confirm = await harness.press(office, button(replies, ":all"))
    assert "Recipients:" in confirm[-1].plain_text
    await change(harness, 吴敏=",,leading_group")
    replies = await harness.press(office, button(confirm, ":ok"))
    assert [s.method for s in replies if s.is_edit] == ["editMessageReplyMarkup"]  # card's buttons
    said = texts([s for s in replies if not s.is_edit])
    assert said == [CHANGED + "; your unfinished broadcast was closed and nothing of "
                    "it was saved. Send the command again if you still need it."]
    assert await count(harness, Broadcast) == 0
    assert await dialogs(harness, chats["吴敏"]) == 0
    assert not any(s.text for n in ("张伟", "李娜") for s in harness.emu.sent_to(chats[n]))


async def test_a_demoted_office_worker_cannot_deactivate_through_an_open_roster_off(harness):
    chats = await bind_everyone(harness)
    office = user(harness, chats, "吴敏")
    replies = await harness.send(office, "/roster off 李娜")
    confirm = await harness.press(office, replies[-1].buttons[0][0][1])
    assert "李娜 will lose access" in confirm[-1].plain_text
    await change(harness, 吴敏=",,leading_group")
    replies = await harness.press(office, button(confirm, ":ok"))
    assert [s.method for s in replies if s.is_edit] == ["editMessageReplyMarkup"]  # card's buttons
    said = texts([s for s in replies if not s.is_edit])
    assert said == [CHANGED + "; your unfinished deactivation was closed and nothing of "
                    "it was saved. Send the command again if you still need it."]
    assert (await people(harness))["李娜"].active


async def _spot_check_for_wu(harness, chats) -> tuple[SpotCheck, list]:
    """The leading group draws 李娜's visit; its request with the buttons goes to the office
    (吴敏), outside 李娜's chain."""
    found = await people(harness)
    async with harness.db.write() as session:
        await add_visit(session, person=found["李娜"], kind="weak", day=harness.clock.now().date(),
                        heard="a road", wants="a road", now=harness.clock.now())
    await harness.send(user(harness, chats, "周杰"), "/spotcheck 1 新村")
    async with harness.db.read() as session:
        [check] = (await session.execute(select(SpotCheck))).scalars()
    assert check.assigned_to == found["吴敏"].id
    return check, harness.emu.sent_to(chats["吴敏"])


async def test_a_checker_moved_into_the_cadres_chain_cannot_confirm_with_the_old_button(harness):
    chats = await bind_everyone(harness)
    check, request = await _spot_check_for_wu(harness, chats)
    await change(harness, 吴敏="黄金埠镇,,township_leader")  # now above 李娜
    wu = user(harness, chats, "吴敏")
    _, message_id = prefixed(request, "spc")
    for code in ("y", "n"):  # the first press takes the old keyboard off
        sent = await harness.press(wu, button(request, f":{code}"), message_id=message_id)
        assert keyboard_dropped(sent) if code == "y" else sent == []
        assert harness.emu.callback_answers[-1].get("text") == STALE_BUTTON
    async with harness.db.read() as session:
        assert (await session.get(SpotCheck, check.id)).status == "pending"
    assert await dialogs(harness, chats["吴敏"]) == 0


async def test_a_checker_moved_into_the_chain_pressing_a_fresh_forged_button_is_refused(harness):
    """The date check aside (a button on a message sent after the move), a township leader
    never verifies a spot check: the role's refusal answers before the handler runs."""
    chats = await bind_everyone(harness)
    check, _ = await _spot_check_for_wu(harness, chats)
    await change(harness, 吴敏="黄金埠镇,,township_leader")
    wu = user(harness, chats, "吴敏")
    await harness.send(wu, "/language")  # a message of after the move
    assert await harness.press(wu, f"spc:{check.id}:y") == []  # not on that message
    assert harness.emu.callback_answers[-1].get("text") == (
        "Spot checks are verified by the supervision groups and the county office only, "
        "never by a cadre's own leaders.")
    async with harness.db.read() as session:
        assert (await session.get(SpotCheck, check.id)).status == "pending"


async def test_nobody_features_their_own_case_after_a_promotion(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    async with harness.db.write() as session:
        case = await case_store.add_case(
            session, person=found["李娜"], kind="model", title="Night school", text="Every week.",
            photos=[], day=harness.clock.now().date(), now=harness.clock.now())
    await change(harness, 李娜=",,office")
    lina = user(harness, chats, "李娜")
    listing = await harness.send(lina, "/cases")
    opened = await harness.press(lina, *prefixed(listing, "mc"))
    assert await harness.press(lina, *prefixed(opened, "mc")) == []
    assert harness.emu.callback_answers[-1].get("text") == (
        "This record is yours: nobody checks or reviews their own work.")
    async with harness.db.read() as session:
        assert (await session.get(type(case), case.id)).status == "submitted"


# --- drafts: the moment of the change, the role, the age -------------------------------------


async def test_a_draft_is_closed_at_the_next_message_after_a_move_and_nothing_is_saved(harness):
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    await harness.send(lina, "/dispute")
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    replies = await harness.send(lina, "a text answer")
    assert texts(replies) == [DISPUTE_CLOSED]
    assert await dialogs(harness, chats["李娜"]) == 0
    # What follows is an ordinary message again, and a new dialog opens normally.
    replies = await harness.send(lina, "/dispute")
    assert not any("changed" in text for text in texts(replies))
    assert await dialogs(harness, chats["李娜"]) == 1


async def test_a_draft_opened_after_a_change_stays_open_whatever_the_importers_clock(harness):
    """The import ran on a machine whose clock is a minute ahead: a draft opened after it is
    of the new authority and goes on (the draft keeps the stamp it was opened under)."""
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    harness.at(harness.clock.now() - dt.timedelta(minutes=1))  # the bot's clock
    await harness.send(lina, "/dispute")
    for answer in ("other", "Two families"):  # typed: the buttons are dated by Telegram
        replies = await harness.send(lina, answer)
        assert replies and not any("changed" in text for text in texts(replies))
    async with harness.db.read() as session:
        [dialog] = (await session.execute(select(Dialog))).scalars()
    assert dialog.step == "people"  # every step kept the stamp the draft was opened under


async def test_back_and_cancel_of_a_closed_draft_say_only_that_it_was_closed(harness):
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    await harness.send(lina, "/dispute")
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    assert texts(await harness.send(lina, "/back")) == [DISPUTE_CLOSED]
    await harness.send(lina, "/dispute")
    assert texts(await harness.send(lina, "/cancel")) == ["Cancelled. Nothing was saved."]


async def test_a_change_that_touches_no_authority_leaves_drafts_and_buttons_alone(harness):
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    replies = await harness.send(lina, "/dispute")
    harness.at(harness.clock.now() + dt.timedelta(minutes=1))
    await harness.import_roster(DEFAULT_ROSTER.replace("李娜,13800138002,department",
                                                       "李娜,13800138002,county"))
    assert (await people(harness))["李娜"].authority_changed_at is None
    replies = await harness.press(lina, *prefixed(replies, "f"))
    assert replies and not any("changed" in text for text in texts(replies))
    async with harness.db.read() as session:
        [dialog] = (await session.execute(select(Dialog))).scalars()
    assert dialog.step == "parties"  # the answer was taken


async def test_a_draft_the_role_no_longer_allows_is_closed_even_without_a_stamp(harness):
    """A change made without the stamp (a hand edit of the database) is still caught: the
    role is re-read at every step."""
    chats = await bind_everyone(harness)
    office = user(harness, chats, "吴敏")
    await harness.send(office, "/broadcast")
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "吴敏").values(
            role="leading_group"))
    replies = await harness.send(office, "A notice")
    assert texts(replies) == ["“broadcast” is not for your role; your unfinished broadcast was "
                              "closed and nothing of it was saved."]
    assert await dialogs(harness, chats["吴敏"]) == 0


async def test_a_draft_of_the_person_the_account_was_bound_to_before_is_closed(harness):
    """An account bound to another person of the roster (an invite code used on a phone that
    served someone else) does not go on with the first person's draft."""
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    await harness.send(lina, "/dispute")
    async with harness.db.write() as session:
        [wang] = (await session.execute(select(Person).where(Person.name == "王芳"))).scalars()
        await bind(session, person=wang, telegram_user_id=chats["李娜"], now=harness.clock.now())
    assert texts(await harness.send(lina, "Two families")) == [
        "This account is now registered to you; the unfinished dispute report left by its "
        "previous holder was closed and nothing of it was saved."]
    assert await dialogs(harness, chats["李娜"]) == 0


async def test_a_privileged_draft_expires_after_the_setting_and_a_cadres_does_not(harness):
    chats = await bind_everyone(harness)
    office, lina = user(harness, chats, "吴敏"), user(harness, chats, "李娜")
    await harness.send(office, "/broadcast")
    await harness.send(lina, "/dispute")
    harness.at(harness.clock.now() + dt.timedelta(hours=23))
    replies = await harness.send(office, "Kept within the day")  # touched: the hours restart
    assert "Who should receive it?" in replies[-1].plain_text
    harness.at(harness.clock.now() + dt.timedelta(hours=24, minutes=1))
    replies = await harness.send(office, "/back")
    assert texts(replies) == ["Your unfinished broadcast was left for more than 24 hours and "
                              "was closed; nothing of it was saved. Send the command again if "
                              "you still need it."]
    assert await dialogs(harness, chats["吴敏"]) == 0
    replies = await harness.press(lina, *prefixed(harness.emu.sent_to(chats["李娜"]), "f"))
    assert await dialogs(harness, chats["李娜"]) == 1  # a cadre's visit draft waits as before


async def test_the_expiry_follows_the_setting(harness):
    chats = await bind_everyone(harness)
    harness.settings.privileged_draft_hours = 2
    office = user(harness, chats, "吴敏")
    await harness.send(office, "/broadcast")
    harness.at(harness.clock.now() + dt.timedelta(hours=2, minutes=1))
    replies = await harness.send(office, "A notice")
    assert "more than 2 hours" in texts(replies)[0]


# --- buttons ---------------------------------------------------------------------------------


async def test_any_button_sent_before_the_change_is_refused_and_one_sent_after_works(harness):
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    before = await harness.send(lina, "/checkin")
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    assert keyboard_dropped(await harness.press(lina, *prefixed(before, "ci")))
    assert harness.emu.callback_answers[-1].get("text") == STALE_BUTTON
    after = await harness.send(lina, "/checkin")
    assert await harness.press(lina, *prefixed(after, "ci")) != []


async def test_a_button_on_an_inaccessible_message_after_a_change_is_refused(harness):
    """Telegram dates an inaccessible message 0: its age is unknown, so it is not trusted."""
    chats = await bind_everyone(harness)
    lina = user(harness, chats, "李娜")
    before = await harness.send(lina, "/checkin")
    data, message_id = prefixed(before, "ci")
    stored = harness.emu.world.messages[(chats["李娜"], message_id)]
    stored.message = {**stored.message, "date": 0}
    assert await harness.press(lina, data, message_id=message_id) != []  # no change: it works
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    assert await harness.press(lina, data, message_id=message_id) == []  # answered: no keyboard
    assert harness.emu.callback_answers[-1].get("text") == STALE_BUTTON


# --- the stamp -------------------------------------------------------------------------------


async def test_a_writer_that_forgets_the_stamp_is_refused(harness):
    await harness.import_roster()
    with pytest.raises(AuthorityNotStamped):
        async with harness.db.write() as session:
            [li] = (await session.execute(select(Person).where(Person.name == "李娜"))).scalars()
            li.village_id = None
    async with harness.db.write() as session:
        [li] = (await session.execute(select(Person).where(Person.name == "李娜"))).scalars()
        assert set_authority(li, village_id=None, now=harness.clock.now()) == ["village_id"]
        assert set_authority(li, role="cadre", now=harness.clock.now()) == []
    assert (await people(harness))["李娜"].authority_changed_at == harness.clock.now()


async def test_the_import_stamps_only_people_whose_role_or_place_changed(harness):
    await harness.import_roster()
    harness.at(harness.clock.now() + dt.timedelta(minutes=1))
    text = roster(张伟="黄金埠镇,新村,cadre", 刘洋="黄金埠镇,新村,team_leader")
    await harness.import_roster(text.replace("陈静,13800138005,ordinary",
                                             "陈静,13800138005,county"))
    found = await people(harness)
    stamped = {name for name, p in found.items() if p.authority_changed_at is not None}
    assert stamped == {"张伟", "刘洋"}  # 陈静's rank changed: no authority in it
    assert found["张伟"].authority_changed_at == harness.clock.now()


async def test_the_sentences_read_as_the_county_writes_in_chinese(harness):
    chats = await bind_everyone(harness, language="zh-hans")
    lina = harness.emu.user(chats["李娜"], language_code="zh-hans")
    before = await harness.send(lina, "/checkin")
    await harness.send(lina, "/dispute")
    await change(harness, 李娜="黄金埠镇,东岗村,cadre")
    assert texts(await harness.send(lina, "两户")) == [
        "您在花名册中的角色、所在乡镇/村或使用权限已于11月28日（周六）10:01调整，您未完成的纠纷上报已关闭，已填写的内容没有保存。如仍需填写，请重新发送命令。"]
    assert keyboard_dropped(await harness.press(lina, *prefixed(before, "ci")))
    assert harness.emu.callback_answers[-1].get("text") == (
        "您在花名册中的角色、所在乡镇/村或使用权限已于11月28日（周六）10:01调整，这个按钮已失效。请重新发送命令。")
