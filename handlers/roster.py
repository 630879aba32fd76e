"""/roster (office): import a roster file sent in chat, list a village's people, deactivate one.

A CSV or XLSX file the office sends (with the caption /roster, or bare) is imported by the
same rules as `grassroots roster import`: all of it or none of it, every bad line named; after
the counts, where the roster is not shaped as the notice asks (warnings, not refusals).
A village is picked by buttons (township, then village) or typed: `/roster list 新村`.
Deactivation is a form: a phone number or a name, the person picked from the matches, a
confirm screen; `/roster off 李娜` starts it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Document
from telegram.error import TelegramError

from common.i18n import N_, locale_of, translate
from common.rosternames import import_report, roster_names
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Question
from handlers.registry import OFFICE, callback, command
from storage import people, roster
from storage.models import Person, Village
from storage.outbox import Outgoing

# Refused before download: a roster of thousands of people is well under a megabyte.
MAX_UPLOAD_BYTES = min(5 * 1024 * 1024, roster.MAX_ROSTER_BYTES)
ROSTER_SUFFIXES = (".csv", ".xlsx")  # a bare file of another kind is not taken for a roster
LIST_WORDS = frozenset({"list", "列表", "名单"})
OFF_WORDS = frozenset({"off", "deactivate", "停用"})


def _office(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a handler
    return turn.person


def megabytes(size: int) -> str:
    """A size in megabytes, as the roster's messages give it (one decimal)."""
    return f"{size / (1024 * 1024):.1f}"


def mask_phone(phone: str) -> str:
    """A phone number with all but its last four digits hidden."""
    return "****" + phone[-4:]


@command("roster", roles=OFFICE, description=N_("help.roster"), order=86)
async def roster_command(turn: Turn, args: str) -> None:
    """A file with the caption /roster is imported; `list`/`off` go on; else the menu."""
    message = turn.update.effective_message
    if message is not None and message.document is not None:
        await import_document(turn, message.document)
        return
    verb, _, rest = args.partition(" ")
    if verb.lower() in LIST_WORDS:
        await (_list_named(turn, rest.strip()) if rest.strip() else _pick_township(turn))
    elif verb.lower() in OFF_WORDS:
        await start_form(turn, DEACTIVATE, rest.strip())
    else:
        _menu(turn)


def _menu(turn: Turn) -> None:
    rows = [[(turn.tr("roster_chat.button.import"), "ros:imp")],
            [(turn.tr("roster_chat.button.list"), "ros:list")],
            [(turn.tr("roster_chat.button.off"), "ros:off")]]
    turn.say(turn.tr("roster_chat.menu"), markup=inline_keyboard(rows))


@callback("ros", roles=OFFICE)
async def on_button(turn: Turn, rest: str) -> None:
    """ros:imp | ros:list | ros:t:<township> | ros:v:<village> | ros:off."""
    if turn.person is None or turn.person.role not in OFFICE:
        turn.notice(turn.tr("common.stale_button"))
        return
    action, _, arg = rest.partition(":")
    if action == "imp":
        turn.say(turn.tr("roster_chat.import_howto", limit=megabytes(MAX_UPLOAD_BYTES)))
    elif action == "list":
        await _pick_township(turn)
    elif action == "t" and arg.isdigit():
        await _pick_village(turn, int(arg))
    elif action == "v" and arg.isdigit():
        await _list_village(turn, int(arg))
    elif action == "off":
        await start_form(turn, DEACTIVATE)
    else:
        turn.notice(turn.tr("common.stale_button"))


async def on_bare_document(turn: Turn) -> bool:
    """A CSV or XLSX file the office sends without a caption is a roster, as with /roster."""
    message = turn.update.effective_message
    document = message.document if message is not None else None
    if (document is None or turn.person is None or turn.person.role not in OFFICE
            or not (document.file_name or "").lower().endswith(ROSTER_SUFFIXES)):
        return False
    await import_document(turn, document)
    return True


# --- import --------------------------------------------------------------------------------


async def import_document(turn: Turn, document: Document) -> None:
    """Check the size, download, import in this turn's transaction, report."""
    size = document.file_size
    if size is not None and size > MAX_UPLOAD_BYTES:
        turn.say(turn.tr("roster_chat.too_large", size=megabytes(size),
                         limit=megabytes(MAX_UPLOAD_BYTES)))
        return
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError:
        turn.say(turn.tr("roster_chat.download_failed"))
        return
    if len(data) > MAX_UPLOAD_BYTES:  # Telegram did not say the size: judged after all
        turn.say(turn.tr("roster_chat.too_large", size=megabytes(len(data)),
                         limit=megabytes(MAX_UPLOAD_BYTES)))
        return
    result = await _import(turn, data, document.file_name or "roster.csv")
    _report(turn, result)


async def _import(turn: Turn, data: bytes, filename: str) -> roster.ImportResult:
    """As the command line's import_roster_file, inside the turn's transaction."""
    names = roster_names()
    rows, read_errors = roster.read_roster(data, filename, names)
    if not rows:
        return roster.ImportResult(created=0, updated=0, unchanged=0, errors=read_errors)
    # A savepoint: rows that read well but sit beside unreadable ones must not be written.
    # The turn's own changes are flushed first, so that rolling back cannot undo them.
    await turn.session.flush()
    savepoint = await turn.session.begin_nested()
    result = await roster.import_roster(turn.session, rows, now=turn.now,
                                        actor_id=_office(turn).id, names=names)
    if not read_errors:
        await savepoint.commit()
        return result
    await savepoint.rollback()
    errors = sorted(dict.fromkeys([*read_errors, *result.errors]), key=lambda e: e.line)
    return roster.ImportResult(created=0, updated=0, unchanged=0, errors=errors)


def _report(turn: Turn, result: roster.ImportResult) -> None:
    turn.say(import_report(turn.locale, result))


# --- a village's people --------------------------------------------------------------------


def _rows(buttons: list[tuple[str, str]], columns: int = 3) -> list[list[tuple[str, str]]]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


async def _pick_township(turn: Turn) -> None:
    found = await people.townships(turn.session)
    if not found:
        turn.say(turn.tr("roster_chat.no_places"))
        return
    buttons = [(t.name, f"ros:t:{t.id}") for t in found]
    turn.say(turn.tr("roster_chat.pick_township"), markup=inline_keyboard(_rows(buttons)))


async def _pick_village(turn: Turn, township_id: int) -> None:
    found = await people.villages_of(turn.session, township_id=township_id)
    if not found:
        turn.notice(turn.tr("common.stale_button"))
        return
    buttons = [(v.name, f"ros:v:{v.id}") for v in found]
    turn.say(turn.tr("roster_chat.pick_village", township=found[0].township.name),
             markup=inline_keyboard(_rows(buttons)))


async def _list_named(turn: Turn, name: str) -> None:
    found = await people.villages_named(turn.session, name=name)
    if not found:
        turn.say(turn.tr("roster_chat.no_village", name=name))
    elif len(found) == 1:
        await _list_village(turn, found[0].id)
    else:
        buttons = [(_place(v), f"ros:v:{v.id}") for v in found]
        turn.say(turn.tr("roster_chat.which_village", name=name),
                 markup=inline_keyboard(_rows(buttons, columns=1)))


def _place(village: Village) -> str:
    return f"{village.township.name}/{village.name}"


def _state(turn: Turn, person: Person) -> str:
    if not person.active:
        return turn.tr("roster_chat.state.inactive")
    if person.telegram_user_id is None:
        return turn.tr("roster_chat.state.unbound")
    return turn.tr("roster_chat.state.bound")


async def _list_village(turn: Turn, village_id: int) -> None:
    village = await people.village_by_id(turn.session, village_id=village_id)
    if village is None:
        turn.notice(turn.tr("common.stale_button"))
        return
    members = await people.in_village(turn.session, village_id=village.id)
    lines = [turn.tr("roster_chat.village_title", village=_place(village), count=len(members))]
    lines += [turn.tr("roster_chat.person_line", name=p.name, role=turn.tr(f"role.{p.role}"),
                      phone=mask_phone(p.phone), state=_state(turn, p)) for p in members]
    if not members:
        lines.append(turn.tr("roster_chat.village_empty"))
    turn.say("\n".join(lines))


# --- deactivation --------------------------------------------------------------------------


def _pid(data: Data) -> int | None:
    code = str(data.get("person") or "")
    return int(code[1:]) if code.startswith("p") and code[1:].isdigit() else None


def person_label(tr: Callable[..., str], person: Person) -> str:
    """A person as the office picks them: name · role · place · masked phone."""
    place = _place(person.village) if person.village is not None else (
        person.township.name if person.township is not None else "—")
    return f"{person.name} · {tr(f'role.{person.role}')} · {place} · {mask_phone(person.phone)}"


async def _matches(turn: Turn, data: Data) -> Sequence[Choice]:
    """The active people the typed phone number or name finds."""
    query = str(data.get("who") or "")
    phone = roster.normalise_phone(query) if any(ch.isdigit() for ch in query) else None
    found = await people.search(turn.session, query=query, phone=phone)
    return [Choice(f"p{p.id}", person_label(turn.tr, p), literal=True) for p in found]


async def _describe_off(turn: Turn, data: Data) -> list[str]:
    person_id = _pid(data)
    person = None if person_id is None else await people.by_id(turn.session, person_id=person_id)
    if person is None:
        return []
    return [turn.tr("roster_chat.off_warning", name=person.name)]


async def _save_off(turn: Turn, data: Data) -> None:
    office = _office(turn)
    msgid, person, notices = await deactivate_by_office(
        turn.session, person_id=_pid(data), office=office, now=turn.now,
        default_locale=turn.app.settings.default_locale)
    turn.replies.extend(notices)
    turn.say(turn.tr(msgid, name=person.name if person is not None else ""))


async def deactivate_by_office(
    session: AsyncSession, *, person_id: int | None, office: Person, now: dt.datetime,
    default_locale: str,
) -> tuple[str, Person | None, list[Outgoing]]:
    """The office deactivates a person (the chat's form and the console's roster): the person
    locked and read again in the saving transaction, not the office themself, not one already
    inactive. Returns the outcome's message id, the person, and what their chat is to be told
    (their access ended, their command menu removed) for the caller to send."""
    person = None if person_id is None else await people.by_id(
        session, person_id=person_id, lock=True)
    refusal = off_refusal(person, office_id=office.id)
    if refusal is not None:
        return refusal, person, []
    assert person is not None  # off_refusal refuses a missing person
    released = await people.deactivate(session, person=person, by=office.id, now=now)
    notices = [] if released is None else _released_notices(person, released, default_locale)
    return "roster_chat.deactivated", person, notices


def off_refusal(person: Person | None, *, office_id: int) -> str | None:
    """Why the office may not deactivate this person (a message id), or None when it may."""
    if person is None or not person.active:
        return N_("roster_chat.already_inactive")
    if person.id == office_id:
        return N_("roster_chat.not_yourself")
    return None


def _released_notices(person: Person, chat_id: int, default_locale: str) -> list[Outgoing]:
    """The person hears that their access ended, and their chat loses its command menu."""
    locale = locale_of(person.locale, person.telegram_language, default_locale)
    scope = {"type": "chat", "chat_id": chat_id}
    return [
        Outgoing(chat_id=chat_id, method="sendMessage", kind="notice", person_id=person.id,
                 payload={"text": translate(locale, "start.deactivated"), "parse_mode": "HTML"}),
        Outgoing(chat_id=chat_id, method="deleteMyCommands", kind="menu", person_id=person.id,
                 payload={"scope": scope}),
    ]


async def _prepare_off(turn: Turn, args: str) -> Data | None:
    return {"who": args[:100]} if args else {}


DEACTIVATE = Form(
    name="roster_off", title=N_("roster_chat.off_title"),
    questions=(
        Question("who", N_("roster_chat.q.who"), N_("roster_chat.label.who"), max_len=100,
                 when=lambda data: "person" not in data),
        Question("person", N_("roster_chat.q.person"), N_("roster_chat.label.person"),
                 kind="choice", choices=_matches, columns=1),
    ),
    save=_save_off, prepare=_prepare_off, describe=_describe_off,
)
add_form(DEACTIVATE, roles=OFFICE)  # started from /roster, not a command of its own
