"""/summary transcripts: drafted figures, the short-week reason, corrections, acceptance, weeks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from handlers.dialogs import CONFIRM, RESUME
from storage.models import AuditEntry, Checkin, Dialog, Dispute, DisputeStep, Person, Summary, Visit
from tests.emulator import Sent
from tests.harness import texts
from tests.test_turn_statements import _statements

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


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


async def person(harness, name: str) -> Person:
    async with harness.db.read() as session:
        return (await session.execute(select(Person).where(Person.name == name))).scalar_one()


async def add_records(harness, who: Person, *, days_in: list[int], visits: dict[str, int]) -> None:
    """Check-ins on these November days, visits of these kinds on the 24th, and records of
    the week before that must not count."""
    async with harness.db.write() as session:
        for day in days_in:
            session.add(Checkin(person_id=who.id, village_id=who.village_id, in_village=True,
                                day=dt.date(2026, 11, day), created_at=NOW, updated_at=NOW))
        session.add(Checkin(person_id=who.id, in_village=False, reason="leave",
                            day=dt.date(2026, 11, 27), created_at=NOW, updated_at=NOW))
        session.add(Checkin(person_id=who.id, in_village=True, day=dt.date(2026, 11, 20),
                            created_at=NOW, updated_at=NOW))
        for kind, count in visits.items():
            for _ in range(count):
                session.add(_visit(who, kind, dt.date(2026, 11, 24)))
        session.add(_visit(who, "weak", dt.date(2026, 11, 22)))


def _visit(who: Person, kind: str, day: dt.date) -> Visit:
    return Visit(person_id=who.id, village_id=who.village_id, day=day, kind=kind, heard="h",
                 wants="w", created_at=NOW)


async def add_dispute(harness, who: Person, *, resolved_at: dt.datetime) -> None:
    """A dispute opened this week and resolved at the given moment."""
    async with harness.db.write() as session:
        dispute = Dispute(person_id=who.id, village_id=who.village_id, category="land",
                          parties="a, b", people_count=2, description="d", urgency="normal",
                          opened_on=dt.date(2026, 11, 24), created_at=NOW, last_step_at=NOW)
        session.add(dispute)
        await session.flush()
        session.add(DisputeStep(dispute_id=dispute.id, by_person_id=who.id, action="resolve",
                                status="resolved", at=resolved_at))


async def fill_texts(harness, user, answers: list[str]) -> list[Sent]:
    replies: list[Sent] = []
    for answer in answers:
        replies = await harness.send(user, answer)
    return replies


async def summaries(harness) -> list[Summary]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Summary).order_by(Summary.id))).scalars())


async def test_the_draft_counts_the_weeks_records_and_a_short_week_requires_a_reason(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6201, language_code="en")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25], visits={"weak": 2, "old": 1})
    # Resolved on Sunday 23:59 county time (15:59 UTC): still this week.
    await add_dispute(harness, cadre, resolved_at=dt.datetime(2026, 11, 29, 15, 59, tzinfo=dt.UTC))
    replies = await harness.send(user, "/summary")
    assert "this week: 3, fewer than the 5 required" in replies[-1].plain_text  # the figure
    replies = await fill_texts(harness, user, ["Sick two days", "Met 3 households", "Roads",
                                               "Visit the school"])
    confirm = replies[-1].plain_text
    assert "Week 23 – 29 Nov" in confirm
    assert "Days in the village: 3" in confirm and "Visits: 3" in confirm
    assert "the old 1" in confirm and "the weak 2" in confirm
    assert "Disputes reported: 1" in confirm and "Disputes resolved: 1" in confirm
    assert "Reason for fewer days: Sick two days" in confirm
    replies = await tap(harness, user, replies, "Save")
    assert "is submitted" in "\n".join(texts(replies))
    [row] = await summaries(harness)
    assert row.week_start == dt.date(2026, 11, 23) and row.short_reason == "Sick two days"
    assert row.figures["days_in_village"] == 3 and row.figures["visits_by_kind"] == {
        "weak": 2, "old": 1}
    assert (row.village_id, row.unit_id) == (cadre.village_id, cadre.unit_id)


async def test_a_second_summary_the_same_week_corrects_it_and_leaves_an_audit_trail(harness):
    await harness.import_roster()
    user = await harness.register("13800138003", user_id=6202, language_code="zh-hans")
    cadre = await person(harness, "王芳")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={"masses": 1})
    replies = await harness.send(user, "/summary")
    assert "本周主要工作成效" in replies[-1].plain_text  # five days: no reason asked
    replies = await fill_texts(harness, user, ["走访五户", "道路问题", "下周开会"])
    await tap(harness, user, replies, "提交")
    [first] = await summaries(harness)
    harness.at(harness.clock.now() + dt.timedelta(days=1))  # corrected a day later
    async with harness.db.write() as session:  # a visit recorded since: the figures follow
        session.add(_visit(cadre, "masses", dt.date(2026, 11, 29)))
    replies = await harness.send(user, "/summary")
    assert "本周小结已提交" in replies[-1].plain_text and "走访次数：2" in replies[-1].plain_text
    assert "以下数字按记录统计，不可修改" in replies[-1].plain_text
    labels = [label for row in last_with_buttons(replies).buttons for label, _ in row]
    assert not any(f"✏️ {figure}" in labels for figure in (
        "驻村天数", "走访次数", "上报纠纷", "化解纠纷", "帮扶次数"))
    replies = await tap(harness, user, replies, "✏️ 说明")
    replies = await harness.send(user, "周日补走访一户")
    assert "说明：周日补走访一户" in replies[-1].plain_text
    replies = await tap(harness, user, replies, "提交")
    assert "已更正" in "\n".join(texts(replies))
    [row] = await summaries(harness)
    assert row.figures["visits"] == 2 and row.achievements == "走访五户"
    assert row.figures_note == "周日补走访一户"
    # Submitted when first submitted: a late correction does not make it late.
    assert row.submitted_at == first.submitted_at
    async with harness.db.read() as session:
        audit = list((await session.execute(
            select(AuditEntry).where(AuditEntry.entity == "summary"))).scalars())
    assert [(a.action, a.field, a.old_value, a.new_value, a.actor_id) for a in audit
            if a.field != "figures.visits_by_kind"] == [
        ("recount", "figures.visits", "1", "2", cadre.id),
        ("correct", "figures_note", None, "周日补走访一户", cadre.id)]


async def test_one_day_in_the_village_is_one_whatever_is_typed_and_its_reason_is_asked(harness):
    """The figure that was once typed as 7: no button changes it, a typed number is the
    reason's text, and the short-week reason is asked."""
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6207, language_code="zh-hans")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23], visits={})
    replies = await harness.send(user, "/summary")
    assert "本周在村 1 天，少于规定的 5 天" in replies[-1].plain_text
    replies = await fill_texts(harness, user, ["7", "走访", "无", "继续"])
    confirm = replies[-1].plain_text
    assert "驻村天数：1\n" in confirm and "驻村不足原因：7" in confirm
    labels = [label for row in last_with_buttons(replies).buttons for label, _ in row]
    assert "✏️ 驻村天数" not in labels and "✏️ 驻村不足原因" in labels
    # A forged edit of a figure has no question to reach: the form has none.
    token = last_with_buttons(replies).callback_data("提交").split(":")[1]
    for index in range(5, 9):
        assert not texts(await harness.press(user, f"f:{token}:e:{index}"))
    await tap(harness, user, replies, "提交")
    [row] = await summaries(harness)
    assert row.figures["days_in_village"] == 1 and row.short_reason == "7"


async def test_a_week_that_becomes_short_before_saving_asks_its_reason_first(harness):
    """Five days when the form opened, four when Save is tapped: the reason is asked, and
    what is saved is what the records say then."""
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6208, language_code="en")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={})
    replies = await fill_texts(harness, user, ["/summary", "a", "b", "c"])
    assert "Days in the village: 5" in replies[-1].plain_text
    async with harness.db.write() as session:
        row = (await session.execute(select(Checkin).where(
            Checkin.person_id == cadre.id, Checkin.day == dt.date(2026, 11, 28)))).scalar_one()
        row.in_village, row.reason = False, "meeting"
    replies = await tap(harness, user, replies, "Save")
    assert "Your check-ins changed" in replies[-1].plain_text
    assert "this week: 4, fewer than the 5 required" in replies[-1].plain_text
    assert await summaries(harness) == []
    replies = await harness.send(user, "County meeting on Saturday")
    assert "Days in the village: 4" in replies[-1].plain_text
    await tap(harness, user, replies, "Save")
    [saved] = await summaries(harness)
    assert saved.figures["days_in_village"] == 4
    assert saved.short_reason == "County meeting on Saturday"


async def test_figures_changed_after_the_card_are_shown_again_before_anything_is_saved(harness):
    """The card shows the figures counted when the form opened; a visit recorded before Save
    is tapped is counted then, and the card comes back with it instead of a silent save."""
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6210, language_code="en")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={"weak": 1})
    replies = await fill_texts(harness, user, ["/summary", "a", "b", "c"])
    assert "Visits: 1" in replies[-1].plain_text
    async with harness.db.write() as session:
        session.add(_visit(cadre, "old", dt.date(2026, 11, 25)))
    replies = await tap(harness, user, replies, "Save")
    card = replies[-1].plain_text
    assert "Your records changed" in card and "Visits: 2" in card and "the old 1" in card
    assert await summaries(harness) == []
    await tap(harness, user, replies, "Save")
    [row] = await summaries(harness)
    assert row.figures["visits"] == 2 and row.figures["visits_by_kind"] == {"weak": 1, "old": 1}


async def test_a_summary_counts_its_figures_when_it_opens_and_when_it_is_saved_only(harness):
    """Six counts a time: at /summary and at Save, not again for the card or in the save."""
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6211, language_code="en")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={"weak": 1})

    async def write_and_save() -> str:
        replies = await fill_texts(harness, user, ["/summary", "a", "b", "c"])
        replies = await tap(harness, user, replies, "✏️ Explanation")
        replies = await harness.send(user, "note")
        await tap(harness, user, replies, "Save")
        return replies[-1].plain_text

    card, seen = await _statements(harness, write_and_save)
    assert "Explanation: note" in card and "Visits: 1" in card  # the card, the second time
    [row] = await summaries(harness)
    assert row.figures["visits"] == 1
    assert sum("count(aid.id)" in statement for statement in seen) == 2


async def test_a_draft_left_open_with_a_typed_figure_saves_the_records_figures(harness):
    """A draft written before the figures were counted (7 typed as the days, no reason) is
    saved with the records' one day, after the reason it now needs."""
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6209, language_code="en")
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23], visits={})
    now = harness.clock.now()
    async with harness.db.write() as session:
        session.add(Dialog(chat_id=user.id, person_id=cadre.id, form="summary", step=CONFIRM,
                           token="0ld0", started_at=now, updated_at=now, history={},
                           data={"days_in_village": 7, "visits": 9, "disputes_opened": 0,
                                 "disputes_resolved": 0, "aid": 0, "achievements": "a",
                                 "problems": "b", "plan": "c", "ctx_week": "2026-11-23",
                                 "ctx_min_days": 5, "ctx_by_kind": {}}))
    last = harness.emu.sent_to(user.id)[-1].message_id  # the card it was on
    replies = await harness.press(user, "f:0ld0:ok", message_id=last)
    assert "this week: 1, fewer than the 5 required" in replies[-1].plain_text
    assert await summaries(harness) == []
    replies = await harness.send(user, "Sick")
    replies = await tap(harness, user, replies, "Skip")  # the explanation, new since the draft
    assert "Days in the village: 1" in replies[-1].plain_text
    await tap(harness, user, replies, "Save")
    [row] = await summaries(harness)
    assert (row.figures["days_in_village"], row.figures["visits"]) == (1, 0)
    assert row.short_reason == "Sick"


async def test_a_summary_goes_to_the_team_leader_who_returns_it_and_then_accepts_it(harness):
    """The whole loop, in Chinese: submit → the team leader gets it with 通过 / 退回修改 →
    returned with a reason → the cadre corrects it from the button → the leader gets it again
    → accepted → locked. Every decision is in the audit log."""
    await harness.import_roster()
    leader_user = await harness.register("13800138001", user_id=6210)
    user = await harness.register("13800138002", user_id=6203)
    welcome = len(harness.emu.sent_to(leader_user.id))  # what registering said
    cadre, leader = await person(harness, "李娜"), await person(harness, "张伟")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={"weak": 2})
    await harness.send(user, "/summary")
    replies = await tap(harness, user, await fill_texts(harness, user, ["走访", "无", "继续"]),
                        "提交")
    assert "已送张伟审核" in texts(replies)[-1]
    notice = (await harness.emu.wait_sent(leader_user.id, count=welcome + 1))[-1]
    assert "李娜的周小结（11月23日—11月29日），请审核" in notice.plain_text
    assert "走访次数 2" in notice.plain_text and "工作成效：走访" in notice.plain_text
    assert [label for row in notice.buttons for label, _ in row] == ["通过", "退回修改"]
    assert "待张伟审核" in texts(await harness.send(user, "/me"))[-1]

    # 退回修改 asks a reason; the leader's notice loses its buttons once it is saved.
    replies = await harness.tap(leader_user, [notice], "退回修改")
    assert "请写明退回原因" in texts(replies)[-1]
    replies = await harness.send(leader_user, "请补充帮扶情况")
    seen = len(harness.emu.sent_to(user.id))
    replies = await harness.tap(leader_user, replies, "提交")
    assert "已退回修改：李娜的周小结" in texts(replies)[-1] and "已通知李娜" in texts(replies)[-1]
    assert any(r.method == "editMessageReplyMarkup" and r.params.get("message_id")
               == notice.message_id for r in replies)
    returned = (await harness.emu.wait_sent(user.id, count=seen + 1))[-1]
    assert returned.plain_text.splitlines()[:2] == [
        "↩️ 您的周小结（11月23日—11月29日）被张伟退回修改。", "退回原因：请补充帮扶情况"]
    [row] = await summaries(harness)
    assert row.status == "returned" and row.return_reason == "请补充帮扶情况"
    assert "已退回修改" in texts(await harness.send(leader_user, "/team"))[-1]

    # The cadre corrects it from the button: the reason is shown, saving resubmits it with
    # the figures counted again (a help recorded meanwhile).
    async with harness.db.write() as session:
        session.add(_visit(cadre, "weak", dt.date(2026, 11, 26)))
    replies = await harness.tap(user, [returned], "修改周小结")
    assert any("请补充帮扶情况" in t for t in texts(replies))
    before = len(harness.emu.sent_to(leader_user.id))
    replies = await harness.tap(user, replies, "提交")
    assert "已重新送张伟审核" in texts(replies)[-1]
    again = (await harness.emu.wait_sent(leader_user.id, count=before + 1))[-1]
    assert "已修改后重新提交" in again.plain_text
    [row] = await summaries(harness)
    assert row.status == "submitted" and row.figures["visits"] == 3

    # The old notice's 通过 is stale only once decided; the new one accepts.
    seen = len(harness.emu.sent_to(user.id))
    replies = await harness.tap(leader_user, [again], "通过")
    assert "已审核通过：李娜的周小结" in texts(replies)[-1]
    accepted = await harness.emu.wait_sent(user.id, count=seen + 1)
    assert "已由张伟审核通过" in accepted[-1].plain_text
    stale = await harness.tap(leader_user, [notice], "通过")
    assert not texts(stale)  # only the button's note and the keyboard taken off
    replies = await harness.send(user, "/summary")
    assert "已审核通过，不能再修改" in texts(replies)[-1]
    async with harness.db.read() as session:
        audit = [(a.action, a.field, a.new_value, a.actor_id) for a in (await session.execute(
            select(AuditEntry).where(AuditEntry.entity == "summary")
            .order_by(AuditEntry.id))).scalars() if a.field in ("status", "return_reason")]
    assert audit == [("return", "status", "returned", leader.id),
                     ("return", "return_reason", "请补充帮扶情况", leader.id),
                     ("resubmit", "status", "submitted", cadre.id),
                     ("accept", "status", "accepted", leader.id)]


async def test_only_the_cadres_own_team_leader_may_decide(harness):
    """Another village's team leader, the township leader and the author cannot decide a
    cadre's weekly summary, even with the button's data."""
    await harness.import_roster()
    await harness.register("13800138001", user_id=6220)
    user = await harness.register("13800138002", user_id=6221)
    other = await harness.register("13800138004", user_id=6222)  # 东岗村's team leader
    township = await harness.register("13800138007", user_id=6223)
    cadre = await person(harness, "李娜")
    await add_records(harness, cadre, days_in=[23, 24, 25, 26, 28], visits={})
    await harness.send(user, "/summary")
    await tap(harness, user, await fill_texts(harness, user, ["a", "b", "c"]), "提交")
    [row] = await summaries(harness)
    for who in (other, township, user):  # a cadre may not press review buttons at all
        last = harness.emu.sent_to(who.id)[-1].message_id
        replies = await harness.press(who, f"rv:w:a:{row.id}", message_id=last)
        assert not texts(replies)
    [row] = await summaries(harness)
    assert row.status == "submitted"


async def test_a_summary_at_monday_0001_local_belongs_to_the_new_week(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6204, language_code="en")
    harness.at(dt.datetime(2026, 11, 29, 23, 59, tzinfo=SHANGHAI))
    replies = await harness.send(user, "/summary")
    await tap(harness, user, await fill_texts(harness, user, ["r", "a", "b", "c"]), "Save")
    harness.at(dt.datetime(2026, 11, 30, 0, 1, tzinfo=SHANGHAI))
    replies = await harness.send(user, "/summary")
    assert "this week: 0, fewer" in replies[-1].plain_text  # a fresh draft, not the correction
    replies = await fill_texts(harness, user, ["r2", "a2", "b2", "c2"])
    assert "Week 30 Nov – 6 Dec" in replies[-1].plain_text
    await tap(harness, user, replies, "Save")
    rows = await summaries(harness)
    assert [r.week_start for r in rows] == [dt.date(2026, 11, 23), dt.date(2026, 11, 30)]
    assert [r.achievements for r in rows] == ["a", "a2"]


async def test_a_summary_survives_a_restart_and_a_double_tap_on_save_submits_once(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6205, language_code="en")
    await harness.send(user, "/summary")
    await harness.send(user, "On leave")
    await harness.restart()
    replies = await harness.send(user, "/back")
    assert "fewer than the 5 required" in replies[-1].plain_text
    replies = await fill_texts(harness, user, ["Away", "a", "b", "c"])
    confirm = last_with_buttons(replies)
    save = confirm.callback_data("Save")
    await harness.press(user, save, message_id=confirm.message_id)
    await harness.press(user, save, message_id=confirm.message_id)
    [row] = await summaries(harness)
    assert row.short_reason == "Away"
    async with harness.db.read() as session:
        audit = (await session.execute(
            select(AuditEntry).where(AuditEntry.entity == "summary"))).all()
    assert audit == []


async def test_cancel_leaves_no_summary(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6206, language_code="en")
    await harness.send(user, "/summary")
    replies = await harness.send(user, "/cancel")
    assert "Nothing was saved" in replies[-1].plain_text
    assert await summaries(harness) == []


INPUTS = st.one_of(
    st.sampled_from(["7", "０", "100", "驻村天数7天", "走访 20 次", "/back", "-1", "七"]),
    st.text(min_size=1, max_size=12).filter(lambda t: t.strip() and not t.startswith("/")),
    st.tuples(st.just("press"), st.integers(0, 12)),  # any button of the newest keyboard
    st.tuples(st.just("forge"), st.integers(0, 12)),  # an edit button the card never offered
)


@hypothesis_settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inputs=st.lists(INPUTS, max_size=10))
async def test_no_sequence_of_inputs_changes_a_computed_figure(harness, inputs):
    """Whatever the cadre types or presses in the summary dialog, what is saved is what the
    records give: here one day in the village and two visits, so the short-week reason too."""
    if not await summaries_or_none(harness):
        await harness.import_roster()
    user = harness.emu.user(6290, language_code="zh-hans")
    cadre = await person(harness, "李娜")
    if cadre.telegram_user_id is None:
        await harness.register("13800138002", user_id=6290, language_code="zh-hans")
    async with harness.db.read() as session:
        weeks = len((await session.execute(select(Checkin.id).where(
            Checkin.person_id == cadre.id))).all())
    monday = dt.date(2026, 11, 30) + dt.timedelta(days=7 * weeks)  # a fresh week each example
    harness.at(dt.datetime.combine(monday + dt.timedelta(days=4), dt.time(10), SHANGHAI))
    await harness.send(user, "/cancel")
    async with harness.db.write() as session:
        session.add(Checkin(person_id=cadre.id, village_id=cadre.village_id, in_village=True,
                            day=monday, created_at=NOW, updated_at=NOW))
        session.add(_visit(cadre, "weak", monday))
        session.add(_visit(cadre, "old", monday + dt.timedelta(days=1)))
    shown = list(await harness.send(user, "/summary"))  # every reply so far, in order

    def newest_keyboard() -> Sent | None:
        return next((r for r in reversed(shown) if r.buttons), None)

    for item in inputs:
        keyboard = newest_keyboard()
        if isinstance(item, str):
            shown += await harness.send(user, item)
        elif keyboard is not None and item[0] == "press":
            buttons = [data for row in keyboard.buttons for _, data in row]
            data = buttons[item[1] % len(buttons)]
            if not (data.endswith(":x") or data.endswith(":ok")):  # the test saves below
                shown += await harness.press(user, data, message_id=keyboard.message_id)
        elif keyboard is not None and item[0] == "forge":
            token = next((d.split(":")[1] for row in keyboard.buttons for _, d in row
                          if d.startswith("f:")), None)
            if token is not None:
                shown += await harness.press(user, f"f:{token}:e:{item[1]}",
                                             message_id=keyboard.message_id)
    for _ in range(8):  # answer whatever is still asked (or resume the draft), then save
        async with harness.db.read() as session:
            dialog = (await session.execute(select(Dialog).where(
                Dialog.chat_id == user.id))).scalar_one_or_none()
        if dialog is None:  # "discard and start again" may have closed it: open it again
            shown += await harness.send(user, "/summary")
        elif dialog.step == CONFIRM:
            # Press 提交 on the card that offers it (the card may still be on its way when the
            # dialog's step already reads CONFIRM).
            ok = f"f:{dialog.token}:ok"
            card = await harness.emu.wait_for(lambda ok=ok: next(
                (m for m in reversed(harness.emu.sent_to(user.id))
                 if any(d == ok for row in m.buttons or [] for _, d in row)), None), within=10)
            await harness.press(user, ok, message_id=card.message_id)
            break
        elif dialog.step == RESUME:
            shown += await harness.press(user, f"f:{dialog.token}:c")
        else:
            shown += await harness.send(user, "写完")
    row = (await summaries(harness))[-1]
    assert row.week_start == monday
    assert {k: row.figures[k] for k in ("days_in_village", "visits", "disputes_opened",
                                        "disputes_resolved", "aid")} == {
        "days_in_village": 1, "visits": 2, "disputes_opened": 0, "disputes_resolved": 0,
        "aid": 0}
    assert row.short_reason is not None  # 1 day < 5: the reason was asked


async def summaries_or_none(harness) -> bool:
    """Whether an earlier example of this test already set the roster up."""
    async with harness.db.read() as session:
        return (await session.execute(select(Person).limit(1))).first() is not None
