"""A turn: one update handled in one database transaction, with its replies in the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from common.context import AppContext
from common.i18n import Translator, locale_of, translator
from common.keyboards import Buttons as Buttons  # re-exported: handlers import them here
from common.keyboards import inline_keyboard as inline_keyboard
from storage.models import Person
from storage.outbox import Outgoing
from storage.storable import storable


def contact_keyboard(label: str) -> dict[str, Any]:
    """A one-button reply keyboard that shares the user's phone number."""
    return {
        "keyboard": [[{"text": label, "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


REMOVE_KEYBOARD: dict[str, Any] = {"remove_keyboard": True}


@dataclass
class Turn:
    """Everything a handler needs for one update, and what it wants to say back."""

    app: AppContext
    session: AsyncSession
    update: Update
    chat_id: int
    user_id: int
    person: Person | None
    locale: str
    now: dt.datetime
    replies: list[Outgoing] = field(default_factory=list)
    callback_text: str | None = None
    stored: list[Any] = field(default_factory=list)
    # The pressed message's keyboard was already replaced or taken off in this turn.
    keyboard_done: bool = False
    # What to start once the turn's transaction has committed (after_commit).
    committed: list[Callable[[], object]] = field(default_factory=list)

    @property
    def tr(self) -> Translator:
        """Translate a message id into the user's language (dates read against today)."""
        return translator(self.locale, today=self.today, tz=self.app.settings.tz)

    @property
    def today(self) -> dt.date:
        """Today in the county's time zone."""
        return self.now.astimezone(self.app.settings.tz).date()

    @property
    def text(self) -> str:
        """The text or caption of the message in this update ('' when none)."""
        message = self.update.effective_message
        if message is None or self.update.callback_query is not None:
            return ""
        # What the database will keep, from the start: the answer echoed is the one saved.
        return storable(message.text or message.caption or "").strip()

    @property
    def callback_data(self) -> str | None:
        """The data of a pressed button, if this update is one."""
        query = self.update.callback_query
        return query.data if query is not None else None

    def after_commit(self, work: Callable[[], object]) -> None:
        """Start `work` (a background task: an export, a report) once this turn has committed:
        never for a turn rolled back, and once for a turn run again after its group failed."""
        self.committed.append(work)

    def say(self, text: str, *, markup: dict[str, Any] | None = None) -> None:
        """Send a message to this chat (HTML)."""
        payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        self.replies.append(self._outgoing("sendMessage", payload))

    def edit(self, message_id: int, text: str, *, markup: dict[str, Any] | None = None) -> None:
        """Replace the text (and buttons) of a message the bot sent in this chat."""
        payload: dict[str, Any] = {"message_id": message_id, "text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        self.replies.append(self._outgoing("editMessageText", payload))

    def request(self, method: str, payload: dict[str, Any]) -> None:
        """Any other Bot API request about this chat, through the outbox."""
        self.replies.append(self._outgoing(method, payload))

    def notice(self, text: str) -> None:
        """A short note shown on the pressed button (answerCallbackQuery)."""
        self.callback_text = text

    def stale(self, text: str) -> None:
        """A press on a button whose step is over: the short note on the button, and the old
        keyboard taken off its message."""
        self.notice(text)
        self.drop_keyboard()

    def drop_keyboard(self) -> None:
        """Take the inline keyboard off the message whose button was pressed, once its step is
        over. Only a button that is really on that message counts: a forged press must not
        strip the keyboard of a step still under way."""
        query = self.update.callback_query
        message = query.message if query is not None else None
        markup = getattr(message, "reply_markup", None)  # an inaccessible message has none
        if query is None or message is None or markup is None or self.keyboard_done:
            return
        if any(button.callback_data == query.data
               for row in markup.inline_keyboard for button in row):
            self.keyboard_done = True
            self.request("editMessageReplyMarkup", {"message_id": message.message_id})

    @property
    def pressed_message_id(self) -> int | None:
        """The id of the message whose button was pressed."""
        query = self.update.callback_query
        if query is None or query.message is None:
            return None
        return query.message.message_id

    def tr_for(self, person: Person) -> Translator:
        """Translate into another person's language (a leader told of this turn's work)."""
        locale = locale_of(person.locale, person.telegram_language,
                           self.app.settings.default_locale)
        return translator(locale, today=self.today, tz=self.app.settings.tz)

    def tell(self, person: Person, text: str, *, key: str,
             markup: dict[str, Any] | None = None, kind: str = "notice") -> None:
        """Send a message to another person's private chat, through the outbox with this
        turn's replies (committed with the turn's work, sent once per `key`). Build `text`
        with `tr_for(person)`: it is read in their language."""
        assert person.telegram_user_id is not None  # only people reachable on Telegram
        payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        self.replies.append(Outgoing(chat_id=person.telegram_user_id, method="sendMessage",
                                     payload=payload, kind=kind, person_id=person.id,
                                     dedup_key=key[:128]))

    def _outgoing(self, method: str, payload: dict[str, Any]) -> Outgoing:
        person_id = self.person.id if self.person is not None else None
        return Outgoing(chat_id=self.chat_id, method=method, payload=payload, person_id=person_id)
