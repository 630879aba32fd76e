"""The outbox sender: drains due messages at Telegram's rates, in order per chat."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram import Bot

from common.context import AppContext
from common.delivery import deliver_rows
from storage import outbox

log = logging.getLogger(__name__)


async def drain(ctx: AppContext, bot: Bot, *, batch: int = 60, max_batches: int = 50) -> int:
    """Send what is due now, batch by batch; returns how many requests were made."""
    total = 0
    # This process's turn replies marked first, so that none looks due to be sent again.
    await ctx.sent.flush()
    for _ in range(max_batches):
        async with ctx.db.write() as session:
            lease = dt.timedelta(seconds=2 * ctx.settings.outbox_claim_seconds)
            rows = await outbox.claim_due(session, now=ctx.clock.now(), limit=batch,
                                          owner_claim=lease)
        if not rows:
            break
        await deliver_rows(ctx, bot, rows)
        total += len(rows)
    return total


async def sender_job(context: Any) -> None:
    """The JobQueue callback that keeps the outbox moving."""
    ctx = AppContext.of(context)
    try:
        await drain(ctx, context.bot)
    except Exception:  # the job must survive a database hiccup and run again next tick
        log.exception("outbox sender failed; will retry")
