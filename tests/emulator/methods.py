"""What each Bot API method does to the emulated world, once its parameters passed the spec."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .html import to_plain
from .records import Sent, Upload
from .world import StoredFile, StoredMessage

if TYPE_CHECKING:
    from .server import BotApiEmulator

Params = dict[str, Any]
Handler = Callable[["BotApiEmulator", Params], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}

NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
QUERY_INVALID = ("Bad Request: query is too old and response timeout expired or query ID is "
                 "invalid")


class ApiError(Exception):
    """An error answer; `violation` marks it as a bug in the bot, not a runtime condition."""

    def __init__(self, status: int, description: str, *, violation: bool = False,
                 param: str = "", detail: str = "") -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.violation = violation
        self.param = param
        self.detail = detail or description.removeprefix("Bad Request: ")


class Disconnect(Exception):
    """Close the connection instead of answering (the emulator went down)."""


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for Bot API methods."""
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = handler
        return handler
    return register


def chat_of(emu: BotApiEmulator, params: Params) -> int | str:
    chat_id = params["chat_id"]
    if not emu.world.knows_chat(chat_id):
        # Telegram answers so for users who never started the bot; register them with user().
        raise ApiError(400, "Bad Request: chat not found", param="chat_id")
    return chat_id


def _inline_markup(params: Params) -> dict | None:
    """Telegram echoes only inline keyboards in the returned Message."""
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def deliver(emu: BotApiEmulator, method: str, params: Params, raw: str | None,
             parse_mode: str | None, **content: Any) -> dict:
    """Put a bot message into the chat and record it in emu.sent."""
    chat_id = chat_of(emu, params)
    world = emu.world
    reply_to = (params.get("reply_parameters") or {}).get("message_id")
    replied = world.messages.get((chat_id, reply_to)) if reply_to else None
    message = world.new_message(
        chat_id, world.bot, reply_markup=_inline_markup(params),
        reply_to_message=replied.message if replied else None, **content)
    stored = world.messages[(chat_id, message["message_id"])]
    stored.raw_text, stored.parse_mode = raw, parse_mode
    emu.sent.append(Sent(method, chat_id, message["message_id"], raw, parse_mode,
                         params.get("reply_markup"), params))
    return message


@handles("sendMessage")
async def send_message(emu: BotApiEmulator, p: Params) -> dict:
    """Deliver a text message."""
    plain = to_plain(p["text"], p.get("parse_mode"))
    return deliver(emu, "sendMessage", p, p["text"], p.get("parse_mode"), text=plain)


def _input_file(emu: BotApiEmulator, value: Upload | str, folder: str, param: str) -> StoredFile:
    """Resolve an InputFile parameter: an upload, a known file_id or an HTTP URL."""
    world = emu.world
    if isinstance(value, Upload):
        if not value.content:
            raise ApiError(400, "Bad Request: file must be non-empty", violation=True,
                           param=param)
        return world.add_file(value.content, value.filename, value.mime_type, folder)
    if value in world.files:
        return world.files[value]
    if value.startswith(("http://", "https://")):
        name = value.rstrip("/").rsplit("/", 1)[-1] or "file"
        return world.add_file(b"", name, None, folder)
    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified",
                   violation=True, param=param)


async def _send_media(emu: BotApiEmulator, method: str, p: Params, param: str) -> dict:
    chat_of(emu, p)
    value = p[param]
    stored = _input_file(emu, value, f"{param}s", param)
    if isinstance(value, Upload):
        emu.documents.append((p["chat_id"], value.filename, value.content, p))
    caption = p.get("caption")
    plain = to_plain(caption, p.get("parse_mode")) if caption is not None else None
    media = stored.as_photo() if param == "photo" else stored.as_document()
    return deliver(emu, method, p, caption, p.get("parse_mode"), caption=plain,
                    **{param: media})


@handles("sendDocument")
async def send_document(emu: BotApiEmulator, p: Params) -> dict:
    """Deliver a document (uploaded, by file_id or by URL)."""
    return await _send_media(emu, "sendDocument", p, "document")


@handles("sendPhoto")
async def send_photo(emu: BotApiEmulator, p: Params) -> dict:
    """Deliver a photo (uploaded, by file_id or by URL)."""
    return await _send_media(emu, "sendPhoto", p, "photo")


def _editable(emu: BotApiEmulator, p: Params) -> StoredMessage | None:
    """The bot message an edit* call targets; None for inline messages (not modelled)."""
    if "inline_message_id" in p:
        return None
    stored = emu.world.messages.get((p["chat_id"], p["message_id"]))
    if stored is None:
        raise ApiError(400, "Bad Request: message to edit not found", violation=True,
                       param="message_id",
                       detail=f"message {p['message_id']} was never sent in chat {p['chat_id']}")
    if not stored.from_bot:
        raise ApiError(400, "Bad Request: message can't be edited", violation=True,
                       param="message_id")
    return stored


@dataclass(frozen=True)
class _Content:
    """New content for an edit: the message field, its raw markup and parse mode."""

    key: str
    raw: str | None
    parse_mode: str | None

    def plain(self) -> str | None:
        return to_plain(self.raw, self.parse_mode) if self.raw is not None else None


def _apply_edit(emu: BotApiEmulator, method: str, p: Params, stored: StoredMessage,
                content: _Content | None) -> dict:
    """Change a stored message (an absent inline keyboard removes it) and record the edit."""
    markup = _inline_markup(p)
    same_text = content is None or (content.raw, content.parse_mode) == (
        stored.raw_text, stored.parse_mode)
    if same_text and markup == stored.message.get("reply_markup"):
        raise ApiError(400, NOT_MODIFIED)
    message = {k: v for k, v in stored.message.items() if k != "reply_markup"}
    if content is not None:
        stored.raw_text, stored.parse_mode = content.raw, content.parse_mode
        message.pop(content.key, None)  # editMessageCaption without caption removes it
        if content.raw is not None:
            message[content.key] = content.plain()
    message["edit_date"] = int(time.time())
    if markup:
        message["reply_markup"] = markup
    stored.message = message
    emu.sent.append(Sent(method, p["chat_id"], message["message_id"], stored.raw_text,
                         stored.parse_mode, p.get("reply_markup"), p))
    return message


@handles("editMessageText")
async def edit_message_text(emu: BotApiEmulator, p: Params) -> dict | bool:
    """Edit a bot message's text."""
    stored = _editable(emu, p)
    if stored is None:
        return True
    content = _Content("text", p.get("text", ""), p.get("parse_mode"))
    return _apply_edit(emu, "editMessageText", p, stored, content)


@handles("editMessageCaption")
async def edit_message_caption(emu: BotApiEmulator, p: Params) -> dict | bool:
    """Edit a bot message's caption."""
    stored = _editable(emu, p)
    if stored is None:
        return True
    content = _Content("caption", p.get("caption"), p.get("parse_mode"))
    return _apply_edit(emu, "editMessageCaption", p, stored, content)


@handles("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: BotApiEmulator, p: Params) -> dict | bool:
    """Replace or remove a bot message's inline keyboard."""
    stored = _editable(emu, p)
    if stored is None:
        return True
    return _apply_edit(emu, "editMessageReplyMarkup", p, stored, None)


@handles("deleteMessage")
async def delete_message(emu: BotApiEmulator, p: Params) -> bool:
    """Delete a message of either side."""
    if emu.world.messages.pop((p["chat_id"], p["message_id"]), None) is None:
        raise ApiError(400, "Bad Request: message to delete not found", param="message_id")
    return True


@handles("answerCallbackQuery")
async def answer_callback_query(emu: BotApiEmulator, p: Params) -> bool:
    """Answer a callback query once; unknown or repeated ids are errors."""
    query_id = str(p["callback_query_id"])
    world = emu.world
    if query_id not in world.callback_queries:
        raise ApiError(400, QUERY_INVALID, violation=True, param="callback_query_id",
                       detail=f"callback query {query_id} was never issued")
    if query_id in world.answered_queries:
        raise ApiError(400, QUERY_INVALID, violation=True, param="callback_query_id",
                       detail=f"callback query {query_id} was already answered")
    world.answered_queries.add(query_id)
    emu.callback_answers.append(p)
    return True
