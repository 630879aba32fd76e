"""A dispute's hand-over notice, as the township leader or the office reads it: why it reached
them, its card (what it is, where, whose, its petition flags, the reason) and 受理 / 退回.

Built here because two floors send it: the chat (handlers.handover, when a cadre escalates or
reports) and the schedule (scheduler.escalation, when nobody took it in time and it climbs).
Buttons: ho:<dispute id>:<stamp>:t|r, the stamp being the second the hand-over reached its
level, so a button of an earlier hand-over of the same dispute never acts on a later one.
"""

from __future__ import annotations

from typing import Any

from common.i18n import Translator
from storage.disputes import FLAGS
from storage.models import Dispute

PREFIX = "ho"


def stamp(dispute: Dispute) -> int:
    """The hand-over's stamp in its buttons (0 when none waits)."""
    return int(dispute.handed_at.timestamp()) if dispute.handed_at is not None else 0


def button_data(dispute: Dispute, action: str) -> str:
    """ho:<id>:<stamp>:t (take) or :r (send back)."""
    return f"{PREFIX}:{dispute.id}:{stamp(dispute)}:{action}"


def buttons(tr: Translator, dispute: Dispute) -> dict[str, Any]:
    """受理 / 退回 under a hand-over notice."""
    return {"inline_keyboard": [[
        {"text": tr("handover.button.take"), "callback_data": button_data(dispute, "t")},
        {"text": tr("handover.button.return"), "callback_data": button_data(dispute, "r")},
    ]]}


def flag_names(tr: Translator, dispute: Dispute) -> list[str]:
    """The dispute's petition flags, in words, in the catalog's order."""
    return [tr(f"dispute.flag.{flag}") for flag in FLAGS if dispute.flags.get(flag)]


def why_new(tr: Translator, dispute: Dispute) -> str:
    """Why a new dispute was handed over at once: its flags, or that it is very urgent."""
    names = flag_names(tr, dispute)
    if dispute.urgency == "high":
        names.append(tr("dispute.urgency.high"))
    return tr("common.list_sep").join(names)


def card(tr: Translator, dispute: Dispute, *, village: str, cadre: str,
         reason: str | None) -> list[str]:
    """The case, in lines: what, where and whose, its flags and urgency, the reason given."""
    lines = [
        tr("handover.card.title", id=dispute.id,
           category=tr(f"dispute.category.{dispute.category}"), parties=dispute.parties,
           people=dispute.people_count),
        tr("handover.card.place", village=village, cadre=cadre),
        tr("handover.card.urgency", urgency=tr(f"dispute.urgency.{dispute.urgency}")),
    ]
    flags = flag_names(tr, dispute)
    if flags:
        lines.append(tr("handover.card.flags", flags=tr("common.list_sep").join(flags)))
    if reason:
        lines.append(tr("handover.card.reason", reason=reason))
    lines.append(tr("handover.card.description", text=dispute.description))
    return lines


def notice(tr: Translator, dispute: Dispute, *, head: str, village: str, cadre: str,
           reason: str | None) -> str:
    """The whole notice: its head line, the card and what the buttons do."""
    return "\n".join([head, *card(tr, dispute, village=village, cadre=cadre, reason=reason),
                      tr("handover.card.act")])
