"""Charts for the county report, drawn on a bare Figure (no pyplot: thread-safe, nothing kept)."""

from __future__ import annotations

import html
import importlib
import io
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font

# The CJK font that arrives with the install: Noto Sans SC (SIL OFL 1.1), as the
# pylopdf-fonts-zh-cn wheel ships it (a dependency), so a server with no system CJK font draws
# Chinese too. It covers every character of GB 18030's basic block and more.
BUNDLED_FONT_PACKAGE = "pylopdf_fonts_zh_cn"
# Fonts with Chinese glyphs, best first (the bundled one, the same on every machine, then the
# system's); matplotlib's own DejaVu Sans has none.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "SimHei",
    "Droid Sans Fallback",
)
# File names of those fonts, for a font cache written before the font was installed.
_CJK_FILE_HINTS = ("wqymicrohei", "notosanscjk", "sourcehansans", "simhei", "droidsansfallback")
FALLBACK_FONT = "DejaVu Sans"
MISSING_GLYPH = "\u25a1"  # what a character no font has is drawn as

DPI = 100
WIDTH_INCHES = 8.0
FIRST_COLOUR, SECOND_COLOUR = "#2f6fb0", "#e8943a"


def township_chart(
    rows: Sequence[tuple[str, float, float]], *, title: str, first_label: str, second_label: str
) -> bytes:
    """A PNG of two percentages per township as grouped horizontal bars, in the given order.
    The title and labels are catalog text (HTML, as Telegram takes it); the names are plain."""
    families = font_families(CJK_FONTS)
    text = _Drawable(font_coverage(families))
    title, first_label, second_label = map(html.unescape, (title, first_label, second_label))
    fig = Figure(figsize=(WIDTH_INCHES, 1.6 + 0.42 * max(len(rows), 1)), dpi=DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(rows)))
    height = 0.38
    for offset, index, label, colour in (
        (-height / 2, 1, first_label, FIRST_COLOUR),
        (height / 2, 2, second_label, SECOND_COLOUR),
    ):
        values = [float(row[index]) for row in rows]
        bars = ax.barh([p + offset for p in positions], values, height=height,
                       color=colour, label=text(label))
        ax.bar_label(bars, labels=[_percent(v) for v in values], padding=2, fontsize=8)
    ax.set_yticks(positions, labels=[text(row[0]) for row in rows], fontfamily=list(families),
                  fontsize=9)
    ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)  # the first township at the top
    ax.set_xlim(0, _axis_end(rows))
    ax.set_xticks(range(0, 101, 20), labels=[f"{tick}%" for tick in range(0, 101, 20)])
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(text(title), fontfamily=list(families), fontsize=12)
    fig.legend(loc="outside lower center", ncols=2, frameon=False,
               prop=FontProperties(family=list(families), size=9))
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _percent(value: float) -> str:
    return f"{value:.0f}%" if math.isfinite(value) else "–"


def _axis_end(rows: Sequence[tuple[str, float, float]]) -> float:
    """Room right of 100 % for the value printed at the end of a full bar."""
    values = [v for row in rows for v in row[1:] if math.isfinite(v)]
    return max([100.0, *values]) * 1.12


class _Drawable:
    """Replaces characters no available font has, so matplotlib need not warn about them."""

    def __init__(self, coverage: frozenset[int]) -> None:
        self.coverage = coverage

    def __call__(self, text: str) -> str:
        return "".join(
            c if ord(c) in self.coverage or c.isspace() else MISSING_GLYPH for c in text
        )


def cjk_font() -> str | None:
    """The font the charts draw Chinese with, or None when there is none (Chinese would be
    drawn as boxes): `grassroots run` and `serve` warn at start."""
    found = font_families(CJK_FONTS)[0]
    return None if found == FALLBACK_FONT else found


@cache
def font_families(candidates: tuple[str, ...]) -> tuple[str, ...]:
    """The first installed CJK font of `candidates`, then DejaVu Sans for what it lacks."""
    _register_bundled_font()
    found = _installed(candidates)
    if found is None and _register_system_cjk_fonts():
        found = _installed(candidates)
    return (found, FALLBACK_FONT) if found else (FALLBACK_FONT,)


@cache
def font_coverage(families: tuple[str, ...]) -> frozenset[int]:
    """The code points the fonts of `families` can draw between them."""
    codepoints: set[int] = set()
    for family in families:
        path = font_manager.findfont(FontProperties(family=family))
        codepoints.update(FT2Font(path).get_charmap())
    return frozenset(codepoints)


def _installed(candidates: tuple[str, ...]) -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in candidates if name in names), None)


@cache
def _register_bundled_font() -> Path | None:
    """Add the font of BUNDLED_FONT_PACKAGE to matplotlib's font manager (once): its file,
    or None when the package or its file is missing."""
    try:
        package = importlib.import_module(BUNDLED_FONT_PACKAGE)
    except ImportError:
        return None
    path = Path(package.sans_path())
    if not path.is_file():
        return None
    if str(path) not in {entry.fname for entry in font_manager.fontManager.ttflist}:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            return None
    return path


def _register_system_cjk_fonts() -> bool:
    """Add CJK font files matplotlib's cache missed (it is not rebuilt when fonts are added)."""
    added = False
    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        squashed = path.lower().replace("-", "").replace("_", "")
        if path not in known and any(hint in squashed for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
                added = True
            except (OSError, RuntimeError, ValueError):
                continue
    return added
