"""/appraise: the team leader grades each member with a comment, the member's weekly summary
beside it, in both languages; a forged member button and other roles are refused; the office's
export query returns the appraisals of a scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import appraisals as store
from storage import export
from storage.export import Filter, window
from storage.models import Appraisal, AuditEntry, Summary
from tests.conftest import SHANGHAI
from tests.harness import texts
from tests.test_schedules import bind_everyone
from tests.test_stats import people

MONDAY = dt.date(2026, 11, 23)


async def seed_summary(harness, found) -> None:
    async with harness.db.write() as session:
        person = found["李娜"]
        session.add(Summary(
            person_id=person.id, village_id=person.village_id, township_id=person.township_id,
            unit_id=person.unit_id, week_start=MONDAY,
            figures={"days_in_village": 5, "visits": 7, "disputes_opened": 1,
                     "disputes_resolved": 0, "aid": 2},
            achievements="Visited the poor", problems="Road broken", plan="Repair the road",
            status="submitted", submitted_at=harness.clock.now()))


async def appraisals(harness) -> list[Appraisal]:
    async with harness.db.read() as session:
        return list((await session.execute(select(Appraisal))).scalars())


async def _appraise(harness, user, member: str, grade: str, comment: str):
    replies = await harness.send(user, "/appraise")
    replies = await harness.tap(user, replies, member)
    shown = texts(replies)
    replies = await harness.tap(user, replies, suffix=f":{grade}")
    replies = await harness.send(user, comment)
    replies = await harness.tap(user, replies, suffix=":ok")
    return shown, texts(replies)


async def test_the_team_leader_appraises_a_member_in_english(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    await seed_summary(harness, found)
    leader = harness.emu.user(chats["张伟"], language_code="en")
    [reply] = await harness.send(leader, "/appraise")
    assert reply.plain_text.splitlines() == [
        "Appraisals: 0 of 2 members done. Tap a member to appraise them.",
        "• 李娜: not yet appraised", "• 王芳: not yet appraised"]
    assert [label for row in reply.buttons for label, _ in row] == ["李娜", "王芳"]
    shown, saved = await _appraise(harness, leader, "李娜", "excellent", "Hard-working")
    assert shown[0].splitlines() == [
        "Appraisal · 李娜", "Week of Mon 23 Nov",
        "5 days in the village; 7 visits; 1 disputes reported; 0 disputes resolved; "
        "2 acts of help",
        "Achievements: Visited the poor", "Problems: Road broken", "Plan: Repair the road"]
    assert saved[-1] == "Appraisal saved: 李娜 · Excellent. Sent to 孙丽 for review."
    [row] = await appraisals(harness)
    assert (row.person_id, row.by_id, row.grade, row.comment) == (
        found["李娜"].id, found["张伟"].id, "excellent", "Hard-working")
    # A second appraisal replaces the first, and the change is audited.
    shown, saved = await _appraise(harness, leader, "李娜", "competent", "Hard-working")
    assert shown[0].splitlines()[-2:] == ["So far: Excellent · Hard-working",
                                          "Township review: waiting"]
    [row] = await appraisals(harness)
    assert row.grade == "competent"
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "appraisal").order_by(AuditEntry.id))).scalars().all()
    assert [(a.action, a.field, a.old_value, a.new_value) for a in audit] == [
        ("create", "grade", None, "excellent"), ("update", "grade", "excellent", "competent")]
    [reply] = await harness.send(leader, "/appraise")
    assert reply.plain_text.splitlines()[:2] == [
        "Appraisals: 1 of 2 members done. Tap a member to appraise them.",
        "• 李娜: Competent"]


async def test_the_team_leader_appraises_a_member_in_chinese(harness):
    chats = await bind_everyone(harness, language="zh")
    found = await people(harness)
    leader = harness.emu.user(chats["张伟"], language_code="zh")
    shown, saved = await _appraise(harness, leader, "王芳", "basic", "需加强走访")
    assert shown[0].splitlines() == ["鉴定 · 王芳", "尚未提交周小结。"]
    assert saved[-1] == "鉴定已保存：王芳 · 基本称职。已送孙丽审核。"
    [row] = await appraisals(harness)
    assert (row.person_id, row.grade, row.comment) == (found["王芳"].id, "basic", "需加强走访")


async def test_a_forged_member_button_is_refused(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    leader = harness.emu.user(chats["张伟"], language_code="en")
    await harness.send(leader, "/appraise")
    for name in ("陈静", "赵强", "张伟", "孙丽"):  # another team, another township, self, none
        assert await harness.press(leader, f"apr:{found[name].id}") == []
        assert harness.emu.callback_answers[-1].get("text") == (
            "Only the team leader of that member's village can appraise them.")
    # A cadre forging a button for a member of their own team is refused too.
    cadre = harness.emu.user(chats["李娜"], language_code="en")
    await harness.send(cadre, "/me")
    newest = harness.emu.sent_to(chats["李娜"])[-1].message_id
    assert await harness.press(cadre, f"apr:{found['王芳'].id}", message_id=newest) == []
    assert harness.emu.callback_answers[-1].get("text") == (
        "Only the team leader of that member's village can appraise them.")
    assert await appraisals(harness) == []


async def test_only_team_leaders_may_appraise(harness):
    chats = await bind_everyone(harness)
    for name in ("李娜", "孙丽", "吴敏", "周杰"):
        [reply] = await harness.send(harness.emu.user(chats[name], language_code="en"),
                                     "/appraise")
        assert "not available to your role" in reply.plain_text


async def test_set_appraisal_refuses_an_unknown_grade_and_the_export_rows_follow_scope(harness):
    await harness.import_roster()
    found = await people(harness)
    now = harness.clock.now()
    async with harness.db.write() as session:
        with pytest.raises(ValueError, match="unknown grade"):
            await store.set_appraisal(session, person=found["李娜"], by=found["张伟"],
                                      grade="great", comment="", now=now)
        await store.set_appraisal(session, person=found["李娜"], by=found["张伟"],
                                  grade="excellent", comment="x" * 600, now=now)
        await store.set_appraisal(session, person=found["陈静"], by=found["刘洋"],
                                  grade="competent", comment="ok", now=now)
    span = window(MONDAY, MONDAY + dt.timedelta(days=6), SHANGHAI)
    async with harness.db.read() as session:
        county = [row async for row in export.appraisal_rows(session, where=Filter(span))]
        village = [row async for row in export.appraisal_rows(
            session, where=Filter(span, village_ids=[found["陈静"].village_id]))]
    assert len(county) == 2 and all(len(r) == len(export.APPRAISALS) for r in county)
    by_name = {r[1]: r for r in county}
    assert len(by_name["李娜"][7]) == store.MAX_COMMENT
    assert by_name["李娜"][4:9] == ("黄金埠镇", "新村", "excellent", "x" * 500, "张伟")
    assert [r[1] for r in village] == ["陈静"]
