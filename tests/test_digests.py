"""Digests and the county report: full text in both languages, and the figures behind them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import event, select

from common.i18n import translator
from reports.digests import (
    render_county_digest,
    render_county_report,
    render_team_digest,
    render_township_digest,
)
from scheduler.reports import evening_digests
from scheduler.runs import Run
from storage.cases import CaseView
from storage.figures import MemberDay, TownshipWeek, VillageDay
from storage.models import (
    Appraisal,
    Checkin,
    Dispute,
    ModelCase,
    Person,
    Problem,
    Publicity,
    StageSummary,
    Summary,
    Township,
    Village,
    Visit,
)
from storage.outbox import Outgoing
from storage.publicity import PublicityTotals
from tests.scheduling import local, tick
from tests.test_schedules import bind_everyone, messages

DAY = dt.date(2026, 12, 1)


def new_village() -> VillageDay:
    team = VillageDay(1, "新村", 1, "黄金埠镇")
    team.members = [
        MemberDay(1, "张伟", "team_leader", True, None, 0),
        MemberDay(2, "李娜", "cadre", False, "sick", 0),
        MemberDay(3, "王芳", "cadre", None, None, 3),
    ]
    team.visits_by_kind = {"masses": 1, "weak": 2}
    team.disputes_new, team.disputes_open, team.disputes_overdue = 1, 2, 1
    team.problems_raised, team.problems_solved = 1, 0
    team.problems_overdue = [
        Problem(id=7, category="infrastructure", description="The <bridge> is broken",
                status="in_hand", next_due_on=dt.date(2026, 11, 30)),
        Problem(id=9, category="livelihood", description="A" * 40, status="solved",
                next_due_on=dt.date(2026, 11, 29))]
    team.publicity = PublicityTotals(2, 45, 6, 1, {"mass": 1, "door_to_door": 1})
    return team


def test_team_digest_in_english_and_chinese():
    team = new_village()
    assert render_team_digest(translator("en"), team, day=DAY, silent_after_days=2) == (
        "<b>Team digest · 新村 · Tue 1 Dec</b>\n"
        "Checked in: 2 of 3 (in the village 1, away 1)\n"
        "Away: 李娜 (sick)\n"
        "No check-in: 王芳\n"
        "Visits today: 3 — the weak 2, the masses 1\n"
        "Disputes: 1 new, 2 open, 1 overdue\n"
        "Problems: 1 raised, 0 solved\n"
        "⚠️ Overdue problems: 2\n"
        "#7 Infrastructure · The &lt;bridge&gt; is broken · in hand, next step due Mon 30 Nov\n"
        f"#9 Livelihood · {'A' * 29}… · solved, next step due Sun 29 Nov\n"
        "Publicity today: sessions 2, attended by 45 · slogans 6, boards 1\n"
        "Silent for 2 days or more: 王芳"
    )
    assert render_team_digest(translator("zh"), team, day=DAY, silent_after_days=2) == (
        "<b>工作队日报 · 新村 · 12月1日（周二）</b>\n"
        "今日签到：2/3（在村 1，不在村 1）\n"
        "不在村：李娜（生病）\n"
        "未签到：王芳\n"
        "今日走访：3 次 — 访弱势群体 2、访普通群众 1\n"
        "矛盾纠纷：新增 1，未结 2，逾期 1\n"
        "问题台账：新增 1，解决 0\n"
        "⚠️ 逾期问题：2 个\n"
        "#7 基础设施 · The &lt;bridge&gt; is broken · 办理中，下一步应于11月30日（周一）完成\n"
        f"#9 生活困难 · {'A' * 29}… · 已解决，下一步应于11月29日（周日）完成\n"
        "今日宣传：2 场，参加 45 人次 · 标语 6 条，宣传栏 1 块\n"
        "连续 2 天以上无消息：王芳"
    )


def test_township_digest_lists_villages_worst_first():
    good = VillageDay(2, "东岗村", 1, "黄金埠镇",
                      members=[MemberDay(4, "刘洋", "team_leader", True, None, 0)])
    text = render_township_digest(translator("en"), "黄金埠镇", [good, new_village()], day=DAY,
                                  silent_after_days=2)
    assert text == (
        "<b>Township digest · 黄金埠镇 · Tue 1 Dec</b>\n"
        "checked in · visits · open disputes (overdue) · silent\n"
        "新村: 2/3 · 3 · 2 (1) · 1\n"
        "东岗村: 1/1 · 0 · 0 (0) · 0\n"
        "⚠️ Overdue problems: 2 — 新村 2\n"
        "Publicity today: sessions 2, attended by 45 · slogans 6, boards 1"
    )
    zh = render_township_digest(translator("zh"), "黄金埠镇", [good], day=DAY,
                                silent_after_days=2)
    assert zh == ("<b>乡镇日报 · 黄金埠镇 · 12月1日（周二）</b>\n"
                  "签到 · 走访 · 未结纠纷（逾期）· 无消息\n"
                  "东岗村：1/1 · 0 · 0（0）· 0\n"
                  "今日宣传：0 场，参加 0 人次 · 标语 0 条，宣传栏 0 块")


def test_county_digest_lists_townships_worst_first_with_their_overdue_problems():
    other = VillageDay(3, "古埠村", 2, "古埠镇",
                       members=[MemberDay(5, "赵强", "team_leader", True, None, 0)])
    text = render_county_digest(translator("en"), [other, new_village()], day=DAY,
                                silent_after_days=2)
    assert text.splitlines()[2:] == ["黄金埠镇: 2/3 · 3 · 2 (1) · 1",
                                     "古埠镇: 1/1 · 0 · 0 (0) · 0",
                                     "⚠️ Overdue problems: 2 — 黄金埠镇 2"]
    zh = render_county_digest(translator("zh"), [other], day=DAY, silent_after_days=2)
    assert zh.splitlines()[2:] == ["古埠镇：1/1 · 0 · 0（0）· 0"]  # nothing overdue: no line


def test_county_report_in_english_and_chinese():
    townships = [TownshipWeek(1, "黄金埠镇", cadres=5, compliant=2, summaries=3),
                 TownshipWeek(2, "古埠镇", cadres=1, compliant=1, summaries=1)]
    disputes = {("land", "reported"): 1, ("land", "resolved"): 2, ("accident", "mediating"): 1}
    aid = {"condolence_count": 2, "condolence_amount": Decimal("400.00"), "donation_count": 1,
           "donation_value": Decimal("1500.50"), "labour_people": 3, "project_count": 1,
           "project_funds": Decimal("50000.00")}
    featured = [CaseView(ModelCase(title="Night school <for> farmers"), "李娜", "新村"),
                CaseView(ModelCase(title="护林队"), "赵强", "古埠村")]
    args = {"week_start": dt.date(2026, 11, 23), "townships": townships, "disputes": disputes,
            "aid": aid, "min_days": 5, "featured": featured,
            "publicity": PublicityTotals(3, 120, 7, 2, {"mass": 3})}
    assert render_county_report(translator("en"), **args) == (
        "<b>County report · week 23 – 29 Nov</b>\n"
        "Per township: weekly summaries submitted · cadres with at least 5 days in the village\n"
        "黄金埠镇: summaries 3/5 (60%) · in the village 2/5 (40%)\n"
        "古埠镇: summaries 1/1 (100%) · in the village 1/1 (100%)\n"
        "County: 4 of 6 summaries submitted\n"
        "\n"
        "<b>Disputes by category</b>\n"
        "Safety accident: 1 (mediating 1)\n"
        "Rural land expropriation: 3 (reported 1, resolved 2)\n"
        "\n"
        "<b>Help given</b>: condolence visits 2 (¥400), donations 1 (¥1,500.50), "
        "labour export 3 people, projects 1 (¥50,000)\n"
        "<b>Publicity</b>: sessions 3, attended by 120 · slogans 7, boards 2\n"
        "\n"
        "<b>Model cases featured for publicity</b> (2)\n"
        "· Night school &lt;for&gt; farmers — 新村, 李娜\n"
        "· 护林队 — 古埠村, 赵强"
    )
    zh = render_county_report(translator("zh"), **args)
    assert zh.splitlines()[0] == "<b>全县周报 · 11月23日—11月29日</b>"
    assert "黄金埠镇：周小结 3/5（60%）· 驻村达标 2/5（40%）" in zh
    assert "农村征地：3 件（已上报 1、已化解 2）" in zh
    assert zh.splitlines()[-5:] == [
        "<b>政策宣传</b>：3 场，参加 120 人次 · 标语 7 条，宣传栏 2 块", "",
        "<b>选送宣传的典型案例</b>（2 件）", "· Night school &lt;for&gt; farmers — 新村，李娜",
        "· 护林队 — 古埠村，赵强"]
    quiet = {**args, "featured": [], "publicity": None}
    assert render_county_report(translator("en"), **quiet).splitlines()[-3:] == [
        "<b>Publicity</b>: sessions 0, attended by 0 · slogans 0, boards 0", "",
        "No case was featured this week."]
    assert render_county_report(translator("zh"), **quiet).splitlines()[-1] == (
        "本周没有选送宣传的案例。")


async def test_the_evening_digest_counts_the_days_records(harness):
    chats = await bind_everyone(harness)
    await tick(harness, local(2026, 12, 1, 19, 0))
    now = harness.clock.now()
    async with harness.db.write() as session:
        people = {p.name: p for p in (await session.execute(select(Person))).scalars()}
        for someone in people.values():
            someone.last_seen_at = now
        li, wang = people["李娜"], people["王芳"]
        village = li.village_id
        session.add_all([
            Checkin(person_id=li.id, village_id=village, day=DAY, in_village=True,
                    created_at=now, updated_at=now),
            Checkin(person_id=wang.id, village_id=village, day=DAY, in_village=False,
                    reason="meeting", created_at=now, updated_at=now),
            # yesterday's visit is not today's
            Visit(person_id=li.id, village_id=village, day=DAY - dt.timedelta(days=1),
                  kind="old", heard="", wants="", created_at=now),
            Visit(person_id=li.id, village_id=village, day=DAY, kind="weak", heard="",
                  wants="", created_at=now),
            Dispute(person_id=li.id, village_id=village, category="land", parties="A, B",
                    people_count=2, flags={}, description="", urgency="normal",
                    opened_on=dt.date(2026, 11, 25), created_at=now,
                    last_step_at=now - dt.timedelta(days=4)),
            Problem(person_id=li.id, village_id=village, category="water", description="",
                    created_at=now, updated_at=now),
            # in hand since last week, past its by-when day: overdue; one due today is not
            Problem(person_id=li.id, village_id=village, category="land", description="Fence",
                    status="in_hand", next_due_on=DAY - dt.timedelta(days=1),
                    created_at=now - dt.timedelta(days=7), updated_at=now - dt.timedelta(days=7)),
            Problem(person_id=li.id, village_id=village, category="land", description="Gate",
                    status="in_hand", next_due_on=DAY,
                    created_at=now - dt.timedelta(days=7), updated_at=now - dt.timedelta(days=7)),
            Summary(person_id=li.id, week_start=dt.date(2026, 11, 30), submitted_at=now),
            # today's publicity of this village counts; yesterday's and another village's not
            Publicity(person_id=li.id, village_id=village, day=DAY, kind="mass", attendance=40,
                      topics=["rural_pension"], slogans=3, boards=1, created_at=now),
            Publicity(person_id=wang.id, village_id=village, day=DAY, kind="door_to_door",
                      attendance=6, topics=["cooperative_medical"], slogans=0, boards=0,
                      created_at=now),
            Publicity(person_id=li.id, village_id=village, day=DAY - dt.timedelta(days=1),
                      kind="mass", attendance=99, topics=[], slogans=9, boards=9,
                      created_at=now),
            Publicity(person_id=people["刘洋"].id, village_id=people["刘洋"].village_id,
                      day=DAY, kind="mobilisation", attendance=70, topics=[], slogans=1,
                      boards=0, created_at=now),
        ])
        people["王芳"].last_seen_at = now - dt.timedelta(days=2, hours=1)
    await tick(harness, local(2026, 12, 1, 20, 0))
    [digest] = messages(harness, chats["张伟"])
    assert digest == (
        "Team digest · 新村 · Tue 1 Dec\n"
        "Checked in: 2 of 3 (in the village 1, away 1)\n"
        "Away: 王芳 (meeting in the county)\n"
        "No check-in: 张伟\n"
        "Visits today: 1 — the weak 1\n"
        "Disputes: 0 new, 1 open, 1 overdue\n"
        "Problems: 1 raised, 0 solved\n"
        "⚠️ Overdue problems: 1\n"
        "#2 Land · Fence · in hand, next step due Mon 30 Nov\n"
        "Publicity today: sessions 2, attended by 46 · slogans 3, boards 1\n"
        "Silent for 2 days or more: 王芳\n"
        "Help targets missed: labour export, project funds, unit donations — see /pairs"
    )
    [township] = messages(harness, chats["孙丽"])
    # 东岗村 is worse: two members without a check-in
    # today's publicity of both villages, summed; yesterday's 99 people not
    assert township.splitlines()[2:] == ["东岗村: 0/2 · 0 · 0 (0) · 0", "新村: 2/3 · 1 · 1 (1) · 1",
                                         "⚠️ Overdue problems: 1 — 新村 1",
                                         "Publicity today: sessions 3, attended by 116 · "
                                         "slogans 4, boards 1",
                                         "Help targets: 2 of 2 villages below target — see "
                                         "/targets"]
    # A cadre gets no digest; a leader may ask for one at any time.
    assert messages(harness, chats["李娜"]) == []
    leader = harness.emu.user(chats["刘洋"], language_code="en")
    [reply] = await harness.send(leader, "/digest")
    assert reply.plain_text.startswith("Team digest · 东岗村 · Tue 1 Dec\nChecked in: 0 of 2")
    assert "Publicity today: sessions 1, attended by 70 · slogans 1, boards 0" in reply.plain_text
    office = harness.emu.user(chats["吴敏"], language_code="en")
    [reply] = await harness.send(office, "/digest")
    assert reply.plain_text.splitlines()[2] == "黄金埠镇: 2/5 · 1 · 1 (1) · 1"
    cadre = harness.emu.user(chats["李娜"], language_code="en")
    [reply] = await harness.send(cadre, "/digest")
    assert "Team digest" not in reply.plain_text


def test_county_report_shows_winter_work_per_township_and_rectification():
    from reports.villagework import VillageWork
    from storage.rectification import RectificationTotals
    from storage.winter import WinterSum

    work = VillageWork(
        {"黄金埠镇": {"afforestation": WinterSum(300, 90, 2), "tax": WinterSum(100, 150, 1)},
         "古埠镇": {"pension": WinterSum(50, 45, 1)}},
        RectificationTotals(3, {"weak_team": 2, "weak_management": 1}, 4, 6, 1), 50)
    args = {"week_start": dt.date(2026, 11, 23), "townships": [], "disputes": {},
            "aid": dict.fromkeys(("condolence_count", "donation_count", "labour_people",
                                  "project_count"), 0) | dict.fromkeys(
                ("condolence_amount", "donation_value", "project_funds"), Decimal(0)),
            "min_days": 5, "village_work": work}
    en = render_county_report(translator("en"), **args).splitlines()
    at = en.index("<b>Winter work and rectification</b> (overall progress per township, the "
                  "furthest behind first):")
    # 黄金埠镇: afforestation 30%, tax 150% counted as 100% → 65%; 古埠镇: 90%
    assert en[at - 1:at + 5] == [
        "", en[at], "• 黄金埠镇: 65% — lagging: Afforestation 30%", "• 古埠镇: 90%",
        "Rectification: villages marked 3 (Weak team 2, Weak management 1); measures 4, "
        "rules 6; villages with all eight kinds of rule 1", ""]
    zh = render_county_report(translator("zh"), **args)
    assert "• 黄金埠镇：65%——滞后：植树造林 30%" in zh.splitlines()
    assert ("软弱涣散村整顿：整顿村 3 个（班子软弱 2、管理薄弱 1）；措施 4 项，制度 6 项；"
            "八项制度齐全 1 个") in zh.splitlines()


# --- the number of statements a run sends does not grow with the teams ---------------------

SKIPPED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


async def _add_teams(harness, townships: list[Township], first: int, count: int) -> None:
    """`count` more village teams, in turn in each township: a bound team leader and a cadre,
    with work of every kind waiting for review (the cadre's weekly and stage summaries for the
    team leader; the team leader's weekly summary, team summary and appraisal of the cadre for
    the township leader)."""
    now = harness.clock.now()
    stamps = {"created_at": now, "updated_at": now}
    async with harness.db.write() as session:
        for n in range(first, first + count):
            township = townships[n % len(townships)]
            village = Village(township_id=township.id, name=f"村{n}")
            session.add(village)
            await session.flush()
            place = {"township_id": township.id, "village_id": village.id}
            leader, cadre = (
                Person(name=f"{role}{n}", phone=f"139{n:04d}{i}", rank="staff", role=role,
                       invite_code=f"T{n}{i}", telegram_user_id=900_000 + 10 * n + i,
                       locale="en", **place, **stamps)
                for i, role in enumerate(("team_leader", "cadre")))
            session.add_all([leader, cadre])
            await session.flush()
            week = {"week_start": dt.date(2026, 11, 23), "submitted_at": now, **place}
            session.add_all([
                Summary(person_id=cadre.id, **week), Summary(person_id=leader.id, **week),
                StageSummary(person_id=cadre.id, kind="personal", submitted_at=now, **place),
                StageSummary(person_id=leader.id, kind="team", submitted_at=now, **place),
                Appraisal(person_id=cadre.id, by_id=leader.id, grade="excellent", **stamps)])


async def _digest_statements(harness) -> tuple[int, list[Outgoing]]:
    """The statements one run of the evening digests sends, and its messages."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(SKIPPED):
            seen.append(statement)

    engines = {id(e): e.sync_engine for e in (harness.db.engine, harness.db.read_engine)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", count)
    try:
        now = harness.clock.now()
        async with harness.db.write() as session:
            out = await evening_digests(Run(harness.ctx, session, now, now))
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", count)
    return len(seen), out


async def test_the_evening_digests_take_as_many_statements_for_six_teams_as_for_two(harness):
    now = harness.clock.now()
    async with harness.db.write() as session:
        townships = [Township(name=f"乡{n}") for n in range(2)]
        session.add_all(townships)
        await session.flush()
        session.add_all(
            Person(name=f"乡长{n}", phone=f"1380000000{n}", rank="staff", role="township_leader",
                   invite_code=f"S{n}", telegram_user_id=800_000 + n, locale="en",
                   township_id=t.id, created_at=now, updated_at=now)
            for n, t in enumerate(townships))
    await _add_teams(harness, townships, 0, 2)
    two, out = await _digest_statements(harness)
    # Every leader's digest chases the work waiting for them: the path that once read per leader.
    chases = [m.payload["text"].splitlines()[-1] for m in out]
    assert sorted(chases) == [
        "📋 2 waiting for your review: cadre0", "📋 2 waiting for your review: cadre1",
        "📋 3 waiting for your review: team_leader0",
        "📋 3 waiting for your review: team_leader1"]
    await _add_teams(harness, townships, 2, 4)
    six, out = await _digest_statements(harness)
    assert len(out) == 8
    assert "📋 9 waiting for your review: team_leader0, team_leader2, team_leader4" in [
        m.payload["text"].splitlines()[-1] for m in out]
    assert six == two
