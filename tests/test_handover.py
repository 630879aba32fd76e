"""Hand-overs reach the person who must act (issue 18): an escalation reaches the township
leader at once with 受理 / 退回, and the cadre's confirmation names who has it; taking it and
sending it back tell the cadre; an escalation nobody takes climbs to the office after
ESCALATION_TAKE_HOURS; a Beijing petition reaches the office at once; only the level it waits
for may take it; every take and return in the audit log and the export."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from common.i18n import translate
from storage.models import AuditEntry, Dispute, DisputeStep
from tests.harness import keyboard_dropped, texts
from tests.scheduling import tick
from tests.test_export import by_header, export_as, fetch_workbook
from tests.test_schedules import bind_everyone
from tests.test_visits import button


async def _dispute(harness) -> Dispute:
    async with harness.db.read() as session:
        return (await session.execute(select(Dispute).order_by(Dispute.id.desc()))).scalars(
        ).first()


async def _report(harness, user, *, flags=(), urgency="normal"):
    """The cadre reports a land dispute (with these petition flags); the bot's last replies."""
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":land"))
    await harness.send(user, "村民甲与村委会")
    replies = await harness.send(user, "3")
    for flag in flags:
        replies = await harness.press(user, button(replies, f":{flag}"))
    replies = await harness.press(user, button(replies, ":d:3" if flags else ":s:3"))
    replies = await harness.send(user, "补偿款未到位")
    replies = await harness.press(user, button(replies, f":{urgency}"))
    return await harness.press(user, button(replies, ":ok"))


async def _escalate(harness, user, dispute_id: int, code: str = "et", reason="涉及土地确权"):
    listing = await harness.send(user, "/disputes")
    await harness.tap(user, listing, suffix=f"dsp:{dispute_id}:{code}")
    replies = await harness.send(user, reason)
    return await harness.press(user, button(replies, ":ok"))


async def _zh(harness):
    chats = await bind_everyone(harness, language="zh")
    users = {name: harness.emu.user(chat, first_name=name, language_code="zh-hans")
             for name, chat in chats.items()}
    return chats, users


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the workbooks are built in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def _audit(harness, dispute_id: int) -> list[tuple[str, str | None, str | None]]:
    async with harness.db.read() as session:
        rows = await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "dispute", AuditEntry.entity_id == dispute_id,
        ).order_by(AuditEntry.id))
        return [(a.action, a.field, a.new_value) for a in rows.scalars()]


async def test_an_escalation_reaches_the_township_leader_at_once_and_is_taken(harness):
    chats, users = await _zh(harness)
    li, sun = users["李娜"], users["孙丽"]
    await _report(harness, li)
    dispute = await _dispute(harness)
    assert harness.emu.sent_to(chats["孙丽"]) == []  # a plain dispute stays with the cadre
    replies = await _escalate(harness, li, dispute.id)
    assert texts(replies)[-1] == f"纠纷 #{dispute.id} 已上交乡镇，孙丽已收到通知。"
    assert "已上交 · 乡镇 · 待受理" in texts(await harness.send(li, "/disputes"))[0]
    [notice] = harness.emu.sent_to(chats["孙丽"])
    assert notice.plain_text.splitlines() == [
        f"⬆️ 李娜（新村）将纠纷 #{dispute.id} 上交乡镇，请受理：",
        f"#{dispute.id} 农村征地 · 村民甲与村委会 · 3 人",
        "村：新村；驻村干部：李娜",
        "紧急程度：较急",
        "上交理由：涉及土地确权",
        "情况描述：补偿款未到位",
        "请点“受理”接手；不应由您受理的，点“退回”写明原因，交回驻村干部调解。",
    ]
    assert [label for row in notice.buttons for label, _ in row] == ["受理", "退回"]
    assert harness.emu.sent_to(chats["周杰"]) == []  # the leading group is not told

    replies = await harness.tap(sun, [notice], "受理")
    assert texts(replies)[-1] == f"✅ 已受理纠纷 #{dispute.id}。已通知李娜。"
    assert harness.emu.sent_to(chats["李娜"])[-1].plain_text == (
        f"📌 纠纷 #{dispute.id} 已由孙丽受理。")
    # A second press answers once, truthfully, on the button.
    await harness.press(sun, notice.buttons[0][0][1], message_id=notice.message_id)
    assert harness.emu.callback_answers[-1].get("text") == f"纠纷 #{dispute.id} 已由孙丽受理。"
    after = await _dispute(harness)
    assert (after.status, after.level, after.handover_level, after.taken_at is not None) == (
        "escalated", "township", "township", True)
    assert (await _audit(harness, dispute.id))[-2:] == [
        ("hand_over", "handover_level", "township"), ("take", "taken_by", "孙丽")]
    # The cadre's list and the leader's card say who has it.
    assert "已上交 · 乡镇 · 已受理" in texts(await harness.send(li, "/disputes"))[0]
    listing = await harness.send(sun, "/disputes")
    assert "已上交 · 乡镇 · 已受理" in texts(listing)[0]
    card = texts(await harness.tap(sun, listing, suffix=f"dsh:{dispute.id}"))[-1]
    assert card.splitlines()[-1].endswith(" · 受理 · 孙丽")


async def test_the_township_leader_sends_it_back_with_a_reason(harness):
    chats, users = await _zh(harness)
    li, sun = users["李娜"], users["孙丽"]
    await _report(harness, li)
    dispute = await _dispute(harness)
    await _escalate(harness, li, dispute.id)
    [notice] = harness.emu.sent_to(chats["孙丽"])
    replies = await harness.tap(sun, [notice], "退回")
    assert "为什么退回" in texts(replies)[-1]
    replies = await harness.send(sun, "请先由村里组织调解")
    replies = await harness.press(sun, button(replies, ":ok"))
    assert texts(replies)[-1] == f"↩️ 已退回纠纷 #{dispute.id}，交驻村干部继续调解。已通知李娜。"
    assert harness.emu.sent_to(chats["李娜"])[-1].plain_text.splitlines() == [
        f"↩️ 您上报的纠纷 #{dispute.id} 被孙丽退回，请继续调解。", "退回原因：请先由村里组织调解"]
    after = await _dispute(harness)
    assert (after.status, after.handover_level, after.taken_by) == ("mediating", None, None)
    async with harness.db.read() as session:
        step = (await session.execute(select(DisputeStep).where(
            DisputeStep.dispute_id == dispute.id).order_by(DisputeStep.id.desc()))).scalars(
        ).first()
    assert (step.action, step.status, step.note) == ("return", "mediating", "请先由村里组织调解")
    assert (await _audit(harness, dispute.id))[-1] == ("return", "status", "mediating")
    # The spent 受理 answers on the button; the cadre may escalate again, and 孙丽 is told again.
    await harness.press(sun, notice.buttons[0][0][1], message_id=notice.message_id)
    assert harness.emu.callback_answers[-1].get("text") == (
        f"纠纷 #{dispute.id} 已退回或已由驻村干部继续处理，无需受理。")
    harness.at(harness.clock.now() + dt.timedelta(hours=1))
    replies = await _escalate(harness, li, dispute.id, reason="村里调解未成")
    assert texts(replies)[-1] == f"纠纷 #{dispute.id} 已上交乡镇，孙丽已收到通知。"
    again = harness.emu.sent_to(chats["孙丽"])[-1]
    assert again.plain_text.startswith("⬆️ 李娜（新村）")
    assert "上交理由：村里调解未成" in again.plain_text
    replies = await harness.tap(sun, [again], "受理")
    assert texts(replies)[-1] == f"✅ 已受理纠纷 #{dispute.id}。已通知李娜。"


async def test_an_escalation_not_taken_climbs_to_the_office(harness):
    chats, users = await _zh(harness)
    li, sun = users["李娜"], users["孙丽"]
    await tick(harness)  # the schedules start
    await _report(harness, li)
    dispute = await _dispute(harness)
    await _escalate(harness, li, dispute.id)
    [notice] = harness.emu.sent_to(chats["孙丽"])
    hours = harness.settings.escalation_take_hours
    await tick(harness, harness.clock.now() + dt.timedelta(hours=hours - 1))
    assert not [t for t in texts(harness.emu.sent_to(chats["吴敏"])) if "请受理" in t]
    await tick(harness, harness.clock.now() + dt.timedelta(hours=2))
    [climbed] = [s for s in harness.emu.sent_to(chats["吴敏"]) if "请受理" in (s.plain_text or "")]
    assert climbed.plain_text.splitlines()[0] == (
        f"⬆️ 纠纷 #{dispute.id} 上交乡镇后 {hours} 小时无人受理，现转县活动办，请受理：")
    assert "上交理由：涉及土地确权" in climbed.plain_text
    assert [label for row in climbed.buttons for label, _ in row] == ["受理", "退回"]
    assert (f"⬆️ 纠纷 #{dispute.id} 上交乡镇后 {hours} 小时无人受理，已转县活动办，"
            "吴敏已收到通知。") in texts(harness.emu.sent_to(chats["李娜"]))
    # The township leader's button now says where it is; the office takes it.
    await harness.press(sun, notice.buttons[0][0][1], message_id=notice.message_id)
    assert harness.emu.callback_answers[-1].get("text") == f"纠纷 #{dispute.id} 现由县里受理。"
    replies = await harness.tap(users["吴敏"], [climbed], "受理")
    assert texts(replies)[-1] == f"✅ 已受理纠纷 #{dispute.id}。已通知李娜。"
    after = await _dispute(harness)
    assert (after.level, after.handover_level) == ("county", "county")
    assert [a for a in await _audit(harness, dispute.id) if a[0] in ("climb", "take")] == [
        ("climb", "handover_level", "county"), ("take", "taken_by", "吴敏")]
    # Taken, it climbs no further.
    before = len(harness.emu.sent_to(chats["吴敏"]))
    await tick(harness, harness.clock.now() + dt.timedelta(hours=2 * hours))
    later = harness.emu.sent_to(chats["吴敏"])[before:]
    assert not [s for s in later if "请受理" in (s.plain_text or "")]


async def test_a_beijing_petition_reaches_the_office_at_once(harness):
    chats, users = await _zh(harness)
    replies = await _report(harness, users["李娜"], flags=("beijing",))
    dispute = await _dispute(harness)
    assert texts(replies)[-1].splitlines()[-1] == "此件属进京上访，已即时报县里，吴敏已收到通知。"
    [notice] = harness.emu.sent_to(chats["吴敏"])
    assert notice.plain_text.splitlines()[:2] == [
        f"🚨 李娜（新村）新上报纠纷 #{dispute.id}，属进京上访，请受理：",
        f"#{dispute.id} 农村征地 · 村民甲与村委会 · 3 人"]
    assert "信访情形：进京上访" in notice.plain_text
    assert harness.emu.sent_to(chats["孙丽"]) == []
    assert harness.emu.sent_to(chats["周杰"]) == []
    # A collective petition goes to the township leader.
    replies = await _report(harness, users["李娜"], flags=("collective",))
    assert texts(replies)[-1].splitlines()[-1] == "此件属集体上访，已即时报乡镇，孙丽已收到通知。"
    assert harness.emu.sent_to(chats["孙丽"])[-1].plain_text.startswith("🚨 李娜（新村）新上报纠纷")


async def test_a_township_with_nobody_on_the_bot_hands_it_to_the_office(harness):
    """赵强's 古埠镇 has no township leader: his escalation goes to the office, and he is told."""
    chats, _ = await _zh(harness)
    zhao = await harness.register("13800138006", user_id=6301)
    await _report(harness, zhao)
    dispute = await _dispute(harness)
    replies = await _escalate(harness, zhao, dispute.id)
    assert texts(replies)[-1] == (
        f"纠纷 #{dispute.id} 已上交乡镇。本乡镇暂无能在机器人上接收通知的乡镇工作组组长，"
        "已改报县活动办，吴敏已收到通知。")
    [notice] = harness.emu.sent_to(chats["吴敏"])
    assert notice.plain_text.splitlines()[0] == (
        f"⬆️ 赵强（古埠村）将纠纷 #{dispute.id} 上交乡镇；该乡镇暂无能在机器人上接收通知的"
        "乡镇工作组组长，请县活动办受理：")
    assert (await _dispute(harness)).handover_level == "county"


async def test_only_the_level_it_waits_for_may_take_it(harness):
    chats, users = await _zh(harness)
    li = users["李娜"]
    await _report(harness, li)
    dispute = await _dispute(harness)
    await _escalate(harness, li, dispute.id)
    [notice] = harness.emu.sent_to(chats["孙丽"])
    data = notice.buttons[0][0][1]
    # The cadre, her team leader, the leading group and the office (it waits for the township).
    for name in ("李娜", "张伟", "周杰", "吴敏"):
        await harness.send(users[name], "/help")
        sent = harness.emu.sent_to(chats[name])[-1]
        assert not keyboard_dropped(await harness.press(users[name], data,
                                                        message_id=sent.message_id))
    answers = [a.get("text") for a in harness.emu.callback_answers[-4:]]
    assert answers[:3] == ["这件纠纷不由您受理。"] * 3
    assert answers[3] == f"纠纷 #{dispute.id} 现由乡镇受理。"
    after = await _dispute(harness)
    assert (after.taken_by, after.handover_level) == (None, "township")


async def test_the_take_and_the_return_are_in_the_export(harness, exports):
    chats, users = await _zh(harness)
    li, sun = users["李娜"], users["孙丽"]
    await _report(harness, li)
    first = await _dispute(harness)
    await _escalate(harness, li, first.id)
    [notice] = harness.emu.sent_to(chats["孙丽"])
    await harness.tap(sun, [notice], "退回")
    replies = await harness.send(sun, "请先由村里组织调解")
    await harness.press(sun, button(replies, ":ok"))
    harness.at(harness.clock.now() + dt.timedelta(minutes=30))
    await _escalate(harness, li, first.id, reason="村里调解未成")
    await harness.tap(sun, [harness.emu.sent_to(chats["孙丽"])[-1]], "受理")

    await export_as(harness, users["吴敏"], "/export")
    _name, book, _params = await fetch_workbook(harness, users["吴敏"])
    [row] = by_header(book, translate("zh", "export.sheet.disputes"))
    assert (row["受理层级"], row["受理人"]) == ("乡镇", "孙丽")
    assert isinstance(row["受理时间"], dt.datetime)
    steps = by_header(book, translate("zh", "export.sheet.dispute_steps"))
    assert [(r["处理环节"], r["说明"]) for r in steps][-3:] == [
        ("退回", "请先由村里组织调解"), ("上交", "村里调解未成"), ("受理", None)]
    log = by_header(book, translate("zh", "export.sheet.audit"))
    said = [(r["对象"], r["操作"], r["字段"], r["原值"], r["新值"]) for r in log
            if r["对象"] == f"纠纷 #{first.id}"]
    assert ("纠纷 #1", "报请受理", "受理层级", None, "乡镇") in said
    assert ("纠纷 #1", "退回", "状态", "已上交", "调解中") in said
    assert ("纠纷 #1", "受理", "受理人", None, "孙丽") in said


async def test_in_english_the_notice_and_the_answers_read_as_english(harness):
    chats = await bind_everyone(harness, language="en")
    li = harness.emu.user(chats["李娜"], first_name="李娜", language_code="en")
    sun = harness.emu.user(chats["孙丽"], first_name="孙丽", language_code="en")
    await _report(harness, li)
    dispute = await _dispute(harness)
    replies = await _escalate(harness, li, dispute.id, reason="Two villages claim the land")
    assert texts(replies)[-1] == (
        f"Dispute #{dispute.id} has been escalated to the township; told at once: 孙丽.")
    [notice] = harness.emu.sent_to(chats["孙丽"])
    assert notice.plain_text.splitlines()[0] == (
        f"⬆️ 李娜 (新村) has escalated dispute #{dispute.id} to the township; please take it:")
    assert [label for row in notice.buttons for label, _ in row] == ["Take it", "Send back"]
    await harness.tap(sun, [notice], "Send back")
    replies = await harness.send(sun, "Mediate it in the village first")
    replies = await harness.press(sun, button(replies, ":ok"))
    assert texts(replies)[-1] == (
        f"↩️ Dispute #{dispute.id} has gone back to the cadre for mediation. 李娜 has been told.")
    assert harness.emu.sent_to(chats["李娜"])[-1].plain_text.splitlines() == [
        f"↩️ 孙丽 sent dispute #{dispute.id} back to you; please go on mediating it.",
        "Reason: Mediate it in the village first"]
    replies = await _report(harness, li, flags=("collective",))
    assert texts(replies)[-1].splitlines()[-1] == (
        "Handed to the township at once (Collective petition); told: 孙丽.")


async def test_two_township_leaders_are_told_and_the_first_to_take_it_has_it(harness):
    """Both leaders of 黄金埠镇 are told; 钱多 starts sending it back, 孙丽 takes it meanwhile:
    his reason saves nothing and says who took it, and his buttons answer the same."""
    chats, users = await _zh(harness)
    await harness.import_roster(
        "name,phone,rank,unit,township,village,role\n"
        "钱多,13800138010,ordinary,县教育局,黄金埠镇,,township_leader\n")
    qian = await harness.register("13800138010", user_id=6302)
    li, sun = users["李娜"], users["孙丽"]
    await _report(harness, li)
    dispute = await _dispute(harness)
    replies = await _escalate(harness, li, dispute.id)
    assert texts(replies)[-1] == f"纠纷 #{dispute.id} 已上交乡镇，孙丽、钱多已收到通知。"
    mine = [s for s in harness.emu.sent_to(qian.id) if "请受理" in (s.plain_text or "")]
    assert len(mine) == 1
    await harness.tap(qian, mine, "退回")
    [notice] = harness.emu.sent_to(chats["孙丽"])
    await harness.tap(sun, [notice], "受理")
    replies = await harness.send(qian, "不归乡镇管")
    replies = await harness.press(qian, button(replies, ":ok"))
    assert texts(replies)[-1] == f"纠纷 #{dispute.id} 已由孙丽受理。"
    await harness.press(qian, mine[0].buttons[0][0][1], message_id=mine[0].message_id)
    assert harness.emu.callback_answers[-1].get("text") == f"纠纷 #{dispute.id} 已由孙丽受理。"
    after = await _dispute(harness)
    assert (after.status, after.handover_level) == ("escalated", "township")
    assert [a[0] for a in await _audit(harness, dispute.id)].count("return") == 0


async def test_another_townships_leader_cannot_take_it_and_the_card_offers_it_to_its_own(harness):
    chats, users = await _zh(harness)
    await harness.import_roster(
        "name,phone,rank,unit,township,village,role\n"
        "钱多,13800138010,ordinary,县教育局,古埠镇,,township_leader\n")
    qian = await harness.register("13800138010", user_id=6302)
    li, sun = users["李娜"], users["孙丽"]
    await _report(harness, li)
    dispute = await _dispute(harness)
    await _escalate(harness, li, dispute.id)
    assert not [s for s in harness.emu.sent_to(qian.id) if "请受理" in (s.plain_text or "")]
    [notice] = harness.emu.sent_to(chats["孙丽"])
    await harness.send(qian, "/help")
    sent = harness.emu.sent_to(qian.id)[-1]
    assert not keyboard_dropped(await harness.press(qian, notice.buttons[0][0][1],
                                                    message_id=sent.message_id))
    assert harness.emu.callback_answers[-1].get("text") == "这件纠纷不由您受理。"
    assert (await _dispute(harness)).taken_by is None
    # 孙丽 lost the notice: her /disputes card of it has 受理 / 退回 too.
    listing = await harness.send(sun, "/disputes")
    card = await harness.tap(sun, listing, suffix=f"dsh:{dispute.id}")
    assert [label for row in card[-1].buttons for label, _ in row] == ["受理", "退回"]
    replies = await harness.tap(sun, card, "受理")
    assert texts(replies)[-1] == f"✅ 已受理纠纷 #{dispute.id}。已通知李娜。"
    # Taken, the card offers nothing more.
    card = await harness.tap(sun, await harness.send(sun, "/disputes"),
                             suffix=f"dsh:{dispute.id}")
    assert card[-1].buttons == []
