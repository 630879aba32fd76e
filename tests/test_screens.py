"""Fewer messages, no dead buttons: what a step of a dialog sends, counted in Bot API requests
as the emulator records them, and /help on one phone screen per role.

A wrong answer is one line and the question waits with nothing lost; the /back · /cancel hint
comes once a dialog; a multi-select press edits its own message; every keyboard goes when its
step is over, and an old button gets a short answer and loses its keyboard.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from common.i18n import translate
from handlers.start import help_text
from storage.models import Dialog, Person
from tests.harness import find_button, texts

# One phone screen: at most 26 lines (a 6-inch phone shows about 28 of Telegram's default size),
# each within one row of a phone held upright (a row holds about 21 Chinese characters, 42
# half-width columns; English, proportional, about 48). The team leader's is the longest.
SCREEN_LINES = 26
ROW_COLUMNS = {"zh": 42, "en": 48}
ROLES = {  # the default roster's people, by role
    "cadre": "13800138002", "team_leader": "13800138001", "township_leader": "13800138007",
    "leading_group": "13800138008", "office": "13800138009",
}


async def step(harness, replies_of):
    """The bot's replies to one step, and the Bot API methods it called for it."""
    start = len(harness.emu.requests)
    replies = await replies_of
    await harness.emu.wait_idle(quiet=0.05)
    return replies, [r.method for r in harness.emu.requests[start:] if r.method != "getUpdates"]


def keyboard_of(harness, user, message_id):
    """The inline keyboard the message carries now (None when it has none)."""
    return harness.emu.world.messages[(user.id, message_id)].inline_keyboard


async def draft(harness, chat_id):
    async with harness.db.read() as session:
        return (await session.execute(select(Dialog).where(Dialog.chat_id == chat_id))
                ).scalar_one_or_none()


async def cadre(harness, language="zh-hans", user_id=8101):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=user_id, language_code=language)


async def to_people(harness, user):
    """A dispute up to its third question (how many people), in Chinese."""
    replies = await harness.send(user, "/dispute")
    replies = await harness.tap(user, replies, suffix=":land")
    return await harness.send(user, "王家和李家")


async def to_card(harness, user):
    """The same dispute answered to its confirm card: what the last answer brought."""
    replies = await to_people(harness, user)
    replies = await harness.send(user, "6")
    replies = await harness.tap(user, replies, suffix=":s:3")
    replies = await harness.send(user, "宅基地边界不清")
    return await harness.tap(user, replies, suffix=":normal")


async def test_a_wrong_answer_is_one_line_and_the_question_waits_with_nothing_lost(harness):
    user = await cadre(harness)
    asked = await to_people(harness, user)
    replies, calls = await step(harness, harness.send(user, "很多"))
    assert calls == ["sendMessage"]  # before: the error, then the whole question again
    [line] = texts(replies)
    assert "\n" not in line and "多少人" not in line  # why, in one line; not the question
    assert replies[0].reply_markup is None
    waiting = await draft(harness, user.id)
    assert waiting.step == "people"
    assert waiting.data["category"] == "land" and waiting.data["parties"] == "王家和李家"
    replies = await harness.send(user, "6")  # the question asked before still takes its answer
    assert "多少人" in asked[-1].plain_text and (await draft(harness, user.id)).data["people"] == 6


async def test_a_typed_answer_at_the_confirm_card_is_one_line_not_the_card_again(harness):
    user = await cadre(harness)
    card = await to_card(harness, user)
    replies, calls = await step(harness, harness.send(user, "好的"))
    assert calls == ["sendMessage"]
    assert texts(replies) == [translate("zh", "form.error.confirm_buttons")]
    assert keyboard_of(harness, user, card[-1].message_id)  # the card still waits


async def test_the_back_cancel_hint_comes_once_a_dialog(harness):
    user = await cadre(harness)
    replies = await harness.send(user, "/dispute")
    shown = list(replies)
    shown += (replies := await harness.tap(user, replies, suffix=":land"))
    shown += (replies := await harness.send(user, "王家和李家"))
    shown += await harness.send(user, "6")
    with_hint = [s for s in shown if s.text and "/cancel" in s.plain_text]
    assert [s.message_id for s in with_hint] == [shown[0].message_id]  # the first question


async def test_multi_select_presses_edit_their_own_message(harness):
    user = await cadre(harness)
    replies = await to_people(harness, user)
    replies = await harness.send(user, "6")
    flags = replies[-1].message_id
    first, first_data, _ = find_button(replies, position=0)
    second, second_data, _ = find_button(replies, position=1)
    for data in (first_data, second_data):
        replies, calls = await step(harness, harness.press(user, data, message_id=flags))
        assert calls == ["answerCallbackQuery", "editMessageReplyMarkup"]  # before: a new message
        assert [s.message_id for s in replies] == [flags]
    marked = [b["text"] for row in keyboard_of(harness, user, flags) for b in row]
    assert f"✓ {first}" in marked and f"✓ {second}" in marked
    replies = await harness.tap(user, replies, suffix=":d:3")
    assert keyboard_of(harness, user, flags) is None  # Done: the picks in words, no buttons
    edited = harness.emu.world.messages[(user.id, flags)].message["text"]
    assert f"→ {first}、{second}" in edited
    assert (await draft(harness, user.id)).step == "description"


async def test_keyboards_go_after_edit_confirm_and_cancel(harness):
    user = await cadre(harness)
    card = (await to_card(harness, user))[-1]
    replies = await harness.tap(user, [card], suffix=":e:1")  # change the parties
    assert keyboard_of(harness, user, card.message_id) is None
    card = (await harness.send(user, "王家和张家"))[-1]
    replies, calls = await step(harness, harness.tap(user, [card], suffix=":x"))
    assert calls == ["answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"]
    assert keyboard_of(harness, user, card.message_id) is None
    assert texts([s for s in replies if not s.is_edit]) == [translate("zh", "form.cancelled")]
    card = (await to_card(harness, user))[-1]
    await harness.tap(user, [card], suffix=":ok")
    assert keyboard_of(harness, user, card.message_id) is None
    live = [mid for (chat, mid), m in harness.emu.world.messages.items()
            if chat == user.id and m.from_bot and m.inline_keyboard]
    assert live == []  # two dialogs answered by buttons, cancelled, saved: no keyboard is left


async def test_an_old_button_after_cancel_gets_a_short_answer_and_loses_its_keyboard(harness):
    user = await cadre(harness)
    replies = await harness.send(user, "/dispute")
    question = replies[-1].message_id
    await harness.send(user, "/cancel")  # typed: the question's buttons are still on screen
    _, data, _ = find_button(replies, position=0)
    answers = len(harness.emu.callback_answers)
    replies, calls = await step(harness, harness.press(user, data, message_id=question))
    assert calls == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert harness.emu.callback_answers[answers]["text"] == translate("zh", "form.stale_button")
    assert keyboard_of(harness, user, question) is None
    assert await draft(harness, user.id) is None  # nothing started again


async def test_a_button_of_a_step_that_is_over_says_so_while_the_dialog_goes_on(harness):
    user = await cadre(harness)
    replies = await harness.send(user, "/visit")
    replies = await harness.tap(user, replies, suffix=":masses")
    for answer in ("王大妈", "路不好走", "修路"):
        replies = await harness.send(user, answer)
    replies = await harness.tap(user, replies, suffix=":no")
    photo_question = replies[-1].message_id  # optional: a Skip button under it
    await harness.roundtrip(user, user.photo())  # answered with a photo instead
    _, skip, _ = find_button(replies, suffix=":s:7")
    answers = len(harness.emu.callback_answers)
    await harness.press(user, skip, message_id=photo_question)
    assert harness.emu.callback_answers[answers]["text"] == translate("zh", "form.step_over")
    assert keyboard_of(harness, user, photo_question) is None
    assert (await draft(harness, user.id)).step == "location"


async def test_the_location_keyboard_goes_with_its_step(harness):
    user = await cadre(harness)
    for skip in (True, False):
        replies = await harness.send(user, "/visit")
        replies = await harness.tap(user, replies, suffix=":masses")
        for answer in ("王大妈", "路不好走", "修路"):
            replies = await harness.send(user, answer)
        replies = await harness.tap(user, replies, suffix=":no")
        replies, calls = await step(harness, harness.tap(user, replies, suffix=":s:7"))
        assert calls == ["answerCallbackQuery", "editMessageText", "sendMessage"]  # before: 2 sent
        keyboard = replies[-1].reply_markup
        assert keyboard["one_time_keyboard"] and [b["text"] for row in keyboard["keyboard"]
                                                  for b in row] == ["📍 发送我的位置", "跳过"]
        if skip:
            replies = await harness.send(user, "跳过")  # the keyboard's Skip, sent as text
        else:
            replies = await harness.roundtrip(user, user.location(28.69, 116.69))
        msgid = "form.location_skipped" if skip else "form.location_received"
        assert replies[0].plain_text == translate("zh", msgid)
        assert replies[0].reply_markup == {"remove_keyboard": True}
        assert "哪天" in replies[-1].plain_text
        await harness.send(user, "/cancel")


async def test_help_fits_one_phone_screen_grouped_in_the_words_of_each_role(harness):
    await harness.import_roster()
    shown = {}
    for number, (role, phone) in enumerate(ROLES.items()):
        for language in ("zh", "en"):
            user = await harness.register(phone, user_id=8200 + 2 * number + (language == "en"),
                                          language_code="zh-hans" if language == "zh" else "en")
            [reply] = await harness.send(user, "/help")
            lines = reply.plain_text.splitlines()
            assert len(lines) <= SCREEN_LINES, (role, language, len(lines))
            wide = [line for line in lines if columns(line) > ROW_COLUMNS[language]]
            assert wide == [], (role, language)
            menu = harness.emu.commands_for({"type": "chat", "chat_id": user.id})
            listed = dict(re.findall(r"^/(\w+) — (.+)$", reply.plain_text, re.M))
            assert listed and all(
                {c["command"]: c["description"] for c in menu}[name] == text
                for name, text in listed.items()), "the menu and /help say the same"
            shown[role, language] = reply.plain_text
            # each role reads a plain text of its own /help (the group titles in bold)
            assert reply.text == help_text(role, language)
            async with harness.db.write() as session:  # free the phone for the next language
                person = (await session.execute(select(Person).where(
                    Person.phone.like(f"%{phone}")))).scalar_one()
                person.telegram_user_id = None
                person.menu_hash = None
    groups = ("日常填报", "查看", "管理")
    cadre_help = shown["cadre", "zh"]
    # the web console is named in the title of what people look up, not on a line of its own
    titles = [line.split("（")[0] for line in cadre_help.splitlines()]
    assert [g for g in groups if g in titles] == ["日常填报", "查看"]
    assert "查看（在网页上看：/console）" in cadre_help.splitlines()
    assert cadre_help.index("日常填报") < cadre_help.index("/checkin") < cadre_help.index("查看")
    assert "/disputes — 我上报的未结纠纷" in cadre_help
    assert "/disputes — 全县未结的纠纷" in shown["office", "zh"]
    assert "/disputes — 本乡镇未结的纠纷" in shown["township_leader", "zh"]
    assert "/team — 本队本周情况" in shown["team_leader", "zh"]
    assert "/team — 某村工作队本周情况" in shown["leading_group", "zh"]
    assert "/final — 审核乡镇工作组的总结" in shown["office", "zh"]
    office = shown["office", "zh"].splitlines()
    assert office.index("管理") < office.index("/rectify — 确定整顿村")
    assert "/disputes — the county's open disputes" in shown["office", "en"]


def columns(line: str) -> int:
    """How wide a line is on a phone: a Chinese character takes two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


async def test_a_short_week_reason_names_the_figure(harness):
    user = await cadre(harness)
    replies = await harness.send(user, "/summary")
    assert "本周在村 0 天，少于规定的 5 天，请说明原因：" in replies[-1].plain_text


async def test_a_cancelled_correction_says_the_submitted_summary_stands(harness):
    user = await cadre(harness)
    replies = await harness.send(user, "/summary")
    for answer in ("请假", "走访 3 户", "路难走", "继续走访"):
        replies = await harness.send(user, answer)
    await harness.tap(user, replies, suffix=":ok")
    await harness.send(user, "/summary")  # the submitted summary, to correct
    replies = await harness.send(user, "/cancel")
    assert texts(replies) == [translate("zh", "summary.correction_cancelled")]


async def test_the_broadcast_card_says_send(harness):
    await harness.import_roster()
    office = await harness.register("13800138009", user_id=8301, language_code="zh-hans")
    await harness.send(office, "/broadcast")
    replies = await harness.send(office, "周一上午九点在县委开会。")
    replies = await harness.tap(office, replies, suffix=":all")
    labels = [label for row in replies[-1].buttons for label, _ in row]
    assert "📤 发送" in labels and not [label for label in labels if "提交" in label]
    assert "确认发送吗" in replies[-1].plain_text
