"""/dispute and /disputes through the emulator: report, list with age, mediate, resolve with
a verdict, escalate with a reason, and refuse another cadre's dispute."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import disputes as store
from storage.models import AuditEntry, Dispute, DisputeStep, Person
from tests.conftest import SHANGHAI
from tests.harness import texts
from tests.test_visits import button


async def _cadre(harness, phone="13800138002", user_id=6301, language="en", roster=True):
    if roster:
        await harness.import_roster()
    return await harness.register(phone, user_id=user_id, language_code=language)


async def _disputes(harness):
    async with harness.db.read() as session:
        return list((await session.execute(select(Dispute).order_by(Dispute.id))).scalars())


async def _steps(harness, dispute_id):
    async with harness.db.read() as session:
        steps = await session.execute(select(DisputeStep).where(
            DisputeStep.dispute_id == dispute_id).order_by(DisputeStep.id))
        audit = await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "dispute", AuditEntry.entity_id == dispute_id))
        return list(steps.scalars()), list(audit.scalars())


async def _report(harness, user, people="3", category="land"):
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, f":{category}"))
    await harness.send(user, "村民甲与村委会")
    replies = await harness.send(user, people)
    replies = await harness.press(user, button(replies, ":s:3"))  # no petition flags
    replies = await harness.send(user, "补偿款未到位")
    replies = await harness.press(user, button(replies, ":normal"))
    return await harness.press(user, button(replies, ":ok"))


async def test_a_reported_dispute_is_saved_with_its_first_step_and_the_cadres_team(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":pollution"))
    replies = await harness.send(user, "养殖场与周边村民")
    assert "整数" in (await harness.send(user, "abc"))[0].plain_text
    assert "1" in (await harness.send(user, "0"))[0].plain_text
    replies = await harness.send(user, "十二")
    assert "信访" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":collective"))
    replies = await harness.press(user, button(replies, ":beijing"))
    replies = await harness.press(user, button(replies, ":d:3"))
    too_long = (await harness.send(user, "y" * 2001))[0].plain_text
    assert "2001" in too_long and "2000" in too_long
    replies = await harness.send(user, "猪粪污染水塘")
    replies = await harness.press(user, button(replies, ":high"))
    assert "集体上访、进京上访" in replies[-1].plain_text and "12" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":ok"))
    assert any("已上报纠纷" in t for t in texts(replies))
    [dispute] = await _disputes(harness)
    async with harness.db.read() as session:
        person = (await session.execute(select(Person).where(
            Person.phone.like("%13800138002")))).scalar_one()
    assert (dispute.village_id, dispute.township_id, dispute.unit_id) == (
        person.village_id, person.township_id, person.unit_id)
    assert (dispute.category, dispute.people_count, dispute.flags, dispute.status,
            dispute.urgency) == ("pollution", 12, {"collective": True, "beijing": True},
                                 "reported", "high")
    [step], [entry, handed] = await _steps(harness, dispute.id)
    assert (step.action, step.status, step.by_person_id) == ("report", "reported", person.id)
    assert (entry.action, entry.new_value) == ("report", "reported")
    # A Beijing petition is handed to the office at once (tests/test_handover.py tells it).
    assert (handed.action, handed.new_value, dispute.handover_level) == (
        "hand_over", "county", "county")


async def test_a_restart_mid_report_keeps_the_answers_and_cancel_saves_nothing(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":ownership"))
    await harness.send(user, "Two neighbours")
    await harness.restart()
    replies = await harness.send(user, "２")  # full-width digits count
    assert "petition" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":s:3"))
    replies = await harness.send(user, "A wall on the boundary")
    replies = await harness.press(user, button(replies, ":low"))
    assert "Two neighbours" in replies[-1].plain_text and "People: 2" in replies[-1].plain_text
    replies = await harness.send(user, "/cancel")
    assert "Nothing was saved" in replies[0].plain_text
    assert await _disputes(harness) == []


async def test_back_in_a_dispute_report_asks_the_previous_question(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/dispute")
    replies = await harness.press(user, button(replies, ":ownership"))
    await harness.send(user, "Two brothers")
    replies = await harness.send(user, "/back")
    assert len(replies) == 1 and "Who are the parties" in replies[0].plain_text


async def test_open_disputes_are_listed_oldest_first_with_their_age(harness):
    user = await _cadre(harness)
    harness.at(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    await _report(harness, user, category="accident")
    harness.at(dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))
    await _report(harness, user, category="land")
    replies = await harness.send(user, "/disputes")
    lines = replies[0].plain_text.splitlines()
    assert "open disputes (2)" in lines[0]
    assert "Safety accident" in lines[1] and "4 days open" in lines[1]
    assert "Rural land expropriation" in lines[2] and "0 days open" in lines[2]
    first, _ = await _disputes(harness)
    assert [data for row in replies[0].buttons for _, data in row][:4] == [
        f"dsp:{first.id}:m", f"dsp:{first.id}:r", f"dsp:{first.id}:et", f"dsp:{first.id}:ec"]


async def test_mediating_then_resolved_with_the_partys_verdict(harness):
    user = await _cadre(harness)
    await _report(harness, user)
    [dispute] = await _disputes(harness)
    listing = await harness.send(user, "/disputes")  # the dialog's keyboards are gone by now
    replies = await harness.tap(user, listing, suffix=f"dsp:{dispute.id}:m")
    assert f"#{dispute.id} is now: mediating" in replies[-1].plain_text
    replies = await harness.send(user, "/disputes")
    assert "mediating" in replies[0].plain_text
    assert f"dsp:{dispute.id}:m" not in [d for row in replies[0].buttons for _, d in row]
    replies = await harness.press(user, f"dsp:{dispute.id}:r")
    assert "satisfied" in replies[-1].plain_text
    replies = await harness.press(user, f"dsp:{dispute.id}:vs")
    assert "resolved" in texts(replies)[-1]
    await harness.press(user, f"dsp:{dispute.id}:vn")  # a second tap: resolved is final
    assert "resolved" in harness.emu.callback_answers[-1].get("text")
    [dispute] = await _disputes(harness)
    assert (dispute.status, dispute.verdict) == ("resolved", "satisfied")
    steps, audit = await _steps(harness, dispute.id)
    assert [(s.action, s.status) for s in steps] == [
        ("report", "reported"), ("mediate", "mediating"), ("resolve", "resolved")]
    assert [(a.old_value, a.new_value) for a in audit][1:] == [
        ("reported", "mediating"), ("mediating", "resolved")]
    assert "no open disputes" in (await harness.send(user, "/disputes"))[0].plain_text


async def test_escalation_asks_for_a_reason_and_records_it(harness):
    user = await _cadre(harness)
    await _report(harness, user)
    [dispute] = await _disputes(harness)
    listing = await harness.send(user, "/disputes")  # the dialog's keyboards are gone by now
    replies = await harness.tap(user, listing, suffix=f"dsp:{dispute.id}:ec")
    assert "Why does it need to go up" in replies[-1].plain_text
    await harness.restart()
    replies = await harness.send(user, "Involves the county land bureau")
    assert f"Dispute #{dispute.id} to the county" in replies[-1].plain_text
    replies = await harness.press(user, button(replies, ":ok"))
    # Nobody at the county office is on the bot here: the cadre is told so, not that it was sent.
    assert replies[-1].plain_text == (
        f"Dispute #{dispute.id} has been escalated to the county, but no leader who could take "
        "it can be told on the bot yet; please contact them directly.")
    [dispute] = await _disputes(harness)
    assert (dispute.status, dispute.level, dispute.escalation_stage) == ("escalated", "county", 0)
    steps, audit = await _steps(harness, dispute.id)
    assert (steps[-1].action, steps[-1].note) == ("escalate", "Involves the county land bureau")
    assert [(a.action, a.new_value) for a in audit[-2:]] == [
        ("escalate", "escalated"), ("hand_over", "county")]


async def test_a_forged_button_for_another_cadres_dispute_is_refused(harness):
    owner = await _cadre(harness)
    other = await _cadre(harness, phone="13800138003", user_id=6302, roster=False)
    await _report(harness, owner)
    [dispute] = await _disputes(harness)
    await harness.send(other, "/dispute")  # any message with buttons to forge a press on
    for code in ("m", "vs", "ec"):
        assert await harness.press(other, f"dsp:{dispute.id}:{code}") == []
        assert harness.emu.callback_answers[-1].get("text") == "That dispute is not one of yours."
    [after] = await _disputes(harness)
    assert after.status == "reported"
    assert len((await _steps(harness, dispute.id))[0]) == 1


async def test_move_dispute_allows_only_the_lifecycles_transitions(harness):
    await harness.import_roster()
    now = harness.clock.now()
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(
            Person.phone.like("%13800138002")))).scalar_one()
        dispute = await store.add_dispute(
            session, person=person, category="other", parties="A/B", people_count=2, flags=[],
            description="d", urgency="low", day=now.date(), now=now)
        await store.move_dispute(session, dispute=dispute, by_person_id=person.id,
                                 action="escalate", level="township", note="why", now=now)
        with pytest.raises(store.TransitionError):
            await store.move_dispute(session, dispute=dispute, by_person_id=person.id,
                                     action="escalate", level="county", note=None, now=now)
        await store.move_dispute(session, dispute=dispute, by_person_id=person.id,
                                 action="resolve", verdict="unsatisfied", note=None, now=now)
        for action in ("mediate", "resolve", "escalate"):
            with pytest.raises(store.TransitionError):
                await store.move_dispute(session, dispute=dispute, by_person_id=person.id,
                                         action=action, level="county", note=None, now=now)
        counts = await store.disputes_by_status(session, township_id=person.township_id)
    assert counts == {"resolved": 1}
