"""The console's people pages and map: a cadre's week against the database and /me, a team's
week against /team, the map's points against the records with a location, every role's view
and the pages refused outside a scope, in Chinese and English."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select, update

from storage.models import (
    Aid,
    Checkin,
    Dispute,
    Inspection,
    InspectionCadre,
    LeaveRequest,
    Person,
    Problem,
    Summary,
    Village,
    Visit,
)
from tests.conftest import SHANGHAI
from tests.console_kit import console, console_settings, text_of

__all__ = ["console"]  # the fixture, used by name

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # Saturday 10:00 in the county
PHONES = {"张伟": "13800138001", "李娜": "13800138002", "王芳": "13800138003",
          "刘洋": "13800138004", "陈静": "13800138005", "赵强": "13800138006",
          "孙丽": "13800138007", "周杰": "13800138008", "吴敏": "13800138009"}
USER_IDS = {name: 7100 + n for n, name in enumerate(PHONES)}


@pytest.fixture
def settings(settings):
    return console_settings(settings)


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


async def person(harness, name: str) -> Person:
    async with harness.db.read() as session:
        return (await session.scalars(select(Person).where(Person.name == name))).one()


async def village_id(harness, name: str) -> int:
    async with harness.db.read() as session:
        return (await session.scalars(select(Village.id).where(Village.name == name))).one()


async def register(harness, *names: str) -> dict:
    return {name: await harness.register(PHONES[name], user_id=USER_IDS[name])
            for name in names}


def checkin(who: Person, n: int, *, away: str | None = None,
            at: tuple[float, float] | None = None) -> Checkin:
    return Checkin(person_id=who.id, village_id=who.village_id, township_id=who.township_id,
                   day=day(n), in_village=away is None, reason=away,
                   latitude=at[0] if at else None, longitude=at[1] if at else None,
                   created_at=dt.datetime(2026, 11, n, 0, 30, tzinfo=dt.UTC), updated_at=NOW)


def visit(who: Person, n: int, kind: str, *, at: tuple[float, float] | None = None) -> Visit:
    return Visit(person_id=who.id, village_id=who.village_id, township_id=who.township_id,
                 day=day(n), kind=kind, heard=f"听到{kind}", wants="w",
                 latitude=at[0] if at else None, longitude=at[1] if at else None,
                 created_at=dt.datetime(2026, 11, n, 1, 0, tzinfo=dt.UTC))


async def lina_week(harness) -> Person:
    """李娜's week of 23–29 November: two days in the village, one away, leave approved for
    Friday, an inspection that found her there, two visits, a dispute, a problem, help and a
    summary waiting for review; and a visit of the week before, which must not show."""
    lina = await person(harness, "李娜")
    async with harness.db.write() as session:
        session.add_all([checkin(lina, 24), checkin(lina, 25), checkin(lina, 26, away="sick"),
                         visit(lina, 24, "weak"), visit(lina, 25, "old"),
                         visit(lina, 20, "rich")])
        session.add(LeaveRequest(person_id=lina.id, village_id=lina.village_id,
                                 township_id=lina.township_id, first_day=day(27),
                                 last_day=day(27), reason="家中有事", status="approved",
                                 requested_at=NOW))
        inspection = Inspection(person_id=lina.id, village_id=lina.village_id,
                                township_id=lina.township_id, kind="unannounced", day=day(25),
                                findings="村部值班表张贴不全", created_at=NOW)
        session.add(inspection)
        session.add_all([
            Dispute(person_id=lina.id, village_id=lina.village_id, category="land",
                    parties="甲、乙", people_count=2, description="宅基地边界", urgency="normal",
                    opened_on=day(25), created_at=NOW, last_step_at=NOW),
            Problem(person_id=lina.id, village_id=lina.village_id, category="infrastructure",
                    description="村道破损", created_at=dt.datetime(2026, 11, 25, 3, 0,
                                                               tzinfo=dt.UTC), updated_at=NOW),
            Aid(person_id=lina.id, village_id=lina.village_id, kind="donation", day=day(26),
                items="棉被", created_at=NOW),
            Summary(person_id=lina.id, village_id=lina.village_id, week_start=day(23),
                    figures={}, status="submitted", submitted_at=NOW)])
        await session.flush()
        session.add(InspectionCadre(inspection_id=inspection.id, person_id=lina.id,
                                    present=True))
    return lina


async def test_a_cadres_week_shows_what_the_database_holds_and_what_me_says(harness, console):
    users = await register(harness, "李娜")
    lina = await lina_week(harness)
    [me] = await harness.send(users["李娜"], "/me")
    week = me.plain_text.split("\n\n")[0].splitlines()
    browser = await console.sign_in("李娜")
    opened = await browser.get("/console/people/me")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/console/people/{lina.id}"
    response = await browser.get(opened.headers["location"])
    assert response.status_code == 200
    text = text_of(response.text)
    # /me's own lines: days in the village, leave excused, visits, disputes, help.
    for line in week[1:6]:
        assert line in text, line
    assert "驻村天数：2" in text and "走访：2 次" in text and "上报 1 件" in text
    assert "批准请假：1 天（11月27日（周五））" in text
    calendar = text_of(re.search(r'<ol class="week".*?</ol>', response.text, re.S).group(0))
    assert calendar.startswith("11月23日（周一） 未签到 11月24日（周二） 在村 走访：1 次")
    assert "11月26日（周四） 不在村（生病）" in calendar
    assert "11月27日（周五） 未签到 批准请假，计入驻村要求" in calendar
    assert "11月25日（周三） 在村 暗访：在村" in calendar
    assert "11月29日（周日） 日期未到" in calendar
    assert "村部值班表张贴不全" in text and "周小结待审核" in text
    # The week's records, each linked to its page; last week's visit is not among them.
    async with harness.db.read() as session:
        visits = (await session.scalars(select(Visit.id).where(
            Visit.person_id == lina.id, Visit.day >= day(23)))).all()
        dispute = (await session.scalars(select(Dispute.id))).one()
        problem = (await session.scalars(select(Problem.id))).one()
        aid = (await session.scalars(select(Aid.id))).one()
        summary = (await session.scalars(select(Summary.id))).one()
    links = set(re.findall(r'href="(/console/records/[^"]+)"', response.text))
    assert links == {*(f"/console/records/visits/{v}" for v in visits),
                     f"/console/records/disputes/{dispute}", f"/console/records/problems/{problem}",
                     f"/console/records/aid/{aid}", f"/console/records/summaries/{summary}"}
    assert "走访 2 次" in text and "农村征地" in text and "已上报" in text and "已登记" in text


async def test_last_week_and_a_chosen_week_show_that_weeks_records(harness, console):
    await register(harness, "李娜")
    lina = await lina_week(harness)
    browser = await console.sign_in("李娜")
    last = await browser.get(f"/console/people/{lina.id}?week=2026-11-16")
    text = text_of(last.text)
    assert "11月16日—11月22日" in text and "驻村天数：0" in text and "走访：1 次" in text
    assert "听到rich" in text and "听到weak" not in text
    # A day of a week picks its Monday; a day after today is today's week.
    chosen = text_of((await browser.get(f"/console/people/{lina.id}?week=2026-11-26")).text)
    assert "11月23日—11月29日" in chosen and "驻村天数：2" in chosen
    future = text_of((await browser.get(f"/console/people/{lina.id}?week=2027-01-08")).text)
    assert "11月23日—11月29日" in future


async def test_the_week_in_english(harness, console):
    await register(harness, "李娜")
    lina = await lina_week(harness)
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.id == lina.id).values(locale="en"))
    browser = await console.sign_in("李娜")
    text = text_of((await browser.get(f"/console/people/{lina.id}")).text)
    assert "李娜's week" in text and "Days in the village: 2" in text and "Visits: 2" in text
    assert "No check-in" in text and "Approved leave, counted as present" in text
    assert "驻村" not in text and "未签到" not in text


def team_rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table id="team">.*?</table>', html, re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr data-person.*?</tr>", table, re.S):
        cells = [text_of(c) for c in re.findall(r"<td.*?</td>", row, re.S)]
        rows[cells[0].replace(" ", "")] = cells
    return rows


async def test_a_teams_week_agrees_with_team_in_the_chat(harness, console):
    users = await register(harness, "张伟", "李娜")
    await lina_week(harness)
    wang = await person(harness, "王芳")
    async with harness.db.write() as session:
        session.add_all([checkin(wang, 23), checkin(wang, 24), visit(wang, 24, "masses")])
    [team] = await harness.send(users["张伟"], "/team")
    browser = await console.sign_in("张伟")
    index = await browser.get("/console/people")
    xincun = await village_id(harness, "新村")
    assert index.headers["location"] == f"/console/people/team/{xincun}"
    page = await browser.get(index.headers["location"])
    rows = team_rows(page.text)
    assert set(rows) == {"张伟（队长）", "李娜", "王芳"}
    for line in team.plain_text.splitlines():
        found = re.match(r"(\S+?)：(\d+) 天 · 走访 (\d+) 次 · (\S+)$", line)
        if found:
            name, days, visits, summary = found.groups()
            assert rows[name][1:2] == [f"{days} 天"] and rows[name][3] == visits, line
            assert rows[name][4] == summary, line
    assert rows["李娜"][1:5] == ["2 天", "1 天", "2", "周小结待审核"]
    assert rows["王芳"][1:5] == ["2 天", "0 天", "1", "未交周小结"]
    lina = await person(harness, "李娜")
    assert f'href="/console/people/{lina.id}?week=2026-11-23"' in page.text
    # Short of the days asked is marked once the week is over, not while it runs.
    assert "short" not in page.text
    harness.at(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    browser = await console.sign_in("张伟")  # the session of Saturday has expired
    ended = await browser.get(f"/console/people/team/{xincun}?week=2026-11-23")
    assert team_rows(ended.text) == rows
    assert ended.text.count('class="num short"') == 3  # 2 days and 1 excused of 5, 2, 0


async def get(browser, path: str) -> int:
    return (await browser.get(path)).status_code


async def test_each_role_sees_its_scope_and_is_refused_outside_it(harness, console):
    await register(harness, *PHONES)
    ids = {name: (await person(harness, name)).id for name in PHONES}
    villages = {name: await village_id(harness, name) for name in ("新村", "东岗村", "古埠村")}
    week = "/console/people/{}".format
    team = "/console/people/team/{}".format
    allowed = {
        "李娜": ({ids["李娜"]}, set()),
        "张伟": ({ids["张伟"], ids["李娜"], ids["王芳"]}, {villages["新村"]}),
        "孙丽": ({ids[n] for n in ("张伟", "李娜", "王芳", "刘洋", "陈静", "孙丽")},
                 {villages["新村"], villages["东岗村"]}),
        "周杰": (set(ids.values()), set(villages.values())),
    }
    for viewer, (people, teams) in allowed.items():
        browser = await console.sign_in(viewer)
        for name, pid in ids.items():
            assert await get(browser, week(pid)) == (200 if pid in people else 403), \
                (viewer, name)
        for vid in villages.values():
            assert await get(browser, team(vid)) == (200 if vid in teams else 403), viewer
            code = await get(browser, f"/console/map?village={vid}")
            assert code == (200 if vid in teams else 403), viewer
        assert await get(browser, week(999999)) == 403
        assert await get(browser, team(999999)) == 403
        refused = await browser.get(team(villages["古埠村"]))
        if viewer != "周杰":
            assert "这不在您的查看范围内" in text_of(refused.text)
    # A cadre's people page is their own week.
    cadre = await console.sign_in("李娜")
    assert (await cadre.get("/console/people")).headers["location"] == week(ids["李娜"])


async def test_the_people_page_lists_a_townships_teams_and_the_countys_villages(
        harness, console):
    await register(harness, "孙丽", "周杰")
    page = await (await console.sign_in("孙丽")).get("/console/people")
    township = text_of(page.text).replace(" ", "")
    assert "黄金埠镇" in township and "新村张伟（队长）、李娜、王芳" in township
    assert "东岗村刘洋（队长）、陈静" in township and "古埠" not in township
    county = await (await console.sign_in("周杰")).get("/console/people")
    assert county.status_code == 200
    hrefs = set(re.findall(r'href="/console/people/team/(\d+)"', county.text))
    async with harness.db.read() as session:
        assert hrefs == {str(v) for v in (await session.scalars(select(Village.id))).all()}
    assert "古埠镇" in text_of(county.text) and "赵强" not in text_of(county.text)


XINCUN = (28.70, 116.40)
DONGGANG = (28.72, 116.45)
GUBU = (28.80, 116.60)


async def located_records(harness) -> dict[str, int]:
    """Check-ins and visits of Saturday with a location in three villages; one without a
    location and one of Friday, which today's map leaves out."""
    lina, chen, zhao, wang = [await person(harness, n) for n in ("李娜", "陈静", "赵强", "王芳")]
    async with harness.db.write() as session:
        rows = {"lina": checkin(lina, 28, at=XINCUN), "chen": checkin(chen, 28, at=DONGGANG),
                "zhao": checkin(zhao, 28, away="meeting", at=GUBU),
                "visit": visit(lina, 28, "weak", at=(28.705, 116.41)),
                "wang": checkin(wang, 28), "friday": checkin(chen, 27, at=DONGGANG)}
        session.add_all(rows.values())
        await session.flush()
        return {key: row.id for key, row in rows.items()}


def points_of(html: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="map-points">(.*?)</script>', html,
                      re.S)
    return json.loads(found.group(1)) if found else []


def table_rows(html: str) -> int:
    table = re.search(r'<table id="points">.*?</table>', html, re.S)
    return len(re.findall(r"<tr class=", table.group(0))) if table else 0


async def test_the_map_shows_the_days_located_records_in_each_viewers_scope(harness, console):
    await register(harness, "李娜", "张伟", "孙丽", "周杰")
    ids = await located_records(harness)
    expected = {"李娜": {"李娜"}, "张伟": {"李娜"}, "孙丽": {"李娜", "陈静"},
                "周杰": {"李娜", "陈静", "赵强"}}
    for viewer, names in expected.items():
        browser = await console.sign_in(viewer)
        response = await browser.get("/console/map")
        assert response.status_code == 200
        points = points_of(response.text)
        assert {p["who"] for p in points} == names, viewer
        assert table_rows(response.text) == len(points)
        assert f"共有 {len(points)} 条" in text_of(response.text)
    points = points_of((await browser.get("/console/map")).text)
    by_what = {p["what"]: p for p in points}
    weak = "走访：访弱势群体（问困难）"
    assert set(by_what) == {"签到：在村", "签到：不在村（在县里开会）", weak}
    assert by_what[weak]["href"] == f"/console/records/visits/{ids['visit']}"
    lina = await person(harness, "李娜")
    assert by_what["签到：在村"]["href"] == f"/console/people/{lina.id}?week=2026-11-23"
    assert by_what["签到：在村"]["lat"] == XINCUN[0]
    assert by_what["签到：在村"]["when"] == "11月28日（周六）08:30"
    # The period: Friday's check-in too; one village of the scope.
    period = points_of((await browser.get("/console/map?start=2026-11-27&end=2026-11-28")).text)
    assert len(period) == 5
    dong = await village_id(harness, "东岗村")
    one = points_of((await browser.get(
        f"/console/map?start=2026-11-27&end=2026-11-28&village={dong}")).text)
    assert [p["who"] for p in one] == ["陈静", "陈静"]
    empty = await browser.get("/console/map?start=2026-11-20&end=2026-11-20")
    assert "这段时间没有附带位置的签到或走访" in text_of(empty.text)
    assert "leaflet.js" not in empty.text


async def test_the_map_in_english_says_tiles_are_not_set(harness, console):
    await register(harness, "周杰")
    await located_records(harness)
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "周杰").values(locale="en"))
    browser = await console.sign_in("周杰")
    response = await browser.get("/console/map")
    text = text_of(response.text)
    assert "No map tiles are set up" in text and "4 check-ins and visits" in text
    assert {p["what"] for p in points_of(response.text)} >= {"Check-in: in the village"}
    assert 'data-tiles=""' in response.text


async def test_the_map_uses_the_tile_server_set(harness, console, settings):
    await register(harness, "周杰")
    await located_records(harness)
    console.ctx.settings = settings.model_copy(update={
        "console_tile_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "console_tile_attribution": "© OpenStreetMap"})
    response = await (await console.sign_in("周杰")).get("/console/map")
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in response.text
    assert "未设置地图底图" not in text_of(response.text)


async def test_a_name_in_the_maps_data_cannot_close_its_script(harness, console):
    await register(harness, "周杰")
    await located_records(harness)
    name = '陈静</script><script>alert(1)</script>&'
    async with harness.db.write() as session:
        await session.execute(update(Person).where(Person.name == "陈静").values(name=name))
    response = await (await console.sign_in("周杰")).get("/console/map")
    assert "<script>alert(1)" not in response.text
    assert name in {p["who"] for p in points_of(response.text)}


async def test_the_map_beyond_its_limit_shows_the_latest_and_says_the_rest_are_left_out(
        harness, console):
    from storage.locations import located
    from storage.scope import Scope

    await register(harness, "周杰")
    await located_records(harness)
    async with harness.db.read() as session:
        found = await located(session, start=day(27), end=day(28), scope=Scope("county"),
                              limit=2)
        everything = await located(session, start=day(27), end=day(28), scope=Scope("county"))
    assert everything.complete and everything.total == 5
    # two check-ins and the one visit: the latest two check-ins are Saturday's
    assert not found.complete and found.total == 3
    assert {p.day for p in found.points if p.kind == "checkin"} == {day(28)}
    browser = await console.sign_in("周杰")
    page = await browser.get("/console/map?start=2026-11-27&end=2026-11-28")
    assert "共有" in text_of(page.text) and "只显示最近" not in text_of(page.text)
