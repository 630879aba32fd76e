"""The county report chart: a PNG per township list, Chinese names drawn, nothing warned."""

from __future__ import annotations

import asyncio
import gc
import io
import struct
import warnings

import pytest
from matplotlib import font_manager, image
from matplotlib.font_manager import FontProperties

from common.i18n import catalog
from reports import charts

TOWNSHIPS = (
    "城关镇 东关镇 西湖乡 南山乡 北坪镇 龙泉镇 白水乡 青石镇 红旗乡 黄土镇 金沙乡 银河镇 "
    "铁炉乡 石门镇 木兰乡 水口镇 火烧坪乡 土桥镇 大河乡 小河镇 高坪乡 低庄镇 长岭乡 短溪镇 "
    "新华乡 旧城镇 光明乡"
).split()
LABELS = {
    "title": "驻村天数达标率与小结完整率", "first_label": "驻村达标", "second_label": "小结完整"
}


def rows(count: int) -> list[tuple[str, float, float]]:
    return [(TOWNSHIPS[i], (i * 37) % 101, (i * 53) % 101) for i in range(count)]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def render_without_warnings(data: list[tuple[str, float, float]], **labels: str) -> bytes:
    # Garbage of earlier tests (a pooled connection collected late warns as it goes) is
    # collected first: what is asserted here is the drawing's own warnings (matplotlib's
    # "Glyph … missing from font(s)" among them).
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.township_chart(data, **(labels or LABELS))
    assert [str(w.message) for w in caught] == []
    return png


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where none of the CJK fonts is installed."""
    monkeypatch.setattr(charts, "CJK_FONTS", ("No Such Font Sans",))


def test_twenty_seven_chinese_townships_render_as_a_png_without_warnings():
    png = render_without_warnings(rows(27))
    pixels = image.imread(io.BytesIO(png), format="png")
    width, height = png_size(png)
    assert pixels.shape[:2] == (height, width)
    assert width == 800
    assert len(png) < 200_000


def test_the_picture_grows_with_the_number_of_townships():
    heights = [png_size(charts.township_chart(rows(n), **LABELS))[1] for n in (1, 5, 27)]
    assert heights[0] < heights[1] < heights[2]
    # Each township keeps the same room, so 27 are as readable as 5.
    assert (heights[2] - heights[1]) / 22 == pytest.approx((heights[1] - heights[0]) / 4, rel=0.05)


def test_the_same_figures_give_the_same_bytes_and_other_figures_other_bytes():
    first = charts.township_chart(rows(5), **LABELS)
    assert charts.township_chart(rows(5), **LABELS) == first
    changed = [*rows(4), ("光明乡", 12.0, 99.0)]
    assert charts.township_chart(changed, **LABELS) != first


def test_no_townships_and_missing_values_still_draw():
    assert png_size(render_without_warnings([]))[0] == 800
    png_size(render_without_warnings([("城关镇", float("nan"), 150.0)]))


def test_the_font_that_comes_with_the_install_is_chosen_and_draws_the_names(monkeypatch):
    # Noto Sans SC arrives with `pip install` (pylopdf-fonts-zh-cn), whatever the system has.
    assert charts.font_families(charts.CJK_FONTS) == ("Noto Sans SC", charts.FALLBACK_FONT)
    assert charts.cjk_font() == "Noto Sans SC"
    path = font_manager.findfont(FontProperties(family="Noto Sans SC"), fallback_to_default=False)
    assert "site-packages" in path and path.endswith("NotoSansSC-Regular.otf")
    with_font = charts.township_chart(rows(3), **LABELS)
    monkeypatch.setattr(charts, "CJK_FONTS", ("No Such Font Sans",))
    assert charts.township_chart(rows(3), **LABELS) != with_font


def _missing_character() -> str:
    """A private-use character no font of the charts has: what a box looks like."""
    coverage = charts.font_coverage(charts.font_families(charts.CJK_FONTS))
    return next(chr(c) for c in range(0xE000, 0xF900) if c not in coverage)


def _as_missing(text: str, missing: str) -> str:
    return "".join(missing if "\u3000" <= c <= "\u9fff" or c >= "\uff00" else c for c in text)


def _pixels(png: bytes):
    return image.imread(io.BytesIO(png), format="png")


def _bands(png: bytes) -> dict[str, object]:
    """The picture's text areas: the title above the bars, the names left of them and the
    legend below them."""
    pixels = _pixels(png)
    return {"title": pixels[:30], "names": pixels[40:-50, :110], "legend": pixels[-30:]}


def _chinese_chart(missing: str | None = None) -> bytes:
    shown = (lambda text: text) if missing is None else (lambda text: _as_missing(text, missing))
    data = [(shown(name), value, other) for name, value, other in rows(5)]
    return render_without_warnings(data, **{k: shown(v) for k, v in LABELS.items()})


def test_chinese_titles_names_and_legends_are_drawn_as_glyphs_not_boxes(monkeypatch):
    missing = _missing_character()
    drawn, boxes = _bands(_chinese_chart()), _bands(_chinese_chart(missing))
    for area in ("title", "names", "legend"):
        assert (drawn[area] != boxes[area]).any(), f"the {area} is drawn as missing glyphs"
    # Without a CJK font the same comparison finds nothing to tell apart: each Chinese
    # character is then the box a missing one is, so what is asserted above can fail.
    monkeypatch.setattr(charts, "CJK_FONTS", ("No Such Font Sans",))
    assert (_pixels(_chinese_chart()) == _pixels(_chinese_chart(missing))).all()


def _zh_catalog_characters() -> set[str]:
    text = "".join(catalog("zh").values())
    return {c for c in text if "\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"}


def _gbk_characters() -> set[str]:
    """Every character of GBK (every Chinese character of GB 2312, and 21,000 more)."""
    found: set[str] = set()
    for high in range(0x81, 0xFF):
        for low in range(0x40, 0xFF):
            try:
                found.add(bytes([high, low]).decode("gbk"))
            except UnicodeDecodeError:
                continue
    return found


def test_every_character_of_the_catalogs_and_of_gbk_place_names_has_a_glyph():
    coverage = charts.font_coverage(charts.font_families(charts.CJK_FONTS))
    characters = _zh_catalog_characters() | _gbk_characters() | set("".join(TOWNSHIPS))
    assert len(characters) > 21_000
    assert sorted(c for c in characters if ord(c) not in coverage) == []


async def test_serve_warns_at_start_when_no_cjk_font_is_found(tmp_path, monkeypatch, caplog):
    import uvicorn

    from bot import cli

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    # The command's own logging set-up would outlive the test: caplog reads the records.
    monkeypatch.setattr(cli, "setup_logging", lambda *args, **kwargs: None)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'live.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("WEBHOOK_SECRET", "s" * 32)

    def warned() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"
                and "no font with Chinese glyphs was found" in r.getMessage()]

    assert await asyncio.to_thread(cli.main, ["serve"]) == 0
    assert warned() == []
    monkeypatch.setattr(charts, "CJK_FONTS", ("No Such Font Sans",))
    assert await asyncio.to_thread(cli.main, ["serve"]) == 0
    assert len(warned()) == 1


@pytest.mark.usefixtures("no_cjk_font")
def test_without_a_cjk_font_it_falls_back_to_dejavu_quietly():
    assert charts.font_families(charts.CJK_FONTS) == ("DejaVu Sans",)
    png = render_without_warnings(rows(27))
    assert png_size(png)[0] == 800


def test_characters_no_font_has_become_boxes_and_the_rest_stays():
    drawable = charts._Drawable(charts.font_coverage(("DejaVu Sans",)))
    assert drawable("城关 Town 1") == "□□ Town 1"


def test_titles_and_labels_from_the_catalogs_are_drawn_as_text_not_as_html():
    # translate() escapes what it formats in, for Telegram's HTML; a picture shows the text.
    escaped = charts.township_chart(rows(2), title="驻村达标 · 城关镇&amp;东关镇",
                                    first_label="&lt;5 天", second_label="小结")
    plain = charts.township_chart(rows(2), title="驻村达标 · 城关镇&东关镇",
                                  first_label="<5 天", second_label="小结")
    assert escaped == plain
