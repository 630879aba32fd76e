"""/spotcheck: the office draws recent records in scope, each goes to someone outside its
cadre's chain — a supervisor (the one with the fewest checks waiting), else the office, never
the drawer, the cadre, the team leader or the township leader — who confirms or says it could
not be confirmed (with a note); forged and repeated buttons change nothing; `/spotcheck` alone
shows the results, to the supervisors too."""

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
from tests.harness import ROSTER_HEADER, texts
from tests.test_export import by_header, fetch_workbook
from tests.test_export import exports as exports  # the fixture, for this module's tests
from tests.test_report import fetch_report
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


# Supervision group members and a second office person, added to the default roster.
EXTRA = {"钱进": ("13800138010", "县纪委", "supervisor", 7010),
         "郑红": ("13800138011", "县委组织部", "supervisor", 7011),
         "冯刚": ("13800138012", "县委活动办", "office", 7012)}


async def add_people(harness, chats: dict[str, int], *names: str, bind: bool = True) -> None:
    """Put these of EXTRA on the roster (an import adds, it never removes) and, with `bind`,
    on the bot."""
    rows = [f"{name},{EXTRA[name][0]},ordinary,{EXTRA[name][1]},,,{EXTRA[name][2]}"
            for name in names]
    await harness.import_roster(ROSTER_HEADER + "\n".join(rows) + "\n")
    if not bind:
        return
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person).where(
                Person.name.in_(names)))).scalars():
            person.telegram_user_id = chats[person.name] = EXTRA[person.name][3]
            person.telegram_language = "en"
            harness.emu.user(chats[person.name], first_name=person.name, language_code="en")


async def checks(harness) -> list[SpotCheck]:
    async with harness.db.read() as session:
        return list((await session.execute(select(SpotCheck).order_by(SpotCheck.id))).scalars())


async def test_a_draw_goes_to_the_supervisors_never_to_the_cadres_own_chain(harness):
    chats = await bind_everyone(harness)
    await add_people(harness, chats, "钱进", "郑红")
    found = await seed(harness)
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 50 黄金埠镇")
    assert reply.plain_text.splitlines()[0] == (
        "Spot check · 黄金埠镇: drew 3 of 50 records; each goes to a supervision group member "
        "or the county office, outside the cadre's team and township, to verify.")
    drawn = await checks(harness)
    by_cadre = {c.cadre_id: c for c in drawn}
    assert set(by_cadre) == {found["李娜"].id, found["张伟"].id, found["陈静"].id}
    found = await people(harness)
    supervisors = {found["钱进"].id, found["郑红"].id}
    # The one with the fewest checks waiting each time: 2 and 1, never the same one thrice.
    assert sorted(sum(c.assigned_to == s for c in drawn) for s in supervisors) == [1, 2]
    chain = {found[name].id for name in ("张伟", "刘洋", "孙丽")}
    assert not {c.assigned_to for c in drawn} & (chain | {found["吴敏"].id})
    assert {c.status for c in drawn} == {"pending"}
    chen = by_cadre[found["陈静"].id]
    checker = next(name for name in ("钱进", "郑红") if found[name].id == chen.assigned_to)
    request = next(s for s in harness.emu.sent_to(chats[checker]) if f"#{chen.id}" in s.plain_text)
    assert request.plain_text.splitlines() == [
        "Spot check: the office asks you to verify this record.",
        f"#{chen.id} Help · Labour export · Sat 28 Nov · 陈静 (东岗村)",
        "Details: 4; Nanchang",
        'Is it true? Tap a button; "could not confirm" asks for a note.']
    assert [label for row in request.buttons for label, _ in row] == [
        "Confirmed", "Could not confirm"]
    assert len(messages(harness, chats["钱进"])) + len(messages(harness, chats["郑红"])) == 3
    for leader in ("张伟", "刘洋", "孙丽"):  # the chain is asked nothing
        assert messages(harness, chats[leader]) == []
    # Records already drawn are not drawn again.
    [reply] = await ask(harness, chats, "周杰", "/spotcheck 5 黄金埠镇")
    assert reply.plain_text.startswith("Nothing to draw in 黄金埠镇")
    # The next draw goes to the supervisor with fewer checks waiting.
    fewer = min(supervisors, key=lambda s: sum(c.assigned_to == s for c in drawn))
    await ask(harness, chats, "周杰", "/spotcheck 5")
    [zhao] = [c for c in await checks(harness) if c.cadre_id == found["赵强"].id]
    assert zhao.assigned_to == fewer


async def test_without_supervisors_the_office_verifies_but_never_the_one_who_drew(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    # The leading group draws: the office verifies.
    await ask(harness, chats, "周杰", "/spotcheck 1 东岗村")
    [check] = await checks(harness)
    assert check.assigned_to == found["吴敏"].id
    assert any("verify this record" in m for m in messages(harness, chats["吴敏"]))
    # The only office person draws: nobody else may verify, so the check waits unassigned.
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 1 新村")
    assert "→ to nobody (unassigned)" in reply.plain_text
    assert (await checks(harness))[-1].assigned_to is None
    # A second office person, not yet on the bot: assigned, and the draw says they were not told.
    await add_people(harness, chats, "冯刚", bind=False)
    # The waiting unassigned check goes to 冯刚 too (the office's next draw hands it on).
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 1 古埠村")
    assert reply.plain_text.count("→ to 冯刚 (not registered with the bot yet, so not told)") == 2
    assert "Waiting spot checks handed to another checker (1)" in reply.plain_text
    fenggang = (await people(harness))["冯刚"].id
    assert [c.assigned_to for c in await checks(harness)][1:] == [fenggang, fenggang]
    async with harness.db.read() as session:
        leader = (await session.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        assert found["张伟"].id in await store.chain_of(session, cadre=found["李娜"])
        assert leader.id not in {c.assigned_to for c in await checks(harness)}


async def test_checks_nobody_may_answer_go_to_a_checker_at_the_next_draw(harness, exports):
    """A check waiting with someone who may no longer answer it — a team leader who verified
    before checks went outside the chain, or nobody — goes to a supervisor at the office's next
    draw: the supervisor is asked with the buttons, the draw says so, the audit trail names
    both checkers."""
    chats = await bind_everyone(harness)
    found = await seed(harness)
    await ask(harness, chats, "吴敏", "/spotcheck 1 新村")  # nobody but the drawer: unassigned
    [waiting] = await checks(harness)
    assert waiting.assigned_to is None
    async with harness.db.write() as session:  # and one held by 新村's team leader, as before
        row = await session.get(SpotCheck, waiting.id)
        assert row is not None
        cadre = found["李娜"] if row.cadre_id != found["李娜"].id else found["赵强"]
        visit = await add_visit(session, person=cadre, kind="weak", day=harness.clock.now().date(),
                                heard="heard", wants="water", now=harness.clock.now())
        held = SpotCheck(drawn_by=found["吴敏"].id, record_kind="visit", record_id=visit.id,
                         cadre_id=cadre.id, village_id=visit.village_id,
                         township_id=visit.township_id, assigned_to=found["张伟"].id
                         if cadre.name == "李娜" else found["刘洋"].id,
                         status="pending", drawn_at=harness.clock.now())
        session.add(held)
    await add_people(harness, chats, "钱进")
    [reply] = await ask(harness, chats, "吴敏", "/spotcheck 1 东岗村")
    lines = reply.plain_text.splitlines()
    at = lines.index("Waiting spot checks handed to another checker (2), as theirs could no "
                     "longer answer them (gone, no longer a checker, or now in the cadre's own "
                     "team or township):")
    assert lines[at + 1:].count("→ to 钱进") == 2
    qian = (await people(harness))["钱进"].id
    assert {c.assigned_to for c in await checks(harness)} == {qian}
    asked = [m for m in messages(harness, chats["钱进"]) if "verify this record" in m]
    assert len(asked) == 3  # the two handed on and the one drawn now
    # 钱进 answers one handed on.
    await harness.press(harness.emu.user(chats["钱进"], language_code="en"),
                        f"spc:{waiting.id}:y")
    assert {c.id: c.status for c in await checks(harness)}[waiting.id] == "confirmed"
    office = harness.emu.user(chats["吴敏"], language_code="en")
    await harness.send(office, "/export")
    _, book, _ = await fetch_workbook(harness, office)
    handed = [(r["Field"], r["New value"]) for r in by_header(book, "Audit log")
              if r["Action"] == "handed to another checker"]
    assert handed == [("checker", "钱进"), ("checker", "钱进")]


async def test_a_supervisor_reads_the_results_but_does_not_draw(harness):
    chats = await bind_everyone(harness)
    await add_people(harness, chats, "钱进")
    [reply] = await ask(harness, chats, "钱进", "/spotcheck 3")
    assert reply.plain_text == (
        "The supervision group reads the spot-check results; the county office draws the "
        "records.")
    [reply] = await ask(harness, chats, "钱进", "/spotcheck")
    assert reply.plain_text.splitlines()[0] == "Spot checks · the county"
    assert await checks(harness) == []


async def test_bad_numbers_are_explained(harness):
    chats = await bind_everyone(harness)
    for args in ("0", "51", "abc", "-3"):
        [reply] = await ask(harness, chats, "吴敏", f"/spotcheck {args}")
        assert reply.plain_text.startswith("Say how many records to draw, 1 to 50")
    assert await checks(harness) == []


async def _drawn(harness, chats, found) -> dict[str, SpotCheck]:
    """The office draws 黄金埠镇's three records; the one supervisor, 钱进, verifies them all."""
    await add_people(harness, chats, "钱进")
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
    checker = harness.emu.user(chats["钱进"], language_code="en")
    check = drawn["李娜"]
    request = next(s for s in harness.emu.sent_to(chats["钱进"])
                   if f"#{check.id}" in s.plain_text)
    replies = await harness.press(checker, f"spc:{check.id}:y", message_id=request.message_id)
    assert texts(replies)[-1] == f"Spot check #{check.id}: confirmed. Thank you."
    for code in ("y", "n"):
        assert await harness.press(checker, f"spc:{check.id}:{code}",
                                   message_id=request.message_id) == []
        assert harness.emu.callback_answers[-1].get("text") == "Already answered: confirmed."
    after = {c.id: c for c in await checks(harness)}[check.id]
    assert (after.status, after.note, after.answered_at) == (
        "confirmed", None, harness.clock.now())
    async with harness.db.read() as session:
        audit = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "spot_check", AuditEntry.action == "answer"))).scalars().all()
    assert [(a.entity_id, a.actor_id, a.new_value) for a in audit] == [
        (check.id, (await people(harness))["钱进"].id, "confirmed")]


async def test_could_not_confirm_takes_a_note(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    check = (await _drawn(harness, chats, found))["陈静"]
    checker = harness.emu.user(chats["钱进"], language_code="en")
    replies = await harness.press(checker, f"spc:{check.id}:n")
    assert "What could not be confirmed, and why?" in "\n".join(texts(replies))
    replies = await harness.send(checker, "Only 2 went, not 4")
    replies = await harness.tap(checker, replies, suffix=":ok")
    assert texts(replies)[-1] == f"Spot check #{check.id}: could not confirm. Thank you."
    after = {c.id: c for c in await checks(harness)}[check.id]
    assert (after.status, after.note) == ("not_confirmed", "Only 2 went, not 4")


async def test_a_forged_button_for_another_persons_check_is_refused(harness):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    check = (await _drawn(harness, chats, found))["李娜"]  # assigned to 钱进
    for name in ("李娜", "张伟", "刘洋"):
        await ask(harness, chats, name, "/me")  # a bot message to forge a press on
    # The office may verify checks, but not this one; her team leader and she never may.
    refusals = {"吴敏": "That spot check is not assigned to you."} | dict.fromkeys(
        ("张伟", "刘洋", "李娜"), "Spot checks are verified by the supervision groups and the "
        "county office only, never by a cadre's own leaders.")
    for name, refusal in refusals.items():
        for code in ("y", "n"):
            assert await press(harness, chats[name], f"spc:{check.id}:{code}") == []
            assert harness.emu.callback_answers[-1].get("text") == refusal
    assert await press(harness, chats["钱进"], "spc:99999:y") == []
    assert await press(harness, chats["钱进"], "spc:x:zz") == []
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
    await harness.press(harness.emu.user(chats["钱进"], language_code="en"),
                        f"spc:{drawn['李娜'].id}:y")
    [reply] = await ask(harness, chats, "周杰", "/spotcheck")
    lines = reply.plain_text.splitlines()
    assert lines[:2] == ["Spot checks · the county",
                         "2 pending · 1 confirmed · 0 could not confirm"]
    assert lines[-3:] == [
        f"#{drawn['李娜'].id} Visit · The weak (difficulties) · Sat 28 Nov · 李娜 (新村)",
        "Heard: 李娜 heard · Wants: a road", "→ confirmed · checked by 钱进"]
    assert lines[2:8].count("→ pending · checked by 钱进") == 2
    [reply] = await ask(harness, chats, "钱进", "/spotcheck")  # the supervisor reads the same
    assert reply.plain_text.splitlines() == lines
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
        "详情：4; Nanchang", "→ 待核实 · 核实人：钱进"]
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
        "checker has been asked to verify. To draw more, send /spotcheck again.")
    drawn = await checks(harness)
    assert {c.drawn_by for c in drawn} == {found["周杰"].id} and len(drawn) == 3
    assert [line.split()[0] for line in lines if line.startswith("#")] == [
        f"#{c.id}" for c in drawn]
    # The other draw has asked its checkers: this one messages nobody.
    assert [name for name in chats if name != "吴敏" and messages(harness, chats[name])] == []
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
        "以下是刚才那一批，已请各位核实人核实。如需再抽，请重新发送 /spotcheck。")
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


async def test_the_results_are_in_the_export_and_the_county_report(harness, exports):
    chats = await bind_everyone(harness)
    found = await seed(harness)
    drawn = await _drawn(harness, chats, found)
    qian = harness.emu.user(chats["钱进"], language_code="en")
    await harness.press(qian, f"spc:{drawn['李娜'].id}:y")
    office = harness.emu.user(chats["吴敏"], language_code="en")
    await harness.send(office, "/export")
    _, book, _ = await fetch_workbook(harness, office)
    rows = {row["No."]: row for row in by_header(book, "Spot checks")}
    assert set(rows) == {c.id for c in drawn.values()}
    li = rows[drawn["李娜"].id]
    assert (li["Record"], li["Cadre"], li["Village"], li["Drawn by"], li["Checked by"],
            li["Result"]) == ("Visit", "李娜", "新村", "吴敏", "钱进", "confirmed")
    assert li["Record's day"] == dt.datetime(2026, 11, 28)
    chen = rows[drawn["陈静"].id]
    assert (chen["Record"], chen["Checked by"], chen["Result"], chen["Checked at"]) == (
        "Help", "钱进", "pending", None)
    harness.emu.documents.clear()  # the report is the next document
    await harness.send(office, "/report")
    _, document, _ = await fetch_report(harness, office)
    paragraphs = [p.text for p in document.paragraphs]
    at = paragraphs.index("3. Inspections and spot checks")
    assert paragraphs[at + 1:at + 3] == [
        "23 – 28 Nov: the supervision groups recorded no inspection.",
        "3 visit and help records were spot-checked: 1 confirmed, 0 could not be confirmed, "
        "2 pending."]
