"""The summary stage's chase (STAGE_CHASE_DAYS): on each chase day whoever still owes a stage
summary or an appraisal gets one message with a button per missing form, each button opening
exactly that form; the one above is told who is missing; a second run of the same day sends
nothing again."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from common.settings import Settings
from storage.models import ScheduleState
from tests.harness import offered_buttons, texts
from tests.scheduling import local, tick
from tests.test_schedules import bind_everyone, messages

TODAY = dt.date(2026, 11, 28)  # the harness clock
DEADLINE = dt.date(2026, 12, 4)
ANSWERS = ["走访了全村贫困户", "先听群众说", "村道未修", "争取资金修路"]


@pytest.fixture
def settings(settings):
    """The stage opened this morning; summaries are due next Friday; chased 3 and 1 days
    before (Tue 1 Dec and Thu 3 Dec)."""
    return settings.model_copy(update={
        "outbox_per_chat_per_second": 50.0, "summary_stage_start": TODAY,
        "summary_stage_deadline": DEADLINE, "stage_chase_days": "3,1"})


def chases(harness, chat_id: int, words: str) -> list:
    return [s for s in harness.emu.sent_to(chat_id) if s.text is not None and words in s.text]


async def run_again(harness, at: dt.datetime) -> None:
    """The stage's job runs a second time for the same day (a restart, a second process)."""
    async with harness.db.write() as session:
        await session.execute(update(ScheduleState).where(ScheduleState.name == "stage_notices")
                              .values(next_run_at=at))
    await tick(harness, at)


async def test_a_team_leader_is_chased_once_a_day_with_a_button_per_missing_form_in_chinese(
        harness):
    chats = await bind_everyone(harness, language="zh")
    await tick(harness, local(2026, 11, 28, 9, 0))  # the stage opens
    await tick(harness, local(2026, 12, 1, 9, 0))  # three days before the deadline
    await run_again(harness, local(2026, 12, 1, 9, 0))
    [chase] = chases(harness, chats["张伟"], "尚未提交，点下面的按钮")
    assert chase.plain_text.splitlines() == [
        "提醒：总结阶段12月4日（周五）截止，您还有以下尚未提交，点下面的按钮直接填写：",
        "• 个人总结", "• 工作队总结", "• 对李娜的鉴定", "• 对王芳的鉴定"]
    assert [(label, data.split(":")[0]) for label, data, _ in offered_buttons([chase])] == [
        ("个人总结", "stg"), ("工作队总结", "stg"), ("鉴定李娜", "apr"), ("鉴定王芳", "apr")]
    # The one above is told who is missing, once for the day.
    [listed] = [m for m in messages(harness, chats["孙丽"]) if "截止，以下尚未提交" in m]
    assert listed.splitlines() == [
        "总结阶段12月4日（周五）截止，以下尚未提交：", "• 刘洋：个人总结", "• 刘洋：工作队总结",
        "• 张伟：个人总结", "• 张伟：工作队总结", "• 刘洋：对陈静的鉴定", "• 张伟：对李娜的鉴定",
        "• 张伟：对王芳的鉴定"]
    [team] = [m for m in messages(harness, chats["张伟"]) if "截止，以下尚未提交" in m]
    assert team.splitlines()[1:] == ["• 李娜：个人总结", "• 王芳：个人总结"]
    # One tap opens exactly that form: 王芳's appraisal, then the team summary.
    zhang = harness.emu.user(chats["张伟"], language_code="zh")
    replies = await harness.tap(zhang, [chase], "鉴定王芳")
    assert texts(replies)[0].startswith("鉴定 · 王芳")
    assert texts(replies)[-1].startswith("鉴定等次？")
    replies = await harness.send(zhang, "/cancel")
    replies = await harness.tap(zhang, [chase], "工作队总结")
    assert texts(replies)[0].startswith("工作队总结：根据记录生成的整个驻村期间数据：")
    assert texts(replies)[-1].startswith("请写主要工作和成效：")


async def test_a_cadre_who_submitted_is_not_chased_and_one_who_did_not_is_in_english(harness):
    chats = await bind_everyone(harness, language="en")
    await tick(harness, local(2026, 11, 28, 9, 0))
    li = harness.emu.user(chats["李娜"], language_code="en")
    await harness.send(li, "/final")
    for answer in ["Visited every poor household", "Listen first", "The road", "Fund it"]:
        replies = await harness.send(li, answer)
    await harness.tap(li, replies, suffix=":ok")
    await tick(harness, local(2026, 12, 3, 9, 0))  # one day before
    assert not chases(harness, chats["李娜"], "Still to do")
    [chase] = chases(harness, chats["王芳"], "Still to do")
    assert chase.plain_text.splitlines() == [
        "Reminder: the summary stage closes on Fri 4 Dec. Still to do (tap a button below to "
        "write it):", "• Personal summary"]
    wang = harness.emu.user(chats["王芳"], language_code="en")
    replies = await harness.tap(wang, [chase], "My personal summary")
    assert texts(replies)[0].startswith(
        "Personal summary: the figures of the whole campaign, drafted from the records:")
    # 李娜's is in, so the team leader's list names 王芳 only.
    [team] = [m for m in messages(harness, chats["张伟"]) if "still missing" in m]
    assert team.splitlines() == ["Summary stage deadline Fri 4 Dec: still missing —",
                                 "• 王芳: Personal summary"]
    # The office hears of the township summary, not of anyone's personal one.
    [office] = [m for m in messages(harness, chats["吴敏"]) if "still missing" in m]
    assert office.splitlines()[1:] == ["• 孙丽: Township summary"]
    [township] = chases(harness, chats["孙丽"], "Still to do")
    assert [label for label, _, _ in offered_buttons([township])] == ["The township's summary"]


async def test_no_chase_on_a_day_not_listed_nor_before_the_stage_opens(harness):
    chats = await bind_everyone(harness, language="en")
    await tick(harness, local(2026, 11, 27, 9, 0))  # before the stage: nothing
    await tick(harness, local(2026, 12, 2, 9, 0))  # two days before: not a chase day
    for chat in chats.values():
        assert not chases(harness, chat, "Still to do")
        assert not chases(harness, chat, "Summary stage deadline")


def test_stage_chase_days_reads_a_comma_list_and_refuses_words():
    assert Settings(_env_file=None).stage_chase_offsets() == (7, 3, 1)
    assert Settings(_env_file=None, stage_chase_days=" 1, 7,3,3").stage_chase_offsets() == (
        7, 3, 1)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, stage_chase_days="a week")
