"""/report [period]: a draft of the campaign report to the county committee, as a Word document.

For the office and the leading group. The period is read as /stats reads it
(handlers.stats.parsed_args; the campaign so far by default, as the report sums it up); the
report is the county's, so a place name is refused. Like /export, the command answers at once
and the document is drafted afterwards in a background task with its own read session
(reports/county_docx.py: the figures of /stats, /merit and /laggards through the same queries,
the charts of /stats drawn in a thread), written under export_dir (0600, removed once sent,
swept after EXPORT_KEEP_HOURS like a workbook) and sent through the outbox with a Chinese file
name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from common.context import AppContext
from common.i18n import N_, Span, translator
from handlers.base import Turn
from handlers.export import document_message, file_name, send_built, start_in_background
from handlers.registry import COUNTY, SUPERVISOR, command
from handlers.stats import parsed_args
from reports.county_docx import draw_charts, gather, write_report
from storage.files import new_private_file
from storage.outbox import Outgoing
from storage.scope import Scope

log = logging.getLogger(__name__)

# The drafts' names in export_dir: what the sweeper may remove (scheduler/sweep.py).
FILE_PREFIX, SUFFIX = "report-", ".docx"
# Reports being drafted, by chat (one at a time each); AppContext.spawn keeps them referenced.
RUNNING: dict[int, asyncio.Task[None]] = {}


@dataclass(frozen=True)
class Draft:
    """One report to draft: for whom, which days, in which language."""

    chat_id: int
    person_id: int
    locale: str
    start: dt.date
    end: dt.date

    @property
    def filename(self) -> str:
        """The name the requester sees: 驻村工作报告（草稿）-11月23日至11月28日.docx."""
        return file_name(self.locale, Scope("county"), self.start, self.end,
                         title="county_report.file_name", suffix=SUFFIX)


@command("report", roles=COUNTY | SUPERVISOR, description=N_("help.report"), order=85)
async def report(turn: Turn, args: str) -> None:
    """Answer at once, then draft the report in the background and send it."""
    assert turn.person is not None
    parsed = parsed_args(turn, args)
    if parsed is None:
        return
    period, name = parsed
    if name:
        turn.say(turn.tr("county_report.county_only"))
        return
    settings = turn.app.settings
    start, end = period or (settings.campaign_start, min(turn.today, settings.campaign_end))
    running = RUNNING.get(turn.chat_id)
    if running is not None and not running.done():
        turn.say(turn.tr("county_report.busy"))
        return
    draft = Draft(turn.chat_id, turn.person.id, turn.locale, start, end)
    turn.say(turn.tr("county_report.preparing", period=Span(start, end)))
    bot = turn.update.get_bot()
    failed = Outgoing(chat_id=draft.chat_id, method="sendMessage", kind="report",
                      person_id=draft.person_id,
                      payload={"text": turn.tr("county_report.failed"), "parse_mode": "HTML"})
    app = turn.app
    turn.after_commit(lambda: start_in_background(app, RUNNING, draft.chat_id, send_built(
        app, bot, lambda: _document(app, draft), failed=failed, what="report")))


async def write_draft(app: AppContext, *, locale: str, start: dt.date, end: dt.date) -> Path:
    """Draft the report into a new private file under export_dir (the HTTP API's too)."""
    now = app.clock.now()
    async with app.db.read() as session:
        found = await gather(session, app.settings, start=start, end=end, now=now)
    tr = translator(locale, today=found.made)
    path = new_private_file(Path(app.settings.export_dir), prefix=FILE_PREFIX, suffix=SUFFIX)
    try:
        # Drawing and laying out take a second or more: in a thread, not on the event loop.
        charts = await asyncio.to_thread(draw_charts, tr, locale, found)
        await asyncio.to_thread(write_report, str(path), tr, locale, found, charts)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _document(app: AppContext, draft: Draft) -> list[Outgoing]:
    path = await write_draft(app, locale=draft.locale, start=draft.start, end=draft.end)
    tr = translator(draft.locale, today=draft.end)
    caption = tr("county_report.caption", period=Span(draft.start, draft.end))
    return [document_message(draft.chat_id, draft.person_id, path, draft.filename, caption,
                             expired=N_("county_report.expired"), kind="report")]
