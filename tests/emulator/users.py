"""Emulated Telegram users: what they do becomes updates for the bot."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from .html import utf16_len

if TYPE_CHECKING:
    from .server import BotApiEmulator

# A bot command as Telegram's clients mark it: "/word" or "/word@botname" at a word start.
_COMMAND = re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/])")
_TINY_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """bot_command entities for every command in `text` (offsets in UTF-16 units)."""
    entities = [
        {"type": "bot_command", "offset": utf16_len(text[:m.start()]),
         "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]
    return entities or None


class EmuUser:
    """A user talking to the bot in a private chat (chat id == user id)."""

    def __init__(self, emu: BotApiEmulator, user_id: int, first_name: str,
                 last_name: str | None = None, username: str | None = None,
                 language_code: str | None = None) -> None:
        self.emu = emu
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    @property
    def chat_id(self) -> int:
        """The private chat with the bot."""
        return self.id

    @property
    def json(self) -> dict[str, Any]:
        """The User object Telegram sends for this user."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    def _message(self, **content: Any) -> int:
        message = self.emu.world.new_message(self.id, self.json, **content)
        return self.emu.push_update({"message": message})

    def send(self, text: str) -> int:
        """A text message; commands get bot_command entities like Telegram adds."""
        return self._message(text=text, entities=command_entities(text))

    def contact(self, phone: str = "+8613800138000", user_id: int | None = None,
                first_name: str | None = None) -> int:
        """Share a contact: own by default; another user_id, or 0 for none, fakes someone else's."""
        contact: dict[str, Any] = {"phone_number": phone,
                                   "first_name": first_name or self.first_name}
        owner = self.id if user_id is None else user_id
        if owner:
            contact["user_id"] = owner
        return self._message(contact=contact)

    def press(self, callback_data: str, message_id: int | None = None, *,
              strict: bool = False) -> int:
        """Press an inline button on a bot message (default: the newest one with a keyboard).

        strict=True also requires a button with this callback_data on that message.
        """
        world = self.emu.world
        if message_id is None:
            stored = world.last_inline_message(self.id)
        else:
            stored = world.messages.get((self.id, message_id))
        if stored is None:
            raise LookupError(f"no bot message to press a button on in chat {self.id} "
                              f"(message_id={message_id})")
        offered = [b.get("callback_data") for row in stored.inline_keyboard or [] for b in row]
        if strict and callback_data not in offered:
            raise LookupError(f"{callback_data!r} is not on message "
                              f"{stored.message['message_id']}: {offered}")
        query = {"from": self.json, "message": stored.message,
                 "chat_instance": str(abs(hash((world.bot["id"], self.id)))),
                 "data": callback_data}
        query = {"id": world.issue_callback_query(query), **query}
        return self.emu.push_update({"callback_query": query})

    def document(self, filename: str, content: bytes, mime_type: str = "text/csv",
                 caption: str | None = None) -> int:
        """Send a file; the bot can getFile and download it."""
        stored = self.emu.world.add_file(content, filename, mime_type, "documents")
        return self._message(document=stored.as_document(), caption=caption)

    def photo(self, content: bytes = _TINY_JPEG, caption: str | None = None) -> int:
        """Send a photo (a thumbnail and a full size, like Telegram)."""
        stored = self.emu.world.add_file(content, "photo.jpg", "image/jpeg", "photos")
        return self._message(photo=stored.as_photo(), caption=caption)

    def location(self, latitude: float, longitude: float,
                 live_period: int | None = None) -> int:
        """Share a location; with `live_period` (seconds) a live one, which then moves."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        return self._message(location=location)

    def move(self, message_id: int, latitude: float, longitude: float) -> int:
        """A live location of this user moves: Telegram edits the message (edited_message)."""
        stored = self.emu.world.messages.get((self.id, message_id))
        location = stored.message.get("location") if stored is not None else None
        if stored is None or stored.from_bot or not location or "live_period" not in location:
            raise LookupError(f"user {self.id} has no live location {message_id}")
        stored.message = {**stored.message, "edit_date": int(time.time()),
                          "location": {**location, "latitude": latitude,
                                       "longitude": longitude}}
        return self.emu.push_update({"edited_message": stored.message})

    def sticker(self, emoji: str = "👍") -> int:
        """Send a sticker."""
        stored = self.emu.world.add_file(b"RIFF-sticker", "sticker.webp", "image/webp",
                                         "stickers")
        sticker = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._message(sticker=sticker)

    def edited(self, text: str, message_id: int) -> int:
        """Edit an earlier text message of this user (an edited_message update)."""
        stored = self.emu.world.messages.get((self.id, message_id))
        if stored is None or stored.from_bot:
            raise LookupError(f"user {self.id} has no message {message_id} to edit")
        stored.message = {**stored.message, "text": text, "edit_date": int(time.time()),
                          "entities": command_entities(text)}
        if stored.message["entities"] is None:
            del stored.message["entities"]
        return self.emu.push_update({"edited_message": stored.message})
