"""Sending one stored request to Telegram and saying what happened."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile, InputMediaPhoto
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from common.blocked import is_block, report_block
from common.i18n import locale_of, translate
from common.paid import fall_back, is_out_of_stars
from common.ratelimit import PAID, lane_of
from storage import outbox, people

log = logging.getLogger(__name__)

# The outbox stores raw Bot API requests, so it calls do_api_request even for methods the
# library wraps; its advice to use the wrapper does not apply here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

UPLOAD_KEY = "_upload"
# Paid sends in flight at once: one after another, each waits a round trip to Telegram (tens of
# milliseconds), which would keep the paid lane near the free 30 a second. Fewer than the bot's
# HTTP connections (bot.app.HTTP_CONNECTIONS), so that replies still find one.
PAID_IN_FLIGHT = 8


def upload(field: str, filename: str, data: bytes) -> dict[str, Any]:
    """The payload entry that makes the outbox send `data` as a file upload."""
    return {
        UPLOAD_KEY: {"field": field, "filename": filename, "data": base64.b64encode(data).decode()}
    }


def upload_path(
    field: str, path: str | Path, filename: str, *, remove: bool = False,
    expired: str | None = None, expired_key: str | None = None,
) -> dict[str, Any]:
    """The payload entry that sends the file at `path`, read only when the request is made.

    Large files stay out of the outbox row; with `remove` the file is deleted once the request
    is final (sent, blocked or refused), not while a retry may still need it. `expired` is the
    message id that tells the row's person, if still active, that the file was swept before it
    could be sent (once per `expired_key`)."""
    spec: dict[str, Any] = {"field": field, "path": str(path), "filename": filename,
                            "remove": remove}
    if expired:
        spec |= {"expired": expired, "expired_key": expired_key}
    return {UPLOAD_KEY: spec}


def _media(item: Any) -> Any:
    # python-telegram-bot takes an album's items only as its own objects, not as stored JSON.
    if isinstance(item, dict) and item.get("type") == "photo":
        return InputMediaPhoto(media=item["media"], caption=item.get("caption"),
                               parse_mode=item.get("parse_mode"))
    return item


def _request_kwargs(payload: dict[str, Any]) -> dict[str, Any]:
    kwargs = {key: value for key, value in payload.items() if key != UPLOAD_KEY}
    if isinstance(kwargs.get("media"), list):
        kwargs["media"] = [_media(item) for item in kwargs["media"]]
    spec = payload.get(UPLOAD_KEY)
    if spec:
        if "path" in spec:
            content = Path(spec["path"]).read_bytes()
        else:
            content = base64.b64decode(spec["data"])
        kwargs[spec["field"]] = InputFile(content, filename=spec["filename"])
    return kwargs


def _remove_uploads(rows: list[Any], outcomes: list[Outcome]) -> None:
    """Delete the files of path uploads marked `remove` whose request is final."""
    for row, outcome in zip(rows, outcomes, strict=True):
        spec = row.payload.get(UPLOAD_KEY) if isinstance(row.payload, dict) else None
        if spec and spec.get("remove") and "path" in spec and outcome.status != "retry":
            try:
                Path(spec["path"]).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove %s: %s", spec["path"], exc)


@dataclass(frozen=True)
class Outcome:
    """What became of one request: sent, retry after some seconds, blocked or failed."""

    status: str
    retry_after: float = 0.0
    error: str = ""
    result: Any = None
    # Telegram refused it at the gate (a 5xx, a refused connection): it counted against no
    # rate limit. A timeout may have gone through, so it is not one of these.
    unsent: bool = False
    # A path upload whose file is gone (the export sweeper removed it): failed for good.
    expired: bool = False
    # A paid send refused for lack of Stars: sent again at once, at the free rate.
    out_of_stars: bool = False


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff for network errors and 5xx answers, capped at five minutes."""
    return dt.timedelta(seconds=min(300.0, 2.0 ** min(attempts, 9)))


async def send(bot: Bot, method: str, payload: dict[str, Any]) -> Outcome:
    """Make one Bot API request and classify the answer."""
    try:
        kwargs = _request_kwargs(payload)
    except FileNotFoundError as exc:  # swept past EXPORT_KEEP_HOURS: no retry brings it back
        log.warning("the upload for %s expired: %s", method, exc)
        return Outcome("failed", error=f"upload expired: {exc}", expired=True)
    except OSError as exc:  # a path upload that cannot be read: no retry can bring it back
        log.warning("cannot read the upload for %s: %s", method, exc)
        return Outcome("failed", error=f"upload unreadable: {exc}")
    try:
        result = await bot.do_api_request(method, api_kwargs=kwargs)
    except RetryAfter as exc:
        retry = exc.retry_after
        seconds = retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)
        return Outcome("retry", retry_after=seconds, error="429")
    except Forbidden as exc:
        return Outcome("blocked", error=str(exc))
    except BadRequest as exc:
        if "message is not modified" in str(exc).lower():  # a repeated edit changed nothing
            return Outcome("sent", error=str(exc))
        if outbox.goes_paid(payload) and is_out_of_stars(str(exc)):
            log.warning("the bot's Stars ran out: %s goes at the free rate", method)
            return Outcome("retry", error=str(exc), out_of_stars=True)
        log.warning("Telegram refused %s: %s", method, exc)
        return Outcome("failed", error=str(exc))
    except (NetworkError, TelegramError) as exc:
        return Outcome("retry", retry_after=-1, error=f"{type(exc).__name__}: {exc}",
                       unsent=not isinstance(exc, TimedOut))
    return Outcome("sent", result=result)


async def deliver_rows(
    ctx: Any, bot: Bot, rows: list[Any], *, mark_later: bool = False, lane: int | None = None
) -> list[Outcome]:
    """Send stored outbox rows in order and record each outcome; a chat waits after a retry.

    `mark_later`: the sent ones are marked with other turns' a moment later (common.sentmarks);
    only retries and failures take a transaction now. `lane`: the rate limiter's lane of every
    row (common.ratelimit.REPLY for what answers a person); by default each row's own. Rows on
    the paid lane go after the others, several chats at once, each chat's in order."""
    lanes = [lane_of(row.kind, row.payload) if lane is None else lane for row in rows]
    outcomes: dict[int, Outcome] = {}
    waiting: set[int] = set()
    paid: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        if lanes[index] == PAID:
            paid.setdefault(row.chat_id, []).append(index)
        else:
            outcomes[index] = await _deliver_one(ctx, bot, row, lanes[index], waiting)
    in_flight = asyncio.Semaphore(PAID_IN_FLIGHT)

    async def one_chat(indexes: list[int]) -> None:
        for index in indexes:
            async with in_flight:
                outcomes[index] = await _deliver_one(ctx, bot, rows[index], PAID, waiting)

    await asyncio.gather(*(one_chat(indexes) for indexes in paid.values()))
    ordered = [outcomes[index] for index in range(len(rows))]
    now = ctx.clock.now()
    sent = [r.id for r, o in zip(rows, ordered, strict=True) if o.status == "sent"]
    if mark_later:
        ctx.sent.add(sent, now)
        sent = []
    if sent or any(o.status != "sent" for o in ordered):
        await _record(ctx, rows, ordered, sent, now)
    _remove_uploads(rows, ordered)
    return ordered


async def _deliver_one(ctx: Any, bot: Bot, row: Any, lane: int, waiting: set[int]) -> Outcome:
    """Send one row when the rate limiter allows, unless an earlier one of its chat waits."""
    if row.chat_id in waiting:
        return Outcome("retry", retry_after=0, error="earlier message waits")
    assert ctx.limiter is not None
    await ctx.limiter.acquire(row.chat_id, lane)
    try:
        outcome = await send(bot, row.method, row.payload)
    finally:
        ctx.limiter.settle(row.chat_id)
    if outcome.status == "retry":
        waiting.add(row.chat_id)
        if outcome.unsent:
            ctx.limiter.refund(row.chat_id, lane)
    return outcome


async def _record(
    ctx: Any, rows: list[Any], outcomes: list[Outcome], sent: list[int], now: dt.datetime
) -> None:
    async with ctx.db.write() as session:
        await outbox.mark_sent(session, ids=sent, now=now)
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.status == "retry":
                delay = (
                    dt.timedelta(seconds=outcome.retry_after)
                    if outcome.retry_after >= 0
                    else backoff(row.attempts)
                )
                await outbox.mark_retry(session, id=row.id, at=now + delay, error=outcome.error)
            elif outcome.status in ("blocked", "failed"):
                blocked = await outbox.mark_final(
                    session, id=row.id, status=outcome.status, error=outcome.error, now=now
                )
                if blocked is not None and is_block(outcome.error):
                    await report_block(session, person=blocked, row=row, now=now,
                                       default_locale=ctx.settings.default_locale)
                if outcome.expired:
                    await _tell_expired(session, row, now=now,
                                        default_locale=ctx.settings.default_locale)
    # The rest of a broadcast refused for lack of Stars goes free, in a transaction of its own
    # once the outcomes above are committed: another process may be falling back the same
    # broadcast, and its rows locked by its outcomes while this one's were locked by these
    # was a deadlock that lost one side's sent marks (messages sent again).
    unpaid = {row.broadcast_id for row, outcome in zip(rows, outcomes, strict=True)
              if outcome.out_of_stars and row.broadcast_id is not None}
    for broadcast_id in sorted(unpaid):
        async with ctx.db.write() as session:
            await fall_back(session, broadcast_id=broadcast_id, settings=ctx.settings, now=now)


async def _tell_expired(
    session: Any, row: Any, *, now: dt.datetime, default_locale: str
) -> None:
    """Queue the upload's `expired` message to its person, in their language, if they are
    still active and have not blocked the bot."""
    spec = row.payload.get(UPLOAD_KEY) or {}
    if not spec.get("expired") or row.person_id is None:
        return
    person = await people.by_id(session, person_id=row.person_id)
    if person is None or not person.active or person.blocked_at is not None:
        return
    text = translate(locale_of(person.locale, person.telegram_language, default_locale),
                     spec["expired"])
    notice = outbox.Outgoing(chat_id=row.chat_id, method="sendMessage", kind=row.kind,
                             payload={"text": text, "parse_mode": "HTML"},
                             person_id=person.id, dedup_key=spec.get("expired_key"))
    await outbox.enqueue(session, messages=[notice], now=now)
