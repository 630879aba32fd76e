"""Inline keyboards: what a chat reply and a scheduled notice both attach to a message."""

from __future__ import annotations

from typing import Any

Buttons = list[list[tuple[str, str]]]


def inline_keyboard(rows: Buttons) -> dict[str, Any]:
    """An inline keyboard from rows of (label, callback_data)."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows
        ]
    }
