"""A problem's written feedback names its addressee (农户, 村委会, 乡镇, 领导小组): the township's
leader, or the leading group and the office, get it through the outbox with the problem's
button; for a household or village committee the cadre is told to hand it over. The addressee
is in the problem's history and the export; looking back is due from the feedback's day
(PROBLEM_CHECKBACK_DAYS) and chased that morning."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from storage.models import Person
from tests.harness import texts
from tests.scheduling import local, tick
from tests.test_export import by_header, fetch_workbook
from tests.test_problems import _problems, _raise, _step, _steps, _take, button
from tests.test_schedules import bind_everyone, messages

HELD_ZH = "回头看：问题解决的效果是否巩固？"


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def solved(harness, user) -> int:
    """A problem of 李娜's village, raised, in hand and solved today; its id."""
    await _raise(harness, user)
    [problem] = await _problems(harness)
    await _take(harness, user, problem.id)
    await _step(harness, user, problem.id, "s", "done")
    return problem.id


async def test_feedback_to_the_township_reaches_its_leader_and_is_looked_back_in_chinese(
        harness, exports):
    chats = await bind_everyone(harness, language="zh")
    li = harness.emu.user(chats["李娜"], language_code="zh")
    await tick(harness, local(2026, 11, 28, 7, 0))  # the schedules start
    problem_id = await solved(harness, li)
    replies = await harness.press(li, f"prs:{problem_id}:f")
    assert texts(replies)[-1].startswith("书面反馈给谁？")
    assert [label for row in replies[-1].buttons for label, _ in row][:4] == [
        "农户", "村委会", "乡镇", "领导小组"]
    replies = await harness.press(li, button(replies, ":township"))
    replies = await harness.send(li, "已向镇里书面报告修桥情况")
    replies = await harness.press(li, button(replies, ":ok"))
    assert texts(replies)[-1].splitlines()[-2:] == [
        f"问题 #{problem_id} 的书面反馈已记录。请于12月12日（周六）回头看。",
        "书面反馈已发给孙丽。"]
    # The township's leader has it, with one button to the problem; nobody else does.
    [notice] = [s for s in harness.emu.sent_to(chats["孙丽"]) if s.text and "书面反馈" in s.text]
    assert notice.plain_text.splitlines() == [
        f"📨 书面反馈（致乡镇）：问题 #{problem_id}，新村，基础设施",
        "问题：The bridge to the fields is broken", "反馈：已向镇里书面报告修桥情况",
        "—— 李娜，11月28日（周六）"]
    for name in ("张伟", "周杰", "吴敏"):
        assert not any("书面反馈（致" in m for m in messages(harness, chats[name]))
    sun = harness.emu.user(chats["孙丽"], language_code="zh")
    replies = await harness.tap(sun, [notice], f"查看问题 #{problem_id}")
    assert "已书面反馈 · 李娜 · 致乡镇 · 已向镇里书面报告修桥情况" in replies[0].plain_text
    steps = await _steps(harness, problem_id)
    assert [(s.action, s.addressee) for s in steps][-1] == ("feedback", "township")
    # The export's problem steps name the addressee.
    wu = harness.emu.user(chats["吴敏"], language_code="zh")
    await harness.send(wu, "/export")
    _name, book, _params = await fetch_workbook(harness, wu)
    rows = by_header(book, "问题办理过程")
    assert [r["反馈对象"] for r in rows] == [None, None, None, "乡镇"]
    # Looking back is due 14 days after the feedback's day, and chased that morning.
    await tick(harness, local(2026, 12, 11, 9, 0))
    assert not any("回头看" in m for m in messages(harness, chats["李娜"]) if "等待您办理" in m)
    await tick(harness, local(2026, 12, 12, 9, 0))
    [chase] = [s for s in harness.emu.sent_to(chats["李娜"]) if s.text and "等待您办理" in s.text]
    assert (f"#{problem_id} 基础设施 · The bridge to the fields is broken — "
            "12月12日（周六）起应回头看") in chase.plain_text
    replies = await harness.tap(li, [chase], f"#{problem_id}：回头看")  # one tap to the form
    assert texts(replies)[-1].startswith(HELD_ZH)


async def test_feedback_to_the_leading_group_reaches_it_and_the_office_in_english(harness):
    chats = await bind_everyone(harness, language="en")
    li = harness.emu.user(chats["李娜"], language_code="en")
    problem_id = await solved(harness, li)
    await _step(harness, li, problem_id, "f", "Report on the bridge", addressee="leading_group")
    replies = harness.emu.sent_to(chats["李娜"])
    assert texts(replies)[-1].splitlines()[-1] == (
        "The written feedback has been sent to 吴敏, 周杰.")
    for name in ("周杰", "吴敏"):
        [notice] = [m for m in messages(harness, chats[name]) if "Written feedback (to" in m]
        assert notice.splitlines()[0] == (
            f"📨 Written feedback (to the leading group): problem #{problem_id}, 新村, "
            "Infrastructure")
    assert not any("Written feedback (to" in m for m in messages(harness, chats["孙丽"]))


async def test_feedback_to_the_village_committee_is_handed_over_by_the_cadre_in_english(harness):
    chats = await bind_everyone(harness, language="en")
    li = harness.emu.user(chats["李娜"], language_code="en")
    problem_id = await solved(harness, li)
    replies = await _step(harness, li, problem_id, "f", "Letter to the committee")
    assert texts(replies)[-1].splitlines()[-1] == (
        "The bot does not reach the village committee: please hand the written feedback to it "
        "yourself.")
    for name in ("张伟", "孙丽", "周杰", "吴敏"):
        assert not any("Written feedback (to" in m for m in messages(harness, chats[name]))
    replies = await harness.press(li, f"prb:{problem_id}")
    assert "feedback given · 李娜 · to the village committee · Letter to the committee" in (
        replies[0].plain_text)


async def test_feedback_to_a_township_whose_leader_is_not_in_the_bot_says_so(harness):
    chats = await bind_everyone(harness, language="en")
    li = harness.emu.user(chats["李娜"], language_code="en")
    harness.emu.blocked_by(chats["孙丽"])
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "孙丽").values(
            blocked_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC)))
    problem_id = await solved(harness, li)
    replies = await _step(harness, li, problem_id, "f", "Report", addressee="township")
    assert texts(replies)[-1].splitlines()[-1] == (
        "Nobody in the township can receive it in the bot yet: please hand the written "
        "feedback over yourself.")
