"""/visit through the emulator: the eight visits, the household list, the problem ledger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.households import add_household
from storage.models import Dialog, Household, Pairing, Person, Problem, Visit
from storage.visits import visits_by_kind
from tests.harness import texts

LONG = "x" * 1001


def button(replies, suffix):
    """The callback_data of the newest offered button whose data ends with `suffix`."""
    for sent in reversed(replies):
        for row in sent.buttons:
            for _label, data in row:
                if data and data.endswith(suffix):
                    return data
    raise AssertionError(f"no button ending {suffix!r} in {[s.buttons for s in replies]}")


async def _cadre(harness, language="en", user_id=6201):
    await harness.import_roster()
    return await harness.register("13800138002", user_id=user_id, language_code=language)


async def _person(harness, phone="13800138002"):
    async with harness.db.read() as session:
        found = await session.execute(select(Person).where(Person.phone.like(f"%{phone}")))
        return found.scalar_one()


async def _visits(harness):
    async with harness.db.read() as session:
        return list((await session.execute(select(Visit).order_by(Visit.id))).scalars())


async def _to_confirm(harness, user, kind="masses"):
    """Answer every question of a visit to `kind` quickly; returns the confirm screen."""
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, f":{kind}"))
    replies = await harness.send(user, "王大妈")
    replies = await harness.send(user, "路不好走")
    replies = await harness.send(user, "修路")
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))  # skip the photo
    replies = await harness.send(user, "Skip")  # the location keyboard's Skip
    return await harness.press(user, button(replies, ":2026-11-28"))


async def test_a_visit_to_the_weak_with_followup_enters_the_problem_ledger(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    assert "Which of the eight visits" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":weak"))
    replies = await harness.press(user, button(replies, ":ill"))
    assert "Which household" in replies[-1].plain_text
    replies = await harness.send(user, "李大爷")
    replies = await harness.send(user, "Needs medicine every month")
    replies = await harness.send(user, "A cheaper clinic")
    replies = await harness.press(user, button(replies, ":yes"))
    replies = await harness.press(user, button(replies, ":health"))
    replies = await harness.roundtrip(user, user.photo())
    replies = await harness.roundtrip(user, user.location(28.69, 116.69))
    assert [label for row in replies[-1].buttons for label, _ in row] == [
        "Today · Sat 28 Nov", "Yesterday · Fri 27 Nov"]
    replies = await harness.press(user, button(replies, ":2026-11-27"))
    confirm = replies[-1].plain_text
    assert "Seriously ill" in confirm and "李大爷" in confirm and "Fri 27 Nov" in confirm
    replies = await harness.press(user, button(replies, ":ok"))
    assert any("Visit recorded: The weak (difficulties), Fri 27 Nov" in t for t in texts(replies))
    assert any("problem ledger" in t for t in texts(replies))
    [visit] = await _visits(harness)
    person = await _person(harness)
    assert (visit.village_id, visit.township_id, visit.unit_id, visit.person_id) == (
        person.village_id, person.township_id, person.unit_id, person.id)
    assert (visit.kind, visit.household_category, visit.day, visit.followup) == (
        "weak", "ill", dt.date(2026, 11, 27), True)
    assert visit.photo_file_id and round(visit.latitude, 2) == 28.69
    async with harness.db.read() as session:
        household = await session.get(Household, visit.household_id)
        [problem] = (await session.execute(select(Problem))).scalars()
        by_kind = await visits_by_kind(session, village_ids=[person.village_id],
                                       start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 29))
    assert (household.name, household.village_id, household.category) == (
        "李大爷", person.village_id, "ill")
    assert (problem.category, problem.status, problem.visit_id) == ("health", "raised", visit.id)
    assert by_kind == {"weak": 1}


async def test_paired_households_are_offered_first_and_a_typed_date_is_checked(harness):
    user = await _cadre(harness, language="zh-hans")
    person = await _person(harness)
    async with harness.db.write() as session:
        now = harness.clock.now()
        await add_household(session, village_id=person.village_id, name="阿大", created_by=None,
                            now=now)
        paired = await add_household(session, village_id=person.village_id, name="张三",
                                     created_by=None, now=now)
        session.add(Pairing(person_id=person.id, household_id=paired.id, created_at=now))
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":masses"))
    assert [label for row in replies[-1].buttons for label, _ in row][:2] == ["张三", "阿大"]
    replies = await harness.press(user, button(replies, f":h{paired.id}"))
    replies = await harness.send(user, LONG)
    assert "1001" in replies[0].plain_text and "1000" in replies[0].plain_text
    await harness.send(user, "想修路")
    replies = await harness.send(user, "修村道")
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.send(user, "跳过")  # the location keyboard's Skip
    assert "哪天走访" in replies[-1].plain_text
    assert "还没到" in (await harness.send(user, "2026-12-01"))[0].plain_text
    assert "早于活动开始的11月23日（周一）" in (await harness.send(user, "11-20"))[0].plain_text
    assert (await harness.send(user, "不知道"))[0].plain_text == (
        "请输入今天或以前的日期，如“昨天”或“11月26日”。")
    replies = await harness.send(user, "11月26日")
    assert "11月26日（周四）" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert (visit.household_id, visit.day, visit.followup) == (
        paired.id, dt.date(2026, 11, 26), False)


async def test_back_asks_the_previous_question_again(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":old"))
    await harness.send(user, "老支书")
    replies = await harness.send(user, "/back")
    assert texts(replies) == [texts(replies)[0]] and "Which household" in texts(replies)[0]
    replies = await harness.send(user, "老会计")
    assert "What did you hear" in replies[-1].plain_text


async def test_cancel_leaves_the_dialog_and_saves_nothing(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":weak"))
    assert "seven households" in replies[-1].plain_text
    replies = await harness.send(user, "/cancel")
    assert "Nothing was saved" in replies[0].plain_text
    assert await _visits(harness) == []
    async with harness.db.read() as session:
        assert (await session.execute(select(Dialog))).first() is None


async def test_a_field_is_edited_from_the_confirm_screen(harness):
    user = await _cadre(harness)
    replies = await _to_confirm(harness, user)
    replies = await harness.press(user, button(replies, ":e:3"))  # what was heard
    assert "What did you hear" in replies[-1].plain_text
    replies = await harness.send(user, "The bridge is broken")
    assert "The bridge is broken" in replies[-1].plain_text and "修路" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert (visit.heard, visit.wants) == ("The bridge is broken", "修路")


async def test_a_double_tap_a_redelivery_and_an_old_button_record_one_visit(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    kind_button, kind_message = button(replies, ":wise"), replies[0].message_id
    await harness.press(user, kind_button)
    await harness.send(user, "老校长")
    await harness.send(user, "Wants a library")
    update_id = user.send("Books")
    replies = await harness.roundtrip(user, update_id)
    assert "follow-up" in replies[-1].plain_text
    # A redelivered answer is not taken as the answer to the next question.
    harness.emu.redeliver(update_id)
    assert await harness.roundtrip(user, update_id, times=2) == []
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.send(user, "Skip")
    confirm = await harness.press(user, button(replies, ":2026-11-28"))
    assert "Books" in confirm[-1].plain_text and "Wants: Books" in confirm[-1].plain_text
    save = button(confirm, ":ok")
    await harness.press(user, save, message_id=confirm[-1].message_id)
    assert await harness.press(user, save, message_id=confirm[-1].message_id) == []
    stale = "This button belongs to a finished dialog."
    assert harness.emu.callback_answers[-1].get("text") == stale
    assert await harness.press(user, kind_button, message_id=kind_message) == []
    assert harness.emu.callback_answers[-1].get("text") == stale
    [visit] = await _visits(harness)
    assert (visit.kind, visit.heard, visit.wants) == ("wise", "Wants a library", "Books")


async def test_a_restart_mid_dialog_keeps_the_answers(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/visit")
    replies = await harness.press(user, button(replies, ":enterprise"))
    await harness.send(user, "县农机厂")
    await harness.restart()
    replies = await harness.send(user, "Orders are down")
    assert "What do they want" in replies[-1].plain_text
    replies = await harness.send(user, "Loans")
    replies = await harness.press(user, button(replies, ":no"))
    replies = await harness.press(user, button(replies, ":s:7"))
    replies = await harness.send(user, "Skip")
    replies = await harness.send(user, "today")
    assert "县农机厂" in replies[-1].plain_text and "Orders are down" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [visit] = await _visits(harness)
    assert (visit.kind, visit.heard, visit.day) == ("enterprise", "Orders are down",
                                                    dt.date(2026, 11, 28))
