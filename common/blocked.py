"""A person who blocked the bot is reported to the office, once per block: they receive nothing
until they write to the bot again (handlers.router clears the mark), so someone must call."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_, locale_of, translate
from storage import outbox, people
from storage.models import OutboxMessage, Person

EXCERPT = 60
FILES = ("sendDocument", "sendPhoto", "sendMediaGroup")
_TAG = re.compile(r"<[^>]+>")
WHAT_FILE, WHAT_OTHER = N_("blocked.what_file"), N_("blocked.what_other")


def is_block(error: str) -> bool:
    """Telegram's 403 for a user who blocked the bot (not a deleted account, not a kick)."""
    return "blocked by the user" in error.lower()


def _place(locale: str, person: Person) -> str:
    names = [place.name for place in (person.township, person.village) if place is not None]
    return "/".join(names) if names else translate(locale, "blocked.county")


def _what(locale: str, row: OutboxMessage) -> str:
    """The refused message, as the office can recognise it: its first words, or its kind."""
    payload: dict[str, Any] = row.payload if isinstance(row.payload, dict) else {}
    text = payload.get("text") or payload.get("caption") or ""
    plain = " ".join(html.unescape(_TAG.sub("", str(text))).split())
    if plain:
        return plain if len(plain) <= EXCERPT else plain[: EXCERPT - 1] + "…"
    return translate(locale, WHAT_FILE if row.method in FILES else WHAT_OTHER)


async def report_block(
    session: AsyncSession, *, person: Person, row: OutboxMessage, now: dt.datetime,
    default_locale: str,
) -> int:
    """Queue the office's notice that this person blocked the bot (one per office member per
    block: the key holds the moment of the block). Returns how many were queued."""
    if not person.active or person.blocked_at is None:
        return 0
    office = [p for p in await people.reachable(session, roles=("office",))
              if p.id != person.id and p.blocked_at is None]
    notices = []
    for member in office:
        locale = locale_of(member.locale, member.telegram_language, default_locale)
        text = translate(locale, "blocked.report", name=person.name,
                         role=translate(locale, f"role.{person.role}"),
                         place=_place(locale, person), what=_what(locale, row))
        assert member.telegram_user_id is not None
        notices.append(outbox.Outgoing(
            chat_id=member.telegram_user_id, method="sendMessage", kind="warning",
            payload={"text": text, "parse_mode": "HTML"}, person_id=member.id,
            dedup_key=f"blocked:{person.id}:{person.blocked_at.isoformat()}:{member.id}"))
    await outbox.enqueue(session, messages=notices, now=now)
    return len(notices)
