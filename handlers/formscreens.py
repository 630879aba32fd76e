"""What the form engine shows: a question with its buttons, the confirm screen with an edit
button per answer, an answer as the confirm screen shows it, the photos taken so far.

Buttons carry `f:<token>:<action>[:<question>[:<code>]]` (handlers.dialogs reads them back).
"""

from __future__ import annotations

import html
from typing import Any

from handlers.base import Turn, inline_keyboard
from handlers.forms import Data, Form, Question
from storage.models import Dialog

# A "photos" question takes at most this many unless its max_value says fewer: Telegram's
# media group holds 10, so every photo of an answer can be shown again as one album.
MEDIA_GROUP_MAX = 10


async def ask(turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data) -> None:
    index = form.questions.index(question)
    rows: list[list[tuple[str, str]]] = []
    if question.kind in ("choice", "multi"):
        picked = set(data.get(f"_{question.key}", []))
        row: list[tuple[str, str]] = []
        for choice in await question.options(turn, data):
            mark = "✓ " if choice.code in picked else ""
            action = "m" if question.kind == "multi" else "a"
            row.append(
                (mark + choice.text(turn), f"f:{dialog.token}:{action}:{index}:{choice.code}")
            )
            if len(row) == question.columns:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        if question.kind == "multi":
            rows.append([(turn.tr("form.button.done"), f"f:{dialog.token}:d:{index}")])
    if question.kind == "photos":
        rows.append([(turn.tr("form.button.done"), f"f:{dialog.token}:d:{index}")])
    if question.optional:
        rows.append([(turn.tr("form.button.skip"), f"f:{dialog.token}:s:{index}")])
    markup: dict[str, Any] | None = inline_keyboard(rows) if rows else None
    if question.kind == "location":
        markup = _location_keyboard(turn)
    text = turn.tr(question.prompt) + "\n" + turn.tr("form.hint")
    if question.kind == "photos" and data.get(f"_{question.key}"):
        text += "\n" + photos_so_far(turn, question, data)
    turn.say(text, markup=markup)
    if question.kind == "location" and question.optional:
        turn.say(
            turn.tr("form.location_skip"),
            markup=inline_keyboard(
                [[(turn.tr("form.button.skip"), f"f:{dialog.token}:s:{index}")]]
            ),
        )


def _location_keyboard(turn: Turn) -> dict[str, Any]:
    return {
        "keyboard": [[{"text": turn.tr("form.button.share_location"), "request_location": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


async def display(turn: Turn, form: Form, question: Question, data: Data) -> str:
    """An answer as the confirm screen shows it."""
    value = data.get(question.key)
    if value is None:
        return "—"
    if question.kind in ("choice", "multi"):
        codes = value if isinstance(value, list) else [value]
        options = {c.code: c.text(turn) for c in await question.options(turn, data)}
        return "、".join(options.get(code, str(code)) for code in codes)
    if question.kind == "money":
        return f"¥{value}"
    if question.kind == "location":
        return f"📍 {value['latitude']:.5f}, {value['longitude']:.5f}"
    if question.kind == "photo":
        return "🖼"
    if question.kind == "photos":
        return f"🖼 × {len(value)}" if value else "—"
    return str(value)


async def confirm_screen(turn: Turn, form: Form, dialog: Dialog, data: Data) -> None:
    lines = [turn.tr("form.confirm_title", title=turn.tr(form.title))]
    if form.describe is not None:
        lines.extend(await form.describe(turn, data))
    answered = form.answered(data)
    for question in answered:
        lines.append(
            f"<b>{turn.tr(question.label)}</b>: " + _esc(await display(turn, form, question, data))
        )
    lines.append(turn.tr("form.confirm_question"))
    rows = [
        [
            (turn.tr("form.button.save"), f"f:{dialog.token}:ok"),
            (turn.tr("form.button.cancel"), f"f:{dialog.token}:x"),
        ]
    ]
    edits = [
        ("✏️ " + turn.tr(q.label), f"f:{dialog.token}:e:{form.questions.index(q)}") for q in answered
    ]
    rows.extend(edits[i : i + 2] for i in range(0, len(edits), 2))
    turn.say("\n".join(lines), markup=inline_keyboard(rows))


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def photo_limit(question: Question) -> int:
    """How many photos a "photos" question takes."""
    return min(int(question.max_value or MEDIA_GROUP_MAX), MEDIA_GROUP_MAX)


def photos_so_far(turn: Turn, question: Question, data: Data) -> str:
    return turn.tr("form.photos_so_far", count=len(data.get(f"_{question.key}", [])),
                   limit=photo_limit(question))


def mark_pressed(turn: Turn, question: Question, label: str) -> None:
    message_id = turn.pressed_message_id
    if message_id is not None:
        turn.edit(message_id, turn.tr(question.prompt) + f"\n<b>→ {_esc(label)}</b>")
