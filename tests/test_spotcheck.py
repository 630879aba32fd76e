"""/spotcheck: the office draws recent records in scope, each goes to the leader above its
cadre, who confirms or says it could not be confirmed (with a note); forged and repeated
buttons change nothing; `/spotcheck` alone shows the results."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
from sqlalchemy import select, text

from common.i18n import translator
from handlers.spotcheck import render_overview
from storage import spotchecks as store
from storage.aid import add_aid
from storage.models import AuditEntry, Person, SpotCheck
from storage.scope import Scope
from storage.visits import add_visit
from tests.harness import texts
from tests.test_schedules import bind_everyone, messages
from tests.test_stats import ask, people


async def seed(harness) -> dict[str, Person]:
    """Recent records of 李娜 (新村), 张伟 (新村's team leader), 陈静 (东岗村) and 赵强 (古埠村,
    a township without a leader), and an old visit of 李娜 outside the 14 days."""
    found = await people(harness)
    now, today = harness.clock.now(), harness.clock.now().date()
    async with harness.db.write() as session:
        for name, day in (("李娜", today), ("张伟", today - dt.timedelta(days=13)),
                          ("赵强", today), ("李娜", today - dt.timedelta(days=20))):
            await add_visit(session, person=found[name], kind="weak", day=day,
                            heard=f"{name} heard", wants="a road", now=now)
        await add_aid(session, person=found["陈静"], kind="labour", day=today, now=now,
                      people_count=4, destination="Nanchang")
    return found


async def checks(harness) -> list[SpotCheck]:
    async with harness.db.read() as session:
        return list((await session.execute(select(SpotCheck).order_by(SpotCheck.id))).scalars())


async def test_it_draws_recent_records_in_scope_and_asks_the_leader_above_each_cadre(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 50 黄金埠镇")
    assert reply.plain_text.splitlines()[0] == (
        "Spot check · 黄金埠镇: drew 3 of 50 records; each leader has been asked to verify.")
    drawn = await checks(harness)
    by_cadre = {c.cadre_id: c for c in drawn}
    assert set(by_cadre) == {found["李娜"].id, found["张伟"].id, found["陈静"].id}
    assert by_cadre[found["李娜"].id].assigned_to == found["张伟"].id  # the team leader
    assert by_cadre[found["陈静"].id].assigned_to == found["刘洋"].id
    assert by_cadre[found["张伟"].id].assigned_to == found["孙丽"].id  # a leader's: township
    assert {c.status for c in drawn} == {"pending"}
    [request] = harness.emu.sent_to(chats["刘洋"])
    assert request.plain_text.splitlines() == [
        "Spot check: the office asks you to verify this record.",
        f"#{by_cadre[found['陈静'].id].id} Help · Labour export · Sat 28 Nov · 陈静 (东岗村)",
        "Details: 4; Nanchang",
        'Is it true? Tap a button; "could not confirm" asks for a note.']
    assert [label for row in request.buttons for label, _ in row] == [
        "Confirmed", "Could not confirm"]
    assert len(messages(harness, chats["张伟"])) == 1
    assert len(messages(harness, chats["孙丽"])) == 1
    # Records already drawn are not drawn again.
    [reply] = await ask(harness, chats, "周杰", "/spotcheck 5 黄金埠镇")
    assert reply.plain_text.startswith("Nothing to draw in 黄金埠镇")
    # Outside a township with a leader, the check has no assignee and nobody is messaged.
    [reply] = await ask(harness, chats, "周杰", "/spotcheck 5")
    assert "→ to no leader (unassigned)" in reply.plain_text
    assert len(await checks(harness)) == 4


async def test_bad_numbers_are_explained(harness):
    chats = await bind_everyone(harness)
    for args in ("0", "51", "abc", "-3"):
        [reply] = await ask(harness, chats, "吴敏", f"/spotcheck {args}")
        assert reply.plain_text.startswith("Say how many records to draw, 1 to 50")
    assert await checks(harness) == []


async def _drawn(harness, chats, found) -> dict[str, SpotCheck]:
    await ask(harness, chats, "吴敏", "/spotcheck 50 黄金埠镇")
    return {name: c for c in await checks(harness) for name in ("李娜", "张伟", "陈静")
            if c.cadre_id == found[name].id}


async def press(harness, chat_id: int, data: str):
    """The user presses a button with this data on the newest bot message of their chat (a
    forged press when that message offered no such button)."""
    newest = harness.emu.sent_to(chat_id)[-1].message_id
    return await harness.press(harness.emu.user(chat_id, language_code="en"), data,
                               message_id=newest)


async def test_the_assignee_confirms_once_and_a_repeat_is_harmless(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    drawn = await _drawn(harness, chats, found)
    leader = harness.emu.user(chats["张伟"], language_code="en")
    check = drawn["李娜"]
    replies = await harness.press(leader, f"spc:{check.id}:y")
    assert texts(replies)[-1] == f"Spot check #{check.id}: confirmed. Thank you."
    request = next(s for s in harness.emu.sent_to(chats["张伟"]) if "verify" in s.plain_text)
    for code in ("y", "n"):
        assert await harness.press(leader, f"spc:{check.id}:{code}",
                                   message_id=request.message_id) == []
        assert harness.emu.callback_answers[-1].get("text") == "Already answered: confirmed."
    after = {c.id: c for c in await checks(harness)}[check.id]
    assert (after.status, after.note, after.answered_at) == (
        "confirmed", None, harness.clock.now())
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "spot_check", AuditEntry.action == "answer"))).scalars().all()
    assert [(a.entity_id, a.actor_id, a.new_value) for a in audit] == [
        (check.id, found["张伟"].id, "confirmed")]


async def test_could_not_confirm_takes_a_note(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    check = (await _drawn(harness, chats, found))["陈静"]
    leader = harness.emu.user(chats["刘洋"], language_code="en")
    replies = await harness.press(leader, f"spc:{check.id}:n")
    assert "What could not be confirmed, and why?" in "\n".join(texts(replies))
    replies = await harness.send(leader, "Only 2 went, not 4")
    replies = await harness.tap(leader, replies, suffix=":ok")
    assert texts(replies)[-1] == f"Spot check #{check.id}: could not confirm. Thank you."
    after = {c.id: c for c in await checks(harness)}[check.id]
    assert (after.status, after.note) == ("not_confirmed", "Only 2 went, not 4")


async def test_a_forged_button_for_another_leaders_check_is_refused(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    check = (await _drawn(harness, chats, found))["李娜"]  # assigned to 张伟
    await ask(harness, chats, "李娜", "/me")  # a bot message to forge a press on
    for name in ("刘洋", "吴敏", "李娜"):
        for code in ("y", "n"):
            assert await press(harness, chats[name], f"spc:{check.id}:{code}") == []
            assert harness.emu.callback_answers[-1].get("text") == (
                "That spot check is not assigned to you.")
    assert await press(harness, chats["张伟"], "spc:99999:y") == []
    assert await press(harness, chats["张伟"], "spc:x:zz") == []
    assert {c.status for c in await checks(harness)} == {"pending"}
    async with harness.db.write() as session:
        row = await store.check_by_id(session, check_id=check.id)
        assert row is not None
        with pytest.raises(store.NotAssignee):
            await store.answer(session, check=row, status="confirmed", note=None,
                               by=found["刘洋"], now=harness.clock.now())


async def test_the_overview_counts_pending_and_answered_checks_in_scope(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    drawn = await _drawn(harness, chats, found)
    await harness.press(harness.emu.user(chats["张伟"], language_code="en"),
                        f"spc:{drawn['李娜'].id}:y")
    [reply] = await ask(harness, chats, "周杰", "/spotcheck")
    lines = reply.plain_text.splitlines()
    assert lines[:2] == ["Spot checks · the county",
                         "2 pending · 1 confirmed · 0 could not confirm"]
    assert lines[-3:] == [
        f"#{drawn['李娜'].id} Visit · The weak (difficulties) · Sat 28 Nov · 李娜 (新村)",
        "Heard: 李娜 heard · Wants: a road", "→ confirmed · checked by 张伟"]
    assert "→ pending · checked by 孙丽" in lines[2:8]
    assert "→ pending · checked by 刘洋" in lines[2:8]
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 东岗村")
    assert reply.plain_text.startswith("Say how many records to draw")


async def test_the_overview_in_chinese_and_english(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    await _drawn(harness, chats, found)
    async with harness.db.read() as session:
        scope = Scope("village", "东岗村", found["陈静"].township_id, found["陈静"].village_id)
        counts = await store.summary(session, scope=scope)
        views = await store.in_scope(session, scope=scope)
    [view] = views
    assert render_overview(translator("zh"), counts, views, place="东岗村").splitlines() == [
        "<b>抽查 · 东岗村</b>", "待核实 1 · 属实 0 · 无法核实 0",
        f"<b>#{view.check.id}</b> 帮扶 · {translator('zh')('aid.kind.labour')} · "
        "11月28日（周六） · 陈静（东岗村）",
        "详情：4; Nanchang", "→ 待核实 · 核实人：刘洋"]
    assert render_overview(translator("en"), counts, views, place="东岗村").splitlines()[1] == (
        "1 pending · 0 confirmed · 0 could not confirm")


def draw_meanwhile(monkeypatch, by: Person) -> None:
    """Between the draw's pick and its insert, another draw takes the same records (as if
    another office user's turn had committed then), in the turn's own transaction."""
    pick = store.pick

    async def racing(session, **kwargs):
        picked = await pick(session, **kwargs)
        for kind, record in picked:
            session.add(SpotCheck(drawn_by=by.id, record_kind=kind, record_id=record.id,
                                  cadre_id=record.person_id, village_id=record.village_id,
                                  township_id=record.township_id, status="pending",
                                  drawn_at=dt.datetime(2026, 11, 28, 1, 59, tzinfo=dt.UTC)))
        await session.flush()
        return picked

    monkeypatch.setattr(store, "pick", racing)


async def test_a_draw_racing_another_shows_that_draw_instead_of_an_error(harness, monkeypatch):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    draw_meanwhile(monkeypatch, found["周杰"])
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 50 黄金埠镇")
    lines = reply.plain_text.splitlines()
    assert lines[0] == (
        "Spot check: 周杰 drew 3 records a moment ago, among them some you were drawing. A "
        "record is never drawn twice, so nothing more was drawn. Here is that draw; each "
        "leader has been asked to verify. To draw more, send /spotcheck again.")
    drawn = await checks(harness)
    assert {c.drawn_by for c in drawn} == {found["周杰"].id} and len(drawn) == 3
    assert [line.split()[0] for line in lines if line.startswith("#")] == [
        f"#{c.id}" for c in drawn]
    assert not messages(harness, chats["刘洋"])  # the other draw has asked the leaders
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "spot_check"))).scalars().all()
    assert audit == []  # this draw left nothing behind


async def test_a_double_tap_on_draw_says_so_in_chinese(harness, monkeypatch):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    draw_meanwhile(monkeypatch, found["吴敏"])
    wu = harness.emu.user(chats["吴敏"], language_code="zh-hans")
    [reply] = await harness.send(wu, "/spotcheck 2")
    assert reply.plain_text.splitlines()[0] == (
        "抽查：您刚刚已抽取 2 条记录（命令发送了两次）。同一条记录不重复抽查，所以这次没有再抽。"
        "以下是刚才那一批，已请各位领导核实。如需再抽，请重新发送 /spotcheck。")
    assert len(await checks(harness)) == 2


async def until_a_draw_waits(harness) -> None:
    """Until a connection to the test database waits on a lock (each look a fresh snapshot)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND datname = current_database()")
    for _ in range(3000):
        async with harness.db.read() as session:
            if (await session.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second draw never waited for the first")


async def test_two_draws_at_once_on_postgresql_the_second_gives_way(harness):
    if harness.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: two draws cannot overlap there")
    await harness.import_roster()
    found = await seed(harness)
    since = harness.clock.now().date() - dt.timedelta(days=13)

    async def draw(session, by):
        return await store.draw(session, scope=Scope("county"), n=50, since=since, by=by,
                                now=harness.clock.now(), rng=random.Random(1))

    async def second() -> store.DrawnMeanwhile:
        async with harness.db.write() as session:
            with pytest.raises(store.DrawnMeanwhile) as raised:
                await draw(session, found["周杰"])
            await session.execute(select(Person.id))  # the transaction is still usable
        return raised.value

    async with harness.db.write() as session:
        first = await draw(session, found["吴敏"])
        racing = asyncio.create_task(second())  # picks the same records, then waits on ours
        await until_a_draw_waits(harness)
    meanwhile = await racing
    assert (meanwhile.drawn_by, meanwhile.check_ids) == (
        found["吴敏"].id, sorted(c.id for c in first))
    assert [c.drawn_by for c in await checks(harness)] == [found["吴敏"].id] * len(first)


async def test_draw_takes_a_random_sample_of_n(harness):
    await harness.import_roster()
    found = await seed(harness)
    async with harness.db.write() as session:
        drawn = await store.draw(session, scope=Scope("county"), n=2,
                                 since=harness.clock.now().date() - dt.timedelta(days=13),
                                 by=found["吴敏"], now=harness.clock.now(), rng=random.Random(1))
        assert len(drawn) == 2
        more = await store.draw(session, scope=Scope("county"), n=50,
                                since=harness.clock.now().date() - dt.timedelta(days=13),
                                by=found["吴敏"], now=harness.clock.now(), rng=random.Random(1))
    assert len(more) == 2  # 4 recent records in the county, 2 already drawn
    assert not {(c.record_kind, c.record_id) for c in drawn} & {
        (c.record_kind, c.record_id) for c in more}
