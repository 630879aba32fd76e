"""/broadcast (office): a notice to everyone, a township, a village, a role or a unit.

A form: the notice, the audience kind, then what names it — buttons throughout, a unit found
by a part of its name. The confirm screen states how many people it reaches. Saving queues one
outbox message per recipient; a scheduled job reports delivery to the author. `/broadcast
status` shows how the recent ones went.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import LOCALES, N_, Markup, locale_of, translate
from common.paid import goes_paid_lane, paid_lane
from common.settings import Settings
from handlers.base import Turn
from handlers.dialogs import register_form, start_form
from handlers.forms import Choice, Data, Form, Invalid, Question, check_text
from handlers.places import code_id, township_choices, village_choices
from handlers.registry import OFFICE
from storage import broadcasts as store
from storage import people
from storage.models import Broadcast, Person
from storage.textsplit import TELEGRAM_TEXT_LIMIT, html_units

# The notice in characters; the header of the message takes part of Telegram's 4096.
NOTICE_MAX_CHARS = 3900
MAX_UNIT_BUTTONS = 12
RECENT = 5
STATUS_WORDS = frozenset({"status", "状态"})
KIND_CHOICES = tuple(Choice(kind, f"broadcast.kind.{kind}") for kind in store.KINDS)
ROLE_CHOICES = tuple(Choice(role, f"role.{role}") for role in people.ROLES)
# Labels built from codes above; listed here so the catalog check sees every one.
_LABELS = (
    N_("broadcast.kind.all"), N_("broadcast.kind.township"), N_("broadcast.kind.village"),
    N_("broadcast.kind.role"), N_("broadcast.kind.unit"),
    N_("broadcast.audience.all"), N_("broadcast.audience.township"),
    N_("broadcast.audience.village"), N_("broadcast.audience.role"),
    N_("broadcast.audience.unit"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered office staff reach a form
    return turn.person


async def _township_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await township_choices(turn, prefix="t")


async def _village_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await village_choices(turn, code_id(data, "village_township"), prefix="v")


async def _unit_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    units = await people.units_matching(turn.session, query=str(data.get("unit_query") or ""),
                                        limit=MAX_UNIT_BUTTONS)
    return [Choice(f"u{u.id}", u.name, literal=True) for u in units]


def _fits_one_message(turn: Turn, data: Data, value: Any) -> None:
    check_notice(str(value))


def check_notice(text: str) -> None:
    """Raise Invalid unless the notice with its header, escaped, in every language, is one
    Telegram message (the chat's form and the console check it alike)."""
    longest = max(html_units(translate(locale, "broadcast.message", text=text))
                  for locale in LOCALES)
    if longest > TELEGRAM_TEXT_LIMIT:
        raise Invalid("broadcast.error.too_long", excess=longest - TELEGRAM_TEXT_LIMIT)


def _is(kind: str) -> Any:
    return lambda data: data.get("audience") == kind


def _picking(kind: str, key: str) -> Any:
    # Shown until the answer it leads to is given: editing that answer keeps this step.
    return lambda data: data.get("audience") == kind and key not in data


QUESTIONS = (
    Question("text", N_("broadcast.q.text"), N_("broadcast.label.text"),
             max_len=NOTICE_MAX_CHARS, validators=(_fits_one_message,)),
    Question("audience", N_("broadcast.q.audience"), N_("broadcast.label.audience"),
             kind="choice", choices=KIND_CHOICES),
    Question("township", N_("broadcast.q.township"), N_("broadcast.label.township"),
             kind="choice", choices=_township_choices, columns=3, when=_is("township")),
    Question("village_township", N_("broadcast.q.village_township"),
             N_("broadcast.label.township"), kind="choice", choices=_township_choices,
             columns=3, when=_picking("village", "village"), resets=("village",)),
    Question("village", N_("broadcast.q.village"), N_("broadcast.label.village"),
             kind="choice", choices=_village_choices, columns=3, when=_is("village")),
    Question("role", N_("broadcast.q.role"), N_("broadcast.label.role"), kind="choice",
             choices=ROLE_CHOICES, columns=1, when=_is("role")),
    Question("unit_query", N_("broadcast.q.unit_query"), N_("broadcast.label.unit_query"),
             max_len=100, when=_picking("unit", "unit"), resets=("unit",)),
    Question("unit", N_("broadcast.q.unit"), N_("broadcast.label.unit"), kind="choice",
             choices=_unit_choices, columns=1, when=_is("unit")),
)


def _label(turn: Turn, data: Data, key: str, options: Sequence[Choice]) -> str | None:
    return next((c.text(turn) for c in options if c.code == data.get(key)), None)


async def audience_of(turn: Turn, data: Data) -> tuple[str, str | None]:
    """The audience the answers name, as storage takes it: (kind, name or None)."""
    kind = data["audience"]
    if kind == "township":
        return kind, _label(turn, data, "township", await _township_choices(turn, data))
    if kind == "village":
        village_id = code_id(data, "village")
        village = None if village_id is None else await people.village_by_id(
            turn.session, village_id=village_id)
        return kind, None if village is None else f"{village.township.name}/{village.name}"
    if kind == "role":
        return kind, data.get("role")
    if kind == "unit":
        unit_id = code_id(data, "unit")
        unit = None if unit_id is None else await people.unit_by_id(turn.session, unit_id=unit_id)
        return kind, None if unit is None else unit.name
    return kind, None


def audience_text(turn: Turn, kind: str, value: str | None) -> Markup:
    """Who an audience is, in words (HTML, to put into another message)."""
    shown = turn.tr(f"role.{value}") if kind == "role" else (value or "")
    return Markup(turn.tr(f"broadcast.audience.{kind}", value=shown))


async def _recipients(turn: Turn, data: Data) -> tuple[str, str | None, list[Person] | None]:
    kind, value = await audience_of(turn, data)
    if kind != "all" and value is None:
        return kind, value, None
    try:
        return kind, value, await store.audience(turn.session, kind=kind, value=value)
    except (store.UnknownAudience, store.AmbiguousVillage):
        return kind, value, None  # renamed or removed since it was picked


async def describe(turn: Turn, data: Data) -> list[str]:
    """The confirm screen says whom the notice reaches, and how many."""
    kind, value, found = await _recipients(turn, data)
    if found is None:
        return [turn.tr("broadcast.audience_gone")]
    lines = [turn.tr("broadcast.reach", count=len(found),
                     audience=audience_text(turn, kind, value))]
    if not found:
        lines.append(turn.tr("broadcast.reach_nobody"))
    else:
        lines += _paid_lane(turn, len(found))
        lines.append(turn.tr("broadcast.not_sent_yet"))
    return lines


def _paid_lane(turn: Turn, recipients: int) -> list[str]:
    """What the paid lane costs and saves, when a broadcast to this many takes it."""
    values = paid_lane(turn.app.settings, recipients)
    return [] if values is None else [turn.tr("broadcast.paid_lane", **values)]


async def save(turn: Turn, data: Data) -> None:
    """Queue the notice to every recipient, in each one's language."""
    kind, value, found = await _recipients(turn, data)
    if not found:
        turn.say(turn.tr("broadcast.nobody"))
        return
    broadcast = await send_notice(turn.session, turn.app.settings, author_id=_person(turn).id,
                                  text=data["text"], kind=kind, value=value, now=turn.now)
    lines = [turn.tr("broadcast.queued", id=broadcast.id, count=broadcast.recipients,
                     audience=audience_text(turn, kind, value))]
    turn.say("\n".join(lines + _paid_lane(turn, broadcast.recipients)))


async def send_notice(session: AsyncSession, settings: Settings, *, author_id: int, text: str,
                      kind: str, value: str | None, now: dt.datetime) -> Broadcast:
    """Store the notice and queue it to every recipient of the audience, each in their own
    language (on Telegram's paid lane if the deployment pays for one so large): the one way a
    broadcast is sent, from the chat or the console."""

    def render(person: Person) -> str:
        locale = locale_of(person.locale, person.telegram_language, settings.default_locale)
        return translate(locale, "broadcast.message", text=text)

    return await store.create_broadcast(session, author_id=author_id, text=text, kind=kind,
                                        value=value, render=render, now=now,
                                        paid=lambda count: goes_paid_lane(settings, count))


async def _status_line(turn: Turn, broadcast: Broadcast) -> str:
    counts = await store.delivery_counts(turn.session, broadcast_id=broadcast.id)
    line = turn.tr(
        "broadcast.status_line", id=broadcast.id, when=broadcast.created_at,
        audience=audience_text(turn, broadcast.audience_kind, broadcast.audience_value),
        count=broadcast.recipients, sent=counts["sent"], blocked=counts["blocked"],
        failed=counts["failed"], pending=counts["pending"])
    if counts["withdrawn"]:
        line += turn.tr("broadcast.status_withdrawn", count=counts["withdrawn"])
    return line


async def show_status(turn: Turn) -> None:
    """The recent broadcasts and how far each got."""
    found = await store.recent(turn.session, limit=RECENT)
    if not found:
        turn.say(turn.tr("broadcast.status_none"))
        return
    lines = [turn.tr("broadcast.status_title")]
    lines += [await _status_line(turn, broadcast) for broadcast in found]
    turn.say("\n".join(lines))


async def prepare(turn: Turn, args: str) -> Data | None:
    """`/broadcast status` shows delivery; otherwise start, recalling the last broadcast (with
    the notice already written when another command drafted it)."""
    if args.strip().lower() in STATUS_WORDS:
        await show_status(turn)
        return None
    last = await store.recent(turn.session, limit=1)
    if last:
        turn.say(turn.tr("broadcast.last", line=Markup(await _status_line(turn, last[0]))))
    if args.startswith(DRAFTED):
        return _drafted(turn, args.removeprefix(DRAFTED))
    return {}


# Marks a notice another command drafted, passed as the form's arguments (a user cannot type it).
DRAFTED = "\x1e"


def _drafted(turn: Turn, text: str) -> Data:
    """The drafted notice as the form's first answer, if it passes the checks a typed one does;
    otherwise the office is asked to write it."""
    try:
        value = check_text(turn, QUESTIONS[0], text)
        _fits_one_message(turn, {}, value)
    except Invalid as exc:
        turn.say(turn.tr(exc.msgid, **exc.values))
        return {}
    return {"text": value}


async def start_drafted(turn: Turn, text: str) -> None:
    """Open /broadcast with this notice written: the office picks the audience and confirms."""
    await start_form(turn, BROADCAST, DRAFTED + text)


BROADCAST = register_form(
    Form(name="broadcast", title=N_("broadcast.title"), questions=QUESTIONS, save=save,
         prepare=prepare, describe=describe, save_label=N_("broadcast.button.send"),
         confirm_question=N_("broadcast.confirm_question")),
    roles=OFFICE, description=N_("help.broadcast"), order=82,
)
