"""The demo's printer and cast: `show` prints one exchange of the transcript, a `Speaker` is one
person of the tour, whose messages and taps are printed with the bot's answers, and a `Tour`
holds the tour's language, its output folder and its people.

Every narration line comes from the demo catalog (common/locales/*/LC_MESSAGES/demo.po), so a
tour told in Chinese is Chinese throughout, the people's typed answers included."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.i18n import translate

# The tour's people: their chat ids and the roster's names (tests/harness.py DEFAULT_ROSTER).
CAST = {"cadre": 7001, "leader": 7002, "township": 7005, "office": 7003, "stranger": 7004}
MEDIA = {"Photo": "🖼", "Document": "📎"}
PHONES = {"cadre": "+86 138 0013 8002", "leader": "13800138001", "township": "13800138007",
          "office": "13800138009"}


def show(who: str, said: str, replies: list[Any]) -> None:
    """Print one exchange of the transcript."""
    print(f"\n👤 {who}：{said}" if _is_cjk(who) else f"\n👤 {who}: {said}")
    for sent in replies:
        if sent.method == "editMessageReplyMarkup":  # only the buttons changed, or went away
            for row in sent.buttons or []:
                print("      ✎ " + "  ".join(f"[{label}]" for label, _ in row))
            continue
        text = sent.plain_text if sent.text is not None else ""
        media = MEDIA.get(sent.method.removeprefix("edit").removeprefix("send"))
        if media:  # a chart or a file: its icon, then its caption
            text = f"{media} {text}".rstrip()
        mark = "✎" if sent.is_edit else "🤖"
        for line in text.splitlines():
            print(f"   {mark} {line}")
        for row in sent.buttons or []:
            print("      " + "  ".join(f"[{label}]" for label, _ in row))
        if sent.keyboard_labels:
            print("      ⌨ " + "  ".join(f"[{label}]" for label in sent.keyboard_labels))


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" for char in text)


def received(tour: Tour, role: str, sent: list[Any]) -> None:
    """Print what the bot sent a person by itself (not as an answer to them)."""
    for message in sent:
        if message.method == "editMessageReplyMarkup":
            continue
        print(f"\n📨 {tour.say('to', who=tour.say(f'who.{role}'))}")
        text = message.plain_text if message.text is not None else ""
        media = MEDIA.get(message.method.removeprefix("edit").removeprefix("send"))
        if media:
            text = f"{media} {text}".rstrip()
        for line in text.splitlines():
            print(f"   {line}")
        for row in message.buttons or []:
            print("      " + "  ".join(f"[{label}]" for label, _ in row))


@dataclass
class Tour:
    """The tour's language, the folder its files are written to, and the harness it drives."""

    harness: Any
    locale: str
    out: Path
    users: dict[str, Any] = field(default_factory=dict)

    def say(self, msgid: str, **values: Any) -> str:
        """A narration line of the demo catalog, as plain text for the terminal."""
        return html.unescape(translate(self.locale, f"demo.{msgid}", **values))

    def bot_text(self, msgid: str) -> str:
        """A text of the bot's own catalogs (a button's label), as the user sees it."""
        return html.unescape(translate(self.locale, msgid))

    def heading(self, msgid: str) -> None:
        """A chapter's title."""
        print(f"\n== {self.say(msgid)} ==")

    def user(self, role: str) -> Any:
        """The emulator's user playing this role, speaking the tour's language."""
        if role not in self.users:
            language = "zh-hans" if self.locale == "zh" else "en"
            first_name = self.say(f"first_name.{role}")
            self.users[role] = self.harness.emu.user(CAST[role], first_name=first_name,
                                                     language_code=language)
        return self.users[role]

    def person(self, role: str) -> Speaker:
        """The role's user, as a speaker of the transcript."""
        return Speaker(self, self.user(role), self.say(f"who.{role}"))


class Speaker:
    """One person in the tour: what they send and tap is printed with the bot's answers."""

    def __init__(self, tour: Tour, user: Any, name: str) -> None:
        self.tour, self.user, self.name = tour, user, name
        self.harness = tour.harness
        self.replies: list[Any] = []

    async def send(self, text: str) -> list[Any]:
        """Send a text (or a command) and print the exchange."""
        self.replies = await self.harness.send(self.user, text)
        show(self.name, text, self.replies)
        return self.replies

    async def type(self, msgid: str, **values: Any) -> list[Any]:
        """Type the answer the demo catalog holds for this step, in the tour's language."""
        return await self.send(self.tour.say(f"types.{msgid}", **values))

    async def tap(self, label: str | None = None, *, suffix: str | None = None,
                  position: int | None = None, bot: str | None = None,
                  among: list[Any] | None = None, old: bool = True) -> list[Any]:
        """Tap a button of the bot's last answer (or of `among`: an older one, or with
        old=False one the bot sent by itself), found by label, by the bot's catalog id of its
        label, by data suffix or by position."""
        from tests.harness import find_button

        if bot is not None:
            label = self.tour.bot_text(bot)
        shown, data, message_id = find_button(among if among is not None else self.replies,
                                              label, suffix=suffix, position=position)
        answers = len(self.harness.emu.callback_answers)
        replies = await self.harness.press(self.user, data, message_id=message_id)
        said = f"[{shown}]"
        if among is not None and old:
            said = self.tour.say("old_button", label=shown)
        else:
            self.replies = replies
        show(self.name, said, replies)
        for answer in self.harness.emu.callback_answers[answers:]:
            if answer.get("text"):  # the small notice Telegram shows over the chat
                print(f"   💬 {answer['text']}")
        return replies

    async def key(self, msgid: str) -> list[Any]:
        """Tap the button labelled with this message of the bot's catalogs, inline or on the
        reply keyboard (whose tap sends its label as a text)."""
        label = self.tour.bot_text(msgid)
        if any(label in sent.keyboard_labels for sent in self.replies):
            return await self.send(label)
        return await self.tap(label)

    async def share(self, what: str, update_id: int) -> list[Any]:
        """Something that is not text (a photo, a location): print what it was (`what` is a
        demo catalog id)."""
        self.replies = await self.harness.roundtrip(self.user, update_id)
        show(self.name, f"[{self.tour.say(f'shares.{what}')}]", self.replies)
        return self.replies
