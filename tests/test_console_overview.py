"""The console's overview: the figures of /stats for the viewer's place and a period, the table
of townships or villages that drills down, and the refusals outside the viewer's scope."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from reports.figures import scope_figures
from storage.models import Person, Summary, Township, Village
from storage.scope import Scope, own_scope, place_scope
from tests.console_kit import console, console_settings, text_of
from tests.test_schedules import bind_everyone
from tests.test_stats import MONDAY, seed

__all__ = ["console"]  # the fixture, used by name

# Where the chat's /stats lines the page repeats start and stop, in each language.
FIRST = {"en": "Check-ins:", "zh": "签到："}
AFTER = {"en": "Publicity:", "zh": "宣传："}
AID = {"en": "Help given:", "zh": "帮扶："}


@pytest.fixture
def settings(settings):
    return console_settings(settings)


async def places(harness) -> dict[str, str]:
    """Each township's and village's `place` value: 黄金埠镇 → township:1."""
    async with harness.db.read() as session:
        found = {t.name: f"township:{t.id}" for t in
                 (await session.execute(select(Township))).scalars()}
        found |= {v.name: f"village:{v.id}" for v in
                  (await session.execute(select(Village))).scalars()}
    return found


async def place_scope_of(harness, value: str) -> Scope:
    kind, _, number = value.partition(":")
    async with harness.db.read() as session:
        found = await place_scope(session, kind=kind, place_id=int(number))
    assert found is not None
    return found


async def chat_stats(harness, chats, name: str, text: str, language: str) -> list[str]:
    """The lines of the chat's /stats answer (its charts drawn and let go of)."""
    user = harness.emu.user(chats[name], language_code=language)
    [answer] = await harness.send(user, text)
    await asyncio.gather(*harness.ctx.tasks)
    assert answer.plain_text is not None
    return answer.plain_text.splitlines()


def shown(lines: list[str], language: str) -> list[str]:
    """The chat's lines the overview shows word for word: check-ins to the problem ledger,
    the help given and the weekly summaries."""
    first = next(i for i, line in enumerate(lines) if line.startswith(FIRST[language]))
    after = next(i for i, line in enumerate(lines) if line.startswith(AFTER[language]))
    aid = next(line for line in lines if line.startswith(AID[language]))
    return [*lines[first:after], aid, lines[-1]]


def read(html: str) -> str:
    """A page's text with its tags dropped where they stand (<b>签到</b>： reads 签到：)."""
    return text_of(re.sub(r"<(?!/?(?:li|p|td|div|h\d)\b)[^>]+>", "", html))


def card(html: str, name: str) -> str:
    """A card's figure as read: 12, 3/5."""
    found = re.search(rf'id="fig-{name}">(.*?)</div>', html, flags=re.S)
    assert found, name
    return text_of(found.group(1)).replace(" ", "")


def table(html: str) -> list[list[str]]:
    """The places' table as read, row by row."""
    body = re.search(r'<table class="sortable" id="places">.*?<tbody>(.*?)</tbody>', html,
                     flags=re.S)
    assert body
    return [[text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), flags=re.S)]


def hrefs(html: str) -> dict[str, str]:
    """Each table row's place name and where a click on it leads."""
    return {text_of(name): href.replace("&amp;", "&") for href, name in re.findall(
        r'<tr class="link" data-href="([^"]+)">\s*<td[^>]*>(.*?)</td>', html, flags=re.S)}


async def test_the_figures_are_the_chats_stats_for_each_leader(harness, console):
    chats = await bind_everyone(harness, "zh")
    await seed(harness)
    async with harness.db.write() as session:  # 李娜's summary reviewed, 赵强's waiting
        summary = (await session.execute(
            select(Summary).join(Person, Person.id == Summary.person_id)
            .where(Person.name == "李娜"))).scalar_one()
        summary.status = "accepted"
    ids = await places(harness)
    township = await place_scope_of(harness, ids["黄金埠镇"])
    for language in ("zh", "en"):  # one campaign read in each language in turn
        if language != "zh":
            chats = await bind_everyone(harness, language)  # the same roster, another language
        await _figures_in(harness, console, chats, language, ids, township)


async def _figures_in(harness, console, chats, language: str, ids: dict[str, str],
                      township: Scope) -> None:
    """Each leader's /stats in the chat and the overview's page, in `language`: the same lines
    word for word, and cards and table equal to the figures read from the database."""
    for name, command, query, scope in (
            ("吴敏", "/stats", "", None),
            ("孙丽", "/stats", "", None),
            ("张伟", "/stats", "", None),
            ("周杰", "/stats 黄金埠镇 2026-11-24..2026-11-26",
             f"?place={ids['黄金埠镇']}&period=custom&start=2026-11-24&end=2026-11-26", township)):
        lines = await chat_stats(harness, chats, name, command, language)
        browser = await console.sign_in(name)
        response = await browser.get(f"/console/{query}")
        assert response.status_code == 200, response.text
        page = read(response.text)
        for line in shown(lines, language):
            assert line in page, (language, name, line)
        # The cards: the same figures as the query the chat asked.
        person = await console.person(name)
        async with harness.db.read() as session:
            own = await own_scope(session, person=person) if scope is None else scope
            start = MONDAY if not query else MONDAY.replace(day=24)
            end = harness.clock.now().date() if not query else MONDAY.replace(day=26)
            figures = await scope_figures(session, harness.ctx.settings, scope=own,
                                          start=start, end=end, now=harness.clock.now())
        assert re.search(r"\d+", lines[1]).group() == card(response.text, "cadres") \
            == str(figures.cadres)
        assert card(response.text, "visits") == str(figures.visits)
        assert card(response.text, "checkins") == f"{figures.checkins}/{figures.cadre_days}"
        assert card(response.text, "disputes") == str(sum(figures.disputes_by_status.values()))
        assert card(response.text, "problems") == (
            f"{figures.problems_raised}/{figures.problems_solved}")
        assert card(response.text, "summaries") == (
            f"{figures.summaries_submitted}/{figures.summaries_expected}")
        async with harness.db.read() as session:
            kept = [r.status for r in (await session.execute(select(Summary))).scalars()
                    if own.contains(Scope("village", "", r.township_id, r.village_id))]
        assert card(response.text, "reviews") == f"{kept.count('accepted')}/{len(kept)}"
        # The table: each place of the query with its figures.
        rows = table(response.text)
        assert [row[:4] for row in rows] == [
            [p.name, str(p.cadres), str(p.checkins), str(p.days_in_village)]
            for p in figures.places]
        assert [row[4].split()[-1] for row in rows] == [
            f"{p.compliant}/{p.cadre_weeks}" for p in figures.places]


async def test_each_role_sees_its_own_place_and_a_cadre_goes_to_their_week(harness, console):
    await bind_everyone(harness, "zh")
    await seed(harness)
    ids = await places(harness)
    for name, crumbs, listed in (
            ("吴敏", "全县", ["古埠镇", "黄金埠镇"]), ("周杰", "全县", ["古埠镇", "黄金埠镇"]),
            ("孙丽", "黄金埠镇", ["东岗村", "新村"]), ("张伟", "新村", ["新村"])):
        browser = await console.sign_in(name)
        response = await browser.get("/console/")
        assert response.status_code == 200
        found = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', response.text, flags=re.S)
        assert found and text_of(found.group(1)) == crumbs
        assert sorted(hrefs(response.text)) == sorted(listed)
        shown_text = text_of(response.text)
        assert "本周" in shown_text and not re.search(r"[A-Za-z]", shown_text), shown_text
    # A team leader's village leads to the team's page.
    team = await (await console.sign_in("张伟")).get("/console/")
    assert hrefs(team.text) == {"新村": f"/console/people/team/{ids['新村'].split(':')[1]}"}
    cadre = await console.sign_in("李娜")
    response = await cadre.get("/console/")
    assert response.status_code == 303 and response.headers["location"] == "/console/people/me"
    assert (await cadre.get(f"/console/?place={ids['新村']}")).status_code == 303


async def test_a_row_drills_down_from_the_county_to_a_village_keeping_the_period(
        harness, console):
    await bind_everyone(harness, "zh")
    await seed(harness)
    ids = await places(harness)
    browser = await console.sign_in("吴敏")
    county = await browser.get("/console/?period=last_week")
    assert county.status_code == 200
    township = hrefs(county.text)["黄金埠镇"]
    assert township == f"/console/?place={ids['黄金埠镇'].replace(':', '%3A')}&period=last_week"
    response = await browser.get(township)
    assert text_of(re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', response.text,
                             flags=re.S).group(1)) == "全县 › 黄金埠镇"
    assert "黄金埠镇 · 11月16日—11月22日" in text_of(response.text)  # last week
    village = hrefs(response.text)["新村"]
    response = await browser.get(village)
    crumbs = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', response.text, flags=re.S)
    assert text_of(crumbs.group(1)) == "全县 › 黄金埠镇 › 新村"
    assert 'href="/console/?period=last_week"' in crumbs.group(1)  # back to the county
    assert hrefs(response.text) == {"新村": f"/console/people/team/{ids['新村'].split(':')[1]}"}


async def test_a_place_outside_the_scope_is_refused_and_one_not_there_is_not_found(
        harness, console):
    await bind_everyone(harness, "zh")
    ids = await places(harness)
    for name, allowed in (("张伟", {"新村"}), ("孙丽", {"黄金埠镇", "新村", "东岗村"})):
        browser = await console.sign_in(name)
        for place, value in ids.items():
            response = await browser.get(f"/console/?place={value}")
            if place in allowed:
                assert response.status_code == 200, (name, place)
            else:
                assert response.status_code == 403, (name, place)
                assert "这不在您的查看范围内" in text_of(response.text)
    browser = await console.sign_in("吴敏")
    for value in ("township:999999", "village:999999", "county:1", "township:x", "新村"):
        response = await browser.get(f"/console/?place={value}")
        assert response.status_code == 404 and "没有这个乡镇或村" in text_of(response.text)


async def test_the_period_selector_reads_periods_as_the_chat_does(harness, console):
    await bind_everyone(harness, "en")
    browser = await console.sign_in("吴敏")
    for query, period in (("", "23 – 28 Nov"), ("?period=week", "23 – 28 Nov"),
                          ("?period=last_week", "16 – 22 Nov"),
                          ("?period=month", "1 – 28 Nov"),
                          ("?period=campaign", "23 – 28 Nov"),
                          ("?period=fortnight", "23 – 28 Nov"),  # not a button: this week
                          ("?period=custom&start=2026-11-20&end=2026-11-24", "20 – 24 Nov"),
                          # the end never after today, as /stats reads it
                          ("?period=custom&start=2026-11-25&end=2026-12-20", "25 – 28 Nov")):
        response = await browser.get(f"/console/{query}")
        assert response.status_code == 200
        assert f"the county · {period}" in text_of(response.text), query
    for query, refusal in (
            ("?period=custom&start=2026-11-26&end=2026-11-24",
             "The end (Tue 24 Nov) is before the start (Thu 26 Nov)"),
            ("?period=custom&start=2026-11-26&end=", "Choose both the first and the last day"),
            ("?period=custom&start=2026-12-01&end=2026-12-03", "has not come yet"),
            ("?period=custom&start=2020-01-01&end=2020-01-03", "from")):
        response = await browser.get(f"/console/{query}")
        assert response.status_code == 400, query
        assert refusal in text_of(response.text), (query, text_of(response.text))
        assert 'name="start" value="' + query.split("start=")[1].split("&")[0] in response.text
