"""/report: the county's report to the county committee, a Word draft, through the emulator.

Opened back with python-docx: its headings, its first page's draft notice, its fonts, and its
figures against what the database holds, counted here directly."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import func, select

from common.i18n import translate
from handlers import report as report_handler
from scheduler.sweep import sweep_folder
from storage.cases import decide
from storage.files import new_private_file
from storage.models import Aid, Dispute, ModelCase, Person, Township, Visit
from tests.harness import texts
from tests.scheduling import local
from tests.test_export import bind, seed

ZH_HEADINGS = ["一、基本情况", "二、驻村考勤", "三、督查暗访和抽查", "四、典型案例",
               "五、表彰与批评", "六、后进乡镇和单位", "七、下一步工作"]
EN_HEADINGS = ["1. The work in figures", "2. Days in the village, by township",
               "3. Inspections and spot checks", "4. Model cases",
               "5. Commendation and criticism", "6. Townships and units lagging behind",
               "7. Next steps"]
START, TODAY = dt.date(2026, 11, 23), dt.date(2026, 11, 28)


@pytest.fixture
def exports(harness, tmp_path):
    """The folder the drafts are written in, for this test only."""
    harness.settings.export_dir = str(tmp_path / "exports")
    return tmp_path / "exports"


async def feature_a_case(harness) -> None:
    """李娜's model case, featured by the office on the 27th."""
    from storage.cases import add_case

    async with harness.db.write() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
        case = await add_case(s, person=people["李娜"], kind="model", title="修好村口路灯",
                              text="李娜走访发现路灯坏了。\n协调电工三天修好。", photos=[],
                              day=dt.date(2026, 11, 26), now=local(2026, 11, 26, 9))
        await decide(s, case=case, status="featured", by_person_id=people["吴敏"].id,
                     now=local(2026, 11, 27, 10), day=dt.date(2026, 11, 27))


async def fetch_report(harness, user) -> tuple[str, Any, dict[str, Any]]:
    """Wait for the document /report sends; its file name, document and request."""
    emu = harness.emu
    found = await emu.wait_for(lambda: [d for d in emu.documents if d[0] == user.id], within=30)
    _chat, filename, content, params = found[-1]
    return filename, Document(io.BytesIO(content)), params


def headings(document, level: int = 1) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == f"Heading {level}"]


def key_figures(document) -> dict[str, int]:
    """The key figures table: label -> number."""
    table = document.tables[0]
    return {row.cells[0].text: int(row.cells[1].text) for row in table.rows[1:]}


async def counted(harness) -> dict[str, Any]:
    """The period's figures counted straight from the tables."""
    async with harness.db.read() as s:
        in_period = (Visit.day >= START, Visit.day <= TODAY)
        visits = await s.scalar(select(func.count()).select_from(Visit).where(*in_period))
        by_kind = dict((await s.execute(select(Visit.kind, func.count()).where(*in_period)
                                        .group_by(Visit.kind))).all())
        by_category = dict((await s.execute(
            select(Visit.household_category, func.count())
            .where(*in_period, Visit.household_category.is_not(None))
            .group_by(Visit.household_category))).all())
        disputes = await s.scalar(select(func.count()).select_from(Dispute).where(
            Dispute.opened_on >= START, Dispute.opened_on <= TODAY))
        aid = await s.scalar(select(func.count()).select_from(Aid).where(
            Aid.day >= START, Aid.day <= TODAY))
        cadres = await s.scalar(select(func.count()).select_from(Person).where(
            Person.active.is_(True), Person.role.in_(("cadre", "team_leader"))))
        featured = await s.scalar(select(func.count()).select_from(ModelCase).where(
            ModelCase.status == "featured"))
    return {"visits": visits, "by_kind": by_kind, "by_category": by_category,
            "disputes": disputes, "aid": aid, "cadres": cadres, "featured": featured}


def east_asian_font(style) -> str | None:
    fonts = style.element.rPr.find(qn("w:rFonts"))
    return fonts.get(qn("w:eastAsia"))


async def test_the_office_gets_a_chinese_draft_whose_figures_are_the_databases(harness, exports):
    users = await bind(harness, "zh-hans")
    await seed(harness)
    await feature_a_case(harness)
    replies = texts(await harness.send(users["吴敏"], "/report"))
    assert replies == ["正在起草11月23日—11月28日的驻村工作报告……完成后将以 Word 文档发送给您，"
                       "请在 Word 或 WPS 中修改定稿。"]
    filename, document, params = await fetch_report(harness, users["吴敏"])
    assert filename == "驻村工作报告（草稿）-11月23日至11月28日.docx"
    assert "草稿" in params["caption"] and "WPS" in params["caption"]
    first = [p.text for p in document.paragraphs[:4]]
    assert first[0] == "关于全县干部驻村工作开展情况的报告"
    assert first[1] == ("（草稿：由驻村工作平台于2026年11月28日根据11月23日—11月28日的记录生成，"
                        "请在 Word 或 WPS 中修改定稿后再报送。）")
    assert first[2] == "县委："
    assert headings(document) == ZH_HEADINGS
    assert headings(document, 2) == ["（一）修好村口路灯"]
    assert document.paragraphs[-1].text == "2026年11月28日"  # the date line
    assert document.paragraphs[-2].text == "县活动办"
    assert east_asian_font(document.styles["Normal"]) == "仿宋"
    assert east_asian_font(document.styles["Heading 1"]) == "黑体"

    expected = await counted(harness)
    figures = key_figures(document)
    assert figures["走访（次）"] == expected["visits"] == 4
    for kind, count in expected["by_kind"].items():
        assert figures[translate("zh", f"summary.visit_kind.{kind}")] == count
    for category, count in expected["by_category"].items():
        assert figures[translate("zh", f"visit.category.{category}")] == count
    assert figures["驻村干部（人）"] == expected["cadres"]
    assert figures["新排查矛盾纠纷（件）"] == expected["disputes"] == 1
    assert figures["其中已化解（件）"] == 0
    assert figures["帮扶（次）"] == expected["aid"] == 1
    assert figures["选送宣传的典型案例（件）"] == expected["featured"] == 1
    body = "\n".join(p.text for p in document.paragraphs)
    assert f"共走访 {expected['visits']} 次" in body
    assert "慰问 1 户次（250.50 元）" in body
    # The help targets as /targets has them (storage.targets): no village placed anyone in work,
    # brought in a project or had a donation; no holiday has come yet.
    assert ("对照帮扶目标，全县 3 个村中尚有 3 个未达标：劳务输出不足 2 人的 3 个，"
            "没有争取资金达到 30,000 元的项目的 3 个，有派出单位尚未捐赠的 3 个，"
            "有结对户节日未慰问的 0 个。") in body
    assert "李娜走访发现路灯坏了。" in body
    # The townships' attendance, as /stats has it, and the charts of /stats.
    townships = document.tables[1]
    assert [c.text for c in townships.rows[0].cells] == [
        "乡镇", "驻村干部", "在村人天", "驻村达标率", "周小结交齐率"]
    assert {row.cells[0].text for row in townships.rows[1:]} >= {"黄金埠镇", "古埠镇"}
    assert len(document.inline_shapes) == 2  # visits per day, and the townships' bars
    # The week of the 28th, as /laggards has it: on Saturday nobody can reach 5 days any more,
    # so every cadre of each township is behind.
    async with harness.db.read() as s:
        by_township = dict((await s.execute(
            select(Township.name, func.count(Person.id)).join(Person.township)
            .where(Person.active.is_(True), Person.role.in_(("cadre", "team_leader")))
            .group_by(Township.name).order_by(func.count(Person.id).desc()))).all())
    cadres = expected["cadres"]
    assert f"{cadres} 名驻村干部中有 {cadres} 名" in body
    places = "、".join(f"{name}（{count} 人）" for name, count in by_township.items())
    assert f"后进乡镇：{places}。" in body
    assert "后进单位：" in body
    assert not re.search("[A-Za-z]{3,}", body.replace("Word", "").replace("WPS", ""))
    await harness.emu.wait_for(lambda: not any(exports.iterdir()))  # sent: the file is gone


async def test_the_leading_group_gets_it_in_english_for_a_period(harness, exports):
    users = await bind(harness, "en")
    await seed(harness)
    replies = texts(await harness.send(users["周杰"], "/report last week"))
    assert replies[0].startswith("Drafting the campaign report for 16 – 22 Nov")
    filename, document, _params = await fetch_report(harness, users["周杰"])
    assert filename == "campaign-report-draft-16Nov-22Nov.docx"
    assert headings(document) == EN_HEADINGS
    assert document.paragraphs[-1].text == "28 November 2026"
    figures = key_figures(document)
    assert figures["Visits"] == 1  # 王芳's of the 20th, before the campaign
    assert figures[translate("en", "summary.visit_kind.weak")] == 0
    assert figures[translate("en", "summary.visit_kind.wise")] == 1


@pytest.mark.parametrize("name", ["张伟", "孙丽"])  # a team leader, a township leader
async def test_leaders_below_the_county_are_refused(harness, exports, name):
    users = await bind(harness, "zh-hans")
    replies = texts(await harness.send(users[name], "/report"))
    assert replies and "起草" not in replies[0]
    assert not [d for d in harness.emu.documents if d[0] == users[name].id]


async def test_a_place_or_a_bad_period_is_explained(harness, exports):
    users = await bind(harness, "zh-hans")
    replies = texts(await harness.send(users["吴敏"], "/report 新村"))
    assert replies == [translate("zh", "county_report.county_only")]
    replies = texts(await harness.send(users["吴敏"], "/report 13月"))
    assert replies and "起草" not in replies[0]
    assert not harness.emu.documents


async def test_a_draft_that_fails_says_so(harness, exports, monkeypatch):
    users = await bind(harness, "zh-hans")

    def broken(*args, **kwargs):
        raise RuntimeError("the layout broke")

    monkeypatch.setattr(report_handler, "write_report", broken)
    await harness.send(users["吴敏"], "/report")
    emu = harness.emu
    said = await emu.wait_for(lambda: [m for m in texts(emu.sent_to(users["吴敏"].id))
                                       if m == translate("zh", "county_report.failed")], within=30)
    assert said
    assert not emu.documents
    assert not any(exports.iterdir())  # the half-written file is gone


def test_a_draft_left_behind_is_swept_like_a_workbook(tmp_path):
    folder = tmp_path / "exports"
    path = new_private_file(folder, prefix=report_handler.FILE_PREFIX,
                            suffix=report_handler.SUFFIX)
    kept = folder / "notes.docx"  # an operator's file
    kept.write_bytes(b"")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert sweep_folder(folder, now=later, keep=dt.timedelta(hours=24)) == [path]
    assert kept.exists()
