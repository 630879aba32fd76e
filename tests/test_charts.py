"""The county report chart: a PNG per township list, Chinese names drawn, nothing warned."""

from __future__ import annotations

import gc
import io
import struct
import warnings

import pytest
from matplotlib import font_manager, image

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


def render_without_warnings(data: list[tuple[str, float, float]]) -> bytes:
    # Garbage of earlier tests (a pooled connection collected late warns as it goes) is
    # collected first: what is asserted here is the drawing's own warnings.
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.township_chart(data, **LABELS)
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


def test_an_installed_cjk_font_is_chosen_and_draws_the_names(monkeypatch):
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    available = [name for name in charts.CJK_FONTS if name in installed]
    if not available:
        pytest.skip("no CJK font on this machine (apt-get install fonts-wqy-microhei)")
    assert charts.font_families(charts.CJK_FONTS) == (available[0], charts.FALLBACK_FONT)
    with_font = charts.township_chart(rows(3), **LABELS)
    monkeypatch.setattr(charts, "CJK_FONTS", ("No Such Font Sans",))
    assert charts.township_chart(rows(3), **LABELS) != with_font


@pytest.mark.usefixtures("no_cjk_font")
def test_without_a_cjk_font_it_falls_back_to_dejavu_quietly():
    assert charts.font_families(charts.CJK_FONTS) == ("DejaVu Sans",)
    png = render_without_warnings(rows(27))
    assert png_size(png)[0] == 800


def test_characters_no_font_has_become_boxes_and_the_rest_stays():
    drawable = charts._Drawable(charts.font_coverage(("DejaVu Sans",)))
    assert drawable("城关 Town 1") == "□□ Town 1"
