"""Charts for /stats and the county report, drawn on a bare Figure with the fonts of
reports.charts (no pyplot)."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from common.i18n import Span, Translator, format_short_day
from reports import charts

# Numbers in the cells only while they stay legible and cheap to draw (each is a text artist).
MAX_ANNOTATED_CELLS = 120
MAX_DAY_LABELS = 12
ROW_INCHES, FRAME_INCHES = 0.34, 1.5


def visits_heatmap(
    series: Mapping[str, Mapping[dt.date, int]], days: Sequence[dt.date], *, title: str,
    legend: str, locale: str,
) -> bytes:
    """A PNG of visits per day (columns) per township or village (rows, with their totals).
    The title and legend are catalog text (HTML, as Telegram takes it); the names are plain."""
    title, legend = html.unescape(title), html.unescape(legend)
    families = list(charts.font_families(charts.CJK_FONTS))
    text = charts._Drawable(charts.font_coverage(tuple(families)))
    names = list(series)
    grid = [[series[name].get(day, 0) for day in days] for name in names] or [[0] * len(days)]
    height = FRAME_INCHES + ROW_INCHES * len(grid)
    fig = Figure(figsize=(charts.WIDTH_INCHES, height), dpi=charts.DPI)
    # Fixed margins, not a layout engine: laying out 27 labels twice costs more than drawing.
    fig.subplots_adjust(left=0.2, right=0.93, top=1 - 0.55 / height, bottom=0.5 / height)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(max(row) for row in grid) or 1
    image = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=top,
                      interpolation="nearest")
    labels = [text(f"{name} · {sum(row)}") for name, row in zip(names, grid, strict=False)]
    ax.set_yticks(range(len(labels)), labels=labels, fontfamily=families, fontsize=9)
    step = max(1, -(-len(days) // MAX_DAY_LABELS))
    ax.set_xticks(range(0, len(days), step),
                  labels=[text(format_short_day(locale, day)) for day in days[::step]],
                  fontfamily=families, fontsize=8)
    if len(grid) * len(days) <= MAX_ANNOTATED_CELLS:
        for y, row in enumerate(grid):
            for x, value in enumerate(row):
                ax.text(x, y, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > top / 2 else "#333333")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(text(legend), fontfamily=families, fontsize=9)
    fig.suptitle(text(title), fontfamily=families, fontsize=12)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=charts.DPI, metadata={"Software": None})
    return out.getvalue()


def draw_stats_charts(
    tr: Translator, locale: str, *, place: str, start: dt.date, end: dt.date, min_days: int,
    series: Mapping[str, Mapping[dt.date, int]] | None,
    places: Sequence[tuple[str, float, float]],
) -> list[tuple[str, str, bytes]]:
    """The charts of /stats (slow: call it off the event loop): (file name, caption, PNG), in
    the order they are shown. The visits per day when `series` is given; the bars of days in
    the village and summaries per place (name, compliance %, completeness %) when `places`
    holds two or more."""
    span = {"place": place, "period": Span(start, end)}
    drawn: list[tuple[str, str, bytes]] = []
    if series is not None:
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        title = tr("stats.chart_visits", **span)
        drawn.append(("visits.png", title, visits_heatmap(
            series, days, title=title, legend=tr("stats.chart_visits_legend"), locale=locale)))
    if len(places) > 1:
        title = tr("stats.chart_compliance", **span)
        drawn.append(("compliance.png", title, charts.township_chart(
            places, title=title, first_label=tr("stats.chart_compliance_label", minimum=min_days),
            second_label=tr("stats.chart_summaries_label"))))
    return drawn
