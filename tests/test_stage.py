"""/final, the summary stage: personal, team and township summaries drafted from the whole
campaign's records (checked against the raw rows), written, corrected, accepted by the one
above, reminded on schedule, shown beside the appraisal and exported with it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import export, stage
from storage.export import Filter, window
from storage.figures import SOLVED
from storage.models import (
    Aid,
    Appraisal,
    AuditEntry,
    Checkin,
    Dispute,
    DisputeStep,
    Person,
    Problem,
    Publicity,
    StageSummary,
    Visit,
)
from tests.conftest import SHANGHAI
from tests.harness import texts
from tests.scheduling import local, tick
from tests.test_schedules import bind_everyone, messages
from tests.test_stats import seed

START, TODAY = dt.date(2026, 11, 23), dt.date(2026, 11, 28)  # campaign start; harness clock
TOO_LONG_ZH = "内容有 1001 个字，超过了 1000 字的上限，请精简后再发送。"
ANSWERS = ["Visited every poor household", "Listen first", "The road", "Fund the road"]


@pytest.fixture
def settings(settings):
    """The stage opened this morning; summaries are due next Friday."""
    return settings.model_copy(update={
        "outbox_per_chat_per_second": 50.0, "summary_stage_start": TODAY,
        "summary_stage_deadline": dt.date(2026, 12, 4)})


async def stage_rows(harness) -> list[StageSummary]:
    async with harness.db.read() as session:
        query = select(StageSummary).order_by(StageSummary.id)
        return list((await session.execute(query)).scalars())


async def write(harness, user, answers=ANSWERS) -> list:
    replies: list = []
    for answer in answers:
        replies = await harness.send(user, answer)
    return replies


async def resolve_one(harness, who: Person) -> None:
    """One of 李娜's disputes resolved inside the campaign, and a step of another status."""
    async with harness.db.write() as session:
        dispute = (await session.execute(select(Dispute).where(
            Dispute.person_id == who.id, Dispute.category == "land"))).scalar_one()
        session.add(DisputeStep(dispute_id=dispute.id, by_person_id=who.id, action="resolve",
                                status="resolved", at=harness.clock.now()))


async def raw_personal(harness, who: Person) -> dict:
    """A person's campaign figures counted in Python from the raw rows."""
    def mine(row, day) -> bool:
        return row.person_id == who.id and START <= day <= TODAY

    async with harness.db.read() as session:
        def rows(model):
            return session.execute(select(model))

        checkins = [r for r in (await rows(Checkin)).scalars() if mine(r, r.day)]
        visits = [r for r in (await rows(Visit)).scalars() if mine(r, r.day)]
        disputes = [r for r in (await rows(Dispute)).scalars() if mine(r, r.opened_on)]
        steps = [r for r in (await rows(DisputeStep)).scalars() if r.status == "resolved"]
        problems = [r for r in (await rows(Problem)).scalars() if r.person_id == who.id]
        aid = [r for r in (await rows(Aid)).scalars() if mine(r, r.day)]
        held = [r for r in (await rows(Publicity)).scalars() if mine(r, r.day)]
    own = {d.id for d in (await _all(harness, Dispute)) if d.person_id == who.id}
    return {"days_in_village": sum(1 for c in checkins if c.in_village),
            "visits": len(visits), "disputes_opened": len(disputes),
            "disputes_resolved": len({s.dispute_id for s in steps if s.dispute_id in own}),
            "problems_raised": len(problems),
            "problems_solved": sum(1 for p in problems if p.status in SOLVED),
            "aid": len(aid), "publicity": len(held)}


async def _all(harness, model) -> list:
    async with harness.db.read() as session:
        return list((await session.execute(select(model))).scalars())


async def test_before_the_stage_opens_final_says_when_in_both_languages(harness):
    chats = await bind_everyone(harness)
    harness.settings.summary_stage_start = dt.date(2027, 2, 1)
    harness.settings.summary_stage_deadline = dt.date(2027, 2, 17)
    li = harness.emu.user(chats["李娜"], language_code="en")
    assert texts(await harness.send(li, "/final")) == [
        "The summary stage opens on Mon 1 Feb 2027; summaries are due by Wed 17 Feb 2027."]
    async with harness.db.write() as session:
        person = (await session.execute(select(Person).where(Person.name == "王芳"))).scalar_one()
        person.telegram_language = "zh"
    wang = harness.emu.user(chats["王芳"], language_code="zh-hans")
    assert texts(await harness.send(wang, "/final")) == [
        "总结阶段于2027年2月1日（周一）开始，2027年2月17日（周三）前提交总结。"]
    assert await stage_rows(harness) == []


async def test_a_cadre_writes_a_personal_summary_drafted_from_the_whole_campaign_in_english(
    harness,
):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    await resolve_one(harness, found["李娜"])
    expected = await raw_personal(harness, found["李娜"])
    assert expected["visits"] == 3 and expected["publicity"] == 2  # the week before left out
    li = harness.emu.user(chats["李娜"], language_code="en")
    replies = await harness.send(li, "/final")
    assert texts(replies)[0].splitlines() == [
        "Personal summary: the figures of the whole campaign, drafted from the records:",
        f"Days in the village: {expected['days_in_village']}",
        f"Visits: {expected['visits']}", f"Disputes reported: {expected['disputes_opened']}",
        f"Disputes resolved: {expected['disputes_resolved']}",
        f"Problems raised: {expected['problems_raised']}",
        f"Problems solved: {expected['problems_solved']}", f"Help given: {expected['aid']}",
        f"Publicity sessions: {expected['publicity']}"]
    assert "What work was done" in texts(replies)[1]
    replies = await harness.send(li, "x" * 1001)  # too long: asked again, nothing lost
    assert "1000" in texts(replies)[0] and len(replies) == 1  # one line: the question waits
    await harness.send(li, ANSWERS[0])
    replies = await harness.send(li, "Wrong lesson")
    assert "Which problems remain" in texts(replies)[-1]
    replies = await harness.send(li, "/back")
    assert "What experience and lessons" in texts(replies)[-1]
    replies = await write(harness, li, ANSWERS[1:])
    confirm = texts(replies)[-1]
    assert "Personal summary" in confirm and "Visits by kind:" in confirm
    assert "Experience and lessons: Listen first" in confirm
    replies = await harness.tap(li, replies, suffix=":ok")
    assert texts(replies)[-1:] == ["✅ Personal summary submitted and sent to 张伟 for review."]
    [row] = await stage_rows(harness)
    li_person = found["李娜"]
    assert (row.kind, row.person_id, row.village_id, row.township_id, row.unit_id,
            row.status) == ("personal", li_person.id, li_person.village_id,
                            li_person.township_id, li_person.unit_id, "submitted")
    assert {k: row.figures[k] for k in expected} == expected
    assert sum(row.figures["visits_by_kind"].values()) == expected["visits"]
    assert (row.achievements, row.experience, row.problems, row.suggestions) == tuple(ANSWERS)


async def test_a_team_leader_writes_the_teams_summary_from_the_villages_figures_in_chinese(
    harness,
):
    chats = await bind_everyone(harness, language="zh")
    found = await seed(harness)
    zhang = harness.emu.user(chats["张伟"], language_code="zh-hans")
    replies = await harness.send(zhang, "/final")
    assert texts(replies) == ["总结阶段请于12月4日（周五）前提交。请选择要写的总结："]
    assert [label for row in replies[0].buttons for label, _ in row] == [
        "个人总结", "工作队总结", "审核总结"]
    replies = await harness.tap(zhang, replies, suffix=":w:team")
    lines = texts(replies)[0].splitlines()
    assert lines[0] == "工作队总结：根据记录生成的整个驻村期间数据："
    village = found["张伟"].village_id
    visits = [v for v in await _all(harness, Visit)
              if v.village_id == village and START <= v.day <= TODAY]
    checkins = [c for c in await _all(harness, Checkin)
                if c.village_id == village and c.in_village and START <= c.day <= TODAY]
    assert lines[1:4] == ["干部人数：3", f"驻村天数：{len(checkins)}", "驻村天数达标周次占比：33%"]
    assert lines[4] == f"走访次数：{len(visits)}"
    replies = await harness.send(zhang, "/cancel")
    assert texts(replies) == ["已取消，未保存任何内容。"]
    assert await stage_rows(harness) == []
    replies = await harness.send(zhang, "/final team")
    replies = await harness.send(zhang, "长" * 1001)  # too long: said why, asked again
    assert texts(replies) == [TOO_LONG_ZH]  # one line: the question above still waits
    replies = await write(harness, zhang, ["完成走访", "先听后说", "道路", "修路"])
    replies = await harness.tap(zhang, replies, suffix=":ok")
    assert texts(replies)[-1:] == ["✅ 工作队总结已提交，已送孙丽审核。"]
    [row] = await stage_rows(harness)
    assert (row.kind, row.village_id, row.figures["visits"], row.figures["cadres"]) == (
        "team", village, len(visits), 3)


async def submit(harness, user, command="/final") -> None:
    replies = await harness.send(user, command)
    replies = await write(harness, user)
    await harness.tap(user, replies, suffix=":ok")


async def test_a_correction_until_the_team_leader_accepts_then_it_is_locked(harness):
    chats = await bind_everyone(harness)
    li = harness.emu.user(chats["李娜"], language_code="en")
    await submit(harness, li)
    # Her team leader gets it with the buttons that decide it; another team's leader does not.
    [notice] = messages(harness, chats["张伟"])
    assert notice.startswith("📋 李娜's Personal summary, for your review:\n"
                             "Personal summary · 李娜 · waiting for review")
    assert not any(m.startswith("📋") for m in messages(harness, chats["刘洋"]))
    replies = await harness.send(li, "/final")  # reopened at the confirm screen
    assert "This corrects the summary you submitted" in texts(replies)[-1]
    replies = await harness.tap(replies=replies, user=li, label="✏️ Suggestions")
    replies = await harness.send(li, "Pave the road")
    replies = await harness.tap(li, replies, suffix=":ok")
    assert texts(replies)[-1:] == [
        "✅ Personal summary corrected and sent to 张伟 for review again."]
    # He reads the corrected text before deciding: it comes to him again.
    assert messages(harness, chats["张伟"])[-1].startswith(
        "📋 李娜's Personal summary, corrected and submitted again, for your review:")
    [row] = await stage_rows(harness)
    assert row.suggestions == "Pave the road"
    audit = [a for a in await _all(harness, AuditEntry) if a.entity == "stage_summary"]
    assert [(a.action, a.field, a.old_value, a.new_value) for a in audit] == [
        ("correct", "suggestions", "Fund the road", "Pave the road")]
    liu = harness.emu.user(chats["刘洋"], language_code="en")  # another team's leader
    await harness.send(liu, "/final")
    await harness.press(liu, f"rv:f:a:{row.id}")
    assert harness.emu.callback_answers[-1].get("text") == (
        "This is not yours to review (or your role has changed).")
    zhang = harness.emu.user(chats["张伟"], language_code="en")
    replies = await harness.send(zhang, "/final review")
    assert texts(replies)[0].splitlines() == [
        "Summaries to review: 1 waiting of 1. Tap a name to read it.",
        "• 李娜: Personal summary, waiting for review"]
    replies = await harness.tap(zhang, replies, "李娜")
    shown = texts(replies)[0]
    assert shown.startswith("Personal summary · 李娜 · waiting for review")
    assert "Suggestions: Pave the road" in shown
    replies = await harness.tap(zhang, replies, "Accept")
    assert texts(replies)[-1:] == ["✅ Accepted: 李娜's Personal summary. 李娜 has been told."]
    [row] = await stage_rows(harness)
    assert row.status == "accepted" and row.accepted_at is not None
    assert texts(await harness.send(li, "/final")) == [
        "Your Personal summary has been accepted and can no longer be changed."]


async def test_a_correction_after_the_deadline_keeps_the_first_submission_time(harness):
    chats = await bind_everyone(harness)
    li = harness.emu.user(chats["李娜"], language_code="en")
    await submit(harness, li)
    [first] = await stage_rows(harness)
    harness.at(local(2026, 11, 30, 10, 0))
    await submit(harness, harness.emu.user(chats["王芳"], language_code="en"))
    corrected_at = local(2026, 12, 5, 10, 0)  # the day after the deadline
    harness.at(corrected_at)
    replies = await harness.send(li, "/final")
    replies = await harness.tap(replies=replies, user=li, label="✏️ Suggestions")
    replies = await harness.send(li, "Pave the road")
    replies = await harness.tap(li, replies, suffix=":ok")
    assert texts(replies)[-1:] == [
        "✅ Personal summary corrected and sent to 张伟 for review again."]
    row = (await stage_rows(harness))[0]
    # Submitted when first submitted: a late correction does not make it late.
    assert (row.suggestions, row.submitted_at) == ("Pave the road", first.submitted_at)
    audit = [a for a in await _all(harness, AuditEntry) if a.entity == "stage_summary"]
    assert [(a.field, a.at) for a in audit] == [("suggestions", corrected_at)]
    # Her team leader still finds them in the order they were submitted.
    zhang = harness.emu.user(chats["张伟"], language_code="en")
    replies = await harness.send(zhang, "/final review")
    assert texts(replies)[0].splitlines()[1:] == [
        "• 李娜: Personal summary, waiting for review",
        "• 王芳: Personal summary, waiting for review",
    ]
    async with harness.db.read() as session:
        where = Filter(window(START, TODAY, SHANGHAI))
        exported = [dict(zip(export.STAGE_SUMMARIES, r, strict=True)) async for r in
                    export.rows(session, kind="stage_summaries", where=where)]
    assert {r["cadre"]: r["submitted_at"] for r in exported}["李娜"] == first.submitted_at


async def test_the_township_summary_is_accepted_by_the_office(harness):
    chats = await bind_everyone(harness, language="zh")
    found = await seed(harness)
    sun = harness.emu.user(chats["孙丽"], language_code="zh-hans")
    replies = await harness.send(sun, "/final")
    replies = await harness.tap(sun, replies, suffix=":w:township")
    assert texts(replies)[0].startswith("乡镇工作组总结：根据记录生成的整个驻村期间数据：")
    replies = await write(harness, sun)
    replies = await harness.tap(sun, replies, suffix=":ok")
    assert texts(replies)[-1:] == ["✅ 乡镇工作组总结已提交，已送吴敏审核。"]
    [row] = await stage_rows(harness)
    assert (row.kind, row.village_id, row.figures["cadres"]) == ("township", None, 5)
    township = found["孙丽"].township_id
    visits = [v for v in await _all(harness, Visit)
              if v.township_id == township and START <= v.day <= TODAY]
    held = [p for p in await _all(harness, Publicity)
            if p.township_id == township and START <= p.day <= TODAY]
    aid = [a for a in await _all(harness, Aid)
           if a.township_id == township and START <= a.day <= TODAY]
    assert (row.figures["visits"], row.figures["publicity"], row.figures["aid"]) == (
        len(visits), len(held), len(aid))
    assert (len(visits), len(held)) == (4, 3)  # 古埠镇's and the week before's left out
    wu = harness.emu.user(chats["吴敏"], language_code="zh-hans")
    replies = await harness.send(wu, "/final")
    assert texts(replies)[0].splitlines() == [
        "待审核总结：共 1 份，1 份待审核。点击姓名查看。", "• 孙丽：乡镇工作组总结，待审核"]
    replies = await harness.tap(wu, replies, "孙丽")
    replies = await harness.tap(wu, replies, "通过")
    assert texts(replies)[-1:] == ["✅ 已审核通过：孙丽的乡镇工作组总结。已通知孙丽。"]


async def test_reminders_at_the_start_a_chase_before_and_the_missing_at_the_deadline(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 11, 28, 8, 0))
    await tick(harness, local(2026, 11, 28, 9, 0))  # the stage opens
    opened = [m for m in messages(harness, chats["张伟"]) if "summary stage has begun" in m]
    assert opened == ["The summary stage has begun. Please write your Personal summary, "
                      "Team summary with /final by Fri 4 Dec."]
    assert any("summary stage has begun" in m for m in messages(harness, chats["孙丽"]))
    assert not any("summary stage" in m for m in messages(harness, chats["吴敏"]))
    li = harness.emu.user(chats["李娜"], language_code="en")
    await submit(harness, li)
    await tick(harness, local(2026, 12, 3, 9, 0))  # a chase day (STAGE_CHASE_DAYS 7,3,1)
    assert not any("Still to do" in m for m in messages(harness, chats["李娜"]))
    assert [m for m in messages(harness, chats["王芳"]) if "Still to do" in m] == [
        "Reminder: the summary stage closes on Fri 4 Dec. Still to do (tap a button below to "
        "write it):\n• Personal summary"]
    await tick(harness, local(2026, 12, 4, 9, 0))  # the deadline: no chase, the lists again
    assert len([m for m in messages(harness, chats["王芳"]) if "Still to do" in m]) == 1

    def deadline_list(name: str) -> str:
        return [m for m in messages(harness, chats[name]) if "Summary stage deadline" in m][-1]

    assert deadline_list("张伟").splitlines() == [
        "Summary stage deadline Fri 4 Dec: still missing —", "• 王芳: Personal summary"]
    assert deadline_list("孙丽").splitlines()[1:] == [
        "• 刘洋: Personal summary", "• 刘洋: Team summary", "• 张伟: Personal summary",
        "• 张伟: Team summary", "• 刘洋: Appraisal of 陈静", "• 张伟: Appraisal of 李娜",
        "• 张伟: Appraisal of 王芳"]
    assert deadline_list("吴敏").splitlines()[1:] == ["• 孙丽: Township summary"]


async def test_the_appraisal_shows_the_personal_summary_and_the_export_holds_both(harness):
    chats = await bind_everyone(harness)
    li = harness.emu.user(chats["李娜"], language_code="en")
    await submit(harness, li)
    zhang = harness.emu.user(chats["张伟"], language_code="en")
    replies = await harness.send(zhang, "/appraise")
    replies = await harness.tap(zhang, replies, "李娜")
    shown = texts(replies)
    assert "Personal summary of the campaign (waiting for review):" in shown[1]
    assert "Work done: Visited every poor household" in shown[1]
    replies = await harness.tap(zhang, replies, suffix=":excellent")
    replies = await harness.send(zhang, "Reliable")
    await harness.tap(zhang, replies, suffix=":ok")
    replies = await harness.send(zhang, "/appraise")
    replies = await harness.tap(zhang, replies, "王芳")
    assert "No personal summary of the campaign yet." in texts(replies)
    await harness.send(zhang, "/cancel")
    async with harness.db.read() as session:
        where = Filter(window(START, TODAY, SHANGHAI))
        rows = [row async for row in export.rows(session, kind="stage_summaries", where=where)]
        village = (await session.execute(select(Person).where(Person.name == "李娜"))
                   ).scalar_one().village_id
        other = Filter(window(START, TODAY, SHANGHAI), village_ids=[village + 1000])
        none = [row async for row in export.rows(session, kind="stage_summaries", where=other)]
    [row] = rows
    got = dict(zip(export.STAGE_SUMMARIES, row, strict=True))
    assert (got["kind"], got["cadre"], got["village"], got["achievements"], got["status"],
            got["grade"], got["appraisal"], got["appraised_by"]) == (
        "personal", "李娜", "新村", ANSWERS[0], "submitted", "excellent", "Reliable", "张伟")
    assert none == []
    assert [a.grade for a in await _all(harness, Appraisal)] == ["excellent"]


def test_each_summary_is_accepted_by_the_one_above_its_author_only():
    def person(pid, role, village=None, township=1):
        return Person(id=pid, name=str(pid), role=role, village_id=village, township_id=township,
                      active=True)

    cadre, leader = person(1, "cadre", 10), person(2, "team_leader", 10)
    other_leader, township = person(3, "team_leader", 11), person(4, "township_leader")
    far_township, office = person(5, "township_leader", None, 2), person(6, "office", None, None)
    everyone = [cadre, leader, other_leader, township, far_township, office]

    def accepters(author, kind):
        row = StageSummary(kind=kind, village_id=None if kind == "township" else 10,
                           township_id=1)
        return [p.id for p in everyone if stage.may_accept(p, row, author)]

    assert accepters(cadre, "personal") == [2]  # the team leader, not another team's
    assert accepters(leader, "personal") == [4]  # a team leader's own: the township's
    assert accepters(leader, "team") == [4]
    assert accepters(township, "township") == [6]  # the office
