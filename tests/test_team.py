"""/team, /laggards, /pairs and the leaders' /disputes: full text in both languages, scope in
every role, overdue marks, a dispute's history, and forged history buttons refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from common.i18n import translator
from handlers.disputes import render_history, render_scope_disputes
from handlers.team import render_laggards, render_pairs, render_team
from storage import disputes as store
from storage import stats
from storage.models import Checkin, Dispute, DisputeStep, Household, Pairing, Person, Summary
from tests.conftest import SHANGHAI
from tests.scheduling import local
from tests.test_schedules import bind_everyone
from tests.test_stats import ask, people

MONDAY = dt.date(2026, 11, 23)
QUOTAS = {"county": 3, "department": 2, "ordinary": 1}


# --- renderers ---------------------------------------------------------------------------------

def test_team_in_english_and_chinese():
    members = [stats.TeamMember(1, "张伟", "team_leader", 3, 4, "submitted"),
               stats.TeamMember(2, "李娜", "cadre", 5, 0, None),
               stats.TeamMember(3, "王芳", "cadre", 0, 1, "accepted")]
    args = {"village": "新村", "week_start": dt.date(2026, 11, 30), "today": dt.date(2026, 12, 2),
            "min_days": 5}
    assert render_team(translator("en"), members, **args) == (
        "<b>Team · 新村 · week 30 Nov – 2 Dec</b>\n"
        "Days in the village (at least 5 a week) · visits · weekly summary\n"
        "张伟 (team leader): 3 days · 4 visits · summary waiting for review\n"
        "李娜: 5 days · 0 visits · no summary yet\n"
        "王芳: 0 days · 1 visits · summary accepted"
    )
    assert render_team(translator("zh"), members, **args) == (
        "<b>工作队 · 新村 · 11月30日—12月2日</b>\n"
        "驻村天数（每周至少 5 天）· 走访 · 周小结\n"
        "张伟（队长）：3 天 · 走访 4 次 · 周小结待审核\n"
        "李娜：5 天 · 走访 0 次 · 未交周小结\n"
        "王芳：0 天 · 走访 1 次 · 周小结已审核通过"
    )
    # A member's days on approved leave are named under their line.
    on_leave = render_team(translator("zh"), members, **args,
                           excused={3: [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]})
    assert on_leave.splitlines()[-1] == (
        "　└ 批准请假：2 天（12月1日（周二）、12月2日（周三）），计入驻村要求")
    # A member an inspection found away is named under their line too.
    members[1].absent = 1
    assert render_team(translator("zh"), members, **args).splitlines()[3:5] == [
        "李娜：5 天 · 走访 0 次 · 未交周小结", "　└ ⚠️ 督查时不在村 1 次"]
    assert render_team(translator("en"), members, **args).splitlines()[4] == (
        "   └ ⚠️ Away from the village on 1 inspection(s)")


def laggard_report() -> stats.Laggards:
    return stats.Laggards(MONDAY, 6, True, required=5, people=[
        stats.Laggard(5, "陈静", "黄金埠镇", "东岗村", "县农业局", 5, False, True, 4, True),
        stats.Laggard(6, "赵强", "古埠镇", "古埠村", "县委办", 0, True, True, None, True),
        stats.Laggard(3, "王芳", "黄金埠镇", "新村", "黄金埠镇政府", 3, True, True, 1, False,
                      absent=2),
    ])


def test_laggards_are_grouped_by_township_and_unit_in_english_and_chinese():
    args = {"place": "the county", "silent_after_days": 2}
    assert render_laggards(translator("en"), laggard_report(), **args) == (
        "<b>Laggards · the county · week 23 – 29 Nov</b>\n"
        "Fewer than 5 days in the village (this week: can no longer reach them), no weekly "
        "summary after the deadline, silent for 2 days or more, or found away by an "
        "inspection.\n"
        "3 of 6 cadres:\n"
        "<b>古埠镇</b> · 县委办\n"
        "• 赵强 (古埠村): 0 days in the village; no weekly summary; has never used the bot\n"
        "<b>黄金埠镇</b> · 县农业局\n"
        "• 陈静 (东岗村): no weekly summary; silent for 4 days\n"
        "<b>黄金埠镇</b> · 黄金埠镇政府\n"
        "• 王芳 (新村): 3 days in the village; no weekly summary; away on 2 inspection(s)"
    )
    args["place"] = "全县"
    assert render_laggards(translator("zh"), laggard_report(), **args) == (
        "<b>后进名单 · 全县 · 11月23日—11月29日</b>\n"
        "驻村不足 5 天（本周：已无法达到）、截止后未交周小结、连续 2 天以上无消息，"
        "或督查时不在村。\n"
        "6 名干部中 3 名：\n"
        "<b>古埠镇</b> · 县委办\n"
        "• 赵强（古埠村）：在村 0 天；未交周小结；从未使用机器人\n"
        "<b>黄金埠镇</b> · 县农业局\n"
        "• 陈静（东岗村）：未交周小结；4 天无消息\n"
        "<b>黄金埠镇</b> · 黄金埠镇政府\n"
        "• 王芳（新村）：在村 3 天；未交周小结；督查时不在村 2 次"
    )


def test_no_laggards_before_the_deadline():
    report = stats.Laggards(MONDAY, 3, False, [], required=5)
    assert render_laggards(translator("en"), report, place="新村",
                           silent_after_days=2).splitlines()[2:] == [
        "The week's summaries are not due yet.",
        "No one is behind: all 3 cadres are on track."]


def pair_list() -> list[stats.CadrePairs]:
    rows = [("张伟", "新村", "县财政局", "county", 1),
            ("李娜", "新村", "县教育局", "department", 2),
            ("王芳", "新村", "黄金埠镇政府", "ordinary", 0),
            ("刘洋", "东岗村", "县水利局", "department", 3),
            ("陈静", "东岗村", "县农业局", "ordinary", 1),
            ("赵强", "古埠村", "县委办", "county", 0)]
    return [stats.CadrePairs(i, name, "古埠镇" if village == "古埠村" else "黄金埠镇",
                             village, unit, rank, paired, QUOTAS[rank])
            for i, (name, village, unit, rank, paired) in enumerate(rows, start=1)]


def test_pairs_against_the_quotas_by_township_rank_and_unit_in_english_and_chinese():
    assert render_pairs(translator("en"), pair_list(), place="the county", level="township",
                        quotas=QUOTAS) == (
        "<b>Help pairs · the county</b>\n"
        "Quotas: county-level 3, department-level 2, ordinary 1 households. Below: households "
        "paired (up to each quota) / quota · cadres short.\n"
        "<b>Per township</b>\n"
        "古埠镇: 0/3 · 1 of 1 short\n"
        "黄金埠镇: 6/9 · 2 of 5 short\n"
        "<b>Per rank</b>\n"
        "county-level: 1/6 · 2 of 2 short\n"
        "department-level: 4/4 · 0 of 2 short\n"
        "ordinary: 1/2 · 1 of 2 short\n"
        "<b>Per home unit</b>\n"
        "县农业局: 1/1 · 0 of 1 short\n"
        "县委办: 0/3 · 1 of 1 short\n"
        "县教育局: 2/2 · 0 of 1 short\n"
        "县水利局: 2/2 · 0 of 1 short\n"
        "县财政局: 1/3 · 1 of 1 short\n"
        "黄金埠镇政府: 0/1 · 1 of 1 short\n"
        "<b>Short of their quota</b>\n"
        "古埠镇 · 古埠村: 赵强 (county-level) 0/3\n"
        "黄金埠镇 · 新村: 张伟 (county-level) 1/3, 王芳 (ordinary) 0/1"
    )
    zh = render_pairs(translator("zh"), pair_list()[3:5], place="东岗村", level="village",
                      quotas=QUOTAS)
    assert zh == (
        "<b>结对帮扶 · 东岗村</b>\n"
        "任务：县级 3 户，科级 2 户，一般干部 1 户。以下为：已结对户数（计入任务）/任务户数 · "
        "未达标人数。\n"
        "<b>按村</b>\n"
        "东岗村：3/3 · 2 人中 0 人未达标\n"
        "<b>按职级</b>\n"
        "科级：2/2 · 1 人中 0 人未达标\n"
        "一般干部：1/1 · 1 人中 0 人未达标\n"
        "<b>按派出单位</b>\n"
        "县农业局：1/1 · 1 人中 0 人未达标\n"
        "县水利局：2/2 · 1 人中 0 人未达标\n"
        "所有干部均已完成结对任务。"
    )


def open_items() -> list[stats.OpenDispute]:
    first = Dispute(id=3, category="land", parties="村民甲与村委会", people_count=3,
                    status="mediating", level="village", opened_on=dt.date(2026, 11, 20),
                    flags={"collective": True, "beijing": True}, urgency="high",
                    description="补偿款未到位 <b>")
    second = Dispute(id=7, category="pollution", parties="养殖场与周边村民", people_count=12,
                     status="escalated", level="county", opened_on=dt.date(2026, 11, 27),
                     flags={}, urgency="normal", description="")
    return [stats.OpenDispute(first, "新村", "李娜", True),
            stats.OpenDispute(second, "东岗村", "陈静", False)]


def test_the_leaders_dispute_list_marks_the_overdue_in_english_and_chinese():
    today = dt.date(2026, 11, 28)
    assert render_scope_disputes(translator("en"), open_items(), place="黄金埠镇",
                                 today=today) == (
        "<b>Open disputes · 黄金埠镇: 2, 1 overdue</b> (oldest first)\n"
        "⚠️ overdue · #3 Rural land expropriation · 新村 · 村民甲与村委会 · 3 people · "
        "mediating · 8 days open · 李娜\n"
        "#7 Environmental pollution · 东岗村 · 养殖场与周边村民 · 12 people · "
        "escalated · county · 1 days open · 陈静\n"
        "Tap a number to read its history."
    )
    assert render_scope_disputes(translator("zh"), open_items(), place="黄金埠镇",
                                 today=today).splitlines()[:2] == [
        "<b>未结纠纷 · 黄金埠镇：2 件，逾期 1 件</b>（按时间先后）",
        "⚠️ 逾期 · #3 农村征地 · 新村 · 村民甲与村委会 · 3 人 · 调解中 · 已 8 天 · 李娜"]
    assert render_scope_disputes(translator("en"), [], place="新村", today=today) == (
        "No open disputes in 新村.")


def test_a_disputes_history_in_english_and_chinese():
    at = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
    steps = [(DisputeStep(status="reported", at=at, note=None), "李娜"),
             (DisputeStep(status="mediating", at=at + dt.timedelta(days=1), note="约双方面谈"),
              "李娜")]
    assert render_history(translator("en"), open_items()[0], steps, tz=SHANGHAI) == (
        "<b>Dispute #3 · Rural land expropriation · 新村</b>\n"
        "Parties: 村民甲与村委会 · 3 people · urgency: Very urgent · "
        "reported by 李娜 on Fri 20 Nov\n"
        "Status: ⚠️ overdue · mediating\n"
        "Petition: Collective petition; To Beijing\n"
        "<i>补偿款未到位 &lt;b&gt;</i>\n"
        "<b>History</b>\n"
        "Fri 20 Nov 09:30 · reported · 李娜\n"
        "Sat 21 Nov 09:30 · mediating · 李娜: 约双方面谈"
    )
    assert render_history(translator("zh"), open_items()[0], steps, tz=SHANGHAI) == (
        "<b>纠纷 #3 · 农村征地 · 新村</b>\n"
        "当事人：村民甲与村委会 · 3 人 · 紧急程度：紧急 · 李娜于11月20日（周五）上报\n"
        "状态：⚠️ 逾期 · 调解中\n"
        "信访：集体上访；进京上访\n"
        "<i>补偿款未到位 &lt;b&gt;</i>\n"
        "<b>处理经过</b>\n"
        "11月20日（周五）09:30 · 已上报 · 李娜\n"
        "11月21日（周六）09:30 · 调解中 · 李娜：约双方面谈"
    )


# --- through the bot ---------------------------------------------------------------------------

async def stay(harness, found, name, days, *, inside=True):
    now = harness.clock.now()
    person = found[name]
    async with harness.db.write() as session:
        for day in days:
            session.add(Checkin(person_id=person.id, village_id=person.village_id,
                                township_id=person.township_id, day=day, in_village=inside,
                                reason=None if inside else "sick", created_at=now,
                                updated_at=now))


async def test_team_shows_the_members_week_to_each_leader_in_scope(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    await stay(harness, found, "李娜", [MONDAY + dt.timedelta(days=i) for i in range(4)])
    await stay(harness, found, "王芳", [MONDAY], inside=False)
    async with harness.db.write() as session:
        session.add(Summary(person_id=found["李娜"].id, week_start=MONDAY,
                            submitted_at=harness.clock.now()))
    [reply] = await ask(harness, chats, "张伟", "/team")
    assert reply.plain_text == (
        "Team · 新村 · week 23 – 28 Nov\n"
        "Days in the village (at least 5 a week) · visits · weekly summary\n"
        "张伟 (team leader): 0 days · 0 visits · no summary yet\n"
        "李娜: 4 days · 0 visits · summary waiting for review\n"
        "王芳: 0 days · 0 visits · no summary yet")
    [reply] = await ask(harness, chats, "孙丽", "/team")
    assert reply.plain_text == "Name a village of your scope, for example /team 新村."
    [reply] = await ask(harness, chats, "孙丽", "/team 东岗村")
    assert reply.plain_text.splitlines()[2:] == [
        "刘洋 (team leader): 0 days · 0 visits · no summary yet",
        "陈静: 0 days · 0 visits · no summary yet"]
    [reply] = await ask(harness, chats, "孙丽", "/team 古埠村")
    assert reply.plain_text == "“古埠村” is outside what you can see (黄金埠镇)."
    [reply] = await ask(harness, chats, "张伟", "/team 东岗村")
    assert reply.plain_text == "“东岗村” is outside what you can see (新村)."
    [reply] = await ask(harness, chats, "吴敏", "/team 古埠村")
    assert reply.plain_text.splitlines()[2:] == ["赵强: 0 days · 0 visits · no summary yet"]
    [reply] = await ask(harness, chats, "李娜", "/team")
    assert reply.plain_text.startswith("That command is not available to your role.")


async def _lag_setup(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    week = [MONDAY + dt.timedelta(days=i) for i in range(7)]
    for name, days in (("李娜", 5), ("王芳", 3), ("陈静", 5), ("张伟", 5), ("刘洋", 6)):
        await stay(harness, found, name, week[:days])
    harness.at(local(2026, 12, 1, 10, 0))  # Tuesday: last week is over, its deadline past
    now = harness.clock.now()
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            person.last_seen_at = {"赵强": None, "陈静": now - dt.timedelta(days=4)}.get(
                person.name, now - dt.timedelta(days=1))
            if person.name in ("李娜", "张伟", "刘洋"):
                session.add(Summary(person_id=person.id, week_start=MONDAY, submitted_at=now))
    return chats


async def test_laggards_of_last_week_are_grouped_by_township_and_home_unit(harness):
    chats = await _lag_setup(harness)
    [reply] = await ask(harness, chats, "吴敏", "/laggards last week")
    assert reply.plain_text.splitlines()[0] == (
        "Laggards · the county · week 23 – 29 Nov")
    assert reply.plain_text.splitlines()[2:] == [
        "3 of 6 cadres:",
        "古埠镇 · 县委办",
        "• 赵强 (古埠村): 0 days in the village; no weekly summary; has never used the bot",
        "黄金埠镇 · 县农业局",
        "• 陈静 (东岗村): no weekly summary; silent for 4 days",
        "黄金埠镇 · 黄金埠镇政府",
        "• 王芳 (新村): 3 days in the village; no weekly summary"]
    [reply] = await ask(harness, chats, "孙丽", "/laggards 2026-11-25")  # a day of that week
    assert "赵强" not in reply.plain_text and "• 王芳 (新村)" in reply.plain_text
    [reply] = await ask(harness, chats, "张伟", "/laggards 上周")
    assert reply.plain_text.splitlines()[2:] == [
        "1 of 3 cadres:", "黄金埠镇 · 黄金埠镇政府",
        "• 王芳 (新村): 3 days in the village; no weekly summary"]


async def test_laggards_this_week_are_those_who_can_no_longer_make_it(harness):
    chats = await _lag_setup(harness)
    found = await people(harness)
    harness.at(local(2026, 12, 2, 10, 0))
    async with harness.db.write() as session:
        for person in (await session.execute(select(Person))).scalars():
            person.last_seen_at = harness.clock.now()
    # Wednesday: with three days away, the four left cannot make five; 张伟 and 李娜, with no
    # check-in yet, still can.
    await stay(harness, found, "王芳", [dt.date(2026, 11, 30) + dt.timedelta(days=i)
                                       for i in range(3)], inside=False)
    [reply] = await ask(harness, chats, "张伟", "/laggards")
    assert reply.plain_text.splitlines()[2:] == [
        "The week's summaries are not due yet.", "1 of 3 cadres:", "黄金埠镇 · 黄金埠镇政府",
        "• 王芳 (新村): 0 days in the village"]
    [reply] = await ask(harness, chats, "张伟", "/laggards 古埠村")
    assert reply.plain_text == "“古埠村” is outside what you can see (新村)."


async def test_pairs_show_the_shortfalls_by_rank_in_scope(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    now = harness.clock.now()
    async with harness.db.write() as session:
        for name, count in (("张伟", 1), ("李娜", 2), ("刘洋", 3), ("陈静", 1)):
            for i in range(count):
                household = Household(village_id=found[name].village_id, name=f"{name}户{i}",
                                      created_at=now)
                session.add(household)
                await session.flush()
                session.add(Pairing(person_id=found[name].id, household_id=household.id,
                                    created_at=now))
    [reply] = await ask(harness, chats, "吴敏", "/pairs")
    lines = reply.plain_text.splitlines()
    assert lines[2:5] == ["Per township", "古埠镇: 0/3 · 1 of 1 short",
                          "黄金埠镇: 6/9 · 2 of 5 short"]
    # 孙丽 and 周杰, county-level leaders in no village team, have the county-level quota too.
    assert lines[5:9] == ["Per rank", "county-level: 1/12 · 4 of 4 short",
                          "department-level: 4/4 · 0 of 2 short", "ordinary: 1/2 · 1 of 2 short"]
    assert lines[-4:] == [("County-level leaders outside the village teams (paired/quota): "
                           "周杰 (county-level) 0/3, 孙丽 (county-level) 0/3"),
                          "Short of their quota", "古埠镇 · 古埠村: 赵强 (county-level) 0/3",
                          "黄金埠镇 · 新村: 张伟 (county-level) 1/3, 王芳 (ordinary) 0/1"]
    [reply] = await ask(harness, chats, "张伟", "/pairs")
    lines = reply.plain_text.splitlines()
    assert lines[0] == "Help pairs · 新村"
    assert lines[2:4] == ["Per village", "新村: 3/6 · 2 of 3 short"]
    assert "古埠" not in reply.plain_text and "东岗村" not in reply.plain_text
    [reply] = await ask(harness, chats, "孙丽", "/pairs 古埠镇")
    assert reply.plain_text == "“古埠镇” is outside what you can see (黄金埠镇)."


# --- the leaders' /disputes --------------------------------------------------------------------

async def _report(harness, found, name, category, when, *, steps=()):
    harness.at(when)
    async with harness.db.write() as session:
        person = await session.get(Person, found[name].id)
        dispute = await store.add_dispute(
            session, person=person, category=category, parties="甲, 乙", people_count=2,
            flags=["collective"], description="边界争议", urgency="normal", day=when.date(),
            now=harness.clock.now())
        for action, note, later in steps:
            await store.move_dispute(session, dispute=dispute, by_person_id=person.id,
                                     action=action, note=note, now=when + later,
                                     verdict="satisfied" if action == "resolve" else None)
        return dispute.id


async def _disputes_setup(harness):
    chats = await bind_everyone(harness)
    found = await people(harness)
    ids = {
        "old": await _report(harness, found, "李娜", "land", local(2026, 11, 20, 9, 0),
                             steps=[("mediate", "约双方面谈", dt.timedelta(days=1))]),
        "east": await _report(harness, found, "陈静", "pollution", local(2026, 11, 27, 9, 0)),
        "gu": await _report(harness, found, "赵强", "other", local(2026, 11, 26, 9, 0)),
        "done": await _report(harness, found, "李娜", "accident", local(2026, 11, 26, 9, 0),
                              steps=[("resolve", None, dt.timedelta(hours=1))]),
        "mine": await _report(harness, found, "张伟", "ownership", local(2026, 11, 27, 15, 0)),
    }
    harness.at(local(2026, 11, 28, 10, 0))
    return chats, ids


async def test_leaders_see_the_open_disputes_of_their_scope_oldest_first_overdue_marked(harness):
    chats, ids = await _disputes_setup(harness)
    [reply] = await ask(harness, chats, "孙丽", "/disputes")
    assert reply.plain_text.splitlines() == [
        "Open disputes · 黄金埠镇: 3, 1 overdue (oldest first)",
        f"⚠️ overdue · #{ids['old']} Rural land expropriation · 新村 · 甲, 乙 · 2 people · "
        "mediating · 8 days open · 李娜",
        f"#{ids['east']} Environmental pollution · 东岗村 · 甲, 乙 · 2 people · reported · "
        "1 days open · 陈静",
        f"#{ids['mine']} Ownership dispute · 新村 · 甲, 乙 · 2 people · reported · "
        "1 days open · 张伟",
        "Tap a number to read its history."]
    assert [data for row in reply.buttons for _, data in row] == [
        f"dsh:{ids['old']}", f"dsh:{ids['east']}", f"dsh:{ids['mine']}"]  # read, never move
    [reply] = await ask(harness, chats, "吴敏", "/disputes")
    assert reply.plain_text.splitlines()[0] == (
        "Open disputes · the county: 4, 1 overdue (oldest first)")
    [reply] = await ask(harness, chats, "周杰", "/disputes 古埠镇")
    assert reply.plain_text.splitlines()[0] == "Open disputes · 古埠镇: 1, 0 overdue (oldest first)"
    [reply] = await ask(harness, chats, "孙丽", "/disputes 古埠村")
    assert reply.plain_text == "“古埠村” is outside what you can see (黄金埠镇)."


async def test_a_team_leader_sees_the_whole_village_and_moves_only_their_own(harness):
    chats, ids = await _disputes_setup(harness)
    [reply] = await ask(harness, chats, "张伟", "/disputes")
    assert reply.plain_text.splitlines()[0] == "Open disputes · 新村: 2, 1 overdue (oldest first)"
    data = [d for row in reply.buttons for _, d in row]
    assert data == [f"dsh:{ids['old']}", f"dsh:{ids['mine']}",
                    *(f"dsp:{ids['mine']}:{code}" for code in ("m", "r", "et", "ec"))]
    leader = harness.emu.user(chats["张伟"], language_code="en")
    assert await harness.press(leader, f"dsp:{ids['old']}:m") == []  # 李娜's: not his to move
    assert harness.emu.callback_answers[-1].get("text") == "That dispute is not one of yours."
    replies = await harness.press(leader, f"dsp:{ids['mine']}:m")
    assert f"#{ids['mine']} is now: mediating" in replies[-1].plain_text
    [reply] = await ask(harness, chats, "李娜", "/disputes")  # a cadre: her own, as before
    assert reply.plain_text.splitlines()[0] == "Your open disputes (1), oldest first:"


async def test_a_leader_opens_a_disputes_history(harness):
    chats, ids = await _disputes_setup(harness)
    await ask(harness, chats, "孙丽", "/disputes")
    leader = harness.emu.user(chats["孙丽"], language_code="en")
    [reply] = await harness.press(leader, f"dsh:{ids['old']}")
    assert reply.plain_text == (
        f"Dispute #{ids['old']} · Rural land expropriation · 新村\n"
        "Parties: 甲, 乙 · 2 people · urgency: Urgent · reported by 李娜 on Fri 20 Nov\n"
        "Status: ⚠️ overdue · mediating\n"
        "Petition: Collective petition\n"
        "边界争议\n"
        "History\n"
        "Fri 20 Nov 09:00 · reported · 李娜\n"
        "Sat 21 Nov 09:00 · mediating · 李娜: 约双方面谈")
    await ask(harness, chats, "吴敏", "/disputes")
    office = harness.emu.user(chats["吴敏"], language_code="en")
    [reply] = await harness.press(office, f"dsh:{ids['done']}")  # resolved: still readable
    assert reply.plain_text.splitlines()[2] == "Status: resolved"


async def test_a_forged_history_button_outside_the_scope_is_refused(harness):
    chats, ids = await _disputes_setup(harness)
    for name, dispute in (("孙丽", ids["gu"]), ("张伟", ids["east"]), ("王芳", ids["old"]),
                          ("刘洋", ids["old"])):
        # any message with buttons to forge a press on
        await ask(harness, chats, name, "/dispute" if name == "王芳" else "/disputes")
        user = harness.emu.user(chats[name], language_code="en")
        assert await harness.press(user, f"dsh:{dispute}") == [], name
        assert harness.emu.callback_answers[-1].get("text") == (
            "That dispute is outside what you can see.")
    await ask(harness, chats, "李娜", "/disputes")
    cadre = harness.emu.user(chats["李娜"], language_code="en")
    [reply] = await harness.press(cadre, f"dsh:{ids['old']}")  # her own dispute
    assert reply.plain_text.startswith(f"Dispute #{ids['old']}")
    async with harness.db.read() as session:
        steps = (await session.execute(select(DisputeStep))).scalars().all()
    assert len(steps) == 7  # five reports, a mediation and a resolution: nothing moved
