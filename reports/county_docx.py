"""The county's report to the county committee: a Word draft (python-docx) of a period's work.

`gather` reads every figure through the queries of /stats, /merit and /laggards
(reports/figures.py: one number, one query); `draw_charts` draws the charts of /stats (slow:
off the event loop); `write_report` lays the document out as an official Chinese report: a
title, the draft notice, the addressee, sections headed 一、二、三…, the signature and the date
line, in 仿宋 with 黑体 headings (East Asian font names, so that Word and WPS show them). Dates
go through common.i18n; the text is the catalogs' (county_report.po), in Chinese or English.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import cn2an
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import Money, Span, Translator, format_date_line
from common.settings import Settings
from reports.figures import counted, merit_period, scope_figures, share, week_laggards
from reports.stats_charts import draw_stats_charts
from reports.systems import VillageTasks, coverage_paragraph, scope_tasks, systems_paragraph
from reports.targets import ScopeTargets, scope_targets, targets_paragraph
from storage import inspections, merit, spotchecks, stats, training
from storage.cases import CaseView, featured_between
from storage.figures import local_bounds
from storage.scope import Scope
from storage.visits import HOUSEHOLD_CATEGORIES, KINDS

# Fonts of an official document (党政机关公文格式): 仿宋 for the text, 黑体 for the headings and
# the title; the Latin letters and digits in Times New Roman.
BODY_FONT, HEADING_FONT, LATIN_FONT = "仿宋", "黑体", "Times New Roman"
TITLE_PT, HEADING_PT, BODY_PT, TABLE_PT = 22, 16, 16, 12
CHART_WIDTH = Cm(15.5)
HEADINGS = ("figures", "attendance", "supervision", "cases", "merit", "laggards", "next")
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class CountyReport:
    """What the report says: every figure of the period, read once."""

    start: dt.date
    end: dt.date
    made: dt.date  # the day it was drafted: the date line
    figures: stats.Stats
    series: dict[str, dict[dt.date, int]] | None  # visits per day and township (the chart)
    cases: list[CaseView]  # featured in the period
    commended: list[merit.Merit]
    criticised: list[tuple[merit.Merit, list[str]]]
    laggards: stats.Laggards
    thresholds: tuple[int, int]  # days in the village, summaries on time (percent)
    targets: ScopeTargets | None = None  # the help targets as they stand (/targets)
    tasks: VillageTasks | None = None  # village systems and publicity coverage (/systems)
    # The supervision groups' inspections of the period, and the spot checks drawn in it.
    inspections: inspections.InspectionCounts | None = None
    spot_checks: dict[str, int] | None = None
    # The trainings of the period, and who missed them and the mobilisation meetings.
    sessions: training.SessionCounts | None = None

    @property
    def min_days(self) -> int:
        """The days in the village a whole week asks of a cadre."""
        return self.figures.min_days


async def gather(session: AsyncSession, settings: Settings, *, start: dt.date, end: dt.date,
                 now: dt.datetime) -> CountyReport:
    """Every figure of the county's report for `start`..`end`, through the queries of /stats
    (the figures, the visits per day), /merit (the units commended and criticised), /laggards
    (the week of `end`) and the featured model cases."""
    county = Scope("county")
    today = now.astimezone(settings.tz).date()
    figures = await scope_figures(session, settings, scope=county, start=start, end=end,
                                  now=now)
    series = None
    if end > start and figures.visits:
        series = await stats.visits_per_day(session, scope=county, start=start, end=end)
    units = merit.ranked(await merit.unit_merits(
        session, period=merit_period(settings, start, end, now)))
    days, summaries = settings.merit_min_days_share, settings.merit_min_summaries_share
    monday = end - dt.timedelta(days=end.weekday())
    return CountyReport(
        start=start, end=end, made=today, figures=figures, series=series,
        cases=await featured_between(session, start=start, end=end),
        commended=merit.commended(units, min_days_share=days, min_summaries_share=summaries,
                                  top=settings.merit_commend_top),
        criticised=merit.criticised(units, min_days_share=days, min_summaries_share=summaries,
                                    limit=settings.merit_max_rows),
        laggards=await week_laggards(session, settings, scope=county, week_start=monday,
                                     today=today, now=now),
        thresholds=(days, summaries),
        targets=await scope_targets(session, settings, scope=county, today=today,
                                    details=False),
        tasks=await scope_tasks(session, scope=county),
        inspections=await inspections.counts(session, start=start, end=end),
        sessions=await training.counts(session, start=start, end=end),
        spot_checks=await spotchecks.summary(
            session, scope=county,
            drawn=local_bounds(start, settings.tz, days=(end - start).days + 1)))


Charts = dict[str, tuple[str, bytes]]  # the /stats charts by file name: (caption, PNG)


def draw_charts(tr: Translator, locale: str, report: CountyReport) -> Charts:
    """The charts of /stats for the county (slow: call it off the event loop): the visits per
    day (visits.png) and the townships' bars (compliance.png), when /stats would draw them."""
    figures = report.figures
    places = tuple((p.name, p.compliance, p.completeness) for p in figures.places if p.cadres)
    drawn = draw_stats_charts(tr, locale, place=tr("stats.county"), start=report.start,
                              end=report.end, min_days=figures.min_days, series=report.series,
                              places=places)
    return {name: (caption, png) for name, caption, png in drawn}


def plain(text: str) -> str:
    """Catalog text (HTML, as Telegram takes it) as a document's plain text."""
    return html.unescape(_TAGS.sub("", text))


def _fonts(properties: Any, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Set the fonts of a run's or a style's properties (w:rPr), East Asian by name, and drop
    the theme's fonts, which would win over them."""
    fonts = properties.get_or_add_rFonts()
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def _style(document: Any, name: str, east_asian: str, size: int, *, bold: bool = False) -> None:
    style = document.styles[name]
    style.font.size, style.font.bold = Pt(size), bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    _fonts(style.element.get_or_add_rPr(), east_asian)


def _run(paragraph: Any, text: str, east_asian: str = BODY_FONT, *, size: int | None = None,
         bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.bold = bold or None
    if size is not None:
        run.font.size = Pt(size)
    _fonts(run._element.get_or_add_rPr(), east_asian)


class _Writer:
    """The document under construction, in the report's language."""

    def __init__(self, tr: Translator, locale: str) -> None:
        self.tr, self.locale = tr, locale
        self.document = Document()
        section = self.document.sections[0]
        # A4, with the margins of an official document.
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        _style(self.document, "Normal", BODY_FONT, BODY_PT)
        _style(self.document, "Title", HEADING_FONT, TITLE_PT)
        _style(self.document, "Heading 1", HEADING_FONT, HEADING_PT)
        _style(self.document, "Heading 2", BODY_FONT, BODY_PT, bold=True)
        _style(self.document, "Table Grid", BODY_FONT, TABLE_PT)

    def text(self, msgid: str, /, **values: Any) -> str:
        return plain(self.tr(msgid, **values))

    def paragraph(self, text: str, *, indent: bool = True, align: Any = None,
                  font: str = BODY_FONT, bold: bool = False) -> Any:
        paragraph = self.document.add_paragraph()
        if indent:
            paragraph.paragraph_format.first_line_indent = Pt(BODY_PT * 2)  # two characters
        if align is not None:
            paragraph.alignment = align
        _run(paragraph, text, font, bold=bold)
        return paragraph

    def heading(self, key: str) -> None:
        heading = self.document.add_heading(level=1)
        heading.paragraph_format.first_line_indent = Pt(HEADING_PT * 2)
        _run(heading, self.text(f"county_report.heading.{key}"), HEADING_FONT)

    def subheading(self, text: str) -> None:
        heading = self.document.add_heading(level=2)
        heading.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
        _run(heading, text, BODY_FONT, bold=True)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        table = self.document.add_table(rows=1, cols=len(header))
        table.style = self.document.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, label in zip(table.rows[0].cells, header, strict=True):
            _run(cell.paragraphs[0], label, HEADING_FONT, size=TABLE_PT)
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                _run(cell.paragraphs[0], str(value), size=TABLE_PT)

    def picture(self, caption: str, png: bytes) -> None:
        self.document.add_picture(io.BytesIO(png), width=CHART_WIDTH)
        self.document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.paragraph(plain(caption), indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)


def _opening(w: _Writer, report: CountyReport) -> None:
    period = Span(report.start, report.end)
    title = w.document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, w.text("county_report.title"), HEADING_FONT)
    w.paragraph(w.text("county_report.draft_note", made=format_date_line(w.locale, report.made),
                       period=period), indent=False, align=WD_ALIGN_PARAGRAPH.CENTER,
                font="楷体")
    w.paragraph(w.text("county_report.addressee"), indent=False)
    w.paragraph(w.text("county_report.opening", period=period, cadres=report.figures.cadres))


def _work(w: _Writer, report: CountyReport, charts: Charts) -> None:
    figures, tr = report.figures, w.tr
    w.heading("figures")
    visits = [w.text("county_report.visits", visits=figures.visits)]
    kinds = counted(tr, "summary.visit_kind.{}", KINDS, figures.visits_by_kind)
    households = counted(tr, "visit.category.{}", HOUSEHOLD_CATEGORIES,
                         figures.visits_by_category)
    if kinds:
        visits.append(w.text("county_report.visits_by_kind", kinds=kinds))
    if households:
        visits.append(w.text("county_report.visits_by_household", households=households))
    w.paragraph(("" if w.locale == "zh" else " ").join(visits))  # sentences, one paragraph
    w.paragraph(w.text("county_report.checkins", checkins=figures.checkins,
                       expected=figures.cadre_days, days=figures.days_in_village))
    statuses = figures.disputes_by_status
    w.paragraph(w.text("county_report.disputes", opened=sum(statuses.values()),
                       resolved=statuses.get("resolved", 0),
                       escalated=statuses.get("escalated", 0), open=figures.disputes_open,
                       overdue=figures.disputes_overdue))
    w.paragraph(w.text("county_report.problems", raised=figures.problems_raised,
                       solved=figures.problems_solved))
    aid = figures.aid
    w.paragraph(w.text("county_report.aid", condolences=aid["condolence_count"],
                       condolence_amount=Money(aid["condolence_amount"]),
                       donations=aid["donation_count"], donation_value=Money(aid["donation_value"]),
                       labour=aid["labour_people"], projects=aid["project_count"],
                       project_funds=Money(aid["project_funds"])))
    if report.targets is not None and report.targets.villages:
        w.paragraph(plain(targets_paragraph(w.tr, report.targets)))
    done = figures.publicity
    w.paragraph(w.text("county_report.publicity", sessions=done.sessions, people=done.attendance,
                       slogans=done.slogans, boards=done.boards,
                       submitted=figures.cases.submitted, featured=figures.cases.featured))
    if report.tasks is not None and report.tasks.systems:
        w.paragraph(plain(systems_paragraph(w.tr, report.tasks)))
        w.paragraph(plain(coverage_paragraph(w.tr, report.tasks)))
    if figures.summaries_expected:
        w.paragraph(w.text("county_report.summaries", submitted=figures.summaries_submitted,
                           expected=figures.summaries_expected))
    else:
        w.paragraph(w.text("county_report.summaries_none_due"))
    w.paragraph(w.text("county_report.table_title"), indent=False,
                align=WD_ALIGN_PARAGRAPH.CENTER, font=HEADING_FONT)
    w.table([w.text("county_report.table.item"), w.text("county_report.table.value")],
            key_figures(tr, figures))
    if "visits.png" in charts:
        w.picture(*charts["visits.png"])


def key_figures(tr: Translator, figures: stats.Stats) -> list[tuple[str, int]]:
    """The key figures table: (label, number), the visits by kind and household among them."""
    statuses = figures.disputes_by_status
    rows = [(tr("county_report.row.cadres"), figures.cadres),
            (tr("county_report.row.visits"), figures.visits)]
    rows += [(tr(f"summary.visit_kind.{kind}"), figures.visits_by_kind.get(kind, 0))
             for kind in KINDS]
    rows += [(tr(f"visit.category.{category}"), figures.visits_by_category.get(category, 0))
             for category in HOUSEHOLD_CATEGORIES]
    rows += [(tr("county_report.row.checkins"), figures.checkins),
             (tr("county_report.row.days"), figures.days_in_village),
             (tr("county_report.row.disputes"), sum(statuses.values())),
             (tr("county_report.row.resolved"), statuses.get("resolved", 0)),
             (tr("county_report.row.escalated"), statuses.get("escalated", 0)),
             (tr("county_report.row.problems"), figures.problems_raised),
             (tr("county_report.row.solved"), figures.problems_solved),
             (tr("county_report.row.aid"), figures.aid.get("count", 0)),
             (tr("county_report.row.featured"), figures.cases.featured)]
    return [(plain(label), value) for label, value in rows]


def _attendance(w: _Writer, report: CountyReport, charts: Charts) -> None:
    figures = report.figures
    w.heading("attendance")
    w.paragraph(w.text("county_report.attendance_intro", minimum=report.min_days))
    for week in figures.weeks:
        w.paragraph(w.text("county_report.week_line", week=week.week_start,
                           compliant=week.compliant, cadres=week.cadres))
    w.paragraph(w.text("county_report.excused", days=figures.excused_days,
                       people=figures.excused_people))
    sessions = report.sessions or training.SessionCounts(0, 0, 0)
    w.paragraph(w.text("county_report.sessions", trainings=sessions.trainings,
                       training_absent=sessions.training_absent,
                       meeting_absent=sessions.meeting_absent))
    if not figures.places:
        w.paragraph(w.text("county_report.no_townships"))
        return
    w.table([w.text(f"county_report.col.{c}")
             for c in ("township", "cadres", "days", "compliance", "summaries")],
            [(p.name, p.cadres, p.days_in_village, share(p.compliance), share(p.completeness))
             for p in figures.places])
    if "compliance.png" in charts:
        w.picture(*charts["compliance.png"])


def _supervision(w: _Writer, report: CountyReport) -> None:
    """The supervision groups' inspections and unannounced visits, and the spot checks."""
    w.heading("supervision")
    period = Span(report.start, report.end)
    seen = report.inspections or inspections.InspectionCounts()
    if seen.inspections:
        w.paragraph(w.text("county_report.inspections", period=period, count=seen.inspections,
                           inspection=seen.by_kind["inspection"],
                           unannounced=seen.by_kind["unannounced"], villages=seen.villages,
                           cadres=seen.cadres_seen, absent=seen.absent))
    else:
        w.paragraph(w.text("county_report.inspections_none", period=period))
    checks = report.spot_checks or dict.fromkeys(spotchecks.STATUSES, 0)
    drawn = sum(checks.values())
    if drawn:
        w.paragraph(w.text("county_report.spot_checks", drawn=drawn, **checks))
    else:
        w.paragraph(w.text("county_report.spot_checks_none"))


def _cases(w: _Writer, report: CountyReport) -> None:
    w.heading("cases")
    if not report.cases:
        w.paragraph(w.text("county_report.no_cases"))
    for number, view in enumerate(report.cases, start=1):
        # The second level of an official report's headings counts in Chinese: （一）（二）…
        shown = cn2an.an2cn(number) if w.locale == "zh" else number
        w.subheading(w.text("county_report.case_title", number=shown, title=view.case.title))
        w.paragraph(w.text("county_report.case_byline", village=view.village, cadre=view.cadre),
                    align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, font="楷体")
        for line in view.case.text.splitlines():
            if line.strip():
                w.paragraph(line.strip())


def _merit(w: _Writer, report: CountyReport) -> None:
    days, summaries = report.thresholds
    w.heading("merit")
    w.paragraph(w.text("county_report.merit_intro", days=days, summaries=summaries))
    w.paragraph(w.text("county_report.commend_title"), bold=True)
    if not report.commended:
        w.paragraph(w.text("county_report.commend_none"))
    for rank, unit in enumerate(report.commended, start=1):
        w.paragraph(w.text("county_report.commend_line", rank=rank, name=unit.name,
                           cadres=unit.cadres, share=share(unit.days_share),
                           minimum=report.min_days, visits=unit.visits, resolved=unit.resolved,
                           aid=unit.aid, summaries=share(unit.summaries_share)))
    w.paragraph(w.text("county_report.criticise_title"), bold=True)
    if not report.criticised:
        w.paragraph(w.text("county_report.criticise_none"))
    shares = {"days": "days_share", "summaries": "summaries_share"}
    for rank, (unit, reasons) in enumerate(report.criticised, start=1):
        said = w.tr("stats.separator").join(
            w.text(f"merit.reason.{r}", share=share(getattr(unit, shares[r])),
                   minimum=report.min_days) for r in reasons)
        w.paragraph(w.text("county_report.criticise_line", rank=rank, name=unit.name,
                           cadres=unit.cadres, reasons=said))


def lagging(people: Sequence[stats.Laggard], key: str) -> list[tuple[str, int]]:
    """Laggards counted by township or home unit (`key`), the most first, then by name."""
    counts = Counter(getattr(person, key) for person in people)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _laggards(w: _Writer, report: CountyReport) -> None:
    found = report.laggards
    week = Span(found.week_start, found.week_start + dt.timedelta(days=6))
    w.heading("laggards")
    if not found.people:
        w.paragraph(w.text("county_report.laggards_none", period=week, cadres=found.cadres))
        return
    w.paragraph(w.text("county_report.laggards_intro", period=week, cadres=found.cadres,
                       count=len(found.people)))
    for key, msgid in (("township", "county_report.laggard_townships"),
                       ("unit", "county_report.laggard_units")):
        places = w.tr("common.list_sep").join(
            w.text("county_report.laggard_place",
                   name=name or w.text("county_report.no_place"), count=count)
            for name, count in lagging(found.people, key))
        w.paragraph(w.text(msgid, places=places))


def write_report(target: str | IO[bytes], tr: Translator, locale: str, report: CountyReport,
                 charts: Charts) -> None:
    """Lay the report out and save it to `target` (a file, or memory)."""
    w = _Writer(tr, locale)
    _opening(w, report)
    _work(w, report, charts)
    _attendance(w, report, charts)
    _supervision(w, report)
    _cases(w, report)
    _merit(w, report)
    _laggards(w, report)
    w.heading("next")
    w.paragraph(w.text("county_report.next"))
    w.paragraph("", indent=False)
    w.paragraph(w.text("county_report.signature"), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    w.paragraph(format_date_line(locale, report.made), indent=False,  # the date line
                align=WD_ALIGN_PARAGRAPH.RIGHT)
    w.document.save(target)
