"""Telegram's paid broadcasts: which broadcasts take the paid lane, what they cost, and what
happens when the bot's Stars run out (the rest goes at the free rate; the author is told once).

The choice is made when the broadcast is queued (`handlers.broadcast.send_notice`): the office
confirms knowing the lane and the cost, every process sends the rows alike, and a change of the
setting later does not change what was promised."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import locale_of, translate
from common.settings import Settings
from storage import broadcasts, outbox, people

# Telegram's price of a paid send (allow_paid_broadcast), from the bot's balance.
STARS_PER_TEN_MESSAGES = 1
# Telegram's answer to a paid send the bot's balance cannot pay for (the MTProto error the Bot
# API passes on as "Bad Request: BALANCE_TOO_LOW").
OUT_OF_STARS = "BALANCE_TOO_LOW"


def goes_paid_lane(settings: Settings, recipients: int) -> bool:
    """Whether a broadcast to this many goes on the paid lane (PAID_BROADCAST, from
    PAID_BROADCAST_MIN_RECIPIENTS up)."""
    return settings.paid_broadcast and recipients >= settings.paid_broadcast_min_recipients


def paid_lane(settings: Settings, recipients: int) -> dict[str, int] | None:
    """What the office is told before it confirms a broadcast to this many that takes the paid
    lane (broadcast.paid_lane: its Stars, and the minutes the free rate would take); else None."""
    if not goes_paid_lane(settings, recipients):
        return None
    return {"stars": stars_for(recipients), "minutes": free_minutes(settings, recipients)}


def stars_for(messages: int) -> int:
    """The most these paid sends cost, in whole Stars (0.1 a message, rounded up)."""
    return math.ceil(messages * STARS_PER_TEN_MESSAGES / 10)


def free_minutes(settings: Settings, messages: int) -> int:
    """About how many minutes these sends take at the free rate, rounded up."""
    return max(1, math.ceil(messages / settings.outbox_global_per_second / 60))


def is_out_of_stars(error: str) -> bool:
    """Whether Telegram refused a paid send for lack of Stars."""
    return OUT_OF_STARS in error.upper()


async def fall_back(session: AsyncSession, *, broadcast_id: int, settings: Settings,
                    now: dt.datetime) -> None:
    """Send what is left of the broadcast at the free rate, and tell its author once."""
    left = await outbox.unpay(session, broadcast_id=broadcast_id)
    broadcast = await broadcasts.by_id(session, broadcast_id=broadcast_id)
    author = None if broadcast is None else await people.by_id(
        session, person_id=broadcast.author_id)
    if author is None or not author.active or author.telegram_user_id is None:
        return
    locale = locale_of(author.locale, author.telegram_language, settings.default_locale)
    text = translate(locale, "broadcast.out_of_stars", id=broadcast_id, count=left,
                     minutes=free_minutes(settings, left))
    notice = outbox.Outgoing(chat_id=author.telegram_user_id, method="sendMessage",
                             kind="report", payload={"text": text, "parse_mode": "HTML"},
                             person_id=author.id, dedup_key=f"broadcast-unpaid:{broadcast_id}")
    try:  # another process may find the Stars gone at the same moment and tell them first
        async with session.begin_nested():
            await outbox.enqueue(session, messages=[notice], now=now)
    except IntegrityError:  # it did (the notice's dedup key): told once, and this
        pass  # transaction's own outcomes and sent marks are kept
