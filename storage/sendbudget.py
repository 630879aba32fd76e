"""One bot's sending budget kept in PostgreSQL, so that every process sending for the bot
shares Telegram's rates: the sends of the last second (send_budget), and each chat's bucket
(send_pacing).

A send is taken in one round trip: a function in the connection's own temporary schema
(installed when the connection is opened, so it needs nothing of the migrations) locks the
bot's row, which makes every process's takes one after the other, then reads the chat's bucket
afresh and counts the send, or says how long to wait.

A paid send (Telegram's paid broadcast lane, `allow_paid_broadcast`) is not counted in the
bot's second: it keeps only the chat's pacing, and says how many processes share the bot, so
that each keeps its share of the paid rate on its own (common.ratelimit)."""

from __future__ import annotations

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
    chat, must wait. `processes`: how many processes sent for the bot lately."""

    bot_wait: float
    chat_wait: float
    processes: int


TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.grassroots_take_send(
    p_bot bigint, p_chat bigint, p_holder text, p_reply boolean, p_paid boolean,
    p_per_window int,
    p_per_chat float8, p_burst float8, p_headroom int, p_slack float8, p_holder_seconds float8,
    OUT bot_wait float8, OUT chat_wait float8, OUT processes int)
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
    SELECT coalesce(array_agg(x ORDER BY x), '{}') INTO v_sent
        FROM (SELECT e::float8 AS x FROM jsonb_array_elements_text(v_budget.sent) e) q
        WHERE x > v_now - v_window;
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
END $$
"""

TAKE = text(
    "SELECT bot_wait, chat_wait, processes FROM pg_temp.grassroots_take_send("
    ":bot, :chat, :holder, :reply, :paid, :per_window, :per_chat, :burst, :headroom, :slack, "
    ":holder_seconds)")


async def install(connection: AsyncConnection) -> None:
    """Put the take function into this connection's temporary schema (once a connection)."""
    await connection.exec_driver_sql(TAKE_FUNCTION)


async def take(
    connection: AsyncConnection, *, bot_id: int, chat_id: int, holder: str, reply: bool,
    limits: Limits, paid: bool = False,
) -> Answer:
    """Take a send for this chat from the bot's shared budget, if both allow it now; a reply
    refused marks that one waits, and for a second other sends leave it `headroom`; a `paid`
    send keeps the chat's pacing only, outside the bot's second.
    `connection` commits each statement (AUTOCOMMIT) and has `install`ed the function."""
    row = (await connection.execute(TAKE, {
        "bot": bot_id, "chat": chat_id, "holder": holder, "reply": reply, "paid": paid,
        "per_window": limits.per_window, "per_chat": limits.per_chat, "burst": limits.burst,
        "headroom": limits.headroom, "slack": limits.slack,
        "holder_seconds": HOLDER_SECONDS})).one()
    return Answer(float(row.bot_wait), float(row.chat_wait), int(row.processes))


async def sweep(session: AsyncSession, *, bot_id: int, idle: float) -> int:
    """Remove the buckets of chats that sent nothing for `idle` seconds (full again)."""
    now = func.extract("epoch", func.clock_timestamp())
    result = await session.execute(delete(SendPacing).where(
        SendPacing.bot_id == bot_id, SendPacing.at < now - idle))
    return int(result.rowcount)  # type: ignore[attr-defined]
