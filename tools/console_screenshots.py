"""Take the console's overview screenshots for docs/ from the demo's campaign:
python tools/console_screenshots.py [OUT_DIR]

For each language it runs `grassroots demo --lang LANG --no-serve` into a scratch folder,
serves the console alone over that database (the demo's clock: the Sunday evening of the week
it tells), logs in as the county office with a one-time link and saves the county's overview
as docs/console-overview-LANG.png (1280 px wide, the whole page) with the system Chromium.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


async def shoot(lang: str, out: Path) -> Path:
    import uvicorn
    from playwright.async_api import async_playwright
    from sqlalchemy import select

    from bot.console import standalone
    from bot.demo.console import week_evening
    from common.clock import FrozenClock
    from common.context import AppContext
    from common.settings import Settings
    from storage import console
    from storage.db import Database
    from storage.models import Person

    with tempfile.TemporaryDirectory() as scratch:
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot.cli", "demo", "--lang", lang, "--out",
                             "demo", "--no-serve"], cwd=scratch, check=True,
            stdout=subprocess.DEVNULL)
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'demo' / 'grassroots-demo.db'}"
        settings = Settings(_env_file=None, database_url=url, default_locale=lang)
        db = Database(url)
        async with db.read() as session:
            office = (await session.scalars(select(Person).where(
                Person.role == "office", Person.telegram_user_id.is_not(None)))).first()
            last = max(p.last_seen_at for p in (await session.scalars(select(Person))).all()
                        if p.last_seen_at is not None)
        assert office is not None
        moment = week_evening(last, settings.tz)
        async with db.write() as session:
            token = await console.new_link(session, person_id=office.id, now=moment)
        ctx = AppContext(settings=settings, db=db, clock=FrozenClock(moment))
        server = uvicorn.Server(uvicorn.Config(standalone(ctx), host="127.0.0.1", port=8766,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():  # it could not start (the port is taken): its error
                task.result()
            await asyncio.sleep(0.05)
        try:
            async with async_playwright() as playwright:
                # The browser's own language draws the date boxes, as on a Chinese office PC.
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--lang=zh-CN" if lang == "zh" else "--lang=en-GB"])
                page = await browser.new_page(viewport={"width": 1280, "height": 900},
                                              locale="zh-CN" if lang == "zh" else "en-GB")
                await page.goto(f"http://127.0.0.1:8766/console/signin?token={token}")
                await page.wait_for_url("**/console/")
                await page.wait_for_selector("#places-chart canvas")
                await page.wait_for_timeout(800)  # the chart's animation
                path = out / f"console-overview-{lang}.png"
                await page.screenshot(path=str(path), full_page=True)
                await browser.close()
        finally:
            server.should_exit = True
            await task
            await db.dispose()
    return path


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    for lang in ("zh", "en"):
        print(asyncio.run(shoot(lang, out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
