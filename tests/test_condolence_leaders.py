"""/condolence (issue 19): a person in no village team — a county-level leader, a township
leader — records the holiday condolence visit to one of their own paired households, and it
counts in the household's village: /targets, the API, /stats. Nobody without a pairing gets a
form, and a household no longer theirs is refused in the save. The holiday reminder tells such a
person with pairings to record them with /condolence."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from storage import aid, pairings
from storage.models import Aid, Dialog, Household, Pairing, Township, Village
from storage.scope import OutOfScope
from tests import test_targets
from tests.harness import offered_buttons, texts
from tests.scheduling import local, tick
from tests.test_leave import person
from tests.test_leave_figures import pair_outside
from tests.test_schedules import bind_everyone, messages
from tests.test_targets import NOON, api_targets, village

# The API's token, from the help targets' tests.
settings = test_targets.settings


async def _places(harness, name: str) -> tuple[Village, Township]:
    async with harness.db.read() as session:
        found = (await session.execute(select(Village).where(Village.name == name))).scalar_one()
        return found, (await session.get(Township, found.township_id))


async def _aid_rows(harness) -> list[Aid]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Aid).order_by(Aid.id))).scalars())


def _buttons(replies) -> list[str]:
    """The labels of the newest message's buttons, without the form's own (back, cancel)."""
    return [label for label, data, _ in offered_buttons(replies) if ":a:" in data]


async def test_a_county_leader_records_a_condolence_that_counts_in_the_households_village(
        harness):
    """周杰 (leading group, county rank, no village) pairs with two households of 古埠村 and
    visits 刘大爷 for New Year's Day (due on 2 January): /targets and the API count 刘大爷 as
    covered in 古埠村 and name only 王大妈; /stats counts the visit in 古埠村."""
    harness.at(NOON)
    await harness.import_roster()
    zhou = await harness.register("13800138008", user_id=7208, language_code="zh-hans")
    for household in ("刘大爷", "王大妈"):
        await pair_outside(harness, zhou, "古埠镇", "古埠村", household)

    replies = await harness.send(zhou, "/condolence")
    assert "您的结对帮扶户：2 户，按职级应结对 3 户（刘大爷、王大妈）。" in texts(replies)[0]
    assert "慰问哪一户？请选择您的结对户：" in texts(replies)[-1]
    assert _buttons(replies) == ["刘大爷", "王大妈"]
    typed = await harness.send(zhou, "张三")  # no household typed in: only the buttons
    assert texts(typed) == ["请用按钮选择。"]
    replies = await harness.tap(zhou, replies, "刘大爷")
    replies = await harness.tap(zhou, replies, "元旦")
    replies = await harness.send(zhou, "100")
    assert "每户慰问金额不得低于" in texts(replies)[-1]  # /aid's minimum (200)
    replies = await harness.tap(zhou, await harness.send(zhou, "300"), "提交")
    assert "对古埠村刘大爷的元旦慰问记录，计入古埠村的结对户慰问。" in texts(replies)[-1]

    gubu, gubu_town = await _places(harness, "古埠村")
    [row] = await _aid_rows(harness)
    assert (row.person_id, row.kind, row.holiday, row.amount) == (
        (await person(harness, "周杰")).id, "condolence", "new_year", 300)
    assert (row.village_id, row.township_id) == (gubu.id, gubu_town.id)

    lines = texts(await harness.send(zhou, "/targets"))[0].splitlines()
    at = lines.index("古埠镇·古埠村")
    assert "· 元旦未慰问的结对户：王大妈" in lines[at:]
    assert not any("刘大爷" in line for line in lines)
    body = await api_targets(harness)
    assert village(body, "古埠村")["condolences"]["new_year"] == {
        "paired": 2, "visited": 1, "without": ["王大妈"]}
    assert "慰问 1 户次" in texts(await harness.send(zhou, "/stats 古埠村"))[0]
    assert "慰问 0 户次" in texts(await harness.send(zhou, "/stats 新村"))[0]


async def test_a_leader_with_no_pairing_is_told_to_pair_first(harness):
    await harness.import_roster()
    sun = await harness.register("13800138007", user_id=7207, language_code="zh-hans")
    replies = await harness.send(sun, "/condolence")
    assert texts(replies) == ["您还没有可以慰问的结对帮扶户。请先发送 /pair 选村结对，"
                              "再用 /condolence 记录慰问。"]
    async with harness.db.read() as session:
        assert (await session.execute(select(Dialog))).scalars().all() == []


async def test_a_household_unpaired_before_the_save_is_refused_and_asked_again(harness):
    """孙丽 (黄金埠镇's township leader) answers for 张大娘; before she taps 提交 the pairing is
    gone. Nothing is saved, the household is asked again among those left, and the holiday and
    amount she gave stay in the draft."""
    await harness.import_roster()
    sun = await harness.register("13800138007", user_id=7207, language_code="zh-hans")
    for household in ("张大娘", "李大爷"):
        await pair_outside(harness, sun, "黄金埠镇", "新村", household)
    replies = await harness.tap(sun, await harness.send(sun, "/condolence"), "张大娘")
    replies = await harness.tap(sun, replies, "春节")
    replies = await harness.send(sun, "300")
    async with harness.db.write() as session:
        gone = (await session.execute(select(Household.id).where(Household.name == "张大娘"))
                ).scalar_one()
        await session.execute(delete(Pairing).where(Pairing.household_id == gone))

    replies = await harness.tap(sun, replies, "提交")
    assert texts(replies)[-1].startswith(
        "该户已不是您的结对户，或所在村已不在您可结对的范围内，未保存。节日和金额已保留，"
        "请重新选择慰问户。\n慰问哪一户？")
    assert _buttons(replies) == ["李大爷"]
    assert await _aid_rows(harness) == []
    replies = await harness.tap(sun, replies, "李大爷")
    card = texts(replies)[-1]
    assert "春节" in card and "300" in card
    replies = await harness.tap(sun, replies, "提交")
    assert "对新村李大爷的春节慰问记录" in texts(replies)[-1]
    xin, town = await _places(harness, "新村")
    [row] = await _aid_rows(harness)
    assert (row.village_id, row.township_id, row.holiday) == (xin.id, town.id, "spring_festival")

    # Her last pairing gone too: nothing is left to pick, and she is told how to go on.
    replies = await harness.tap(sun, await harness.send(sun, "/condolence"), "李大爷")
    replies = await harness.tap(sun, replies, "元旦")
    replies = await harness.send(sun, "200")
    async with harness.db.write() as session:
        await session.execute(delete(Pairing))
    replies = await harness.tap(sun, replies, "提交")
    assert texts(replies)[-1].startswith(
        "该户已不是您的结对户，未保存；您现在没有可以慰问的结对帮扶户。请发送 /cancel 退出，"
        "用 /pair 结对后再记录慰问。\n慰问哪一户？")
    assert _buttons(replies) == []
    assert len(await _aid_rows(harness)) == 1


async def test_the_save_itself_refuses_a_household_not_paired_or_outside_the_scope(harness):
    """storage.aid.add_aid re-checks in its own transaction: 孙丽 may not record a condolence
    for a household she is not paired with, nor for one of 古埠村 (outside her township) even
    with a pairing row, nor any other kind of help; nothing is saved."""
    await harness.import_roster()
    sun = await person(harness, "孙丽")
    gubu, _ = await _places(harness, "古埠村")
    xin, _ = await _places(harness, "新村")
    now = harness.clock.now()
    async with harness.db.write() as session:
        outside = Household(village_id=gubu.id, name="外村户", created_at=now)
        unpaired = Household(village_id=xin.id, name="未结对户", created_at=now)
        session.add_all([outside, unpaired])
        await session.flush()
        session.add(Pairing(person_id=sun.id, household_id=outside.id, created_at=now))
        ids = {"outside": outside.id, "unpaired": unpaired.id}
    for household_id in (*ids.values(), None):
        async with harness.db.write() as session:
            with pytest.raises(OutOfScope):
                await aid.add_aid(session, person=sun, kind="condolence", day=now.date(),
                                  now=now, household_id=household_id, holiday="new_year",
                                  amount=300)
    async with harness.db.write() as session:
        with pytest.raises(ValueError):
            await aid.add_aid(session, person=sun, kind="donation", day=now.date(), now=now,
                              items="电脑", amount=300)
        with pytest.raises(OutOfScope):
            await pairings.paired_household(session, person=sun,
                                            household_id=ids["outside"])
        assert await pairings.pairings_in_scope(session, person=sun) == []  # none to offer
    assert await _aid_rows(harness) == []


async def test_the_holiday_reminder_reaches_a_leader_with_pairings_naming_condolence(harness):
    """A week before New Year's Day: 周杰 (paired, no village) is told to use /condolence; 孙丽
    (no pairing) is told nothing; a cadre still records with /aid."""
    chats = await bind_everyone(harness)
    gubu, _ = await _places(harness, "古埠村")
    async with harness.db.write() as session:
        await pairings.pair(session, person=await person(harness, "周杰"),
                            now=harness.clock.now(), village_id=gubu.id, household_name="刘大爷")
    await tick(harness, local(2026, 12, 25, 8, 0))
    await tick(harness, local(2026, 12, 25, 9, 0))
    assert [m for m in messages(harness, chats["周杰"]) if "condolence" in m] == [
        "New Year's Day is on Fri 1 Jan 2027. Visit your paired households (1 of 3 paired), "
        "at least ¥200 each, and record each visit with /condolence."]
    assert [m for m in messages(harness, chats["孙丽"]) if "condolence" in m] == []
    assert any(m.endswith("record them with /aid.") for m in messages(harness, chats["王芳"]))
