"""The console's Records: each role's lists equal what the database holds for its scope, the
filters, the search and the pages; a record's page with its steps, review and audit trail and
its photo; a place or record outside the viewer's scope refused."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from storage import records, reviews
from storage.aid import add_aid
from storage.disputes import add_dispute, move_dispute
from storage.handover import hand_over, send_back
from storage.models import Aid, Dispute, Person, Problem, Summary, Township, Village, Visit
from storage.problems import Terms, move_problem, raise_problem
from storage.summaries import SummaryText, submit_summary
from storage.visits import add_visit
from tests.conftest import SHANGHAI
from tests.console_kit import console, console_settings, text_of

__all__ = ["console"]  # the fixture, used by name

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
WEEK = (dt.date(2026, 11, 23), dt.date(2026, 11, 28))  # this week of the harness's clock
JPEG = b"\xff\xd8\xff\xe0 a photo of the road \xff\xd9"
ROLES = ("吴敏", "周杰", "孙丽", "张伟", "李娜")  # office, leading group, township, team, cadre
MODELS = {"visits": (Visit, Visit.day), "disputes": (Dispute, Dispute.opened_on),
          "problems": (Problem, Problem.created_at), "summaries": (Summary, Summary.week_start),
          "aid": (Aid, Aid.day)}


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def people(session) -> dict[str, Person]:
    return {p.name: p for p in (await session.scalars(select(Person))).all()}


async def seed(harness, picture: bytes = JPEG) -> dict[str, Any]:
    """Records of this week across three villages and two townships, with a photo, a
    dispute handed over and sent back, a problem taken and solved, a summary returned."""
    photo = harness.emu.world.add_file(picture, "photo.jpg", "image/jpeg", "photos").file_id
    made: dict[str, Any] = {}
    async with harness.db.write() as session:
        who = await people(session)
        day = dt.date(2026, 11, 24)
        made["lamp"] = await add_visit(
            session, person=who["李娜"], kind="weak", day=day, heard="村口路灯坏了 Street LAMP",
            wants="修好路灯", now=NOW, household_name="王大爷", photo_file_id=photo,
            problem_category="infrastructure", problem_due_on=dt.date(2026, 11, 30))
        await add_visit(session, person=who["李娜"], kind="rich", day=dt.date(2026, 11, 27),
                        heard="想办合作社", wants="贷款", now=NOW)
        made["ditch"] = await add_visit(
            session, person=who["王芳"], kind="weak", day=dt.date(2026, 11, 25),
            heard="水渠堵了", wants="清淤", now=NOW)
        made["donggang"] = await add_visit(
            session, person=who["陈静"], kind="masses", day=dt.date(2026, 11, 26),
            heard="东岗村的路灯也坏了", wants="修", now=NOW)
        made["gubu"] = await add_visit(
            session, person=who["赵强"], kind="old", day=dt.date(2026, 11, 26),
            heard="老人冬衣不够", wants="棉衣", now=NOW)
        dispute = await add_dispute(
            session, person=who["李娜"], category="land", parties="张三、李四", people_count=2,
            flags=[], description="宅基地界址之争", urgency="normal", day=day, now=NOW)
        await session.flush()
        await move_dispute(session, dispute=dispute, by_person_id=who["李娜"].id,
                           action="mediate", note="两家坐下来谈", now=NOW)
        await hand_over(session, dispute, level="township", by_person_id=who["李娜"].id,
                        now=NOW)
        await send_back(session, dispute, by=who["孙丽"], reason="先在村里再调解一次", now=NOW)
        made["dispute"] = dispute
        other = await add_dispute(
            session, person=who["赵强"], category="pollution", parties="养猪场", people_count=5,
            flags=[], description="猪场污水", urgency="high", day=day, now=NOW)
        await session.flush()
        await move_dispute(session, dispute=other, by_person_id=who["赵强"].id,
                           action="resolve", note="已整改", now=NOW, verdict="satisfied")
        made["resolved"] = other
        problem = await raise_problem(
            session, person=who["王芳"], category="infrastructure", description="桥面开裂",
            priority="high", day=day, now=NOW, next_due_on=dt.date(2026, 11, 27))
        await session.flush()
        terms = Terms(feedback_days=3, checkback_days=7)
        await move_problem(session, problem=problem, action="take", by_person_id=who["张伟"].id,
                           day=day, now=NOW, terms=terms, measures="请交通站来看",
                           responsible="张伟", due_on=dt.date(2026, 11, 30))
        await move_problem(session, problem=problem, action="solve",
                           by_person_id=who["张伟"].id, day=dt.date(2026, 11, 26), now=NOW,
                           terms=terms, note="桥面已修补")
        made["problem"] = problem
        summary, _ = await submit_summary(
            session, person=who["李娜"], week_start=WEEK[0],
            text=SummaryText(achievements="走访十户", problems="路灯", plan="继续走访"),
            now=NOW, tz=SHANGHAI, minimum=0)
        await reviews.decide(session, summary, entity="summary", by=who["张伟"], accept=False,
                             reason="请写清走访了哪几户", now=NOW)
        made["summary"] = summary
        made["aid"] = await add_aid(session, person=who["陈静"], kind="condolence", day=day,
                                    now=NOW, household_name="刘奶奶", items="大米两袋")
        await session.flush()
        made["ids"] = {key: value.id for key, value in made.items() if hasattr(value, "id")}
    return made


async def signed(harness, console, name: str, phone: str, user_id: int):
    await harness.register(phone, user_id=user_id)
    return await console.sign_in(name)


PHONES = {"张伟": ("13800138001", 7001), "李娜": ("13800138002", 7002),
          "王芳": ("13800138003", 7003), "刘洋": ("13800138004", 7004),
          "陈静": ("13800138005", 7005), "赵强": ("13800138006", 7006),
          "孙丽": ("13800138007", 7007), "周杰": ("13800138008", 7008),
          "吴敏": ("13800138009", 7009)}


async def browser_of(harness, console, name: str):
    phone, user_id = PHONES[name]
    return await signed(harness, console, name, phone, user_id)


def ids_in(html: str, kind: str) -> list[int]:
    return [int(n) for n in re.findall(rf'href="/console/records/{kind}/(\d+)"', html)]


async def expected(harness, name: str, kind: str) -> set[int]:
    """The records of `kind` this week the person may see, read straight from the tables."""
    model, day = MODELS[kind]
    async with harness.db.read() as session:
        me = (await people(session))[name]
        if kind == "problems":
            low = dt.datetime.combine(WEEK[0], dt.time(), SHANGHAI)
            high = dt.datetime.combine(WEEK[1] + dt.timedelta(days=1), dt.time(), SHANGHAI)
            query = select(model.id).where(day >= low, day < high)
        elif kind == "summaries":
            query = select(model.id).where(day >= WEEK[0] - dt.timedelta(days=6), day <= WEEK[1])
        else:
            query = select(model.id).where(day >= WEEK[0], day <= WEEK[1])
        if me.role == "cadre":
            query = query.where(model.person_id == me.id)
        elif me.role == "team_leader":
            query = query.where(model.village_id == me.village_id)
        elif me.role == "township_leader":
            query = query.where(model.township_id == me.township_id)
        return set((await session.scalars(query)).all())


async def test_each_roles_lists_hold_what_the_database_holds_for_its_scope(harness, console):
    await seed(harness)  # once: the roles only read it
    for name in ROLES:
        browser = await browser_of(harness, console, name)
        for kind in MODELS:
            response = await browser.get(f"/console/records?kind={kind}")
            assert response.status_code == 200, (name, kind, response.text)
            shown = ids_in(response.text, kind)
            assert len(shown) == len(set(shown)), (name, kind)
            assert set(shown) == await expected(harness, name, kind), (name, kind)
    everything = set()
    for kind in MODELS:
        everything |= await expected(harness, "吴敏", kind)
    assert everything  # the county sees records of every kind


async def test_a_list_reads_in_the_chats_words_and_links_each_record(harness, console):
    made = await seed(harness)
    browser = await browser_of(harness, console, "张伟")
    page = await browser.get("/console/records?kind=visits")
    text = text_of(page.text)
    assert "走访" in text and "访弱势群体（问困难）" in text and "王大爷" in text
    assert "新村" in text and "李娜" in text and "11月24日" in text
    assert "weak" not in text and "team_leader" not in text
    assert f'href="/console/records/visits/{made["ids"]["lamp"]}"' in page.text
    disputes = text_of((await browser.get("/console/records?kind=disputes")).text)
    assert "矛盾纠纷" in disputes and "宅基地界址之争" in disputes and "农村征地" in disputes


async def test_the_filters_narrow_the_list(harness, console):
    made = await seed(harness)
    ids = made["ids"]
    office = await browser_of(harness, console, "吴敏")
    async with harness.db.read() as session:
        xincun = (await session.scalars(select(Village).where(Village.name == "新村"))).one()
        gubu = (await session.scalars(select(Township).where(Township.name == "古埠镇"))).one()

    async def shown(query: str, kind: str = "visits") -> set[int]:
        response = await office.get(f"/console/records?kind={kind}&{query}")
        assert response.status_code == 200, response.text
        return set(ids_in(response.text, kind))

    assert await shown("code=weak") == {ids["lamp"], ids["ditch"]}
    assert await shown(f"place=v{xincun.id}") == await expected(harness, "张伟", "visits")
    assert await shown(f"place=t{gubu.id}") == {ids["gubu"]}
    assert await shown("cadre=王芳") == {ids["ditch"]}
    assert await shown("q=路灯") == {ids["lamp"], ids["donggang"]}
    assert await shown("q=street lamp") == {ids["lamp"]}  # whatever the letters' case
    assert await shown("q=100%") == set()  # a % is a character, not a wildcard
    assert await shown(f"q=路灯&place=v{xincun.id}") == {ids["lamp"]}
    assert await shown("status=resolved", "disputes") == {ids["resolved"]}
    assert await shown("status=reported&code=land", "disputes") == set()
    assert await shown("q=宅基地", "disputes") == {ids["dispute"]}
    assert await shown("status=solved", "problems") == {ids["problem"]}
    assert await shown("status=returned", "summaries") == {ids["summary"]}
    assert await shown("status=accepted", "summaries") == set()
    assert await shown("q=大米", "aid") == {ids["aid"]}
    assert await shown("period=today") == set()
    assert await shown("period=last week") == set()
    assert await shown("period=11-26..11-26") == {ids["donggang"], ids["gubu"]}
    assert await shown("period=campaign") == await shown("")
    # A period typed as in the chat's /stats wins over the one picked; the chat's refusals.
    assert await shown("period=week&typed=11月26日") == {ids["donggang"], ids["gubu"]}
    garbled = text_of((await office.get("/console/records?typed=blah")).text)
    assert "“blah”不是时段；下面是本周的记录。" in garbled
    reversed_ = text_of((await office.get("/console/records?typed=11-27..11-24")).text)
    assert "结束日期早于开始日期" in reversed_
    assert await shown("typed=11-27..11-24") == await shown("period=week")
    far = text_of((await office.get("/console/records?typed=2020年1月")).text)
    assert "超出了可查询的日期范围" in far


async def test_a_search_reads_the_newest_rows_and_says_so(harness, console, monkeypatch):
    made = await seed(harness)
    ids = made["ids"]
    monkeypatch.setattr(records, "SEARCHED", 3)
    office = await browser_of(harness, console, "吴敏")
    # The week's three newest visits are 李娜's of the 27th and the two of the 26th: the
    # lamp of the 24th is older.
    response = await office.get("/console/records?kind=visits&q=路灯")
    assert set(ids_in(response.text, "visits")) == {ids["donggang"]}
    assert "只查了符合其他条件的最近 3 条记录" in text_of(response.text)
    async with harness.db.read() as session:
        xincun = (await session.scalars(select(Village).where(Village.name == "新村"))).one()
    response = await office.get(f"/console/records?kind=visits&q=路灯&place=v{xincun.id}")
    assert set(ids_in(response.text, "visits")) == {ids["lamp"]}  # 新村 has three: all read
    assert "只查了" not in text_of(response.text)


async def test_fifty_to_a_page_with_next_and_previous(harness, console):
    async with harness.db.write() as session:
        who = await people(session)
        for n in range(120):
            await add_visit(session, person=who["王芳"], kind="masses",
                            day=WEEK[0] + dt.timedelta(days=n % 6), heard=f"第{n}户",
                            wants="无", now=NOW)
    browser = await browser_of(harness, console, "张伟")
    seen: list[int] = []
    link: str | None = "/console/records?kind=visits"
    pages = 0
    while link:
        response = await browser.get(link)
        found = ids_in(response.text, "visits")
        assert len(found) == (50 if pages < 2 else 20)
        seen += found
        pages += 1
        nxt = re.search(r'rel="next" href="([^"]+)"', response.text)
        prev = re.search(r'rel="prev" href="([^"]+)"', response.text)
        assert (prev is None) == (pages == 1)
        link = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert pages == 3 and len(seen) == len(set(seen)) == 120
    assert set(seen) == await expected(harness, "张伟", "visits")
    async with harness.db.read() as session:
        days = dict((await session.execute(select(Visit.id, Visit.day))).all())
    assert [days[i] for i in seen] == sorted((days[i] for i in seen), reverse=True)


async def test_a_disputes_page_holds_its_steps_hand_over_and_return(harness, console):
    made = await seed(harness)
    browser = await browser_of(harness, console, "孙丽")
    page = await browser.get(f"/console/records/disputes/{made['ids']['dispute']}")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert f"#{made['ids']['dispute']}" in text and "宅基地界址之争" in text
    steps, trail = text.split("办理经过")[1].split("修改记录")
    # The steps in order: reported, mediated, sent back by the township with its reason; the
    # hand-over to the township (a change of the dispute, not a step) in the audit trail.
    order = [steps.index(word) for word in ("上报", "调解", "两家坐下来谈", "孙丽 退回",
                                            "先在村里再调解一次")]
    assert order == sorted(order)
    order = [trail.index(word) for word in ("李娜 上报", "李娜 调解", "李娜 报请受理 受理层级 乡镇",
                                            "孙丽 退回")]
    assert order == sorted(order)


async def test_a_problems_page_holds_its_steps(harness, console):
    made = await seed(harness)
    browser = await browser_of(harness, console, "张伟")
    text = text_of((await browser.get(f"/console/records/problems/{made['ids']['problem']}")).text)
    assert "桥面开裂" in text and "请交通站来看" in text and "桥面已修补" in text
    assert "办理经过" in text and "解决" in text
    assert "提出这个问题的走访" not in text  # raised by itself, not at a visit
    async with harness.db.read() as session:
        raised = (await session.scalars(select(Problem.id).where(
            Problem.visit_id == made["ids"]["lamp"]))).one()
    page = await browser.get(f"/console/records/problems/{raised}")
    assert f'href="/console/records/visits/{made["ids"]["lamp"]}"' in page.text
    assert "提出这个问题的走访" in text_of(page.text) and "路灯" in text_of(page.text)
    # And the visit's page lists the problems raised from it, each a link to its page.
    visit = await browser.get(f"/console/records/visits/{made['ids']['lamp']}")
    assert "这次走访提出的问题" in text_of(visit.text)
    assert f'href="/console/records/problems/{raised}"' in visit.text
    ditch = await browser.get(f"/console/records/visits/{made['ids']['ditch']}")
    assert "这次走访提出的问题" not in text_of(ditch.text)


async def test_a_summarys_page_holds_its_review_and_audit_trail(harness, console):
    made = await seed(harness)
    browser = await browser_of(harness, console, "李娜")
    text = text_of((await browser.get(f"/console/records/summaries/{made['ids']['summary']}")).text)
    assert "走访十户" in text and "已退回修改" in text and "请写清走访了哪几户" in text
    assert "张伟" in text  # who returned it
    assert "修改记录" in text and "退回修改" in text  # the audit trail's entry


async def test_a_visits_photo_is_fetched_through_the_bot(harness, console):
    made = await seed(harness)
    browser = await browser_of(harness, console, "张伟")
    page = await browser.get(f"/console/records/visits/{made['ids']['lamp']}")
    photo = f"/console/records/visits/{made['ids']['lamp']}/photo"
    assert f'src="{photo}"' in page.text
    bot = console.client._transport.app.state.application.bot  # type: ignore[attr-defined]
    await bot.initialize()  # `serve` initializes it at start-up
    try:
        response = await browser.get(photo)
    finally:
        await bot.shutdown()
    assert response.status_code == 200 and response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    none = await browser.get(f"/console/records/visits/{made['ids']['ditch']}/photo")
    assert none.status_code == 404 and "照片取不到" in text_of(none.text)


async def test_a_record_outside_the_scope_is_refused(harness, console):
    made = await seed(harness)  # once: the refusals change nothing
    browsers = {}
    for name, kind, key in (
            ("张伟", "visits", "donggang"), ("张伟", "aid", "aid"), ("孙丽", "visits", "gubu"),
            ("孙丽", "disputes", "resolved"), ("李娜", "visits", "ditch"),
            ("李娜", "problems", "problem"), ("刘洋", "summaries", "summary"),
            ("陈静", "disputes", "dispute")):
        if name not in browsers:
            browsers[name] = await browser_of(harness, console, name)
        browser = browsers[name]
        record = made["ids"][key]
        response = await browser.get(f"/console/records/{kind}/{record}")
        assert response.status_code == 403 and "不在您的查看范围内" in text_of(response.text), (
            name, kind, key)
        if kind == "visits":
            photo = await browser.get(f"/console/records/visits/{record}/photo")
            assert photo.status_code == 403, (name, key)


async def test_each_narrower_role_opens_its_own_and_no_place_outside(harness, console):
    made = await seed(harness)
    ids = made["ids"]
    async with harness.db.read() as session:
        donggang = (await session.scalars(select(Village).where(Village.name == "东岗村"))).one()
        gubu = (await session.scalars(select(Township).where(Township.name == "古埠镇"))).one()
    for name, own in (("张伟", "ditch"), ("孙丽", "donggang"), ("李娜", "lamp")):
        browser = await browser_of(harness, console, name)
        assert (await browser.get(f"/console/records/visits/{ids[own]}")).status_code == 200
    for name, place in (("张伟", f"v{donggang.id}"), ("张伟", f"t{donggang.township_id}"),
                        ("孙丽", f"t{gubu.id}"), ("李娜", f"v{donggang.id}"),
                        ("吴敏", "v999999"), ("吴敏", "x1")):
        browser = await browser_of(harness, console, name)
        response = await browser.get(f"/console/records?place={place}")
        assert response.status_code == 403, (name, place)
    office = await browser_of(harness, console, "吴敏")
    for kind, key in (("visits", "gubu"), ("disputes", "dispute"), ("summaries", "summary")):
        assert (await office.get(f"/console/records/{kind}/{ids[key]}")).status_code == 200
    assert (await office.get("/console/records/visits/999999")).status_code == 404


async def test_in_english(harness, console):
    made = await seed(harness)
    async with harness.db.write() as session:
        (await people(session))["张伟"].locale = "en"
    browser = await browser_of(harness, console, "张伟")
    text = text_of((await browser.get("/console/records?kind=disputes")).text)
    assert "Records" in text and "Search" in text and "Rural land" in text
    page = text_of((await browser.get(f"/console/records/disputes/{made['ids']['dispute']}")).text)
    assert "Steps taken" in page and "Audit trail" in page
