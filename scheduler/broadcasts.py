"""The delivery report of a broadcast: once every message is final, its author hears how it went."""

from __future__ import annotations

from common.i18n import Translator
from scheduler.runs import Run, message
from storage import broadcasts as store
from storage import people
from storage.models import Broadcast, Person
from storage.outbox import Outgoing

# Up to this many people who blocked the bot are named in the report; more are only counted.
MAX_NAMED = 20


def audience_text(tr: Translator, broadcast: Broadcast) -> str:
    """Who a broadcast went to, as the report says it."""
    return audience_words(tr, broadcast.audience_kind, broadcast.audience_value)


def audience_words(tr: Translator, kind: str, value: str | None) -> str:
    """Who an audience (a kind and the name storage takes) is, in words (HTML)."""
    shown = tr(f"role.{value}") if kind == "role" else (value or "")
    return tr(f"broadcast.audience.{kind}", value=shown)


def report_text(tr: Translator, broadcast: Broadcast, counts: dict[str, int],
                blocked: list[Person]) -> str:
    """Delivered, blocked (named when few), failed and withdrawn, for one finished broadcast."""
    lines = [
        tr("broadcast.report.title", id=broadcast.id, audience=audience_text(tr, broadcast),
           count=broadcast.recipients),
        tr("broadcast.report.delivered", count=counts.get("sent", 0)),
        tr("broadcast.report.blocked", count=counts.get("blocked", 0)),
    ]
    if blocked and len(blocked) <= MAX_NAMED:
        lines.append(tr("broadcast.report.blocked_names", names="、".join(p.name for p in blocked)))
    lines.append(tr("broadcast.report.failed", count=counts.get("failed", 0)))
    if counts.get("withdrawn"):
        lines.append(tr("broadcast.report.withdrawn", count=counts["withdrawn"]))
    return "\n".join(lines)


async def broadcast_reports(run: Run) -> list[Outgoing]:
    """A report to the author of each finished broadcast not yet reported; each marked so."""
    out: list[Outgoing] = []
    for broadcast in await store.unreported_finished(run.session):
        if not await store.mark_reported(run.session, broadcast_id=broadcast.id, now=run.now):
            continue  # another process reported it
        author = await people.by_id(run.session, person_id=broadcast.author_id)
        if author is None or not author.active or author.telegram_user_id is None:
            continue  # no one to tell; the report stays in /broadcast status
        counts = await store.delivery_counts(run.session, broadcast_id=broadcast.id)
        blocked = await store.undelivered(run.session, broadcast_id=broadcast.id,
                                          status="blocked")
        text = report_text(run.tr(author), broadcast, counts, blocked)
        out.append(message(author, text, key=f"broadcast-report:{broadcast.id}", kind="report"))
    return out
