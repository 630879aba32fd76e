"""What the emulator records: requests, delivered messages, uploaded files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .html import to_plain


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str | None = None

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {len(self.content)} bytes, {self.mime_type!r})"


@dataclass
class Request:
    """One HTTP request the bot made.

    `status` is the HTTP status answered: 0 while in flight or when the connection was dropped
    (emu.down()), 499 when the client went away first (a cancelled long poll).
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int = 0


@dataclass
class Sent:
    """A message the bot produced (send*) or changed (edit*), as delivered."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: dict | None
    params: dict[str, Any] = field(repr=False)

    @property
    def is_edit(self) -> bool:
        """Whether this records an edit of an earlier message."""
        return self.method.startswith("edit")

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data or None)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    @property
    def keyboard_labels(self) -> list[str]:
        """Reply keyboard button labels, row by row flattened."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else b.get("text", "") for row in rows for b in row]

    @property
    def plain_text(self) -> str | None:
        """The text as the user sees it: markup removed, entities decoded."""
        if self.text is None:
            return None
        try:
            return to_plain(self.text, self.parse_mode)
        except ValueError:
            # Only reachable for hand-made records: Telegram refuses bad markup.
            return re.sub(r"<[^>]*>", "", self.text)

    def callback_data(self, label: str) -> str | None:
        """The callback_data of the inline button whose label contains `label`."""
        for row in self.buttons:
            for text, data in row:
                if label in text:
                    return data
        raise KeyError(f"no inline button labelled {label!r} in {self.buttons}")
