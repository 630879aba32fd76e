"""The Bot API emulator, exercised through a real python-telegram-bot Bot and Application."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.emulator import BotApiEmulator, Sent, load_spec, parse_html, parse_markdown_v2
from tests.emulator.html import utf16_len

# RetryAfter.retry_after warns about its future type; that is the library's business.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

TOKEN = "123456:TEST-TOKEN"
USER_ID = 1001


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN, bot_username="grassroots_test_bot")
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.api_url, base_file_url=emu.file_url) as client:
        yield client


@pytest.fixture
def user(emu: BotApiEmulator):
    return emu.user(USER_ID, first_name="Li", language_code="zh-hans")


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d or "x", callback_data=d) for d in data]])


# --- the spec ------------------------------------------------------------------------------


def test_spec_is_loaded_once_and_indexed() -> None:
    spec = load_spec()
    assert spec is load_spec()
    assert spec.version.startswith("Bot API")
    assert spec.method("sendmessage") is spec.methods["sendMessage"]
    assert spec.methods["sendMessage"].fields["chat_id"].types == ("Integer", "String")


# --- HTML and MarkdownV2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>bold</b> <strong>s</strong> <i>i</i><em>e</em>", "bold s ie"),
        ("<u>u</u><ins>i</ins><s>s</s><strike>k</strike><del>d</del>", "uiskd"),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy"),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', "link"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ('<pre><code class="language-python">x = 1 &lt; 2</code></pre>', "x = 1 < 2"),
        ("<blockquote expandable>q</blockquote>", "q"),
        ("<b>a <i>b <u>c</u></i></b>", "a b c"),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;", '<>&"AB'),
        ("a > b", "a > b"),
        ("", ""),
    ],
)
def test_parse_html_accepts_telegram_html(html: str, plain: str) -> None:
    assert parse_html(html) == plain


@pytest.mark.parametrize(
    "html",
    ["<b>x", "a < b", "<script>x</script>", "<b>x</i>", "x</b>", "AT&T", "&nbsp;", "&#0;",
     '<span class="x">s</span>', "<a href='x'", "<blockquote><blockquote>q</blockquote>"
     "</blockquote>"],
)
def test_parse_html_rejects_what_telegram_rejects(html: str) -> None:
    with pytest.raises(ValueError):
        parse_html(html)


def test_markdown_v2_requires_escaping() -> None:
    assert parse_markdown_v2(r"*bold* _it_ __u__ ~s~ ||sp|| `c\`` [l](http://x.y/\)) 1\.") == \
        "bold it u s sp c` l 1."
    for bad in ("Hello.", "a-b", "*open", "[x]", "(x)"):
        with pytest.raises(ValueError):
            parse_markdown_v2(bad)


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    assert parse_html(html.escape(text, quote=False)) == text
    assert parse_html(f"<b>{html.escape(text)}</b>") == text


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("汉字") == 2
    assert utf16_len("👍") == 2


# --- sending ------------------------------------------------------------------------------


async def test_get_me(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "grassroots_test_bot", True)
    assert emu.violations == []


async def test_send_message_with_html_and_inline_keyboard(
        emu: BotApiEmulator, bot: Bot, user) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes"),
                                    InlineKeyboardButton("否", callback_data="no")],
                                   [InlineKeyboardButton("Web", url="https://example.com")]])
    message = await bot.send_message(USER_ID, "<b>你好</b>, Li", parse_mode="HTML",
                                     reply_markup=markup)
    second = await bot.send_message(USER_ID, "plain")
    assert (message.message_id, second.message_id) == (1, 2)
    assert message.text == "你好, Li"
    assert message.chat.type == "private" and message.from_user.id == 123456
    assert message.reply_markup == markup
    sent = emu.sent_to(USER_ID)[0]
    assert (sent.method, sent.text, sent.parse_mode) == ("sendMessage", "<b>你好</b>, Li", "HTML")
    assert sent.plain_text == "你好, Li"
    assert sent.buttons == [[("是", "yes"), ("否", "no")], [("Web", None)]]
    assert sent.callback_data("否") == "no"
    assert emu.violations == []


async def test_reply_keyboard_labels(emu: BotApiEmulator, bot: Bot, user) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("Share phone", request_contact=True)],
                                  ["Cancel"]], one_time_keyboard=True)
    await bot.send_message(USER_ID, "Your phone?", reply_markup=markup)
    sent = emu.sent[-1]
    assert sent.keyboard_labels == ["Share phone", "Cancel"]
    assert sent.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert emu.violations == []


async def test_callback_data_over_64_bytes_is_a_violation(emu: BotApiEmulator, bot: Bot,
                                                          user) -> None:
    await bot.send_message(USER_ID, "ok", reply_markup=keyboard("x" * 64))
    assert emu.violations == []
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "too long", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest):  # 22 three-byte characters are 66 bytes
        await bot.send_message(USER_ID, "too long", reply_markup=keyboard("汉" * 22))
    assert len(emu.violations) == 2
    assert "callback_data" in emu.violations[0] and "sendMessage" in emu.violations[0]
    assert len(emu.sent) == 1


async def test_button_style_and_icon_do_not_count_as_actions(emu: BotApiEmulator, bot: Bot,
                                                              user) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go", "style": "success",
                                    "icon_custom_emoji_id": "1"}]]}
    await bot.do_api_request("sendMessage", api_kwargs={
        "chat_id": USER_ID, "text": "x", "reply_markup": markup})
    assert emu.violations == []


@pytest.mark.parametrize(
    "markup",
    [
        {"inline_keyboard": [[{"text": "both", "url": "https://x.y", "callback_data": "a"}]]},
        {"inline_keyboard": [[{"text": "none"}]]},
        {"inline_keyboard": [[{"text": "", "callback_data": "a"}]]},
        {"inline_keyboard": [[{"text": "a", "callback_data": "a", "colour": "red"}]]},
        {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)} for i in range(101)]]},
        {"keyboard": [[{"text": "a", "request_contact": True, "request_location": True}]]},
        {"remove_keyboard": "yes"},
    ],
)
async def test_bad_reply_markup_is_a_violation(emu: BotApiEmulator, bot: Bot, user,
                                               markup: dict) -> None:
    with pytest.raises(BadRequest):
        await bot.do_api_request("sendMessage", api_kwargs={
            "chat_id": USER_ID, "text": "x", "reply_markup": markup})
    assert len(emu.violations) == 1, emu.violations
    assert emu.sent == []


async def test_text_length_limit_counts_utf16_after_parsing(emu: BotApiEmulator, bot: Bot,
                                                             user) -> None:
    await bot.send_message(USER_ID, "x" * 4096)
    await bot.send_message(USER_ID, "👍" * 2048)  # 4096 UTF-16 code units
    await bot.send_message(USER_ID, "<b>" + "x" * 4093 + "</b>&lt;b&gt;", parse_mode="HTML")
    assert emu.violations == []
    for text in ("x" * 4097, "👍" * 2049, "  \n "):
        with pytest.raises(BadRequest):
            await bot.send_message(USER_ID, text)
    assert len(emu.violations) == 3 and all("text" in v for v in emu.violations)
    assert len(emu.sent) == 3


async def test_escaped_entities_are_fine_and_count_as_one_character(
        emu: BotApiEmulator, bot: Bot, user) -> None:
    message = await bot.send_message(USER_ID, "&lt;b&gt;", parse_mode="HTML")
    assert message.text == "<b>"
    assert emu.sent[-1].plain_text == "<b>"
    assert utf16_len(emu.sent[-1].plain_text) == 3
    assert emu.violations == []


@pytest.mark.parametrize("text", ["<b>x", "a < b", "<script>alert(1)</script>", "AT&T"])
async def test_bad_html_is_a_violation(emu: BotApiEmulator, bot: Bot, user, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(USER_ID, text, parse_mode="HTML")
    assert len(emu.violations) == 1 and "can't parse entities" in emu.violations[0]
    assert emu.sent == []


async def test_markdown_v2_unescaped_is_a_violation(emu: BotApiEmulator, bot: Bot,
                                                    user) -> None:
    await bot.send_message(USER_ID, r"*Done*\.", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "Done.", parse_mode="MarkdownV2")
    assert len(emu.violations) == 1 and "reserved" in emu.violations[0]
    assert emu.sent[0].plain_text == "Done."


async def test_unknown_parameter_is_a_violation(emu: BotApiEmulator, bot: Bot, user) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, "hi", api_kwargs={"disable_web_page_preview": True})
    assert emu.violations == [
        "sendMessage(disable_web_page_preview): unknown parameter "
        "'disable_web_page_preview' for sendMessage"]


async def test_missing_and_mistyped_parameters_are_violations(emu: BotApiEmulator,
                                                              bot: Bot, user) -> None:
    with pytest.raises(BadRequest):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": USER_ID})
    with pytest.raises(BadRequest):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": "x1", "text": "t",
                                                            "disable_notification": "maybe"})
    with pytest.raises(BadRequest):
        await bot.do_api_request("getUpdates", api_kwargs={"limit": 101})
    assert [v.split(":")[0] for v in emu.violations] == [
        "sendMessage(text)", "sendMessage(disable_notification)", "getUpdates(limit)"]


async def test_unknown_method_is_404_and_a_violation(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert emu.requests[-1].status == 404
    assert emu.violations == ["sendTelepathy: method not in the Bot API spec"]


async def test_other_spec_methods_are_validated_and_accepted(emu: BotApiEmulator, bot: Bot,
                                                             user) -> None:
    await bot.send_chat_action(USER_ID, "typing")
    await bot.set_chat_menu_button(USER_ID)
    assert await bot.set_my_description("A bot", language_code="zh")
    location = await bot.send_location(USER_ID, latitude=30.5, longitude=114.3)
    assert location.message_id == 1 and emu.sent[-1].method == "sendLocation"
    assert (await bot.get_chat(USER_ID)).first_name == "Li"
    album = await bot.send_media_group(USER_ID, [InputMediaPhoto(b"\xff\xd8a", caption="1"),
                                                 InputMediaPhoto(b"\xff\xd8b")])
    assert [m.caption for m in album] == ["1", None]
    assert emu.violations == []


async def test_unknown_chat_is_chat_not_found(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello?")
    assert emu.violations == [] and emu.sent == []


# --- edits and callback queries -----------------------------------------------------------


async def test_edits_and_their_errors(emu: BotApiEmulator, bot: Bot, user) -> None:
    message = await bot.send_message(USER_ID, "Pick", reply_markup=keyboard("a", "b"))
    edited = await bot.edit_message_text("<i>Picked</i>", USER_ID, message.message_id,
                                         parse_mode="HTML")
    assert edited.text == "Picked" and edited.reply_markup is None  # no markup: keyboard gone
    await bot.edit_message_reply_markup(USER_ID, message.message_id, reply_markup=keyboard("c"))
    assert [s.method for s in emu.sent] == ["sendMessage", "editMessageText",
                                            "editMessageReplyMarkup"]
    assert emu.sent[-1].plain_text == "Picked" and emu.sent[-1].buttons == [[("c", "c")]]
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(USER_ID, message.message_id,
                                            reply_markup=keyboard("c"))
    assert emu.violations == []  # "not modified" is a runtime answer, not a bot bug
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER_ID, 99)
    assert emu.violations == ["editMessageText(message_id): message 99 was never sent in chat "
                              "1001"]


async def test_callback_queries(emu: BotApiEmulator, bot: Bot, user) -> None:
    await bot.send_message(USER_ID, "first", reply_markup=keyboard("1"))
    await bot.send_message(USER_ID, "second", reply_markup=keyboard("2"))
    await bot.send_message(USER_ID, "no keyboard")
    user.press("2")
    user.press("1", message_id=1)
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates]
    assert [(q.data, q.message.text, q.from_user.id) for q in queries] == [
        ("2", "second", USER_ID), ("1", "first", USER_ID)]
    assert queries[0].message.from_user.id == 123456
    await queries[0].answer("Saved")
    assert emu.callback_answers == [{"callback_query_id": queries[0].id, "text": "Saved"}]
    with pytest.raises(BadRequest):
        await queries[0].answer()
    with pytest.raises(BadRequest):
        await bot.answer_callback_query("12345")
    with pytest.raises(BadRequest):
        await queries[1].answer("x" * 201)
    assert len(emu.violations) == 3
    assert "already answered" in emu.violations[0] and "never issued" in emu.violations[1]
    with pytest.raises(LookupError):
        user.press("9", strict=True)


# --- files --------------------------------------------------------------------------------


async def test_send_document_multipart_upload_is_recorded(emu: BotApiEmulator, bot: Bot,
                                                          user) -> None:
    content = "名字,电话\n李,138\n".encode()
    message = await bot.send_document(USER_ID, content, filename="report.csv",
                                      caption="<b>Report</b>", parse_mode="HTML")
    assert message.document.file_name == "report.csv" and message.caption == "Report"
    assert [(c, f, b) for c, f, b, _ in emu.documents] == [(USER_ID, "report.csv", content)]
    assert emu.sent[-1].method == "sendDocument" and emu.sent[-1].plain_text == "Report"
    again = await bot.send_document(USER_ID, message.document.file_id)  # by file_id
    photo = await bot.send_photo(USER_ID, b"\xff\xd8fake-jpeg", caption="p")
    assert again.document.file_id == message.document.file_id
    assert photo.photo[-1].width == 800 and len(emu.documents) == 2
    downloaded = await (await bot.get_file(message.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == content
    with pytest.raises(BadRequest):
        await bot.send_document(USER_ID, b"x" * 10, caption="c" * 1025)
    assert emu.violations == ["sendDocument(caption): caption must be 0-1024 characters, got 1025"]


async def test_get_file_and_download_a_user_document(emu: BotApiEmulator, bot: Bot,
                                                     user) -> None:
    user.document("cadres.csv", b"name,phone\nLi,138\n", caption="list")
    (update,) = await bot.get_updates()
    document = update.message.document
    assert (document.file_name, document.mime_type, update.message.caption) == (
        "cadres.csv", "text/csv", "list")
    file = await bot.get_file(document.file_id)
    assert file.file_path.startswith(emu.file_url)
    assert bytes(await file.download_as_bytearray()) == b"name,phone\nLi,138\n"
    with pytest.raises(BadRequest):
        await bot.get_file("no-such-file")
    assert emu.violations == ["getFile(file_id): invalid file_id"]


# --- updates ------------------------------------------------------------------------------


async def test_get_updates_long_poll_returns_a_pushed_update_and_offset_confirms(
        emu: BotApiEmulator, bot: Bot, user) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    update_id = user.send("/start abc")
    (update,) = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5  # woke on the push, not at the timeout
    assert update.update_id == update_id
    assert update.message.text == "/start abc"
    assert update.message.entities[0].type == "bot_command"
    assert (update.message.entities[0].offset, update.message.entities[0].length) == (0, 6)
    assert update.message.from_user.language_code == "zh-hans"
    assert [u.update_id for u in await bot.get_updates()] == [update_id]  # not confirmed yet
    assert await bot.get_updates(offset=update_id + 1) == ()
    assert emu.updates.pending == []
    assert emu.violations == []


async def test_get_updates_limit_and_negative_offset(emu: BotApiEmulator, bot: Bot,
                                                     user) -> None:
    ids = [user.send(f"m{i}") for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[-1:]


async def test_allowed_updates_filters_and_a_second_poller_conflicts(
        emu: BotApiEmulator, bot: Bot, user) -> None:
    await bot.send_message(USER_ID, "pick", reply_markup=keyboard("a"))
    user.press("a")
    kept = user.send("text")
    assert [u.update_id for u in await bot.get_updates(allowed_updates=["message"])] == [kept]
    first = asyncio.create_task(bot.get_updates(offset=kept + 1, timeout=5))
    await asyncio.sleep(0.1)
    async with Bot(TOKEN, base_url=emu.api_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(offset=kept + 1, timeout=1))
        with pytest.raises(Conflict):
            await asyncio.wait_for(first, 2)
        later = user.send("later")
        assert [u.update_id for u in await asyncio.wait_for(second, 2)] == [later]


async def test_redeliver_sends_the_same_update_id_again(emu: BotApiEmulator, bot: Bot,
                                                        user) -> None:
    update_id = user.send("hello")
    (first,) = await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == ()
    emu.redeliver(update_id)
    (again,) = await bot.get_updates(offset=update_id + 1)
    assert again.update_id == update_id and again.message.text == first.message.text
    assert await bot.get_updates(offset=update_id + 1) == ()


async def test_user_actions_become_updates(emu: BotApiEmulator, bot: Bot, user) -> None:
    user.contact("+8613800138000")
    user.contact("+8613900139000", user_id=0)
    user.location(30.5, 114.3)
    user.sticker()
    user.photo()
    message_update = user.send("typo")
    user.edited("fixed", message_id=6)
    emu.group_message(-100123, user, "/report@grassroots_test_bot now")
    updates = await bot.get_updates()
    assert len(updates) == 8 and message_update == updates[5].update_id
    assert updates[0].message.contact.user_id == USER_ID
    assert updates[1].message.contact.user_id is None
    assert updates[2].message.location.latitude == 30.5
    assert updates[3].message.sticker.emoji == "👍"
    assert updates[4].message.photo[-1].file_size > 0
    assert updates[6].edited_message.text == "fixed"
    group = updates[7].message
    assert (group.chat.id, group.chat.type, group.from_user.id) == (-100123, "supergroup",
                                                                    USER_ID)
    assert group.entities[0].length == len("/report@grassroots_test_bot")


# --- rate limits and faults ---------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(emu: BotApiEmulator, bot: Bot,
                                                       user) -> None:
    emu.rate_limit(per_chat_per_sec=1, retry_after=1)
    for i in range(3):  # the burst allowance
        await bot.send_message(USER_ID, f"m{i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER_ID, "one too many")
    assert caught.value.retry_after == 1
    assert emu.count_429 == 1 and emu.requests[-1].status == 429
    assert [s.text for s in emu.sent] == ["m0", "m1", "m2"]
    assert emu.violations == []


async def test_global_and_group_rate_limits(emu: BotApiEmulator, bot: Bot) -> None:
    emu.rate_limit(global_per_sec=5, group_per_min=3)
    for chat in range(2001, 2006):
        emu.user(chat)
        await bot.send_message(chat, "hi")
    with pytest.raises(RetryAfter):
        await bot.send_message(2001, "sixth in a second")
    emu.rate_limit(global_per_sec=100, group_per_min=3)
    emu.group_message(-500, emu.user(2001), "hello")
    for _ in range(3):
        await bot.send_message(-500, "group")
    with pytest.raises(RetryAfter):
        await bot.send_message(-500, "fourth in a minute")
    assert emu.count_429 == 2


async def test_paid_broadcasts_have_a_budget_of_their_own_and_cost_stars(
        emu: BotApiEmulator, bot: Bot) -> None:
    emu.rate_limit(global_per_sec=5, paid_per_sec=20)
    emu.stars(2.5)  # 25 paid sends
    for chat in range(3001, 3031):
        emu.user(chat)
    for chat in range(3001, 3021):  # 20 in a second: four times the free rate, no 429
        await bot.send_message(chat, "paid", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):  # the paid lane's own second is full
        await bot.send_message(3021, "21st paid", allow_paid_broadcast=True)
    for chat in range(3021, 3026):  # the free second was left untouched: 5 go
        await bot.send_message(chat, "free")
    with pytest.raises(RetryAfter):  # and a sixth without the flag is refused as before
        await bot.send_message(3026, "sixth free")
    assert (emu.count_paid, emu.star_tenths, emu.count_429) == (20, 5, 2)
    await asyncio.sleep(1.0)
    for _ in range(3):  # a chat's burst, then its pace holds on the paid lane too
        await bot.send_message(3001, "again", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await bot.send_message(3001, "once too often", allow_paid_broadcast=True)
    for chat in (3027, 3028):
        await bot.send_message(chat, "paid", allow_paid_broadcast=True)
    with pytest.raises(BadRequest, match=r"(?i)balance_too_low"):  # 25 paid: no Stars left
        await bot.send_message(3029, "paid", allow_paid_broadcast=True)
    await bot.send_message(3029, "free")
    assert (emu.count_paid, emu.star_tenths, emu.count_429) == (25, 0, 3)
    assert emu.violations == []


async def run_sends(emu: BotApiEmulator, count: int) -> list[bool]:
    """Send `count` messages; which ones got through?"""
    outcomes = []
    async with Bot(TOKEN, base_url=emu.api_url, base_file_url=emu.file_url) as client:
        for i in range(count):
            try:
                await client.send_message(USER_ID, f"m{i}")
                outcomes.append(True)
            except NetworkError:
                outcomes.append(False)
    return outcomes


async def test_fail_rate_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        async with BotApiEmulator(token=TOKEN) as emulator:
            emulator.user(USER_ID)
            emulator.fail_rate(status=502, fraction=0.3, methods={"sendMessage"}, seed=7)
            runs.append((await run_sends(emulator, 30), emulator))
    (first, emu_a), (second, _) = runs
    assert first == second
    assert 0 < first.count(False) < 30
    assert len(emu_a.sent) == first.count(True)  # failed sends were not delivered
    assert emu_a.violations == []


async def test_fail_next_blocked_and_down(emu: BotApiEmulator, bot: Bot, user) -> None:
    emu.fail_next("sendMessage", 429, count=1, retry_after=3)
    emu.fail_next("sendMessage", 500)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "a")
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "b")
    emu.blocked_by(USER_ID)
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(USER_ID, "c")
    emu.unblocked_by(USER_ID)
    emu.down()
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "d")
    emu.up()
    await bot.send_message(USER_ID, "e")
    assert [s.text for s in emu.sent] == ["e"]
    assert emu.count_429 == 1 and emu.violations == []


async def test_down_releases_a_pending_long_poll(emu: BotApiEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    emu.down()
    with pytest.raises(NetworkError):
        await asyncio.wait_for(poll, 2)


# --- commands and request encodings -------------------------------------------------------


async def test_set_my_commands_per_scope_and_language(emu: BotApiEmulator, bot: Bot) -> None:
    commands = [BotCommand("start", "开始"), BotCommand("report", "上报")]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(USER_ID), language_code="zh")
    await bot.set_my_commands([BotCommand("help", "Help")])
    assert emu.commands_for({"type": "chat", "chat_id": USER_ID}, "zh") == [
        {"command": "start", "description": "开始"}, {"command": "report", "description": "上报"}]
    assert emu.commands_for({"type": "default"}) == [{"command": "help", "description": "Help"}]
    assert emu.commands_for(None) == emu.commands_for({"type": "default"})
    got = await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID), language_code="zh")
    assert [c.command for c in got] == ["start", "report"]
    assert emu.violations == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Start", "x")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("start", "x")], language_code="zh-hans")
    with pytest.raises(BadRequest):
        await bot.do_api_request("setMyCommands", api_kwargs={
            "commands": [{"command": "a", "description": "b"}], "scope": {"type": "galaxy"}})
    assert len(emu.violations) == 3


async def test_json_and_urlencoded_bodies(emu: BotApiEmulator, user) -> None:
    url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    async with httpx.AsyncClient() as client:
        as_json = await client.post(url, json={"chat_id": USER_ID, "text": "j",
                                               "reply_markup": markup})
        as_form = await client.post(url, data={"chat_id": str(USER_ID), "text": "f",
                                               "disable_notification": "true"})
        bad_json = await client.post(url, content=b"{not json",
                                     headers={"content-type": "application/json"})
        wrong_token = await client.post(f"{emu.base_url}/bot1:WRONG/getMe")
    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_form.json()["ok"] is True
    assert emu.requests[1].params == {"chat_id": USER_ID, "text": "f",
                                      "disable_notification": True}
    assert (bad_json.status_code, wrong_token.status_code) == (400, 401)
    assert len(emu.violations) == 2


# --- a whole Application ------------------------------------------------------------------


async def test_application_round_trip(emu: BotApiEmulator, user) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("echo: " + " ".join(context.args or []))

    application = (ApplicationBuilder().token(TOKEN).base_url(emu.api_url)
                   .base_file_url(emu.file_url).build())
    application.add_handler(CommandHandler("echo", echo))
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        user.send("/echo hello 世界")
        (reply,) = await emu.wait_sent(USER_ID)
        await emu.wait_idle(quiet=0.1)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert isinstance(reply, Sent) and reply.text == "echo: hello 世界"
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= {
        r.method for r in emu.requests}
    assert emu.updates.pending == []  # the shutdown confirmed the update
    assert emu.violations == []
