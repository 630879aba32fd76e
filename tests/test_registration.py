"""Registration, /help and /language, driven through the Bot API emulator."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Person
from tests.harness import texts


async def test_start_asks_an_unregistered_user_for_their_phone_with_a_contact_button(harness):
    await harness.import_roster()
    user = harness.emu.user(5001, language_code="en")
    replies = await harness.send(user, "/start")
    assert len(replies) == 1
    assert "Share my phone number" in replies[0].plain_text
    button = replies[0].reply_markup["keyboard"][0][0]
    assert button["request_contact"] is True


async def test_sharing_an_own_contact_on_the_roster_binds_and_greets_with_village_and_role(harness):
    await harness.import_roster()
    user = harness.emu.user(5002, language_code="zh-hans")
    replies = await harness.contact(user, "+86 138 0013 8002")
    shown = "\n".join(texts(replies))
    assert "注册成功" in shown
    assert "李娜" in shown and "新村" in shown and "黄金埠镇" in shown and "县教育局" in shown
    async with harness.db.read() as session:
        person = (await session.execute(select(Person).where(Person.name == "李娜"))).scalar_one()
    assert person.telegram_user_id == 5002
    menu = harness.emu.commands_for({"type": "chat", "chat_id": 5002})
    commands = [c["command"] for c in menu]  # what a cadre does daily first, general ones last
    assert commands[:4] == ["checkin", "leave", "publicity", "visit"]
    assert commands[-4:] == ["start", "help", "language", "cancel"]


async def test_someone_elses_contact_is_refused_and_binds_nothing(harness):
    await harness.import_roster()
    user = harness.emu.user(5003, language_code="en")
    replies = await harness.contact(user, "13800138002", user_id=7777)
    assert "someone else's contact" in replies[0].plain_text
    async with harness.db.read() as session:
        bound = (await session.execute(select(Person).where(Person.telegram_user_id == 5003))).all()
    assert bound == []


async def test_an_unknown_phone_is_told_to_ask_the_office_or_use_an_invite(harness):
    await harness.import_roster()
    user = harness.emu.user(5004, language_code="en")
    replies = await harness.contact(user, "+8613912345678")
    assert "not on the campaign roster" in replies[0].plain_text
    assert "invite" in replies[0].plain_text


async def test_start_with_an_invite_code_binds_directly(harness):
    await harness.import_roster()
    async with harness.db.read() as session:
        person = (await session.execute(select(Person).where(Person.name == "吴敏"))).scalar_one()
    user = harness.emu.user(5005, language_code="en")
    replies = await harness.send(user, f"/start {person.invite_code}")
    shown = "\n".join(texts(replies))
    assert "You are registered" in shown and "county office" in shown


async def test_a_bad_invite_code_is_refused_with_a_way_forward(harness):
    await harness.import_roster()
    user = harness.emu.user(5006, language_code="en")
    replies = await harness.send(user, "/start NOTACODE")
    assert "not valid" in replies[0].plain_text


async def test_a_sticker_from_an_unregistered_user_gets_the_registration_path(harness):
    await harness.import_roster()
    user = harness.emu.user(5007, language_code="en")
    replies = await harness.roundtrip(user, user.sticker())
    assert "Share my phone number" in replies[0].plain_text


async def test_an_unregistered_user_cannot_use_commands(harness):
    await harness.import_roster()
    user = harness.emu.user(5008, language_code="en")
    for command in ("/help", "/checkin", "/stats", "/language"):
        replies = await harness.send(user, command)
        assert "To register" in replies[0].plain_text


async def test_help_lists_exactly_the_commands_of_each_role(harness):
    await harness.import_roster()
    cadre = await harness.register("13800138002", user_id=6001, language_code="en")
    office = await harness.register("13800138009", user_id=6002, language_code="en")
    cadre_help = (await harness.send(cadre, "/help"))[0].plain_text
    office_help = (await harness.send(office, "/help"))[0].plain_text
    from handlers.registry import commands_for

    def named(name: str, text: str) -> bool:  # on its line, or in a group's title: (… /console)
        return f"/{name} " in text or f"/{name})" in text

    for command in commands_for("cadre"):  # all but /start and /help itself
        assert named(command.name, cadre_help) == (command.name not in ("start", "help"))
    for command in commands_for("office"):
        assert named(command.name, office_help) == (command.name not in ("start", "help"))
    cadre_only = {c.name for c in commands_for("cadre")} - {c.name for c in commands_for("office")}
    for name in cadre_only:
        assert f"/{name} " not in office_help


async def test_language_switches_and_the_menu_follows(harness):
    await harness.import_roster()
    user = await harness.register("13800138003", user_id=6003, language_code="zh-hans")
    replies = await harness.send(user, "/language")
    assert replies[0].buttons
    replies = await harness.press(user, "lang:en")
    assert "English" in replies[0].plain_text
    help_text = (await harness.send(user, "/help"))[0].plain_text
    assert "Daily reporting" in help_text
    menu = harness.emu.commands_for({"type": "chat", "chat_id": 6003})
    assert any(c["description"] == "this list" for c in menu)


async def test_telegram_language_decides_until_the_user_picks_one(harness):
    await harness.import_roster()
    english = await harness.register("13800138004", user_id=6004, language_code="en-GB")
    chinese = await harness.register("13800138005", user_id=6005, language_code="zh-TW")
    assert "Daily reporting" in (await harness.send(english, "/help"))[0].plain_text
    assert "日常填报" in (await harness.send(chinese, "/help"))[0].plain_text


async def test_a_redelivered_start_is_handled_once(harness):
    await harness.import_roster()
    user = harness.emu.user(6006, language_code="en")
    update_id = user.contact(phone="13800138006")
    first = await harness.roundtrip(user, update_id)
    harness.emu.redeliver(update_id)
    second = await harness.roundtrip(user, update_id, times=2)
    assert first and second == []


async def test_a_command_not_for_the_role_is_refused(harness):
    await harness.import_roster()
    office = await harness.register("13800138009", user_id=6007, language_code="en")
    replies = await harness.send(office, "/cancel")
    assert replies  # office may cancel
    replies = await harness.send(office, "/nosuchcommand")
    assert "no such command" in replies[0].plain_text


async def test_starting_the_bot_sets_each_bound_users_menu_once(harness):
    from sqlalchemy import update

    from scheduler.sender import drain

    await harness.import_roster()
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "张伟").values(
            telegram_user_id=6401, telegram_language="en"))
    harness.emu.user(6401, language_code="en")
    await harness.restart()
    await drain(harness.ctx, harness.application.bot)
    menu = harness.emu.commands_for({"type": "chat", "chat_id": 6401})
    assert {c["command"]: c["description"] for c in menu}["help"] == "this list"
    assert "checkin" in [c["command"] for c in menu]
    requests = len(harness.emu.requests)
    await harness.restart()
    await drain(harness.ctx, harness.application.bot)
    assert not [r for r in harness.emu.requests[requests:] if r.method == "setMyCommands"]
