"""Every update enters here: one transaction, exactly once, replies through the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ContextTypes

from common.context import AppContext
from common.delivery import deliver_rows
from common.i18n import locale_of, normalise_locale, translate
from common.ratelimit import REPLY
from handlers import checkin, dialogs, roster, start
from handlers.authority import button_refusal
from handlers.base import Turn
from handlers.groupcommit import GroupCommitter, RunAlone
from handlers.registry import CALLBACKS, COMMANDS
from storage import dialogs as drafts
from storage import outbox, people, updates
from storage.textsplit import cut

log = logging.getLogger(__name__)

# last_seen_at serves "silent for days": refreshing it once a minute spares a row update a turn.
LAST_SEEN_PRECISION = dt.timedelta(minutes=1)
# The application's GroupCommitter, in its bot_data: one a process (an Application).
GROUPS = "grassroots.groups"
# In bot_data: update id -> a future whoever confirms the update to Telegram waits on
# (bot.inflight), done once the update's turn committed.
TURNS_SETTLED = "grassroots.turns_settled"
_CLAIMED = "router.claimed"  # in a group's session: the update ids it claimed that were new
_REPLIES = "router.replies"  # in a group's session: the replies are stored at the group's end


def parse_command(text: str) -> tuple[str, str] | None:
    """('visit', 'args') for '/visit@bot args'; None when the text is no command."""
    if not text.startswith("/"):
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name, args.strip()) if name else None


async def handle_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one python-telegram-bot callback: run a turn, then send its replies."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or chat.type != "private":
        return  # the bot works in private chats only; groups and channels are ignored
    app = AppContext.of(context)
    request = Request(app, update, chat.id, user.id, user.language_code)
    try:
        turn = await _committed_turn(context, request)
    except IntegrityError:
        # A constraint refused a write: a defect or a race a handler did not foresee, not an
        # outage, so the user is not told to try again later.
        log.exception("update %s broke a constraint", update.update_id)
        await _apologise(context, update, user.language_code, app, "common.error")
        return
    except (OperationalError, DBAPIError, OSError) as exc:
        log.error("database unavailable for update %s: %s", update.update_id, type(exc).__name__)
        await _apologise(context, update, user.language_code, app, "common.temporarily_unavailable")
        return
    except Exception:
        # The transaction rolled back: the draft is as it was before this message.
        log.exception("update %s failed", update.update_id)
        await _apologise(context, update, user.language_code, app, "common.error")
        return
    _settled(context, update)
    if turn is None:
        return  # processed before: its button press was answered then
    for work in turn.committed:
        work()
    await _answer_callback(context, update, turn.callback_text)
    if turn.stored:
        await deliver_rows(app, context.bot, turn.stored, mark_later=True, lane=REPLY)


def _settled(context: Any, update: Update) -> None:
    """Tell whoever waits to confirm this update (bot.inflight) that its turn committed: its
    replies are in the outbox, whatever happens to this process while they go out."""
    waiting = context.bot_data.get(TURNS_SETTLED)
    settled = waiting.pop(update.update_id, None) if waiting else None
    if settled is not None and not settled.done():
        settled.set_result(None)


@dataclass(frozen=True)
class Request:
    """An update to run a turn for, and who sent it."""

    app: AppContext
    update: Update
    chat_id: int
    user_id: int
    language: str | None


async def _committed_turn(context: Any, request: Request) -> Turn | None:
    """The turn, committed in a group with the turns of other chats that arrived meanwhile,
    or alone in its own transaction when its group failed."""
    committer = context.bot_data.get(GROUPS)
    if committer is None:
        committer = context.bot_data[GROUPS] = GroupCommitter(request.app.db, _turn_in,
                                                              first=_open_group,
                                                              last=_close_group)
    try:
        return await committer.run(request.chat_id, request)  # type: ignore[no-any-return]
    except RunAlone:
        async with request.app.db.write() as session:
            return await _turn_in(session, request)


async def _open_group(session: AsyncSession, requests: list[Request]) -> None:
    """What each turn of a group would read first, read for all of them in one statement
    each: the updates claimed (the turns read which were new from the session), then the
    people of the new ones, locked, and their chats' open dialogs. Ids twice in a group (never
    from Telegram) are left to the turns to claim one by one, so that only the first runs."""
    session.info[_REPLIES] = True  # the turns leave their replies to _close_group
    ids = [request.update.update_id for request in requests]
    if len(set(ids)) != len(ids):
        return
    claimed = session.info[_CLAIMED] = await updates.mark_all_processed(
        session, update_ids=ids, now=requests[0].app.clock.now())
    new = [request for request in requests if request.update.update_id in claimed]
    if new:
        await people.load_bound(session, telegram_user_ids=[r.user_id for r in new], lock=True)
        await drafts.load(session, chat_ids=[r.chat_id for r in new])


async def _close_group(session: AsyncSession, turns: list[Turn | None]) -> None:
    """The replies of a group's turns stored in one statement, each turn's rows in order."""
    done = [turn for turn in turns if turn is not None]
    if not done:
        return
    stored = await outbox.enqueue_each(
        session, batches=[(turn.replies, turn.now) for turn in done], claim=True,
        claim_for=_lease(done[0].app))
    for turn, rows in zip(done, stored, strict=True):
        turn.stored = rows


async def _turn_in(session: AsyncSession, request: Request) -> Turn | None:
    """Run the update's turn in the session's transaction; None if it was processed before."""
    app, update, language = request.app, request.update, request.language
    now = app.clock.now()
    claimed: set[int] | None = session.info.get(_CLAIMED)
    if claimed is not None:
        if update.update_id not in claimed:
            return None
    elif not await updates.mark_processed(session, update_id=update.update_id, now=now):
        return None
    person = await people.by_telegram_id(session, telegram_user_id=request.user_id, lock=True)
    locale = locale_of(person.locale if person else None, language, app.settings.default_locale)
    turn = Turn(app, session, update, request.chat_id, request.user_id, person, locale, now)
    if person is not None:
        if person.last_seen_at is None or now - person.last_seen_at >= LAST_SEEN_PRECISION:
            person.last_seen_at = now
        # Set only when it changed: any set marks the person modified, and the turn's first
        # query would then run a whole unit of work to find nothing to write.
        if person.telegram_language != language:
            person.telegram_language = language
        people.unblock(person)  # they wrote, so they have unblocked the bot
    await dispatch(turn)
    if session.info.get(_REPLIES):
        return turn  # in a group: stored with the others' at its end
    turn.stored = await outbox.enqueue(session, messages=turn.replies, now=now, claim=True,
                                       claim_for=_lease(app))
    return turn


def _lease(app: AppContext) -> dt.timedelta:
    """How long a turn's replies stay claimed by this process, which sends them after its
    commit: a lease, so that if the process dies before sending, the sender takes over."""
    return dt.timedelta(seconds=app.settings.outbox_claim_seconds)


async def dispatch(turn: Turn) -> None:
    """Send the update to registration, an open dialog, a command or a button handler."""
    person = turn.person
    if person is None:
        await start.unregistered(turn)
        return
    if not person.active:
        await dialogs.discard(turn)
        turn.say(turn.tr("start.deactivated"))
        return
    # A draft the person may no longer go on with is closed at their next update of any kind.
    closed = await dialogs.close_refused(turn)
    data = turn.callback_data
    if data is not None:
        await _on_button(turn, data)
        return
    if turn.update.edited_message is not None:
        if turn.update.edited_message.location is not None:
            # A live location moving: Telegram edits it every few seconds, so never a reply.
            await checkin.on_live_location(turn)
            return
        # An edit of an earlier message is no answer to the question asked now.
        turn.say(turn.tr("common.edit_not_read"))
        return
    parsed = parse_command(turn.text)
    if parsed is not None:
        if closed and parsed[0] in dialogs.DIALOG_COMMANDS:
            return  # /back or /cancel of the draft just closed: the closing said it all
        if not await dialogs.handles_command(turn, parsed[0]):
            await _on_command(turn, *parsed)
        return
    if closed:
        return  # an answer to the draft just closed
    if (await dialogs.on_input(turn) or await checkin.on_location(turn)
            or await roster.on_bare_document(turn)):
        return
    turn.say(turn.tr("common.not_understood"))


async def _on_command(turn: Turn, name: str, args: str) -> None:
    assert turn.person is not None
    command = COMMANDS.get(name)
    if command is None:
        turn.say(turn.tr("common.unknown_command"))
    elif turn.person.role not in command.roles:
        turn.say(turn.tr("common.not_for_your_role"))
    else:
        await command.run(turn, args)


async def _on_button(turn: Turn, data: str) -> None:
    prefix, _, rest = data.partition(":")
    button = CALLBACKS.get(prefix)
    if button is None:
        turn.stale(turn.tr("common.stale_button"))
        return
    # Who may press it, and whether it was offered before their role or place changed, is
    # decided here for every button, so a new one cannot forget it; its keyboard is old.
    refusal = button_refusal(turn, button.roles, button.refusal)
    if refusal is not None:
        turn.stale(refusal)
        return
    await button.run(turn, rest)


# answerCallbackQuery takes 0-200 characters, counted as Telegram counts (UTF-16 units).
NOTICE_LIMIT = 200


def _notice(text: str) -> str:
    return cut(text, NOTICE_LIMIT, None)


async def _answer_callback(context: Any, update: Update, text: str | None) -> None:
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text=_notice(text) if text else None)
    except Exception as exc:  # an expired query must not stop the turn's replies
        log.info("answerCallbackQuery failed: %s", exc)


async def _apologise(
    context: Any, update: Update, language: str | None, app: AppContext, msgid: str
) -> None:
    locale = normalise_locale(language, app.settings.default_locale)
    text = translate(locale, msgid)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text=_notice(text))
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text, parse_mode="HTML")
    except Exception as exc:
        log.warning("could not apologise: %s", exc)
