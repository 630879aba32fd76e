"""A village name two townships have (新村 in 黄金埠镇 and in 古埠镇): every command that takes a
place asks which, with a button each that runs the command for that village, and '镇/村' names
one directly (issue 15, item 14)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from scheduler.sender import drain
from storage.models import Person, PlaceQuestion, Village
from storage.scope import AmbiguousPlace, Scope, UnknownPlace, named_place, resolve
from tests.harness import DEFAULT_ROSTER, keyboard_dropped, offered_buttons, texts
from tests.test_schedules import bind_everyone

# A second 新村, in 古埠镇, with its team leader.
ROSTER = DEFAULT_ROSTER + "钱多,13800138010,ordinary,县林业局,古埠镇,新村,team_leader\n"


async def _setup(harness) -> dict[str, int]:
    await harness.import_roster(ROSTER)
    return await bind_everyone(harness)


async def _say(harness, chat_id: int, text: str):
    user = harness.emu.user(chat_id, language_code="en")
    return await harness.send(user, text)


async def _settle(harness) -> None:
    await asyncio.gather(*harness.ctx.tasks)  # the charts of /stats, drawn after the turn
    await drain(harness.ctx, harness.application.bot)


# --- the lookup -------------------------------------------------------------------------------


async def test_a_repeated_village_name_is_ambiguous_and_township_slash_village_names_one(harness):
    await harness.import_roster(ROSTER)
    async with harness.db.read() as session:
        with pytest.raises(AmbiguousPlace) as raised:
            await named_place(session, name="新村")
        assert [label for label, _ in raised.value.candidates] == ["古埠镇/新村", "黄金埠镇/新村"]
        assert {scope.kind for _, scope in raised.value.candidates} == {"village"}
        gubu = raised.value.candidates[0][1]
        for typed in ("古埠镇/新村", "古埠／新村", "古埠镇 / 新", "古埠镇新村", "古埠新村"):
            assert await named_place(session, name=typed) == gubu, typed
        with pytest.raises(UnknownPlace):
            await named_place(session, name="古埠镇/东岗村")  # 东岗村 is 黄金埠镇's
        with pytest.raises(UnknownPlace):
            await named_place(session, name="桃花源/新村")
        # A name only one township has stays plain, as before.
        assert (await named_place(session, name="东岗")).name == "东岗村"


async def test_inside_a_township_leaders_scope_the_name_is_not_ambiguous(harness):
    await harness.import_roster(ROSTER)
    async with harness.db.read() as session:
        leader = (await session.execute(select(Person).where(Person.name == "孙丽"))).scalar_one()
        scope = await resolve(session, person=leader, name="新村")
        village = await session.get(Village, scope.village_id)
        assert village is not None and village.township.name == "黄金埠镇"
        assert await resolve(session, person=leader, name="黄金埠镇/新村") == scope
        county = Scope("county")
        with pytest.raises(AmbiguousPlace):
            await named_place(session, name="新村", within=county)


# --- in chat ----------------------------------------------------------------------------------


async def test_stats_of_a_repeated_village_asks_which_and_the_button_gives_that_villages_figures(
        harness):
    chats = await _setup(harness)
    asked = await _say(harness, chats["周杰"], "/stats 新村 2026-11-24..2026-11-25")
    assert texts(asked) == [
        "2 villages are called “新村”. Tap the one you mean below. "
        "(Next time you can name one directly "
        "as township/village, e.g. 黄金埠镇/新村.)"]
    assert [label for label, _, _ in offered_buttons(asked)] == ["古埠镇/新村", "黄金埠镇/新村"]
    user = harness.emu.user(chats["周杰"], language_code="en")
    before = len(harness.emu.sent_to(user.id))
    await harness.tap(user, asked, "古埠镇/新村")
    await _settle(harness)
    sent = harness.emu.sent_to(user.id)[before:]
    figures = [s.plain_text for s in sent if s.method == "sendMessage"]
    # The period typed with the command is kept; 古埠镇's 新村 has one person, 黄金埠镇's three.
    assert figures[0].splitlines()[:2] == ["Figures · 新村 · 24 – 25 Nov", "Cadres: 1"]
    assert any(r["method"] == "editMessageReplyMarkup" for r in _requests(harness))


def _requests(harness) -> list[dict]:
    return [{"method": r.method, **r.params} for r in harness.emu.requests]


@pytest.mark.parametrize(("name", "command"), [
    ("周杰", "/team"), ("周杰", "/laggards"), ("周杰", "/pairs"), ("周杰", "/problems"),
    ("周杰", "/disputes"), ("周杰", "/winter"), ("周杰", "/rectify"), ("吴敏", "/problems"),
])
async def test_every_command_that_takes_a_place_asks_and_the_button_answers_as_typing_it_would(
        harness, name, command):
    chats = await _setup(harness)
    user = harness.emu.user(chats[name], language_code="en")
    typed = texts(await harness.send(user, f"{command} 古埠镇/新村"))
    asked = await harness.send(user, f"{command} 新村")
    assert "2 villages are called “新村”" in texts(asked)[0]
    pressed = await harness.tap(user, asked, "古埠镇/新村")
    assert pressed[0].method == "editMessageReplyMarkup"  # the question's buttons go
    assert texts(pressed[1:]) == typed
    assert "新村" in typed[0] and "called" not in typed[0]


async def test_the_offices_rectify_mark_asks_which_and_the_button_opens_the_form_for_it(harness):
    chats = await _setup(harness)
    user = harness.emu.user(chats["吴敏"], language_code="en")
    asked = await harness.send(user, "/rectify 新村")
    assert "2 villages are called “新村”" in texts(asked)[-1]
    pressed = await harness.tap(user, asked, "古埠镇/新村")
    # The form skips township and village: it asks what to do with 古埠镇's 新村.
    assert any("新村" in text for text in texts(pressed))
    async with harness.db.read() as session:
        question = (await session.execute(select(PlaceQuestion))).scalar_one()
    assert question.command == "rectify" and question.args == "新村"


async def test_export_of_a_repeated_village_asks_which(harness):
    chats = await _setup(harness)
    user = harness.emu.user(chats["周杰"], language_code="en")
    asked = await harness.send(user, "/export 新村")
    assert "2 villages are called “新村”" in texts(asked)[0]
    pressed = await harness.tap(user, asked, "黄金埠镇/新村")
    assert texts(pressed[1:])[0].startswith("Preparing your export of 新村")
    await _settle(harness)


async def test_a_team_leader_naming_the_other_townships_village_is_refused_not_asked(harness):
    chats = await _setup(harness)
    assert texts(await _say(harness, chats["张伟"], "/stats 古埠镇/新村")) == [
        "“古埠镇/新村” is outside what you can see (新村)."]
    # Their own township has one 新村 (their own): no question.
    [own] = [s for s in await _say(harness, chats["张伟"], "/stats 新村")
             if s.method == "sendMessage"][:1]
    assert own.plain_text.startswith("Figures · 新村")


async def test_a_chinese_leader_is_asked_in_chinese_with_township_slash_village_buttons(harness):
    await harness.import_roster(ROSTER)
    chats = await bind_everyone(harness, language="zh-hans")
    user = harness.emu.user(chats["周杰"], language_code="zh-hans")
    asked = await harness.send(user, "/problems 新村")
    assert texts(asked) == [
        "有 2 个村都叫“新村”，请点下面的按钮选择。"
        "（下次也可以直接写成“乡镇/村”，如“黄金埠镇/新村”。）"]
    assert [label for label, _, _ in offered_buttons(asked)] == ["古埠镇/新村", "黄金埠镇/新村"]


async def test_a_place_button_is_refused_to_another_person_a_forged_village_and_a_lost_role(
        harness):
    chats = await _setup(harness)
    zhou = harness.emu.user(chats["周杰"], language_code="en")
    wu = harness.emu.user(chats["吴敏"], language_code="en")
    asked = await harness.send(zhou, "/problems 新村")
    [(_, data, message_id)] = [b for b in offered_buttons(asked) if b[0] == "古埠镇/新村"]
    question_id = int(data.split(":")[1])
    dongang = await _village_id_named(harness, "东岗村")
    theirs = offered_buttons(await harness.send(wu, "/problems 新村"))[0][2]
    # Another person's question, a village of another name, an unknown question, a bad code.
    for user, forged, on in ((wu, data, theirs), (zhou, f"pl:{question_id}:{dongang}", message_id),
                             (zhou, f"pl:{question_id + 99}:{dongang}", message_id),
                             (zhou, "pl:x:1", message_id)):
        assert texts(await harness.press(user, forged, message_id=on)) == []
        assert harness.emu.callback_answers[-1].get("text") == "This button no longer works."
    # The role is checked again when the button is pressed.
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "周杰").values(role="cadre"))
    replies = await harness.press(zhou, data, message_id=message_id)
    assert keyboard_dropped(replies)  # no problem list: only the old question's buttons taken off
    assert harness.emu.callback_answers[-1].get("text")


async def _village_id_named(harness, name: str) -> int:
    async with harness.db.read() as session:
        return (await session.execute(select(Village.id).where(Village.name == name))).scalar_one()
