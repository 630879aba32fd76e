"""What the form engine shows: a question with its buttons, the confirm screen with an edit
button per answer, an answer as the confirm screen shows it, the photos taken so far.

Buttons carry `f:<token>:<action>[:<question>[:<code>]]` (handlers.dialogs reads them back).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

from common.i18n import Markup, format_day, format_money
from handlers.base import Turn, inline_keyboard
from handlers.forms import Data, Form, Question
from storage.models import Dialog

# A "photos" question takes at most this many unless its max_value says fewer: Telegram's
# media group holds 10, so every photo of an answer can be shown again as one album.
MEDIA_GROUP_MAX = 10


async def ask(
    turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data, *,
    lead: str | None = None, hint: bool = False,
) -> None:
    """A question as one message: a `lead` line above it (a resumed draft), the /back ·
    /cancel hint under the first question of a dialog only, and its buttons."""
    text = question.prompt_text(turn, data)
    if lead is not None:
        text = lead + "\n" + text
    if question.kind == "photos" and data.get(f"_{question.key}"):
        text += "\n" + photos_so_far(turn, question, data)
    if hint:
        text += "\n" + turn.tr("form.hint")
    turn.say(text, markup=await question_markup(turn, form, dialog, question, data))


async def question_markup(
    turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data
) -> dict[str, Any] | None:
    """A question's keyboard: its choices (a multi question's picks marked), Done, Skip; for a
    location, the one-time reply keyboard that shares it (with Skip beside it)."""
    index = form.questions.index(question)
    if question.kind == "location":
        return _location_keyboard(turn, question.optional)
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
    return inline_keyboard(rows) if rows else None


async def redraw_picks(
    turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data
) -> None:
    """A multi question's picks changed: its own message shows them (no new message)."""
    message_id = turn.pressed_message_id
    if message_id is None:  # the message is out of reach: ask again below
        await ask(turn, form, dialog, question, data)
        return
    turn.keyboard_done = True
    turn.request("editMessageReplyMarkup", {
        "message_id": message_id,
        "reply_markup": await question_markup(turn, form, dialog, question, data)})


def _location_keyboard(turn: Turn, optional: bool) -> dict[str, Any]:
    rows: list[list[dict[str, Any]]] = [
        [{"text": turn.tr("form.button.share_location"), "request_location": True}]]
    if optional:  # typed back as text: the engine reads it as Skip
        rows.append([{"text": turn.tr("form.button.skip")}])
    return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}


async def display(turn: Turn, form: Form, question: Question, data: Data) -> str:
    """An answer as the confirm screen shows it."""
    value = data.get(question.key)
    if value is None:
        return "—"
    if question.kind in ("choice", "multi"):
        codes = value if isinstance(value, list) else [value]
        options = {c.code: c.text(turn) for c in await question.options(turn, data)}
        return "、".join(options.get(code) or _typed(turn, code) for code in codes)
    if question.kind == "money":
        return format_money(turn.locale, Decimal(str(value)))
    if question.kind == "date":
        return _typed(turn, value)
    if question.kind == "location":
        return f"📍 {value['latitude']:.5f}, {value['longitude']:.5f}"
    if question.kind == "photo":
        return "🖼"
    if question.kind == "photos":
        return f"🖼 × {len(value)}" if value else "—"
    return str(value)


async def confirm_screen(
    turn: Turn, form: Form, dialog: Dialog, data: Data, *, lead: str | None = None
) -> None:
    """Every answer with a button to change it, and Save / Cancel."""
    lines = [] if lead is None else [lead]
    lines.append(turn.tr("form.confirm_title", title=turn.tr(form.title)))
    if form.describe is not None:
        lines.extend(await form.describe(turn, data))
    answered = form.answered(data)
    for question in answered:
        shown = _esc(await display(turn, form, question, data))
        # 走访类型：… in Chinese, with the full-width colon; Kind: … in English.
        lines.append(turn.tr("form.field", label=Markup(turn.tr(question.label)),
                             value=Markup(shown)))
    lines.append(turn.tr(form.confirm_question))
    rows = [
        [
            (turn.tr(form.save_label), f"f:{dialog.token}:ok"),
            (turn.tr("form.button.cancel"), f"f:{dialog.token}:x"),
        ]
    ]
    edits = [
        ("✏️ " + turn.tr(q.label), f"f:{dialog.token}:e:{form.questions.index(q)}") for q in answered
    ]
    rows.extend(edits[i : i + 2] for i in range(0, len(edits), 2))
    turn.say("\n".join(lines), markup=inline_keyboard(rows))


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _typed(turn: Turn, value: Any) -> str:
    """A typed answer kept as text; a day (kept as its ISO date) as people read it."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return format_day(turn.locale, dt.date.fromisoformat(value), today=turn.today)
    return str(value)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def photo_limit(question: Question) -> int:
    """How many photos a "photos" question takes."""
    return min(int(question.max_value or MEDIA_GROUP_MAX), MEDIA_GROUP_MAX)


def photos_so_far(turn: Turn, question: Question, data: Data) -> str:
    return turn.tr("form.photos_so_far", count=len(data.get(f"_{question.key}", [])),
                   limit=photo_limit(question))


def mark_pressed(turn: Turn, question: Question, data: Data, label: str) -> None:
    """The pressed question's message shows the answer in place of its buttons."""
    message_id = turn.pressed_message_id
    if message_id is not None and not turn.keyboard_done:
        turn.keyboard_done = True
        turn.edit(message_id, question.prompt_text(turn, data) + f"\n<b>→ {_esc(label)}</b>")
