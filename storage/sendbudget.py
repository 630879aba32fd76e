"""One bot's sending budget kept in PostgreSQL, so that every process sending for the bot
shares Telegram's rates: the sends of the last second (send_budget), and each chat's bucket
(send_pacing).

Sends are taken in one round trip, several at once when several may go: a function in the
connection's own temporary schema (installed when the connection is opened, so it needs
nothing of the migrations) locks the bot's row, which makes every process's takes one after
the other, then for each send reads its chat's bucket afresh and counts the send, or says how
long to wait.

A paid send (Telegram's paid broadcast lane, `allow_paid_broadcast`) is not counted in the
bot's second: it keeps only the chat's pacing, and says how many processes share the bot, so
that each keeps its share of the paid rate on its own (common.ratelimit).

Telegram counts a send when it arrives, which may be well after its grant (a request waiting
for a connection, a process stalled). So a send is counted at its grant, and when it has come
back its process settles it (with its next take, or on its own a moment later): the bot's
second and the chat's pace then count it from when it came back, as the process's own limiter
does. Without that, sends granted before a stall of a few tenths of a second arrived together
with those granted after it, and Telegram refused one (429).

A process that sends alone, and busily, need not ask before each send: its own limiter keeps
the exact rates then. So when it asks for one and nobody else has sent lately, a take grants it
a lease: for that long it sends on its own limiter and asks nothing, then asks again (a
round trip a second where a busy process made dozens, each a locked row and a function call
on the database's CPU). Its sends under the lease are counted nowhere here, so any other
process that asks meanwhile is told to wait until Telegram can have forgotten them: the lease's
end, then a second or a chat's whole burst, whichever is longer (`after`). It is counted as a
sender from that ask on, so the lease is not renewed, and every send after it is counted
here again. A process that shares the bot at all never gets one."""

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

    @property
    def after_lease(self) -> float:
        """How long after a lease the sends made under it may still count at Telegram: its
        second, or a chat's burst spent and earned back, and the slack."""
        return max(1.0, self.burst / self.per_chat) + self.slack


@dataclass(frozen=True)
class Answer:
    """0, 0 when the send may go (it is counted); else the seconds the bot, or only this
    chat, must wait. `processes`: how many processes sent for the bot lately. `granted_at`:
    when the send was counted (the database's clock), to settle it by. `lease`: the seconds
    from the take for which the process may send alone on its own limiter (0: none)."""

    bot_wait: float
    chat_wait: float
    processes: int
    granted_at: float = 0.0
    lease: float = 0.0


@dataclass(frozen=True)
class Settled:
    """A send that has come back from Telegram: its chat, when it was counted (`granted_at`
    of its take), and how many seconds ago it came back."""

    chat_id: int
    granted_at: float
    ago: float


TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.grassroots_take_sends(
    p_bot bigint, p_chats bigint[], p_holder text, p_replies boolean[], p_paids boolean[],
    p_per_window int,
    p_per_chat float8, p_burst float8, p_headroom int, p_slack float8, p_holder_seconds float8,
    p_settled_chats bigint[], p_settled_at float8[], p_settled_ago float8[],
    p_lease float8, p_after float8)
RETURNS TABLE (bot_wait float8, chat_wait float8, processes int, granted_at float8,
               lease float8)
LANGUAGE plpgsql AS $$
DECLARE
    v_now float8;
    v_at float8;
    v_window float8;
    v_limit int;
    v_sent float8[];
    v_holders jsonb;
    v_budget record;
    v_pacing record;
    v_processes int;
    v_reply_until float8;
    v_tokens float8;
    v_needed float8;
    v_bot_wait float8;
    v_chat_wait float8;
    v_lease float8;
    i int;
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
    v_processes := (SELECT count(*) FROM jsonb_object_keys(v_holders));
    IF v_processes = 1 THEN
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
    v_reply_until := v_budget.reply_until;
    IF v_budget.lease_holder IS DISTINCT FROM p_holder
            AND v_budget.lease_until + p_after > v_now THEN
        -- Another process sends, or sent, alone under a lease, its sends counted nowhere
        -- here: every send waits until Telegram has forgotten them. This process now counts
        -- as a sender, so that lease is not renewed.
        UPDATE send_budget SET sent = to_jsonb(v_sent), holders = v_holders
            WHERE bot_id = p_bot;
        FOR i IN 1 .. greatest(1, coalesce(cardinality(p_chats), 0)) LOOP
            RETURN QUERY SELECT v_budget.lease_until + p_after - v_now, 0::float8,
                greatest(v_processes, 2), 0::float8, 0::float8;
        END LOOP;
        RETURN;
    END IF;
    -- A lease to the process that asks for one and is the only one sending lately.
    v_lease := CASE WHEN p_lease > 0 AND v_processes = 1 THEN p_lease ELSE 0 END;
    -- The sends asked for, in order, each as if asked alone after the one before.
    FOR i IN 1 .. coalesce(cardinality(p_chats), 0) LOOP
        -- Sends granted together are counted 10 µs apart, so that each settles on its own.
        v_at := v_now + (i - 1) * 1e-5;
        v_limit := p_per_window;
        IF NOT p_replies[i] AND v_reply_until > v_now THEN
            v_limit := greatest(1, p_per_window - p_headroom);
        END IF;
        v_bot_wait := CASE WHEN p_paids[i] THEN 0
                           WHEN cardinality(v_sent) >= v_limit
                           THEN v_sent[cardinality(v_sent) - v_limit + 1] + v_window - v_now
                           ELSE 0 END;
        v_tokens := p_burst;
        SELECT * INTO v_pacing FROM send_pacing WHERE bot_id = p_bot AND chat_id = p_chats[i];
        IF FOUND THEN
            v_tokens := least(p_burst, v_pacing.tokens + (v_at - v_pacing.at) * p_per_chat);
        END IF;
        v_chat_wait := CASE WHEN v_tokens < v_needed THEN (v_needed - v_tokens) / p_per_chat
                            ELSE 0 END;
        IF v_bot_wait > 0 OR v_chat_wait > 0 THEN
            IF p_replies[i] THEN
                v_reply_until := v_now + 1.0;  -- a reply waits: the others leave it headroom
            END IF;
            RETURN QUERY SELECT v_bot_wait, v_chat_wait, v_processes, 0::float8, v_lease;
            CONTINUE;
        END IF;
        IF NOT p_paids[i] THEN
            v_sent := v_sent || v_at;
        END IF;
        INSERT INTO send_pacing (bot_id, chat_id, tokens, at)
            VALUES (p_bot, p_chats[i], v_tokens - 1, v_at)
            ON CONFLICT (bot_id, chat_id) DO UPDATE SET tokens = excluded.tokens, at = excluded.at;
        RETURN QUERY SELECT 0::float8, 0::float8, v_processes, v_at, v_lease;
    END LOOP;
    UPDATE send_budget SET sent = to_jsonb(v_sent), holders = v_holders,
        reply_until = v_reply_until,
        lease_holder = CASE WHEN v_lease > 0 THEN p_holder ELSE lease_holder END,
        lease_until = CASE WHEN v_lease > 0 THEN v_now + v_lease ELSE lease_until END
        WHERE bot_id = p_bot;
    IF coalesce(cardinality(p_chats), 0) = 0 THEN  -- settling only
        RETURN QUERY SELECT 0::float8, 0::float8, v_processes, 0::float8, v_lease;
    END IF;
END $$
"""

TAKE = text(
    "SELECT bot_wait, chat_wait, processes, granted_at, lease "
    "FROM pg_temp.grassroots_take_sends("
    ":bot, :chats, :holder, :replies, :paids, :per_window, :per_chat, :burst, :headroom, "
    ":slack, :holder_seconds, :settled_chats, :settled_at, :settled_ago, :lease, :after)")


@dataclass(frozen=True)
class Ask:
    """A send asked for: its chat, whether it is a reply (which others leave headroom), and
    whether it goes in the paid lane (outside the bot's second)."""

    chat_id: int
    reply: bool = True
    paid: bool = False


async def install(connection: AsyncConnection) -> None:
    """Put the take function into this connection's temporary schema (once a connection)."""
    await connection.exec_driver_sql(TAKE_FUNCTION)


async def take(
    connection: AsyncConnection, *, bot_id: int, asks: Sequence[Ask], holder: str,
    limits: Limits, settled: Sequence[Settled] = (), lease: float = 0.0,
) -> list[Answer]:
    """Settle the sends that have come back, then take the sends asked for (none: settle
    only) from the bot's shared budget in one round trip, in order, each if both the bot's
    second and its chat allow it now; an answer for each (for none, one with `processes`).
    A reply refused marks that one waits, and for a second other sends leave it `headroom`;
    a `paid` send keeps the chat's pacing only, outside the bot's second. `lease`: the
    seconds of sending alone asked for, granted if no other process sent lately.
    `connection` commits each statement (AUTOCOMMIT) and has `install`ed the function."""
    rows = (await connection.execute(TAKE, {
        "bot": bot_id, "chats": [ask.chat_id for ask in asks], "holder": holder,
        "replies": [ask.reply for ask in asks], "paids": [ask.paid for ask in asks],
        "per_window": limits.per_window, "per_chat": limits.per_chat, "burst": limits.burst,
        "headroom": limits.headroom, "slack": limits.slack,
        "holder_seconds": HOLDER_SECONDS,
        "settled_chats": [s.chat_id for s in settled],
        "settled_at": [s.granted_at for s in settled],
        "settled_ago": [s.ago for s in settled],
        "lease": lease, "after": limits.after_lease})).all()
    return [Answer(float(row.bot_wait), float(row.chat_wait), int(row.processes),
                   float(row.granted_at or 0.0), float(row.lease or 0.0)) for row in rows]


async def sweep(session: AsyncSession, *, bot_id: int, idle: float) -> int:
    """Remove the buckets of chats that sent nothing for `idle` seconds (full again)."""
    now = func.extract("epoch", func.clock_timestamp())
    result = await session.execute(delete(SendPacing).where(
        SendPacing.bot_id == bot_id, SendPacing.at < now - idle))
    return int(result.rowcount)  # type: ignore[attr-defined]
