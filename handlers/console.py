"""/console: the campaign console, opened inside Telegram (a Mini App button) or in a desktop
browser (a one-time sign-in link, bound to the person, good once within ten minutes)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from common.context import AppContext
from common.i18n import N_, translate
from handlers.base import Turn
from handlers.registry import EVERYONE, command
from storage import console

log = logging.getLogger(__name__)


def console_address(base: str, path: str) -> str:
    """An address of the console under CONSOLE_URL."""
    return base.rstrip("/") + "/console" + path


def web_app_button(base: str, label: str) -> dict[str, Any] | None:
    """The button that opens the console as a Mini App; Telegram opens only https ones."""
    if not base.startswith("https://"):
        return None
    return {"text": label, "web_app": {"url": console_address(base, "/app")}}


@command("console", roles=EVERYONE, description=N_("help.console"), order=45)
async def open_console(turn: Turn, args: str) -> None:
    """The console's buttons: open it here, or sign in in a browser."""
    assert turn.person is not None
    base = turn.app.settings.console_url
    if not base:
        turn.say(turn.tr("console.not_set_up"))
        return
    token = await console.new_link(turn.session, person_id=turn.person.id, now=turn.now)
    rows: list[list[dict[str, Any]]] = []
    inside = web_app_button(base, turn.tr("console.button.open"))
    if inside is not None:
        rows.append([inside])
    rows.append([{"text": turn.tr("console.button.browser"),
                  "url": console_address(base, f"/signin?token={token}")}])
    turn.say(turn.tr("console.intro", minutes=console.LINK_MINUTES),
             markup={"inline_keyboard": rows})


async def set_menu_button(ctx: AppContext, bot: Bot) -> bool:
    """At start-up, make the chat's menu button open the console (for every chat, in the
    county's language), when the console has an https address; a failure is logged, not
    raised: the bot works without the button."""
    button = web_app_button(ctx.settings.console_url,
                            translate(ctx.settings.default_locale, "console.menu_button"))
    if button is None:
        return False
    try:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
            text=button["text"], web_app=WebAppInfo(url=button["web_app"]["url"])))
    except TelegramError as exc:
        log.warning("the console's menu button was not set: %s", exc)
        return False
    return True
