"""One bot's sending budget kept in PostgreSQL, so that every process sending for the bot
shares Telegram's rates: the sends of the last second (send_budget), and each chat's bucket
(send_pacing).

A send is taken in one round trip: a function in the connection's own temporary schema
(installed when the connection is opened, so it needs nothing of the migrations) locks the
bot's row, which makes every process's takes one after the other, then reads the chat's bucket
afresh and counts the send, or says how long to wait.

A paid send (Telegram's paid broadcast lane, `allow_paid_broadcast`) is not counted in the
bot's second: it keeps only the chat's pacing, and says how many processes share the bot, so
that each keeps its share of the paid rate on its own (common.ratelimit).

Telegram counts a send when it arrives, which may be well after its grant (a request waiting
for a connection, a process stalled). So a send is counted at its grant, and when it has come
back its process settles it (with its next take, or on its own a moment later): the bot's
second and the chat's pace then count it from when it came back, as the process's own limiter
does. Without that, sends granted before a stall of a few tenths of a second arrived together
with those granted after it, and Telegram refused one (429)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import SendPacing

HOLDER_SECONDS = 5.0  # a process that has not asked for this long no longer shares the rate


@dataclass(frozen=True)
class Limits:
    """The rates every process sending for one bot keeps together."""

    per_window: int  # sends in any one second
    per_chat: float  # a chat's sends a second, after
    burst: float  # a burst of this many
    headroom: int  # sends of a second a waiting reply keeps from scheduled ones and broadcasts
    # Telegram counts sends as they arrive, and several processes' requests take differing
    # times from the grant to Telegram: so while more than one process sends, the bot's
    # window is this much longer than a second, and a chat's next send waits this much longer
    # than its bucket asks. One process alone keeps the exact rates, as its own limiter does.
    slack: float = 0.1


@dataclass(frozen=True)
class Answer:
    """0, 0 when the send may go (it is counted); else the seconds the bot, or only this
    chat, must wait. `processes`: how many processes sent for the bot lately. `granted_at`:
    when the send was counted (the database's clock), to settle it by."""

    bot_wait: float
    chat_wait: float
    processes: int
    granted_at: float = 0.0


@dataclass(frozen=True)
class Settled:
    """A send that has come back from Telegram: its chat, when it was counted (`granted_at`
    of its take), and how many seconds ago it came back."""

    chat_id: int
    granted_at: float
    ago: float


TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.grassroots_take_send(
    p_bot bigint, p_chat bigint, p_holder text, p_reply boolean, p_paid boolean,
    p_per_window int,
    p_per_chat float8, p_burst float8, p_headroom int, p_slack float8, p_holder_seconds float8,
    p_settled_chats bigint[], p_settled_at float8[], p_settled_ago float8[],
    OUT bot_wait float8, OUT chat_wait float8, OUT processes int, OUT granted_at float8)
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8;
    v_window float8;
    v_limit int := p_per_window;
    v_sent float8[];
    v_holders jsonb;
    v_budget record;
    v_pacing record;
    v_tokens float8 := p_burst;
    v_needed float8;
BEGIN
    SELECT * INTO v_budget FROM send_budget WHERE bot_id = p_bot FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO send_budget (bot_id, sent, reply_until, holders)
            VALUES (p_bot, '[]', 0, '{}') ON CONFLICT DO NOTHING;
        SELECT * INTO v_budget FROM send_budget WHERE bot_id = p_bot FOR UPDATE;
    END IF;
    v_now := extract(epoch FROM clock_timestamp());
    SELECT coalesce(jsonb_object_agg(key, value), '{}') INTO v_holders
        FROM jsonb_each(v_budget.holders) WHERE value::float8 > v_now - p_holder_seconds;
    v_holders := v_holders || jsonb_build_object(p_holder, v_now);
    processes := (SELECT count(*) FROM jsonb_object_keys(v_holders));
    IF processes = 1 THEN
        p_slack := 0;
    END IF;
    v_window := 1.0 + p_slack;
    -- The chat's slack in tokens, never more than its bucket holds: at a fast per-chat rate
    -- (over (burst - 1) / slack a second) the bucket could never hold it, and no send to any
    -- chat would ever go.
    v_needed := least(1.0 + p_slack * p_per_chat, p_burst);
    -- Sends that have come back count from then: in the bot's second, and in their chat's
    -- pace where no later send to the chat was counted since.
    SELECT coalesce(array_agg(y ORDER BY y), '{}') INTO v_sent FROM (
        SELECT coalesce((SELECT greatest(x, v_now - s.ago)
                         FROM unnest(p_settled_at, p_settled_ago) AS s(at, ago)
                         WHERE abs(s.at - x) < 1e-6 LIMIT 1), x) AS y
        FROM (SELECT e::float8 AS x FROM jsonb_array_elements_text(v_budget.sent) e) q) r
        WHERE y > v_now - v_window;
    UPDATE send_pacing p SET at = greatest(p.at, v_now - s.ago)
        FROM unnest(p_settled_chats, p_settled_at, p_settled_ago) AS s(chat, at, ago)
        WHERE p.bot_id = p_bot AND p.chat_id = s.chat AND abs(p.at - s.at) < 1e-6;
    IF p_chat IS NULL THEN  -- settling only
        UPDATE send_budget SET sent = to_jsonb(v_sent), holders = v_holders
            WHERE bot_id = p_bot;
        bot_wait := 0;
        chat_wait := 0;
        RETURN;
    END IF;
    IF NOT p_reply AND v_budget.reply_until > v_now THEN
        v_limit := greatest(1, p_per_window - p_headroom);
    END IF;
    bot_wait := CASE WHEN p_paid THEN 0
                     WHEN cardinality(v_sent) >= v_limit
                     THEN v_sent[cardinality(v_sent) - v_limit + 1] + v_window - v_now
                     ELSE 0 END;
    SELECT * INTO v_pacing FROM send_pacing WHERE bot_id = p_bot AND chat_id = p_chat;
    IF FOUND THEN
        v_tokens := least(p_burst, v_pacing.tokens + (v_now - v_pacing.at) * p_per_chat);
    END IF;
    chat_wait := CASE WHEN v_tokens < v_needed THEN (v_needed - v_tokens) / p_per_chat
                      ELSE 0 END;
    IF bot_wait > 0 OR chat_wait > 0 THEN
        UPDATE send_budget SET sent = to_jsonb(v_sent), holders = v_holders,
            reply_until = CASE WHEN p_reply THEN v_now + 1.0 ELSE reply_until END
            WHERE bot_id = p_bot;
        RETURN;
    END IF;
    UPDATE send_budget SET holders = v_holders,
        sent = CASE WHEN p_paid THEN to_jsonb(v_sent) ELSE to_jsonb(v_sent || v_now) END
        WHERE bot_id = p_bot;
    INSERT INTO send_pacing (bot_id, chat_id, tokens, at)
        VALUES (p_bot, p_chat, v_tokens - 1, v_now)
        ON CONFLICT (bot_id, chat_id) DO UPDATE SET tokens = excluded.tokens, at = excluded.at;
    granted_at := v_now;
END $$
"""

TAKE = text(
    "SELECT bot_wait, chat_wait, processes, granted_at FROM pg_temp.grassroots_take_send("
    ":bot, :chat, :holder, :reply, :paid, :per_window, :per_chat, :burst, :headroom, :slack, "
    ":holder_seconds, :settled_chats, :settled_at, :settled_ago)")


async def install(connection: AsyncConnection) -> None:
    """Put the take function into this connection's temporary schema (once a connection)."""
    await connection.exec_driver_sql(TAKE_FUNCTION)


async def take(
    connection: AsyncConnection, *, bot_id: int, chat_id: int | None, holder: str, reply: bool,
    limits: Limits, paid: bool = False, settled: Sequence[Settled] = (),
) -> Answer:
    """Settle the sends that have come back, then take a send for this chat (None: settle
    only) from the bot's shared budget, if both allow it now; a reply refused marks that one
    waits, and for a second other sends leave it `headroom`; a `paid` send keeps the chat's
    pacing only, outside the bot's second.
    `connection` commits each statement (AUTOCOMMIT) and has `install`ed the function."""
    row = (await connection.execute(TAKE, {
        "bot": bot_id, "chat": chat_id, "holder": holder, "reply": reply, "paid": paid,
        "per_window": limits.per_window, "per_chat": limits.per_chat, "burst": limits.burst,
        "headroom": limits.headroom, "slack": limits.slack,
        "holder_seconds": HOLDER_SECONDS,
        "settled_chats": [s.chat_id for s in settled],
        "settled_at": [s.granted_at for s in settled],
        "settled_ago": [s.ago for s in settled]})).one()
    return Answer(float(row.bot_wait), float(row.chat_wait), int(row.processes),
                  float(row.granted_at or 0.0))


async def sweep(session: AsyncSession, *, bot_id: int, idle: float) -> int:
    """Remove the buckets of chats that sent nothing for `idle` seconds (full again)."""
    now = func.extract("epoch", func.clock_timestamp())
    result = await session.execute(delete(SendPacing).where(
        SendPacing.bot_id == bot_id, SendPacing.at < now - idle))
    return int(result.rowcount)  # type: ignore[attr-defined]
