"""/stats: every figure of a scope over a period, from one storage query, with charts.

The renderer is tested as full text in both languages; the figures against the raw rows of two
villages in two townships; the command through the emulator in every role."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import warnings
from decimal import Decimal

import pytest
from matplotlib import image
from sqlalchemy import select

from common.i18n import translator
from handlers.stats import BadPeriod, render_stats, split_args
from reports.stats_charts import visits_heatmap
from scheduler.sender import drain
from storage import stats, visits
from storage.calendar import CampaignCalendar
from storage.cases import CaseCounts
from storage.models import Aid, Checkin, Dispute, Person, Problem, Publicity, Summary, Visit
from storage.publicity import PublicityTotals, publicity_totals
from storage.rectification import RectificationTotals
from storage.scope import Scope
from storage.winter import WinterSum
from tests.conftest import SHANGHAI
from tests.emulator import Sent
from tests.test_schedules import bind_everyone

MONDAY = dt.date(2026, 11, 23)
SETTINGS = {"calendar": CampaignCalendar(MONDAY, dt.date(2027, 2, 17), 5),
            "overdue_days": {"default": 3}, "default_overdue_days": 3,
            "deadline_weekday": 4, "deadline_time": dt.time(17, 0)}
AID = {"count": 4, "condolence_count": 2, "condolence_amount": Decimal("400.00"),
       "donation_count": 1, "donation_value": Decimal("1500.50"), "labour_people": 3,
       "project_count": 1, "project_funds": Decimal("50000.00")}


def sample() -> stats.Stats:
    return stats.Stats(
        "township", "黄金埠镇", "village", MONDAY, dt.date(2026, 12, 1), 5, cadres=5,
        visits_by_kind={"masses": 1, "weak": 2}, visits_by_category={"ill": 1, "poor": 1},
        checkins=30, days_in_village=26,
        weeks=[stats.WeekCompliance(MONDAY, 7, 5, 5, 3),
               stats.WeekCompliance(dt.date(2026, 11, 30), 2, 2, 5, 4)],
        disputes_by_status={"resolved": 1, "reported": 1}, disputes_by_category={"land": 2},
        disputes_open=2, disputes_overdue=1, problems_raised=3, problems_solved=1, aid=AID,
        problems_by_status={"raised": 1, "in_hand": 2, "checked": 1}, problems_overdue=1,
        summaries_submitted=4, summaries_expected=5, summaries_early=1,
        summaries_early_expected=5, publicity=PublicityTotals(3, 120, 8, 2, {"mass": 3}),
        rectification=RectificationTotals(2, {"weak_team": 2, "disputes": 1}, 3, 5, 1),
        winter={"tax": WinterSum(9000, 900, 1), "afforestation": WinterSum(300, 150, 2)},
        cases=CaseCounts(4, 1))


def test_stats_in_english_and_chinese():
    assert render_stats(translator("en"), sample(), place="黄金埠镇") == (
        "<b>Figures · 黄金埠镇 · 23 Nov – 1 Dec</b>\n"
        "Cadres: 5\n"
        "<b>Visits</b>: 3 — the weak 2, the masses 1\n"
        "Households visited: Poor 1, Seriously ill 1\n"
        "<b>Check-ins</b>: 30 of 45 cadre-days · in the village 26\n"
        "<b>Days in the village</b> (at least 5 a week):\n"
        "Week of Mon 23 Nov: 3 of 5 cadres\n"
        "Week of Mon 30 Nov (2 days in the period, 2 needed): 4 of 5 cadres\n"
        "<b>Disputes</b>: 2 opened in the period · 2 open now (1 overdue)\n"
        "Opened in the period, now: reported 1, resolved 1\n"
        "By category: Rural land expropriation 2\n"
        "<b>Problems</b>: 3 raised, 1 solved\n"
        "Ledger now: raised 1, in hand 2, solved 0, feedback given 0, looked back 1"
        " · 1 overdue\n"
        "<b>Publicity</b>: sessions 3, attended by 120 · slogans 8, boards 2\n"
        "<b>Model cases</b>: submitted 4, featured for publicity 1\n"
        "<b>Help given</b>: condolence visits 2 (¥400), donations 1 (¥1,500.50), "
        "labour export 3 people, projects 1 (¥50,000)\n"
        "Rectification: villages marked 2 (Weak team 2, Prominent disputes 1); measures 3, "
        "rules 5; villages with all eight kinds of rule 1\n"
        "Winter work (done / target over villages with a target):\n"
        "  Afforestation: 150/300 mu (50%) · villages 2\n"
        "  Tax collection: ¥900/¥9,000 (10%) · villages 1\n"
        "<b>Weekly summaries</b>: 4 of 5 submitted (weeks past the deadline)"
        " · before the deadline: 1 of 5 in"
    )
    # Winter items come in the configured order (WINTER_ITEMS), tax first here.
    ordered = render_stats(translator("en"), sample(), place="黄金埠镇",
                           winter_items=["tax", "afforestation"]).splitlines()
    assert [line for line in ordered if "mu (" in line or "Tax" in line] == [
        "  Tax collection: ¥900/¥9,000 (10%) · villages 1",
        "  Afforestation: 150/300 mu (50%) · villages 2"]
    assert render_stats(translator("zh"), sample(), place="黄金埠镇") == (
        "<b>数据统计 · 黄金埠镇 · 11月23日—12月1日</b>\n"
        "驻村干部：5 人\n"
        "<b>走访</b>：3 次 — 访弱势群体 2、访普通群众 1\n"
        "走访七类户：贫困户 1、重病户 1\n"
        "<b>签到</b>：30/45 人天 · 在村 26 人天\n"
        "<b>驻村天数</b>（每周至少 5 天）：\n"
        "11月23日（周一）当周：达标 3/5 人\n"
        "11月30日（周一）当周（本期 2 天，需在村 2 天）：达标 4/5 人\n"
        "<b>矛盾纠纷</b>：本期新增 2 件 · 目前未结 2 件（逾期 1 件）\n"
        "本期新增纠纷的现状：已上报 1、已化解 1\n"
        "按类别：农村征地 2\n"
        "<b>问题台账</b>：新增 3，解决 1\n"
        "台账现状：已登记 1，办理中 2，已解决 0，已书面反馈 0，已回头看 1 · 逾期 1\n"
        "<b>宣传</b>：3 场，参加 120 人次 · 标语 8 条，宣传栏 2 块\n"
        "<b>典型案例</b>：上报 4 件，选送宣传 1 件\n"
        "<b>帮扶</b>：慰问 2 户次（400 元），捐赠 1 次（1,500.50 元），"
        "劳务输出 3 人，引进项目 1 个（50,000 元）\n"
        "软弱涣散村整顿：整顿村 2 个（班子软弱 2、矛盾突出 1）；措施 3 项，制度 5 项；"
        "八项制度齐全 1 个\n"
        "冬季工作（完成/任务，仅计已设任务的村）：\n"
        "  植树造林：150/300 亩（50%），2 个村\n"
        "  财税征收：900 元/9,000 元（10%），1 个村\n"
        "<b>周小结</b>：已过截止的 5 份中已交 4 份；未到截止已交 1/5 份"
    )


def test_an_empty_scope_says_so_without_detail_lines():
    empty = stats.Stats("village", "古埠村", "village", MONDAY, MONDAY, 5, aid=AID | {
        "condolence_count": 0, "condolence_amount": Decimal("0.00"), "donation_count": 0,
        "donation_value": Decimal("0.00"), "labour_people": 0, "project_count": 0,
        "project_funds": Decimal("0.00")}, weeks=[stats.WeekCompliance(MONDAY, 1, 1)])
    lines = render_stats(translator("en"), empty, place="古埠村").splitlines()
    assert lines[2:5] == ["<b>Visits</b>: 0",
                          "<b>Check-ins</b>: 0 of 0 cadre-days · in the village 0",
                          "<b>Days in the village</b> (at least 5 a week):"]
    assert lines[5] == "Week of Mon 23 Nov (1 days in the period, 1 needed): 0 of 0 cadres"
    assert lines[6:8] == ["<b>Disputes</b>: 0 opened in the period · 0 open now (0 overdue)",
                          "<b>Problems</b>: 0 raised, 0 solved"]
    assert lines[-1] == "<b>Weekly summaries</b>: no deadline has passed yet"


@pytest.mark.parametrize("text, period, place", [
    ("", None, None),
    ("week", (MONDAY, dt.date(2026, 11, 28)), None),
    ("新村 today", (dt.date(2026, 11, 28), dt.date(2026, 11, 28)), "新村"),
    ("本月 黄金埠镇", (dt.date(2026, 11, 1), dt.date(2026, 11, 28)), "黄金埠镇"),
    ("2026-11-24..2026-11-25 新村", (dt.date(2026, 11, 24), dt.date(2026, 11, 25)), "新村"),
    # never past today
    ("2026-11-20..2026-12-30", (dt.date(2026, 11, 20), dt.date(2026, 11, 28)), None),
    ("11-26", (dt.date(2026, 11, 26), dt.date(2026, 11, 26)), None),
    ("campaign", (MONDAY, dt.date(2026, 11, 28)), None),
])
def test_arguments_come_in_any_order(text, period, place):
    assert split_args(text, today=dt.date(2026, 11, 28), campaign_start=MONDAY) == (period, place)


@pytest.mark.parametrize("text", [
    "2026-11-25..2026-11-24", "2026-13-01", "week month", "2026-12-01..2026-12-05", "第3村",
    "2025-01-01..2026-11-28",
])
def test_a_bad_period_is_refused(text):
    with pytest.raises(BadPeriod):
        split_args(text, today=dt.date(2026, 11, 28), campaign_start=MONDAY)


# --- the figures against the raw rows ----------------------------------------------------------

async def people(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.name: p for p in (await session.execute(select(Person))).scalars()}


def _on(person: Person) -> dict[str, int | None]:
    return {"person_id": person.id, "village_id": person.village_id,
            "township_id": person.township_id, "unit_id": person.unit_id}


async def seed(harness) -> dict[str, Person]:
    """Records of two villages in two townships (新村 in 黄金埠镇, 古埠村 in 古埠镇) and one more
    village of 黄金埠镇 (东岗村), some of them outside the week."""
    found = await people(harness)
    now = harness.clock.now()
    rows: list = []
    for name, kinds, days in (("李娜", ["weak", "weak", "masses"], [0, 1, 2]),
                              ("赵强", ["old", "weak"], [1, 3]), ("陈静", ["rich"], [4])):
        for kind, offset in zip(kinds, days, strict=True):
            rows.append(Visit(**_on(found[name]), day=MONDAY + dt.timedelta(days=offset),
                              kind=kind, household_category="poor" if kind == "weak" else None,
                              heard="", wants="", created_at=now))
    rows.append(Visit(**_on(found["李娜"]), day=MONDAY - dt.timedelta(days=1), kind="wise",
                      heard="", wants="", created_at=now))  # the week before
    for name, inside in (("李娜", 5), ("王芳", 3), ("赵强", 5), ("张伟", 1)):
        for offset in range(6):
            rows.append(Checkin(**_on(found[name]), day=MONDAY + dt.timedelta(days=offset),
                                in_village=offset < inside, reason=None if offset < inside
                                else "sick", created_at=now, updated_at=now))
    for name, category, opened, stale in (("李娜", "land", 1, 5), ("赵强", "pollution", 2, 1),
                                          ("李娜", "other", -10, 10)):
        rows.append(Dispute(**_on(found[name]), category=category, parties="甲, 乙",
                            people_count=2, flags={}, description="", urgency="normal",
                            opened_on=MONDAY + dt.timedelta(days=opened), created_at=now,
                            last_step_at=now - dt.timedelta(days=stale)))
    rows += [Problem(person_id=found[n].id, village_id=found[n].village_id,
                     township_id=found[n].township_id, category="land", description="",
                     status=status, created_at=now, updated_at=now)
             for n, status in (("李娜", "raised"), ("李娜", "solved"), ("赵强", "raised"))]
    rows += [Aid(**_on(found["李娜"]), kind="condolence", day=MONDAY, amount=Decimal("200.10")),
             Aid(**_on(found["赵强"]), kind="project", day=MONDAY, amount=Decimal("30000"))]
    rows += [Summary(**_on(found[n]), week_start=MONDAY, submitted_at=now)
             for n in ("李娜", "赵强")]
    rows += [Publicity(**_on(found[n]), day=MONDAY + dt.timedelta(days=offset), kind=kind,
                       attendance=people, topics=["rural_pension"], slogans=slogans,
                       boards=boards, created_at=now)
             for n, offset, kind, people, slogans, boards in (
                 ("李娜", 0, "mass", 40, 3, 1), ("李娜", 2, "door_to_door", 5, 0, 0),
                 ("赵强", 1, "mobilisation", 60, 2, 1), ("陈静", 3, "party_members", 25, 1, 0),
                 ("李娜", -1, "mass", 99, 9, 9))]  # the last: the week before
    async with harness.db.write() as session:
        for row in rows:
            if isinstance(row, Aid):
                row.created_at = now
            session.add(row)
    return found


async def raw(harness, model, keep) -> list:
    async with harness.db.read() as session:
        return [r for r in (await session.execute(select(model))).scalars() if keep(r)]


async def test_every_figure_of_a_scope_matches_its_raw_rows(harness):
    await harness.import_roster()
    found = await seed(harness)
    li, zhao = found["李娜"], found["赵强"]
    scopes = {
        "village": (Scope("village", "新村", li.township_id, li.village_id),
                    lambda r: r.village_id == li.village_id),
        "township": (Scope("township", "黄金埠镇", li.township_id),
                     lambda r: r.township_id == li.township_id),
        "county": (Scope("county"), lambda r: True),
    }
    end = dt.date(2026, 11, 28)
    in_week = lambda r: MONDAY <= r.day <= end  # noqa: E731
    for scope, inside in scopes.values():
        async with harness.db.read() as session:
            figures = await stats.scope_stats(session, scope=scope, start=MONDAY, end=end,
                                              now=harness.clock.now(), tz=SHANGHAI, **SETTINGS)
            same = await visits.visits_by_kind(session, start=MONDAY, end=end,
                                               **_filters(scope))
        seen = await raw(harness, Visit, lambda r, inside=inside: inside(r) and in_week(r))
        assert figures.visits_by_kind == same  # one number, one query
        assert figures.visits == len(seen) and figures.visits_by_kind == _count(seen, "kind")
        assert figures.visits_by_category == _count(
            [v for v in seen if v.household_category], "household_category")
        checkins = await raw(harness, Checkin,
                             lambda r, inside=inside: inside(r) and in_week(r))
        assert figures.checkins == len(checkins)
        assert figures.days_in_village == sum(1 for c in checkins if c.in_village)
        per_person = _count([c for c in checkins if c.in_village], "person_id")
        # Monday to Saturday: six days of the week, so five days in the village are asked.
        assert [w.compliant for w in figures.weeks] == [
            sum(1 for n in per_person.values() if n >= 5)]
        disputes = await raw(harness, Dispute, inside)
        opened = [d for d in disputes if MONDAY <= d.opened_on <= end]
        assert figures.disputes_by_category == _count(opened, "category")
        assert figures.disputes_open == len(disputes)
        assert figures.disputes_overdue == sum(
            1 for d in disputes if d.last_step_at < harness.clock.now() - dt.timedelta(days=3))
        problems = await raw(harness, Problem, inside)
        assert (figures.problems_raised, figures.problems_solved) == (
            len(problems), sum(1 for p in problems if p.status == "solved"))
        aid = await raw(harness, Aid, inside)
        assert figures.aid["condolence_amount"] == sum(
            (a.amount for a in aid if a.kind == "condolence"), Decimal("0.00"))
        assert figures.aid["project_funds"] == sum(
            (a.amount for a in aid if a.kind == "project"), Decimal("0.00"))
        held = await raw(harness, Publicity, lambda r, inside=inside: inside(r) and in_week(r))
        assert (figures.publicity.sessions, figures.publicity.attendance,
                figures.publicity.slogans, figures.publicity.boards) == (
            len(held), sum(p.attendance for p in held), sum(p.slogans for p in held),
            sum(p.boards for p in held))
        assert figures.publicity.by_kind == _count(held, "kind")
        async with harness.db.read() as session:  # one number, one query
            assert figures.publicity == await publicity_totals(
                session, start=MONDAY, end=end, **_filters(scope))
        summaries = await raw(harness, Summary, inside)
        cadres = await raw(harness, Person, lambda p, inside=inside: inside(p) and p.role in (
            "cadre", "team_leader"))
        assert (figures.summaries_submitted, figures.summaries_expected) == (
            len(summaries), len(cadres))  # Friday 17:00 has passed: the week is due
        assert figures.cadres == len(cadres)
    assert zhao.village_id != li.village_id


def _filters(scope: Scope) -> dict:
    return {"village_ids": scope.village_ids,
            "township_id": scope.township_id if scope.village_id is None else None}


def _count(rows: list, attribute: str) -> dict:
    counts: dict = {}
    for row in rows:
        counts[getattr(row, attribute)] = counts.get(getattr(row, attribute), 0) + 1
    return counts


async def test_a_part_week_asks_proportionally_fewer_days_and_summaries_wait_for_the_deadline(
    harness,
):
    await harness.import_roster()
    found = await seed(harness)
    scope = Scope("village", "新村", found["李娜"].township_id, found["李娜"].village_id)
    thursday = dt.datetime(2026, 11, 26, 12, 0, tzinfo=SHANGHAI)
    async with harness.db.read() as session:
        figures = await stats.scope_stats(
            session, scope=scope, start=MONDAY, end=dt.date(2026, 11, 25),
            now=thursday, tz=SHANGHAI, **SETTINGS)
    [week] = figures.weeks
    assert (week.days, week.required, week.cadres) == (3, 3, 3)
    assert week.compliant == 2  # 李娜 and 王芳 were in all three days; 张伟 only on Monday
    assert (figures.summaries_expected, figures.summaries_submitted) == (0, 0)
    assert (figures.summaries_early, figures.summaries_early_expected) == (1, 3)
    assert json.loads(json.dumps(figures.as_dict()))["aid"]["condolence_amount"] == "200.10"
    assert figures.as_dict()["weeks"] == [{"week_start": "2026-11-23", "days": 3, "required": 3,
                                           "cadres": 3, "compliant": 2}]


# --- through the bot ---------------------------------------------------------------------------

async def with_charts(harness, user, text: str) -> tuple[list[Sent], list[Sent]]:
    """What the turn sent, and everything sent once its charts are drawn and delivered."""
    before = len(harness.emu.sent_to(user.id))
    answer = await harness.send(user, text)
    await asyncio.gather(*harness.ctx.tasks)
    await drain(harness.ctx, harness.application.bot)  # any chart left to the outbox sender
    return answer, harness.emu.sent_to(user.id)[before:]


async def ask(harness, chats, name, text):
    user = harness.emu.user(chats[name], language_code="en")
    return (await with_charts(harness, user, text))[1]


async def test_each_leader_sees_the_figures_of_their_own_scope(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    team = await ask(harness, chats, "张伟", "/stats")
    lines = team[0].plain_text.splitlines()
    assert lines[:3] == ["Figures · 新村 · 23 – 28 Nov", "Cadres: 3",
                         "Visits: 3 — the weak 2, the masses 1"]
    assert "Disputes: 1 opened in the period · 2 open now (2 overdue)" in lines
    sent = await ask(harness, chats, "孙丽", "/stats week")
    assert sent[0].plain_text.splitlines()[:3] == [
        "Figures · 黄金埠镇 · 23 – 28 Nov", "Cadres: 5",
        "Visits: 4 — the weak 2, the masses 1, the rich and experts 1"]
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto", "sendPhoto"]
    village = await ask(harness, chats, "孙丽", "/stats 新村")
    assert village[0].plain_text.splitlines()[0] == "Figures · 新村 · 23 – 28 Nov"
    assert [s.method for s in village] == ["sendMessage", "sendPhoto"]  # one village: no bars
    sent = await ask(harness, chats, "吴敏", "/stats")
    assert sent[0].plain_text.splitlines()[:2] == [
        "Figures · the county · 23 – 28 Nov", "Cadres: 6"]
    [county] = await ask(harness, chats, "周杰", "/stats 古埠村 today")
    assert county.plain_text.splitlines()[:3] == [
        "Figures · 古埠村 · Sat 28 Nov", "Cadres: 1", "Visits: 0"]


async def test_a_period_filter_counts_only_its_days(harness):
    chats = await bind_everyone(harness)
    await seed(harness)
    sent = await ask(harness, chats, "张伟", "/stats 2026-11-24..2026-11-25")
    lines = sent[0].plain_text.splitlines()
    assert lines[0] == "Figures · 新村 · 24 – 25 Nov"
    assert lines[2] == "Visits: 2 — the weak 1, the masses 1"
    assert "Check-ins: 6 of 6 cadre-days · in the village 4" in lines
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto"]  # one village: no bars


async def test_a_place_outside_the_scope_an_unknown_place_and_a_bad_period_are_refused(harness):
    chats = await bind_everyone(harness)
    for name, text, reply in (
        ("张伟", "/stats 古埠村", "“古埠村” is outside what you can see (新村)."),
        ("张伟", "/stats 黄金埠镇", "“黄金埠镇” is outside what you can see (新村)."),
        ("孙丽", "/stats week 古埠镇", "“古埠镇” is outside what you can see (黄金埠镇)."),
        ("吴敏", "/stats 桃花源", "There is no township or village called “桃花源”."),
        ("吴敏", "/stats 2026-12-01..2026-11-01",
         "“2026-12-01..2026-11-01” ends before it starts. Put the earlier day first"),
        ("李娜", "/stats", "That command is not available to your role."),
    ):
        [sent] = await ask(harness, chats, name, text)
        assert sent.plain_text.startswith(reply), (text, sent.plain_text)
        assert sent.method == "sendMessage"


async def test_an_unregistered_user_gets_the_way_to_register(harness):
    await harness.import_roster()
    stranger = harness.emu.user(9999, language_code="en")
    [reply] = await harness.send(stranger, "/stats")
    assert reply.keyboard_labels == ["📱 Share my phone number"]


async def test_the_charts_are_pngs_of_the_scope(harness):
    chats = await bind_everyone(harness, language="zh-hans")
    await seed(harness)
    user = harness.emu.user(chats["吴敏"], language_code="zh-hans")
    _, sent = await with_charts(harness, user, "/stats")
    assert [s.method for s in sent] == ["sendMessage", "sendPhoto", "sendPhoto"]
    uploads = [d for d in harness.emu.documents if d[0] == chats["吴敏"]]
    assert [(name, params["caption"]) for _, name, _, params in uploads] == [
        ("visits.png", "每日走访 · 全县 · 11月23日—11月28日"),
        ("compliance.png", "驻村达标与周小结 · 全县 · 11月23日—11月28日")]
    for _, _, content, _ in uploads:
        assert content[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.imread(io.BytesIO(content), format="png").shape[1] == 800


def test_the_visits_chart_draws_chinese_names_quietly_and_grows_with_the_places():
    days = [MONDAY + dt.timedelta(days=i) for i in range(7)]
    names = "城关镇 东关镇 西湖乡 南山乡 北坪镇".split()
    series = {name: {day: i + j for j, day in enumerate(days)} for i, name in enumerate(names)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        five = visits_heatmap(series, days, title="每日走访 · 全县", legend="走访次数",
                              locale="zh")
        one = visits_heatmap({"新村": {MONDAY: 3}}, days, title="Visits", legend="visits",
                             locale="en")
        empty = visits_heatmap({}, days, title="Visits", legend="visits", locale="en")
    assert [str(w.message) for w in caught] == []
    shapes = [image.imread(io.BytesIO(png), format="png").shape for png in (one, five, empty)]
    assert shapes[0][1] == shapes[1][1] == 800 and shapes[0][0] < shapes[1][0]
    assert visits_heatmap(series, days, title="每日走访 · 全县", legend="走访次数",
                          locale="zh") == five
