"""/merit: commendation and criticism — per home unit and per cadre, the figures a notice judges
by (checked against the raw rows), ranked and capped; a drafted notice goes on into /broadcast
for the office, and stays a draft for the leading group."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from common.i18n import translator
from handlers.merit import render_merits
from storage import merit as store
from storage.calendar import CampaignCalendar
from storage.figures import local_bounds
from storage.models import (
    Aid,
    Broadcast,
    Checkin,
    Dispute,
    DisputeStep,
    OutboxMessage,
    Person,
    Summary,
    Visit,
)
from tests.conftest import SHANGHAI
from tests.harness import texts
from tests.scheduling import local
from tests.test_schedules import bind_everyone
from tests.test_stats import MONDAY, seed

NOW = local(2026, 12, 2, 10, 0)  # Wednesday: the week of the 23rd is due, the 30th not yet


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"outbox_per_chat_per_second": 50.0,
                                       "merit_min_days_share": 50,
                                       "merit_min_summaries_share": 50})


def period(start=MONDAY, end=dt.date(2026, 12, 2)) -> store.Period:
    return store.Period(start=start, end=end, now=NOW, tz=SHANGHAI,
                        calendar=CampaignCalendar(dt.date(2026, 11, 1), dt.date(2027, 2, 17), 5),
                        deadline_weekday=4, deadline_time=dt.time(17, 0))


async def more_records(harness, found) -> None:
    """A resolved dispute, a summary on time and one late, next week's check-ins for 李娜."""
    li, zhao = found["李娜"], found["赵强"]
    async with harness.db.write() as session:
        land = (await session.execute(select(Dispute).where(
            Dispute.person_id == li.id, Dispute.category == "land"))).scalar_one()
        session.add(DisputeStep(dispute_id=land.id, by_person_id=li.id, action="resolve",
                                status="resolved", at=local(2026, 11, 26, 12)))
        session.add(DisputeStep(dispute_id=land.id, by_person_id=li.id, action="resolve",
                                status="resolved", at=local(2026, 11, 27, 12)))  # same dispute
        late = (await session.execute(select(Summary).where(Summary.person_id == zhao.id))
                ).scalar_one()
        late.submitted_at = local(2026, 11, 27, 17, 1)  # a minute after the Friday deadline
        early = (await session.execute(select(Summary).where(Summary.person_id == li.id))
                 ).scalar_one()
        early.submitted_at = local(2026, 11, 27, 17, 0)  # at the deadline: on time
        for offset in range(3):
            session.add(Checkin(person_id=li.id, village_id=li.village_id,
                                day=dt.date(2026, 11, 30) + dt.timedelta(days=offset),
                                in_village=True, created_at=NOW, updated_at=NOW))


async def raw(harness, p: store.Period) -> dict[int, dict[str, int]]:
    """Every active cadre's figures counted in Python from the raw rows."""
    low, high = local_bounds(p.start, SHANGHAI, days=(p.end - p.start).days + 1)

    def within(day) -> bool:
        return p.start <= day <= p.end

    async with harness.db.read() as session:
        def all_of(model):
            return session.execute(select(model))

        cadres = [c for c in (await all_of(Person)).scalars()
                  if c.active and c.role in ("cadre", "team_leader")]
        checkins = list((await all_of(Checkin)).scalars())
        visits = list((await all_of(Visit)).scalars())
        aid = list((await all_of(Aid)).scalars())
        steps = list((await all_of(DisputeStep)).scalars())
        disputes = {d.id: d for d in (await all_of(Dispute)).scalars()}
        summaries = list((await all_of(Summary)).scalars())
    weeks = [MONDAY, MONDAY + dt.timedelta(days=7)]
    required = {weeks[0]: 5, weeks[1]: 3}  # a whole week; Mon–Wed asks ceil(5 × 3 / 7)
    out: dict[int, dict[str, int]] = {}
    for c in cadres:
        inside = [k.day for k in checkins if k.person_id == c.id and k.in_village
                  and within(k.day)]
        met = sum(1 for w in weeks
                  if sum(1 for d in inside if w <= d <= w + dt.timedelta(days=6)) >= required[w])
        on_time = [s for s in summaries if s.person_id == c.id and s.week_start == weeks[0]
                   and s.submitted_at <= local(2026, 11, 27, 17, 0)]
        out[c.id] = {
            "unit": c.unit_id, "days": len(inside), "weeks_met": met, "weeks": 2,
            "visits": sum(1 for v in visits if v.person_id == c.id and within(v.day)),
            "aid": sum(1 for a in aid if a.person_id == c.id and within(a.day)),
            "resolved": len({s.dispute_id for s in steps if s.status == "resolved"
                             and disputes[s.dispute_id].person_id == c.id
                             and low <= s.at < high}),
            "on_time": len(on_time), "due": 1}
    return out


FIELDS = ("days", "weeks_met", "weeks", "visits", "aid", "resolved", "on_time", "due")


async def test_each_cadres_and_each_units_figures_match_the_raw_rows(harness):
    await harness.import_roster()
    found = await seed(harness)
    await more_records(harness, found)
    expected = await raw(harness, period())
    async with harness.db.read() as session:
        cadres = await store.cadre_merits(session, period=period())
        units = await store.unit_merits(session, period=period())
    assert {pid: {f: getattr(m, f) for f in FIELDS} for pid, (m, _) in cadres.items()} == {
        pid: {f: row[f] for f in FIELDS} for pid, row in expected.items()}
    li = cadres[found["李娜"].id][0]
    assert (li.days, li.weeks_met, li.resolved, li.on_time) == (8, 2, 1, 1)
    assert cadres[found["赵强"].id][0].on_time == 0  # in a minute late
    for unit in units:
        members = [row for row in expected.values() if row["unit"] == unit.key]
        assert unit.cadres == len(members)
        assert {f: getattr(unit, f) for f in FIELDS} == {
            f: sum(row[f] for row in members) for f in FIELDS}
    assert len(units) == len({row["unit"] for row in expected.values()})
    ranked = store.ranked(units)
    assert ranked[0].name == "县教育局"  # 李娜: every week at the minimum, summary on time


async def test_a_units_cadres_and_one_query_per_family(harness):
    await harness.import_roster()
    found = await seed(harness)
    calls: list[object] = []
    async with harness.db.read() as session:
        original = session.execute

        async def counted(statement, *args, **kwargs):
            calls.append(statement)
            return await original(statement, *args, **kwargs)

        session.execute = counted  # type: ignore[method-assign]
        units = await store.unit_merits(session, period=period())
    assert len(units) == 6
    # people, check-ins, approved leave, visits, help, disputes resolved, summaries on time,
    # unit names: the same eight queries for six units as for one.
    assert len(calls) == 8
    async with harness.db.read() as session:
        only = await store.cadre_merits(session, period=period(),
                                        unit_id=found["李娜"].unit_id)
    assert [m.name for m, _ in only.values()] == ["李娜"]


def test_the_listing_is_ranked_capped_and_in_both_languages():
    merits = [store.Merit(1, "县财政局", cadres=2, days=9, weeks_met=2, weeks=4, visits=7,
                          resolved=1, aid=2, on_time=1, due=2),
              store.Merit(2, "县教育局", cadres=1, days=5, weeks_met=1, weeks=1, visits=3),
              store.Merit(3, "县委办", cadres=1)]
    en = render_merits(translator("en"), store.ranked(merits), start=MONDAY,
                       end=dt.date(2026, 11, 29), unit=None, minimum=5, limit=2,
                       thresholds=(80, 80))
    assert en.splitlines() == [
        "<b>Figures by home unit</b>, 23 – 29 Nov, best first:",
        "1. 县教育局 · cadres 1: days in the village 5, weeks at 5 100%; visits 3; disputes "
        "resolved 0; help 0; summaries on time 0/0",
        "2. 县财政局 · cadres 2: days in the village 9, weeks at 5 50%; visits 7; disputes "
        "resolved 1; help 2; summaries on time 1/2",
        "… and 1 more.",
        "A criticism names those under 80% of weeks at 5 days in the village or under 80% of "
        "weekly summaries on time.",
        "Days of approved leave count as days in the village, never against a cadre; leave "
        "pending or declined excuses nothing."]
    zh = render_merits(translator("zh"), store.ranked(merits), start=MONDAY,
                       end=dt.date(2026, 11, 29), unit="县财政局", minimum=5, limit=5,
                       thresholds=(80, 80))
    assert zh.splitlines()[:2] == [
        "<b>县财政局驻村干部工作数据</b>（11月23日—11月29日，按名次）：",
        "1. 县教育局：驻村 5 天，100% 的周次达到 5 天；走访 3 次；化解纠纷 0 件；帮扶 0 次；"
        "按时交周小结 0/0"]
    assert zh.splitlines()[3].startswith("3. 县委办：驻村 0 天，— 的周次")


async def test_the_office_drafts_a_commendation_and_broadcasts_it_in_english(harness):
    chats = await bind_everyone(harness)
    await more_records(harness, await seed(harness))
    harness.at(local(2026, 11, 29, 10, 0))
    wu = harness.emu.user(chats["吴敏"], language_code="en")
    replies = await harness.send(wu, "/merit week")
    lines = texts(replies)[0].splitlines()
    assert lines[0] == "Figures by home unit, 23 – 29 Nov, best first:"
    assert lines[1].startswith("1. 县教育局 · cadres 1: days in the village 5, weeks at 5 100%")
    replies = await harness.tap(wu, replies, "Draft commendation")
    prompt = texts(replies)[-1]
    assert "Who should receive it?" in prompt
    replies = await harness.tap(wu, replies, suffix=":all")
    confirm = texts(replies)[-1]
    assert "Notice of commendation" in confirm
    assert "• 县教育局: weeks at 5 days in the village 100%" in confirm
    assert "县委办" not in confirm  # 赵强: every day in the village, but his summary late
    assert "📨 Recipients: 8 — " in confirm
    replies = await harness.tap(wu, replies, suffix=":ok")
    async with harness.db.read() as session:
        [sent] = list((await session.execute(select(Broadcast))).scalars())
        queued = list((await session.execute(select(OutboxMessage).where(
            OutboxMessage.broadcast_id == sent.id))).scalars())
    assert sent.text.startswith("Notice of commendation\nIn the campaign, 23 – 29 Nov,")
    assert sent.audience_kind == "all" and len(queued) == sent.recipients == 8


async def test_the_office_drafts_a_criticism_of_a_units_cadres_in_chinese(harness):
    chats = await bind_everyone(harness, language="zh")
    await seed(harness)
    harness.at(local(2026, 11, 29, 10, 0))
    wu = harness.emu.user(chats["吴敏"], language_code="zh-hans")
    replies = await harness.send(wu, "/merit 县财")
    assert texts(replies)[0].splitlines()[0] == (
        "县财政局驻村干部工作数据（11月23日—11月29日，按名次）：")
    replies = await harness.tap(wu, replies, "起草批评通报")
    replies = await harness.tap(wu, replies, suffix=":all")
    confirm = texts(replies)[-1]
    assert ("通知内容：批评通报\n在11月23日—11月29日的驻村工作中，以下县财政局驻村干部"
            in confirm)
    assert ("• 张伟：仅 0% 的周次驻村满 5 天；按时交周小结仅 0%。\n"
            "经批准的请假天数视同在村，不计为未达标；待批或未批准的请假不予扣除。\n请立即整改。"
            in confirm)
    await harness.tap(wu, replies, suffix=":ok")
    async with harness.db.read() as session:
        [sent] = list((await session.execute(select(Broadcast))).scalars())
    assert sent.text.startswith("批评通报") and sent.recipients == 8


async def test_a_bad_unit_an_ambiguous_one_and_the_leading_groups_draft(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    wu = harness.emu.user(chats["吴敏"], language_code="en")
    assert texts(await harness.send(wu, "/merit 县人民医院")) == [
        "No home unit is called “县人民医院”."]
    reply = texts(await harness.send(wu, "/merit 局"))[0]
    assert reply.startswith("Several units match: ")
    [bad] = texts(await harness.send(wu, "/merit 2026-13-01"))
    assert bad.startswith("“2026-13-01” is not a period I know.")
    zhou = harness.emu.user(chats["周杰"], language_code="en")
    replies = await harness.send(zhou, "/merit")
    replies = await harness.tap(zhou, replies, "Draft criticism")
    [draft] = texts(replies)
    assert draft.startswith(
        "Draft (only the county office can send it, with /broadcast):\nNotice of criticism")
    async with harness.db.read() as session:
        assert list((await session.execute(select(Broadcast))).scalars()) == []
    li = harness.emu.user(chats["张伟"], language_code="en")
    await harness.send(li, "/appraise")  # a message with buttons, to press a forged one on
    assert await harness.press(li, "mer:c:2026-11-23:2026-11-29:0") == []
    assert harness.emu.callback_answers[-1].get("text")
