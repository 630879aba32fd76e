"""The browser tests' own ground: Chromium reaches the app served by uvicorn, draws Chinese with
a real font, takes screenshots, reports a page's errors, and runs the vendored ECharts and
Leaflet without any network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported at run time by pytest_plugins, so that pytest rewrites its asserts
    from tests.browser import LiveApp

pytest_plugins = ("tests.browser",)

VENDOR = Path(__file__).parent.parent / "bot" / "console" / "static" / "vendor"


async def test_chromium_reaches_the_served_app_and_its_database(app_page, live_app: LiveApp,
                                                                page_errors):
    response = await app_page.goto("/healthz")
    assert response is not None and response.status == 200, await app_page.content()
    assert response.url == f"{live_app.url}/healthz"
    body = await response.json()
    assert body["database"] is True and body["scheduler"] is True, body
    # Chromium also asks for /favicon.ico, which the app does not have (yet): a 404, reported
    # in page_errors when its answer comes before the test ends.
    assert [e for e in page_errors if "/favicon.ico" not in e] == []


async def test_chinese_is_drawn_with_glyphs_and_screenshots_are_images(page, page_errors):
    # Without a CJK font each character is the same empty box: two different characters would
    # give the same picture.
    await page.set_content('<meta charset="utf-8"><body style="margin:0">'
                           '<span id="a" style="font-size:48px">村</span>'
                           '<span id="b" style="font-size:48px">镇</span></body>')
    first = await page.locator("#a").screenshot()
    second = await page.locator("#b").screenshot()
    assert first.startswith(b"\x89PNG") and second.startswith(b"\x89PNG")
    assert first != second
    whole = await page.screenshot(full_page=True)
    assert whole.startswith(b"\x89PNG")
    assert await page.locator("#a").inner_text() == "村"
    assert page_errors == []


async def test_the_page_errors_are_collected(page, page_errors):
    await page.set_content("<script>console.error('坏了'); null.x;</script>")
    await page.wait_for_timeout(0)  # the page's error events reach Python on the next turn
    assert len(page_errors) == 2, page_errors
    assert page_errors[0].startswith("console: 坏了")
    assert page_errors[1].startswith("uncaught: TypeError")


async def open_with_vendor(page, body: str) -> None:
    """`body` in a page whose /vendor/ addresses are the vendored files, read from the tree (the
    console does not serve them yet), so relative references (Leaflet's images) resolve."""
    async def fulfil(route) -> None:
        path = route.request.url.removeprefix(f"{SITE}/")
        if path == "":
            await route.fulfill(body=f'<!doctype html><meta charset="utf-8">{body}',
                                content_type="text/html; charset=utf-8")
        elif path.startswith("vendor/") and (VENDOR.parent / path).is_file():
            await route.fulfill(path=VENDOR.parent / path)
        else:
            await route.fulfill(status=404)

    await page.route(f"{SITE}/**", fulfil)
    await page.goto(f"{SITE}/")


SITE = "http://console.test"


async def test_the_vendored_echarts_draws_a_chinese_chart(page, page_errors):
    await open_with_vendor(page, '<script src="/vendor/echarts/echarts.min.js"></script>'
                                 '<div id="chart" style="width:400px;height:300px"></div>')
    drawn = await page.evaluate("""() => {
        const chart = echarts.init(document.getElementById('chart'), null, {locale: 'ZH'});
        chart.setOption({
            title: {text: '走访户数'}, toolbox: {feature: {saveAsImage: {}}},
            xAxis: {data: ['城关镇', '东坝镇']}, yAxis: {},
            series: [{type: 'bar', data: [120, 80]}]});
        return [chart.getOption().series[0].data.length,
                chart.getOption().toolbox[0].feature.saveAsImage.title];
    }""")
    assert drawn == [2, "保存为图片"]  # ECharts' own Chinese, built into the file
    assert await page.locator("#chart canvas").count() == 1
    assert page_errors == []


async def test_the_vendored_leaflet_shows_a_map_with_its_own_images(page, page_errors):
    await open_with_vendor(page, '<link rel="stylesheet" href="/vendor/leaflet/leaflet.css">'
                                 '<script src="/vendor/leaflet/leaflet.js"></script>'
                                 '<div id="map" style="width:400px;height:300px"></div>')
    await page.evaluate("""() => {
        const map = L.map('map').setView([30.0, 110.0], 10);
        L.marker([30.0, 110.0]).addTo(map).bindPopup('东坝镇');
    }""")
    icon = page.locator("#map img.leaflet-marker-icon")
    await icon.wait_for()
    await page.wait_for_function(
        "() => document.querySelector('#map img.leaflet-marker-icon').complete")
    assert await icon.evaluate("img => img.naturalWidth") == 25  # images/marker-icon.png
    source = await icon.get_attribute("src") or ""
    assert source.endswith("/vendor/leaflet/images/marker-icon.png"), source
    assert page_errors == []


async def test_each_page_starts_without_the_cookies_of_another(browser, page_errors):
    """The browser is shared by the process's tests: a page's cookies stay in its own context."""
    from tests.browser import open_page

    async with open_page(browser, page_errors, "http://127.0.0.1") as first:
        await first.context.add_cookies([{"name": "session", "value": "his",
                                          "url": "http://127.0.0.1"}])
        assert [c["name"] for c in await first.context.cookies()] == ["session"]
        async with open_page(browser, page_errors, "http://127.0.0.1") as second:
            assert await second.context.cookies() == []
    async with open_page(browser, page_errors, "http://127.0.0.1") as later:
        assert await later.context.cookies() == []
    assert page_errors == []
