"""/aid transcripts: condolence visits, donations, labour export, projects and pairing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage.aid import aid_totals
from storage.models import Aid, Household, Pairing, Person
from tests.emulator import Sent
from tests.harness import texts


@pytest.fixture
def settings(settings):
    """Replies paced for tests: the emulator does not rate-limit, and 1/s per chat is slow."""
    return settings.model_copy(update={"outbox_per_chat_per_second": 50.0})


def last_with_buttons(replies: list[Sent]) -> Sent:
    """The last message that carries inline buttons."""
    return [r for r in replies if r.buttons][-1]


async def tap(harness, user, replies: list[Sent], label: str) -> list[Sent]:
    """Tap the button with this label in the last keyboard of `replies`."""
    return await harness.press(user, last_with_buttons(replies).callback_data(label))


async def aid_rows(harness) -> list[Aid]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Aid).order_by(Aid.id))).scalars())


async def person(harness, name: str) -> Person:
    async with harness.db.read() as session:
        return (await session.execute(select(Person).where(Person.name == name))).scalar_one()


async def start_condolence(harness, user) -> list[Sent]:
    replies = await harness.send(user, "/aid")
    replies = await tap(harness, user, replies, "condolence")
    replies = await harness.send(user, "张三家")
    return await tap(harness, user, replies, "Spring Festival")


async def test_a_condolence_below_the_minimum_names_it_and_asks_again_then_saves_with_snapshot(
    harness,
):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6101, language_code="en")
    replies = await harness.send(user, "/aid")
    assert "0 of your quota of 2" in replies[0].plain_text
    replies = await tap(harness, user, replies, "condolence")
    assert "Which household" in replies[-1].plain_text
    replies = await harness.send(user, "张三家")
    replies = await tap(harness, user, replies, "Spring Festival")
    assert "How much" in replies[-1].plain_text
    replies = await harness.send(user, "150")
    shown = "\n".join(texts(replies))
    assert "at least ¥200 per household" in shown and len(replies) == 1  # the question waits
    replies = await harness.send(user, "250.5")
    confirm = replies[-1].plain_text
    assert "张三家" in confirm and "Spring Festival" in confirm and "¥250.50" in confirm
    replies = await tap(harness, user, replies, "Save")
    assert "Saved" in "\n".join(texts(replies))
    [row] = await aid_rows(harness)
    cadre = await person(harness, "李娜")
    assert (row.kind, row.holiday) == ("condolence", "spring_festival")
    assert row.amount == Decimal("250.50")
    assert (row.village_id, row.township_id, row.unit_id) == (
        cadre.village_id, cadre.township_id, cadre.unit_id)
    assert row.person_id == cadre.id and row.day == dt.date(2026, 11, 28)
    async with harness.db.read() as session:
        household = await session.get(Household, row.household_id)
    assert household.name == "张三家" and household.village_id == cadre.village_id


async def test_a_chinese_numeral_amount_is_accepted_and_three_decimals_are_refused(harness):
    await harness.import_roster()
    user = await harness.register("13800138003", user_id=6102, language_code="zh-hans")
    replies = await harness.send(user, "/aid")
    replies = await tap(harness, user, replies, "节日走访慰问")
    replies = await harness.send(user, "李四家")
    replies = await tap(harness, user, replies, "元旦")
    replies = await harness.send(user, "300.125")
    assert "最多两位小数" in "\n".join(texts(replies))
    replies = await harness.send(user, "三百")
    assert "300 元" in replies[-1].plain_text
    replies = await tap(harness, user, replies, "提交")
    assert "已保存" in "\n".join(texts(replies))
    [row] = await aid_rows(harness)
    assert row.amount == Decimal("300.00") and row.holiday == "new_year"


async def test_donation_labour_and_project_are_saved_and_totalled_by_sql(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6103, language_code="en")
    dialogs = [
        ("Donation", ["2 computers", "5000"]),
        ("Labour", ["3", "Ningbo textile mill"]),
        ("Project", ["Greenhouses", "三万"]),
    ]
    for kind, answers in dialogs:
        replies = await tap(harness, user, await harness.send(user, "/aid"), kind)
        for answer in answers:
            replies = await harness.send(user, answer)
            if answer == "Greenhouses":  # the project's type is asked with buttons
                replies = await tap(harness, user, replies, "Farming")
        await tap(harness, user, replies, "Save")
    rows = await aid_rows(harness)
    assert [r.kind for r in rows] == ["donation", "labour", "project"]
    assert rows[0].items == "2 computers" and rows[1].destination == "Ningbo textile mill"
    assert rows[2].project_name == "Greenhouses" and rows[2].amount == Decimal("30000.00")
    assert rows[2].project_type == "farming"
    cadre = await person(harness, "李娜")
    async with harness.db.read() as session:
        totals = await aid_totals(session, village_ids=[cadre.village_id],
                                  start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 29))
        elsewhere = await aid_totals(session, township_id=cadre.township_id + 100,
                                     start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 29))
    assert totals["count"] == 3 and totals["donation_value"] == Decimal("5000.00")
    assert totals["labour_people"] == 3 and totals["project_funds"] == Decimal("30000.00")
    assert totals["condolence_count"] == 0 and elsewhere["count"] == 0


async def test_back_goes_to_the_previous_question_and_cancel_saves_nothing(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6104, language_code="en")
    replies = await tap(harness, user, await harness.send(user, "/aid"), "Labour")
    replies = await harness.send(user, "0")
    assert "smallest value allowed is 1" in "\n".join(texts(replies))
    replies = await harness.send(user, "4")
    assert "Where to" in replies[-1].plain_text
    replies = await harness.send(user, "/back")
    assert "How many villagers" in replies[-1].plain_text
    replies = await harness.send(user, "/cancel")
    assert "Nothing was saved" in replies[-1].plain_text
    assert await aid_rows(harness) == []


async def test_an_edit_from_the_confirm_screen_replaces_the_answer_and_a_double_save_stores_once(
    harness,
):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6105, language_code="en")
    replies = await start_condolence(harness, user)
    replies = await harness.send(user, "200")
    replies = await tap(harness, user, replies, "Amount")
    assert "How much" in replies[-1].plain_text
    replies = await harness.send(user, "400")
    assert "¥400" in replies[-1].plain_text
    card = last_with_buttons(replies)
    save = card.callback_data("Save")
    await harness.press(user, save, message_id=card.message_id)
    await harness.press(user, save, message_id=card.message_id)  # the card, its buttons gone
    [row] = await aid_rows(harness)
    assert row.amount == Decimal("400.00")
    assert any("finished dialog" in (a.get("text") or "") for a in harness.emu.callback_answers)


async def test_a_button_from_a_finished_dialog_changes_nothing(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6106, language_code="en")
    first = await harness.send(user, "/aid")
    await harness.send(user, "/cancel")
    replies = await tap(harness, user, first, "Project")
    assert not any("project called" in t for t in texts(replies))
    assert any("finished dialog" in (a.get("text") or "") for a in harness.emu.callback_answers)


async def test_a_dialog_survives_a_restart_of_the_bot(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6107, language_code="en")
    replies = await tap(harness, user, await harness.send(user, "/aid"), "Donation")
    await harness.restart()
    replies = await harness.send(user, "Books for the library")
    assert "worth" in replies[-1].plain_text
    replies = await harness.send(user, "800")
    await tap(harness, user, replies, "Save")
    [row] = await aid_rows(harness)
    assert row.items == "Books for the library" and row.amount == Decimal("800.00")


async def test_pairing_adds_a_village_household_shows_the_quota_and_offers_it_for_condolence(
    harness,
):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6108, language_code="en")
    replies = await tap(harness, user, await harness.send(user, "/aid"), "Pair")
    replies = await harness.send(user, "王五家")
    assert "0 of your quota of 2" in replies[-1].plain_text
    replies = await tap(harness, user, replies, "Save")
    shown = "\n".join(texts(replies))
    assert "paired with 王五家" in shown and "1 of your quota of 2" in shown
    # Pairing beyond the quota is allowed; the count shows it.
    for name in ("赵六家", "钱七家"):
        replies = await tap(harness, user, await harness.send(user, "/aid"), "Pair")
        await tap(harness, user, await harness.send(user, name), "Save")
    replies = await harness.send(user, "/aid")
    assert "3 of your quota of 2" in replies[0].plain_text
    replies = await tap(harness, user, replies, "condolence")
    replies = await tap(harness, user, replies, "王五家")
    replies = await tap(harness, user, replies, "New Year")
    await tap(harness, user, await harness.send(user, "200"), "Save")
    [row] = await aid_rows(harness)
    async with harness.db.read() as session:
        pairs = (await session.execute(select(func.count(Pairing.id)))).scalar_one()
        household = await session.get(Household, row.household_id)
    assert pairs == 3 and household.name == "王五家"
