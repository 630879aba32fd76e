"""Telegram's side of the conversation: chats, messages, files, callback queries, commands."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoredFile:
    """A file Telegram holds: sent by a user or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None

    def as_document(self) -> dict[str, Any]:
        """The Document object for this file."""
        doc: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                               "file_size": len(self.content)}
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_photo(self) -> list[dict[str, Any]]:
        """PhotoSize objects: Telegram always offers a thumbnail and the full size."""
        base = {"file_unique_id": self.file_unique_id, "file_size": len(self.content)}
        return [
            {**base, "file_id": self.file_id + "_s", "file_unique_id": self.file_unique_id + "s",
             "width": 90, "height": 68},
            {**base, "file_id": self.file_id, "width": 800, "height": 600},
        ]


@dataclass
class StoredMessage:
    """A message in a chat: its current Message JSON and, for the bot's, the raw markup."""

    message: dict[str, Any]
    from_bot: bool
    raw_text: str | None = None
    parse_mode: str | None = None

    @property
    def inline_keyboard(self) -> list | None:
        """The message's inline keyboard rows, if it has one."""
        return (self.message.get("reply_markup") or {}).get("inline_keyboard")


def scope_key(scope: dict[str, Any] | None) -> str:
    """A BotCommandScope as a canonical JSON string (default scope when None)."""
    scope = dict(scope or {"type": "default"})
    if "chat_id" in scope and isinstance(scope["chat_id"], str) and \
            scope["chat_id"].lstrip("-").isdigit():
        scope["chat_id"] = int(scope["chat_id"])  # "123" and 123 name the same chat
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


@dataclass
class World:
    """Everything Telegram knows besides the update queue."""

    bot: dict[str, Any]
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int | str, str] = field(default_factory=dict)
    messages: dict[tuple[int | str, int], StoredMessage] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    callback_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    answered_queries: set[str] = field(default_factory=set)
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[int | str | None, dict[str, Any]] = field(default_factory=dict)
    webhook_url: str = ""
    _last_message_id: dict[int | str, int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def knows_chat(self, chat_id: int | str) -> bool:
        """Whether the chat exists: a user who wrote to the bot or a group seen."""
        return chat_id in self.users or chat_id in self.groups

    def chat_json(self, chat_id: int | str) -> dict[str, Any]:
        """The Chat object for a chat id (private chats take the user's names)."""
        if chat_id in self.users:
            user = self.users[chat_id]
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            chat.update({k: user[k] for k in ("last_name", "username") if k in user})
            return chat
        kind = "supergroup" if str(chat_id).startswith(("-100", "@")) else "group"
        return {"id": chat_id, "type": kind, "title": self.groups.get(chat_id, f"Group {chat_id}")}

    def new_message(self, chat_id: int | str, sender: dict[str, Any], **content: Any) -> dict:
        """Create, store and return a Message in `chat_id` from `sender`."""
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {"message_id": message_id, "from": sender, "chat": self.chat_json(chat_id),
                   "date": int(time.time())}
        message.update({k: v for k, v in content.items() if v is not None})
        self.messages[(chat_id, message_id)] = StoredMessage(
            message, from_bot=sender.get("id") == self.bot["id"])
        return message

    def add_file(self, content: bytes, filename: str | None, mime_type: str | None,
                 folder: str) -> StoredFile:
        """Store a file and give it Telegram-looking ids and a download path."""
        number = next(self._ids)
        digest = hashlib.sha1(content + str(number).encode()).hexdigest()
        extension = filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin"
        stored = StoredFile(
            file_id=f"BQACAgIAAx{digest[:24]}", file_unique_id=f"AgAD{digest[24:34]}",
            file_path=f"{folder}/file_{number}.{extension}", content=content,
            filename=filename, mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files[stored.file_id + "_s"] = stored  # the photo thumbnail id
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        """The stored file whose download path is `path`."""
        return next((f for f in self.files.values() if f.file_path == path), None)

    def last_inline_message(self, chat_id: int | str) -> StoredMessage | None:
        """The newest message from the bot in the chat that still has an inline keyboard."""
        candidates = [(mid, m) for (cid, mid), m in self.messages.items()
                      if cid == chat_id and m.from_bot and m.inline_keyboard]
        return max(candidates, key=lambda item: item[0])[1] if candidates else None

    def issue_callback_query(self, query: dict[str, Any]) -> str:
        """Give a callback query a fresh id and remember it for answerCallbackQuery."""
        query_id = str(4_000_000_000_000_000_000 + next(self._ids))
        self.callback_queries[query_id] = query
        return query_id
