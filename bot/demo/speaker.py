"""The demo's printer: `show` prints one exchange of the transcript, and a `Speaker` is one
person of the tour, whose messages and taps are printed with the bot's answers."""

from __future__ import annotations

from typing import Any


def show(who: str, said: str, replies: list[Any]) -> None:
    """Print one exchange of the transcript."""
    print(f"\n👤 {who}: {said}")
    for sent in replies:
        if sent.method == "editMessageReplyMarkup":
            continue  # only the buttons went away
        text = sent.plain_text if sent.text is not None else f"[{sent.method}]"
        mark = "✎" if sent.is_edit else "🤖"
        for line in text.splitlines():
            print(f"   {mark} {line}")
        for row in sent.buttons or []:
            print("      " + "  ".join(f"[{label}]" for label, _ in row))
        if sent.keyboard_labels:
            print("      ⌨ " + "  ".join(f"[{label}]" for label in sent.keyboard_labels))


class Speaker:
    """One person in the tour: what they send and tap is printed with the bot's answers."""

    def __init__(self, harness: Any, user: Any, name: str) -> None:
        self.harness, self.user, self.name = harness, user, name
        self.replies: list[Any] = []

    async def send(self, text: str) -> list[Any]:
        """Send a text (or a command) and print the exchange."""
        self.replies = await self.harness.send(self.user, text)
        show(self.name, text, self.replies)
        return self.replies

    async def tap(self, label: str | None = None, *, suffix: str | None = None,
                  position: int | None = None) -> list[Any]:
        """Tap a button of the bot's last answer, found by label, data suffix or position."""
        from tests.harness import find_button

        shown, data, message_id = find_button(self.replies, label, suffix=suffix,
                                              position=position)
        self.replies = await self.harness.press(self.user, data, message_id=message_id)
        show(self.name, f"[{shown}]", self.replies)
        return self.replies

    async def share(self, what: str, update_id: int) -> list[Any]:
        """Something that is not text (a photo, a location): print what it was."""
        self.replies = await self.harness.roundtrip(self.user, update_id)
        show(self.name, f"[{what}]", self.replies)
        return self.replies
