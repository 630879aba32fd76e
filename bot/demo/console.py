"""The demo's last step: the console over the demo's database, with a sign-in link for the
office, served on this computer (WEB_HOST:WEB_PORT) until Ctrl-C when someone is at the
keyboard; printed only (the address and the link) when the demo runs unattended."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from sqlalchemy import select

from bot.console import standalone
from common.clock import FrozenClock
from common.context import AppContext
from common.i18n import translate
from common.settings import Settings
from storage import console
from storage.db import Database
from storage.models import Person


def week_evening(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The Sunday evening that ends the tour's week: the tour ends on a Monday morning, when
    'this week' has nothing in it yet, and the console should open on the week just told."""
    local = moment.astimezone(tz)
    sunday = local.date() - dt.timedelta(days=(local.weekday() + 1) % 7)
    return min(moment, dt.datetime.combine(sunday, dt.time(20, 0), tz))


async def open_console(locale: str, database: Path, moment: dt.datetime, *,
                       serve: bool) -> str:
    """Print the console's address and a sign-in link for the office (the console's clock stays
    at the Sunday evening of the tour's week, so 'this week' is the week the tour told); serve
    it if asked. Returns the link."""
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{database}",
                        default_locale=locale)
    moment = week_evening(moment, settings.tz)
    base = f"http://{settings.web_host}:{settings.web_port}"
    settings = settings.model_copy(update={"console_url": base})
    db = Database(settings.database_url)
    ctx = AppContext(settings=settings, db=db, clock=FrozenClock(moment))
    try:
        async with db.write() as session:
            office = (await session.scalars(
                select(Person).where(Person.role == "office",
                                     Person.telegram_user_id.is_not(None))
                .order_by(Person.id))).first()
            assert office is not None, "the tour registers the office"
            token = await console.new_link(session, person_id=office.id, now=moment)
            name = office.name
        link = f"{base}/console/signin?token={token}"
        say = "demo.console.serving" if serve else "demo.console.printed"
        print("\n" + html.unescape(translate(locale, say, url=f"{base}/console/", link=link,
                                             name=name, minutes=console.LINK_MINUTES)))
        if serve:
            import uvicorn

            server = uvicorn.Server(uvicorn.Config(standalone(ctx), host=settings.web_host,
                                                   port=settings.web_port, log_level="warning"))
            await server.serve()
        return link
    finally:
        await db.dispose()
