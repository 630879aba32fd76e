"""Methods about the bot itself: updates, identity, webhook, commands, files, chats."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .html import to_plain
from .methods import ApiError, Disconnect, Params, chat_of, deliver, handles
from .world import scope_key

if TYPE_CHECKING:
    from .server import BotApiEmulator
    from .spec import MethodSpec

CONFLICT_WEBHOOK = ("Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first")
CONFLICT_POLL = ("Conflict: terminated by other getUpdates request; make sure that only one bot "
                 "instance is running")
ALL_GIFT_TYPES = {"unlimited_gifts": True, "limited_gifts": True, "unique_gifts": True,
                  "premium_subscription": True, "gifts_from_channels": True}


@handles("getUpdates")
async def get_updates(emu: BotApiEmulator, p: Params) -> list[dict]:
    """Confirm by offset, then return up to `limit` updates, long-polling up to `timeout` s."""
    if emu.world.webhook_url:
        raise ApiError(409, CONFLICT_WEBHOOK, violation=True)
    queue = emu.updates
    queue.confirm(p.get("offset"))
    if "allowed_updates" in p:
        queue.allowed = frozenset(p["allowed_updates"]) or None
    queue.poll_generation += 1
    generation = queue.poll_generation
    queue.wake()  # an older long poll, if any, now ends with 409
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0, p.get("timeout", 0))
    while True:
        batch = queue.take(p.get("limit", 100))
        remaining = deadline - loop.time()
        if batch or remaining <= 0 or emu.stopping:
            return batch
        await queue.wait(remaining)
        if emu.faults.is_down:
            raise Disconnect()
        if queue.poll_generation != generation:
            # A newer getUpdates took over; usually the old client already went away.
            raise ApiError(409, CONFLICT_POLL)


@handles("getMe")
async def get_me(emu: BotApiEmulator, p: Params) -> dict:
    """The bot's own User object."""
    return {**emu.world.bot, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False}


@handles("setWebhook")
async def set_webhook(emu: BotApiEmulator, p: Params) -> bool:
    """Remember the webhook URL (getUpdates then conflicts, as on Telegram)."""
    emu.world.webhook_url = p["url"]
    if p.get("drop_pending_updates"):
        emu.updates.drop_all()
    return True


@handles("deleteWebhook")
async def delete_webhook(emu: BotApiEmulator, p: Params) -> bool:
    """Forget the webhook; optionally drop pending updates."""
    emu.world.webhook_url = ""
    if p.get("drop_pending_updates"):
        emu.updates.drop_all()
    return True


@handles("getWebhookInfo")
async def get_webhook_info(emu: BotApiEmulator, p: Params) -> dict:
    """The webhook state."""
    return {"url": emu.world.webhook_url, "has_custom_certificate": False,
            "pending_update_count": len(emu.updates.pending)}


def _commands_key(p: Params) -> tuple[str, str]:
    return scope_key(p.get("scope")), p.get("language_code", "")


@handles("setMyCommands")
async def set_my_commands(emu: BotApiEmulator, p: Params) -> bool:
    """Store commands per (scope, language_code)."""
    emu.world.commands[_commands_key(p)] = list(p["commands"])
    return True


@handles("getMyCommands")
async def get_my_commands(emu: BotApiEmulator, p: Params) -> list[dict]:
    """Commands stored for exactly this (scope, language_code)."""
    return emu.world.commands.get(_commands_key(p), [])


@handles("deleteMyCommands")
async def delete_my_commands(emu: BotApiEmulator, p: Params) -> bool:
    """Remove the commands of one (scope, language_code)."""
    emu.world.commands.pop(_commands_key(p), None)
    return True


@handles("setChatMenuButton")
async def set_chat_menu_button(emu: BotApiEmulator, p: Params) -> bool:
    """Store the menu button (key None: the default for all private chats)."""
    emu.world.menu_buttons[p.get("chat_id")] = p.get("menu_button", {"type": "default"})
    return True


@handles("getChatMenuButton")
async def get_chat_menu_button(emu: BotApiEmulator, p: Params) -> dict:
    """The menu button of a chat, falling back to the default one."""
    buttons = emu.world.menu_buttons
    return buttons.get(p.get("chat_id"), buttons.get(None, {"type": "commands"}))


@handles("getFile")
async def get_file(emu: BotApiEmulator, p: Params) -> dict:
    """A File object whose file_path downloads from {file_url}{token}/{file_path}."""
    stored = emu.world.files.get(p["file_id"])
    if stored is None:
        raise ApiError(400, "Bad Request: invalid file_id", violation=True, param="file_id")
    return {"file_id": p["file_id"], "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content), "file_path": stored.file_path}


@handles("sendChatAction")
async def send_chat_action(emu: BotApiEmulator, p: Params) -> bool:
    """"typing..." and the like: checked, not recorded as a message."""
    chat_of(emu, p)
    return True


@handles("getChat")
async def get_chat(emu: BotApiEmulator, p: Params) -> dict:
    """A minimal ChatFullInfo."""
    chat_id = chat_of(emu, p)
    return {**emu.world.chat_json(chat_id), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": ALL_GIFT_TYPES}


@handles("getChatMember")
async def get_chat_member(emu: BotApiEmulator, p: Params) -> dict:
    """Everybody is a plain member."""
    chat_of(emu, p)
    user = emu.world.users.get(p["user_id"]) or {"id": p["user_id"], "is_bot": False,
                                                "first_name": f"User {p['user_id']}"}
    return {"status": "member", "user": user}


@handles("close", "logOut")
async def close(emu: BotApiEmulator, p: Params) -> bool:
    """Accepted; nothing to shut down here."""
    return True


async def generic(emu: BotApiEmulator, p: Params, method: MethodSpec) -> Any:
    """Any other spec method: messages for send*-like methods, else True."""
    returns = method.returns[0] if method.returns else ""
    if "chat_id" not in p or returns not in ("Message", "MessageId", "Array of Message"):
        return True
    if returns == "Array of Message":  # sendMediaGroup: one message per item
        items = p.get("media") if isinstance(p.get("media"), list) else []
        return [_generic_message(emu, method.name, p, item) for item in items]
    message = _generic_message(emu, method.name, p, p)
    return message if returns == "Message" else {"message_id": message["message_id"]}


def _generic_message(emu: BotApiEmulator, method: str, p: Params, source: dict) -> dict:
    caption = source.get("caption") if isinstance(source.get("caption"), str) else None
    mode = source.get("parse_mode")
    plain = to_plain(caption, mode) if caption is not None else None
    return deliver(emu, method, p, caption, mode, caption=plain)
