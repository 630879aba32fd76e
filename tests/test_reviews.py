"""Reviews that can say yes or no, beyond the weekly summary (tests/test_summary.py has its
whole loop): the township leader's endorsement of appraisals, a return and a correction; the
evening digest chasing what waits, with the button that lists it; /review for each role; and
every decision in the export's audit sheet, in words."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from scheduler.reports import evening_digests
from scheduler.runs import Run
from storage import summaries
from storage.models import Appraisal, AuditEntry
from tests.harness import texts
from tests.test_appraise import _appraise
from tests.test_schedules import bind_everyone, messages
from tests.test_stats import people


async def _appraisal(harness) -> Appraisal:
    async with harness.db.read() as session:
        return (await session.execute(select(Appraisal))).scalar_one()


async def test_the_township_leader_endorses_or_returns_an_appraisal(harness):
    chats = await bind_everyone(harness, language="zh")
    zhang = harness.emu.user(chats["张伟"], language_code="zh-hans")
    sun = harness.emu.user(chats["孙丽"], language_code="zh-hans")
    _, saved = await _appraise(harness, zhang, "李娜", "excellent", "工作扎实")
    assert saved[-1] == "鉴定已保存：李娜 · 优秀。已送孙丽审核。"
    [notice] = harness.emu.sent_to(sun.id)
    assert notice.plain_text.splitlines() == [
        "📋 张伟对李娜的鉴定，请审核：", "鉴定等次：优秀", "鉴定意见：工作扎实"]

    # Returned with a reason: the team leader hears it and redoes it from the button.
    replies = await harness.tap(sun, [notice], "退回修改")
    replies = await harness.send(sun, "请结合周小结写具体事例")
    replies = await harness.tap(sun, replies, suffix=":ok")
    assert texts(replies)[-1] == "↩️ 已退回修改：张伟对李娜的鉴定。已通知张伟。"
    returned = harness.emu.sent_to(zhang.id)[-1]
    assert returned.plain_text.splitlines() == [
        "↩️ 您对李娜的鉴定被孙丽退回修改。", "退回原因：请结合周小结写具体事例",
        "请按意见修改后重新提交。"]
    replies = await harness.tap(zhang, [returned], "修改鉴定")
    assert "乡镇审核：已退回修改" in texts(replies)[0]
    assert "退回原因：请结合周小结写具体事例" in texts(replies)[0]
    replies = await harness.tap(zhang, replies, suffix=":competent")
    replies = await harness.send(zhang, "走访细致，调解两起纠纷")
    replies = await harness.tap(zhang, replies, suffix=":ok")
    assert texts(replies)[-1] == "鉴定已保存：李娜 · 称职。已送孙丽审核。"
    again = harness.emu.sent_to(sun.id)[-1]
    assert again.plain_text.startswith("📋 张伟对李娜的鉴定已修改后重新提交，请审核：")

    # Endorsed: locked for the team leader, and the old notice's buttons are stale.
    replies = await harness.tap(sun, [again], "通过")
    assert texts(replies)[-1] == "✅ 已审核通过：张伟对李娜的鉴定。已通知张伟。"
    assert harness.emu.sent_to(zhang.id)[-1].plain_text == "✅ 您对李娜的鉴定已由孙丽审核通过。"
    row = await _appraisal(harness)
    assert (row.status, row.grade, row.return_reason) == (
        "accepted", "competent", "请结合周小结写具体事例")
    _, saved = await _appraise(harness, zhang, "李娜", "excellent", "再改")
    assert saved[-1] == "对李娜的鉴定已由乡镇审核通过，不能再修改。"
    assert (await _appraisal(harness)).grade == "competent"
    async with harness.db.read() as session:
        audit = [(a.action, a.new_value) for a in (await session.execute(
            select(AuditEntry).where(AuditEntry.entity == "appraisal", AuditEntry.field.in_(
                ("status", "return_reason"))).order_by(AuditEntry.id))).scalars()]
    assert audit == [("return", "returned"), ("return", "请结合周小结写具体事例"),
                     ("resubmit", "submitted"), ("accept", "accepted")]


async def test_another_townships_leader_and_the_office_cannot_endorse(harness):
    chats = await bind_everyone(harness)
    zhang = harness.emu.user(chats["张伟"], language_code="en")
    await _appraise(harness, zhang, "李娜", "excellent", "Reliable")
    row = await _appraisal(harness)
    for name in ("吴敏", "周杰", "张伟"):  # the office, the leading group, its own author
        user = harness.emu.user(chats[name], language_code="en")
        await harness.send(user, "/help")
        await harness.press(user, f"rv:a:a:{row.id}",
                            message_id=harness.emu.sent_to(user.id)[-1].message_id)
    assert (await _appraisal(harness)).status == "submitted"


async def test_the_evening_digest_chases_what_waits_with_a_button_that_lists_it(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    now = harness.clock.now()
    monday = now.date() - dt.timedelta(days=now.weekday())
    async with harness.db.write() as session:
        for name in ("李娜", "王芳"):
            await summaries.submit_summary(
                session, person=found[name], week_start=monday,
                text=summaries.SummaryText("a", "b", "c"), now=now, tz=harness.settings.tz,
                minimum=0)
    async with harness.db.write() as session:
        out = await evening_digests(Run(harness.ctx, session, now, now))
    [digest] = [m for m in out if m.chat_id == chats["张伟"]]
    assert digest.payload["text"].splitlines()[-1] == "📋 2 waiting for your review: 李娜, 王芳"
    assert digest.payload["reply_markup"] == {
        "inline_keyboard": [[{"text": "Review now", "callback_data": "rv:l"}]]}
    # Nothing waits for 刘洋 (another village): no line, no button.
    [other] = [m for m in out if m.chat_id == chats["刘洋"]]
    assert "reply_markup" not in other.payload
    # The button lists them, each opening its summary with 通过 / 退回修改.
    zhang = harness.emu.user(chats["张伟"], language_code="en")
    await harness.send(zhang, "/help")
    replies = await harness.press(zhang, "rv:l",
                                  message_id=harness.emu.sent_to(zhang.id)[-1].message_id)
    assert texts(replies)[-1].splitlines()[0] == (
        "2 waiting for your review; tap a name to read and decide:")
    replies = await harness.tap(zhang, replies, "王芳")
    assert texts(replies)[-1].startswith("📋 王芳's weekly summary (")
    replies = await harness.tap(zhang, replies, "Accept")
    assert texts(replies)[-1].startswith("✅ Accepted: 王芳's weekly summary (")
    assert "王芳" not in "".join(texts(await harness.send(zhang, "/review")))


async def test_review_for_each_role_says_what_waits_or_that_nothing_does(harness):
    chats = await bind_everyone(harness)
    for name in ("张伟", "孙丽", "吴敏", "周杰"):
        user = harness.emu.user(chats[name], language_code="en")
        assert texts(await harness.send(user, "/review")) == [
            "Nothing is waiting for your review."]
    assert messages(harness, chats["李娜"]) == []


async def test_a_summary_nobody_can_review_yet_says_so_and_waits_under_review(harness):
    """赵强's village has no team leader on the bot: his confirmation and /me say nobody can
    review it yet, never that a leader has it; a team leader who comes later finds it."""
    await harness.import_roster()
    user = await harness.register("13800138006", user_id=6301)  # 赵强, 古埠村, no leader
    await harness.send(user, "/summary")
    replies = []
    for answer in ("刚到村", "走访", "无", "继续"):  # the short week's reason first
        replies = await harness.send(user, answer)
    replies = await harness.tap(user, replies, suffix=":ok")
    assert "现在没有能在机器人上审核它的负责人" in texts(replies)[-1]
    assert "送" not in texts(replies)[-1]
    assert "暂无能在机器人上审核的负责人" in texts(await harness.send(user, "/me"))[-1]
    # A team leader named for 古埠村 later finds it under /review.
    await harness.import_roster(
        "name,phone,rank,unit,township,village,role\n"
        "钱多,13800138010,ordinary,县教育局,古埠镇,古埠村,team_leader\n")
    leader = await harness.register("13800138010", user_id=6302)
    listed = texts(await harness.send(leader, "/review"))[-1]
    assert "赵强的周小结" in listed
