"""What people type and what Telegram counts: characters PostgreSQL cannot store, live
locations, and lengths measured the way Telegram measures them (issue 15, items 9-11)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text, update

from storage import dialogs, outbox
from storage.cases import add_case
from storage.models import Checkin, Dialog, Dispute, OutboxMessage, Person, Visit
from storage.outbox import Outgoing
from storage.storable import storable
from tests.emulator import parse_html, utf16_len
from tests.harness import texts
from tests.test_disputes import _cadre as _dispute_cadre
from tests.test_visits import button

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


# --- 9. characters PostgreSQL cannot store ------------------------------------------------


async def test_a_nul_in_a_visit_answer_is_saved_without_it_and_the_dialog_goes_on(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6901, language_code="en")
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":masses"))
    await harness.send(user, "王大\x00妈")
    replies = await harness.send(user, "路不\x00好走")
    assert "Sorry" not in replies[0].plain_text  # the next question, no apology
    replies = await harness.send(user, "修路\x00")
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.send(user, "Skip")
    replies = await harness.press(user, button(replies, ":2026-11-28"))
    assert "路不好走" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":ok"))
    assert any("Visit recorded" in t for t in texts(replies))
    async with harness.db.read() as session:
        [visit] = (await session.execute(select(Visit))).scalars()
    assert (visit.heard, visit.wants) == ("路不好走", "修路")


async def test_a_nul_in_a_dispute_text_is_saved_without_it(harness):
    user = await _dispute_cadre(harness, user_id=6902, language="zh-hans")
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":land"))
    await harness.send(user, "村民甲与\x00村委会")
    replies = await harness.send(user, "3")
    replies = await harness.press(user, button(replies, ":s:3"))
    replies = await harness.send(user, "补偿款\x00未到位")
    replies = await harness.press(user, button(replies, ":normal"))
    assert "补偿款未到位" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":ok"))
    assert any("已上报纠纷" in t for t in texts(replies))
    async with harness.db.read() as session:
        [dispute] = (await session.execute(select(Dispute))).scalars()
    assert (dispute.parties, dispute.description) == ("村民甲与村委会", "补偿款未到位")


async def test_a_nul_reaching_a_draft_or_an_outbox_payload_is_stored_without_it(database):
    """Below the handlers: JSON documents, ORM columns and Core statements alike."""
    async with database.write() as session:
        await dialogs.open_dialog(
            session, chat_id=5, person_id=None, form="visit", step="heard",
            data={"heard": "路不\x00好走", "k\x00": ["a\x00", {"b": "c\x00"}]}, now=NOW)
        await outbox.enqueue(session, messages=[Outgoing(
            chat_id=5, method="sendMessage", payload={"text": "回执\x00"})], now=NOW)
        await session.execute(update(Dialog).where(Dialog.chat_id == 5).values(step="w\x00"))
        await session.execute(text("UPDATE outbox SET error = :e"), {"e": "refused\x00"})
    async with database.read() as session:
        dialog = await dialogs.get(session, chat_id=5)
        [row] = (await session.execute(select(OutboxMessage))).scalars()
    assert dialog is not None
    assert dialog.data == {"heard": "路不好走", "k": ["a", {"b": "c"}]}
    assert dialog.step == "w"
    assert (row.payload["text"], row.error) == ("回执", "refused")


async def test_a_lone_surrogate_becomes_the_replacement_character_and_a_pair_joins(database):
    async with database.write() as session:
        await dialogs.open_dialog(
            session, chat_id=6, person_id=None, form="visit", step="heard",
            data={"heard": "坏\ud800字", "pair": "\ud83d\ude00"}, now=NOW)
    async with database.read() as session:
        dialog = await dialogs.get(session, chat_id=6)
    assert dialog is not None and dialog.data == {"heard": "坏\ufffd字", "pair": "😀"}


def test_storable_keeps_clean_text_as_the_same_object():
    clean = "城关镇 ok"
    assert storable(clean) is clean
    assert storable("a\x00\x00b\ud800") == "ab\ufffd"


# --- 10. a live location moving ------------------------------------------------------------


def _live_location_id(harness, user) -> int:
    """The message id of the user's newest shared location."""
    return max(message_id for (chat, message_id), stored in harness.emu.world.messages.items()
               if chat == user.id and not stored.from_bot and "location" in stored.message)


async def _checkin_place(harness):
    async with harness.db.read() as session:
        row = (await session.execute(select(Checkin))).scalar_one()
    return row.latitude, row.longitude


async def test_a_moving_live_location_follows_the_checkin_without_a_word(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6911, language_code="en")
    await harness.send(user, "/checkin")
    await harness.press(user, "ci:v")
    replies = await harness.roundtrip(user, user.location(28.69, 116.69, live_period=900))
    assert len(replies) == 1  # the first share is answered once
    live = _live_location_id(harness, user)
    for latitude in (28.70, 28.71, 28.72):
        assert await harness.roundtrip(user, user.move(live, latitude, 116.69)) == []
    assert await _checkin_place(harness) == (28.72, 116.69)


async def test_a_moving_live_location_without_a_checkin_is_ignored_silently(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6912, language_code="en")
    await harness.roundtrip(user, user.location(28.69, 116.69, live_period=900))
    live = _live_location_id(harness, user)
    assert await harness.roundtrip(user, user.move(live, 28.70, 116.70)) == []
    assert await harness.roundtrip(user, user.move(live, 28.71, 116.71)) == []


async def test_a_live_location_answers_a_dialogs_question_once(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6913, language_code="en")
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":masses"))
    for answer in ("王大妈", "路不好走", "修路"):
        replies = await harness.send(user, answer)
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.roundtrip(user, user.location(28.69, 116.69, live_period=900))
    assert "Today · Sat 28 Nov" in [label for row in replies[-1].buttons for label, _ in row]
    live = _live_location_id(harness, user)
    assert await harness.roundtrip(user, user.move(live, 28.80, 116.80)) == []
    replies = await harness.press(user, button(replies, ":2026-11-28"))
    assert "28.69000, 116.69000" in replies[-1].plain_text


# --- 11. lengths as Telegram counts them --------------------------------------------------


async def test_a_case_of_2045_emoji_is_refused_saying_how_long_it_may_be(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6921, language_code="en")
    replies = await harness.send(user, "/case")
    replies = await harness.press(user, button(replies, ":practice"))
    await harness.send(user, "Night school")
    refusal = texts(await harness.send(user, "😀" * 2045))[0]
    assert refusal == ("That is 4090 characters, counting emoji and some rare characters as two "
                       "or more; the limit is 3000. Please shorten it.")
    replies = await harness.send(user, "😀" * 1500)  # 3,000 as Telegram counts: allowed
    assert "photo" in replies[-1].plain_text.lower()


async def test_the_office_features_an_overlong_case_and_its_edit_is_cut_to_fit(harness):
    """A case saved before lengths were counted in UTF-16: the office's view of it is 4,170
    units; the edit that drops its buttons must still be one message Telegram takes."""
    await harness.import_roster()
    async with harness.db.write() as session:
        cadre = (await session.execute(select(Person).where(
            Person.phone.like("%13800138002")))).scalar_one()
        case = await add_case(session, person=cadre, kind="practice", title="Night school",
                              text="😀" * 2045, photos=[], day=dt.date(2026, 11, 28), now=NOW)
    office = await harness.register("13800138009", user_id=6922, language_code="en")
    opened = await harness.tap(office, await harness.send(office, "/cases"),
                               suffix=f"mc:v:{case.id}")
    assert len(opened) == 2  # the view is split; its buttons are on the last part
    replies = await harness.tap(office, opened, suffix=f"mc:f:{case.id}")
    [edit] = [s for s in replies if s.method == "editMessageText"]
    shown = parse_html(edit.text)
    assert utf16_len(shown) <= 4096 and shown.endswith("…")
    assert any("featured" in t for t in texts(replies))
