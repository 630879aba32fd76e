"""The form engine: runs every Form spec as a durable, exactly-once chat dialog.

State lives in the `dialogs` table and changes in the turn's transaction, so a bot killed
at any point resumes each dialog at the same step in whichever process gets the next
update. Buttons carry `f:<token>:<action>[:<question>[:<code>]]`; the token changes with
each dialog, so a button from an old or finished dialog does nothing.

Every form is registered with the roles that may use it (`register_form` here, or
handlers.formregistry.add_form for one started by a button); what the engine shows (questions,
the confirm screen) is handlers/formscreens.py. Before any step of a draft — an answer, a
button, /back, /cancel, an offer to continue — the person's current role and place are checked
in the same transaction: a draft opened before they changed, one their role no longer allows, or a
privileged draft left too long is closed with a sentence, nothing saved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from common.i18n import N_
from handlers.authority import draft_refusal
from handlers.base import REMOVE_KEYBOARD, Turn, inline_keyboard
from handlers.formregistry import FORM_ROLES, FORMS, add_form
from handlers.forms import Choice, Data, Form, Invalid, Question, match_choice, parse_typed
from handlers.formscreens import (
    ask,
    confirm_screen,
    display,
    mark_pressed,
    photo_limit,
    photos_so_far,
    redraw_picks,
)
from handlers.registry import CADRE, EVERYONE, callback, command
from storage import dialogs as store
from storage.models import Dialog

CONFIRM = "_confirm"
DIALOG_COMMANDS = frozenset({"back", "cancel"})  # commands that act on the open draft
RESUME = "_resume"


def register_form(form: Form, *, roles: frozenset[str], description: str, order: int) -> Form:
    """Make `/<form.name>` start the form for these roles."""
    add_form(form, roles=roles)

    async def run(turn: Turn, args: str) -> None:
        await start_form(turn, form, args)

    command(form.name, roles=roles, description=description, order=order)(run)
    return form


async def _open(turn: Turn) -> tuple[Dialog | None, bool]:
    """The chat's open form dialog if the person may go on with it, and whether a draft was
    just closed (the person has been told why)."""
    dialog = await store.get(turn.session, chat_id=turn.chat_id)
    if dialog is None or dialog.form not in FORMS:
        return dialog, False
    roles = FORM_ROLES.get(dialog.form, frozenset())
    refusal = draft_refusal(turn, dialog, roles, turn.tr(FORMS[dialog.form].title))
    if refusal is None:
        return dialog, False
    await store.discard(turn.session, chat_id=turn.chat_id)
    turn.say(refusal, markup=REMOVE_KEYBOARD if _reply_keyboard_up(dialog) else None)
    return None, True


async def close_refused(turn: Turn) -> bool:
    """Close the chat's draft if the person may no longer go on with it (saying why)."""
    _, closed = await _open(turn)
    return closed


async def start_form(turn: Turn, form: Form, args: str = "") -> None:
    """Start a form, or offer to continue the draft the user left open."""
    if turn.person is None or turn.person.role not in FORM_ROLES.get(form.name, frozenset()):
        turn.say(turn.tr("authority.form_not_for_role", title=turn.tr(form.title)))
        return
    existing, _ = await _open(turn)
    if existing is not None and existing.form in FORMS and existing.step != RESUME:
        _offer_resume(turn, existing, form, args)
        return
    data = await form.prepare(turn, args) if form.prepare else {}
    if data is None:
        return  # prepare() has told the user why the form cannot start
    dialog = await store.open_dialog(
        turn.session,
        chat_id=turn.chat_id,
        person_id=_pid(turn),
        form=form.name,
        step="",
        data=data,
        now=turn.now,
        authority=turn.person.authority_changed_at,
    )
    await _advance(turn, form, dialog, data, [], hint=True)


def _offer_resume(turn: Turn, dialog: Dialog, wanted: Form, args: str) -> None:
    # What to start instead is kept with the draft, not trusted from the button: a forged
    # "discard" must not open a form this user may not start (the office's broadcast).
    dialog.history = {**dialog.history, "wanted": [wanted.name, args]}
    minutes = int((turn.now - dialog.updated_at).total_seconds() // 60)
    text = turn.tr("form.resume_offer", title=turn.tr(FORMS[dialog.form].title), minutes=minutes)
    buttons = [
        [
            (turn.tr("form.button.continue"), f"f:{dialog.token}:c"),
            (turn.tr("form.button.discard"), f"f:{dialog.token}:n:{wanted.name}"),
        ]
    ]
    turn.say(text, markup=inline_keyboard(buttons))


def _pid(turn: Turn) -> int | None:
    return turn.person.id if turn.person is not None else None


async def _advance(
    turn: Turn, form: Form, dialog: Dialog, data: Data, stack: list[str], *,
    lead: str | None = None, hint: bool = False,
) -> None:
    """Ask the next unanswered question, or show the confirm screen; `hint` (the /back ·
    /cancel line) is for the first question of a dialog, `lead` a line above the screen."""
    question = form.next_question(data)
    step = question.key if question is not None else CONFIRM
    if question is not None and question.initial is not None and f"_{step}" not in data:
        data[f"_{step}"] = await question.initial(turn, data)
    _touch(dialog, step=step, data=data, stack=stack, now=turn.now)
    if question is None:
        await confirm_screen(turn, form, dialog, data, lead=lead)
    else:
        await ask(turn, form, dialog, question, data, lead=lead, hint=hint)


def _reply_keyboard_up(dialog: Dialog) -> bool:
    """Whether the draft's step shows a reply keyboard (a location's), which only a message
    carrying ReplyKeyboardRemove takes away."""
    form = FORMS.get(dialog.form)
    if form is None or dialog.step in (CONFIRM, RESUME, ""):
        return False
    try:
        return form.question(dialog.step).kind == "location"
    except KeyError:
        return False


def _touch(dialog: Dialog, *, step: str, data: Data, stack: list[str], now: dt.datetime) -> None:
    """Record the dialog's step; an offer to start another form instead still stands."""
    wanted = dialog.history.get("wanted")
    store.touch(dialog, step=step, data=data, stack=stack, now=now)
    if wanted is not None:
        dialog.history = {**dialog.history, "wanted": wanted}


async def on_input(turn: Turn) -> bool:
    """A message while a dialog is open: the answer to the current question."""
    dialog, closed = await _open(turn)
    if dialog is None or dialog.form not in FORMS:
        return closed
    form = FORMS[dialog.form]
    data = dict(dialog.data)
    if _album_overflow(turn, form, data):
        return True  # beyond the limit; the screen after the photos says how many were kept
    if dialog.step in (CONFIRM, RESUME):
        turn.say(turn.tr("form.error.confirm_buttons"))  # the card above still waits
        return True
    question = form.question(dialog.step)
    if question.kind == "photos":
        await _add_photo(turn, form, dialog, question, data)
        return True
    if question.kind == "location" and question.optional and _typed_skip(turn):
        await _answer(turn, form, dialog, question, data, None)
        return True
    try:
        value = _typed_value(turn, question, data)
        if question.kind in ("choice", "multi") and not question.allow_text:
            value = await _typed_choice(turn, question, data)
        for validator in question.validators:
            validator(turn, data, value)
    except Invalid as exc:
        # One line: the question and its buttons are still on screen, the draft unchanged.
        turn.say(turn.tr(exc.msgid, **exc.values))
        return True
    await _answer(turn, form, dialog, question, data, value)
    return True


def _typed_skip(turn: Turn) -> bool:
    """The location keyboard's Skip button, which Telegram sends back as its label."""
    return bool(turn.text) and match_choice(
        turn, [Choice("skip", N_("form.button.skip"))], turn.text) is not None


def _typed_value(turn: Turn, question: Question, data: Data) -> Any:
    message = turn.update.effective_message
    if question.kind == "location":
        if message is None or message.location is None:
            raise Invalid("form.error.location")
        return {"latitude": message.location.latitude, "longitude": message.location.longitude}
    if question.kind == "photo":
        if message is None or not message.photo:
            raise Invalid("form.error.photo")
        return message.photo[-1].file_id
    if not turn.text:
        raise Invalid("form.error.text_expected")
    return parse_typed(turn, question, data, turn.text)


async def _add_photo(
    turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data
) -> None:
    """One more photo for a "photos" question; the answer is complete at the limit or Done."""
    message = turn.update.effective_message
    if message is None or not message.photo:
        turn.say(turn.tr("form.error.photos"))  # the photos so far stay in the draft
        return
    picked = [*data.get(f"_{question.key}", []), message.photo[-1].file_id]
    # An album arrives as one message per photo: answer its first one only.
    album, seen = message.media_group_id, data.get(f"_{question.key}_album")
    if album is not None:
        data[f"_{question.key}_album"] = album
    if len(picked) >= photo_limit(question):
        await _answer(turn, form, dialog, question, data, picked)
        return
    data[f"_{question.key}"] = picked
    _touch(dialog, step=dialog.step, data=data, stack=dialog.history.get("stack", []),
           now=turn.now)
    if album is not None and album == seen:
        return
    index = form.questions.index(question)
    done = [[(turn.tr("form.button.done"), f"f:{dialog.token}:d:{index}")]]
    text = (photos_so_far(turn, question, data) if album is None else turn.tr(
        "form.photos_album", count=len(picked), limit=photo_limit(question)))
    turn.say(text, markup=inline_keyboard(done))


def _album_overflow(turn: Turn, form: Form, data: Data) -> bool:
    """A photo of an album that has already filled its question up to the limit."""
    message = turn.update.effective_message
    album = message.media_group_id if message is not None else None
    return album is not None and any(
        q.kind == "photos" and data.get(f"_{q.key}_album") == album
        and len(data.get(q.key) or []) >= photo_limit(q) for q in form.questions)


async def _typed_choice(turn: Turn, question: Question, data: Data) -> Any:
    choice = match_choice(turn, await question.options(turn, data), turn.text)
    if choice is None or question.kind == "multi":
        raise Invalid("form.error.use_buttons")
    return choice.code


async def _answer(
    turn: Turn, form: Form, dialog: Dialog, question: Question, data: Data, value: Any
) -> None:
    data[question.key] = value
    data.pop(f"_{question.key}", None)
    for key in question.resets:
        data.pop(key, None)
        data.pop(f"_{key}", None)  # a multi question's picks so far
    dropped = {question.key, *question.resets}
    stack = [k for k in dialog.history.get("stack", []) if k not in dropped] + [question.key]
    if question.kind == "location":  # the one-time location keyboard goes with its step
        msgid = N_("form.location_skipped") if value is None else N_("form.location_received")
        turn.say(turn.tr(msgid), markup=REMOVE_KEYBOARD)
    await _advance(turn, form, dialog, data, stack)


@callback("f", roles=EVERYONE)  # each step checks the roles of its form
async def on_button(turn: Turn, rest: str) -> None:
    """A button of a form: answer, skip, toggle, done, save, edit, cancel, continue, discard."""
    token, _, tail = rest.partition(":")
    action, _, arg = tail.partition(":")
    dialog, closed = await _open(turn)
    if closed:
        return
    if dialog is None or dialog.token != token or dialog.form not in FORMS:
        turn.stale(turn.tr("form.stale_button"))  # a dialog that ended: its keyboard goes
        return
    form = FORMS[dialog.form]
    data = dict(dialog.data)
    if action in ("a", "s", "m", "d"):
        await _on_question_button(turn, form, dialog, data, action, arg)
    elif action == "ok" and dialog.step == CONFIRM:
        lead = await form.refresh(turn, data) if form.refresh is not None else None
        if lead is not None:  # a question to ask again, or the card again with new figures
            turn.drop_keyboard()
            await _advance(turn, form, dialog, data, list(dialog.history.get("stack", [])),
                           lead=lead)
            return
        await _save(turn, form, dialog, data)
    elif (
        action == "e"
        and dialog.step == CONFIRM
        and arg.isdigit()
        and int(arg) < len(form.questions)
    ):
        question = form.questions[int(arg)]
        data.pop(question.key, None)
        turn.drop_keyboard()  # a new card follows the changed answer
        await _advance(turn, form, dialog, data, list(dialog.history.get("stack", [])))
    elif action == "x":
        turn.drop_keyboard()
        await cancel(turn, "")
    elif action == "c":
        turn.drop_keyboard()
        await _resume(turn, form, dialog, data)
    elif action == "n":
        await _discard_for(turn, form, dialog, arg)
    else:
        turn.stale(turn.tr("form.step_over"))  # a step of this dialog that is over


async def _discard_for(turn: Turn, form: Form, dialog: Dialog, name: str) -> None:
    """Discard the draft and start the form (with the arguments) the offer was made for."""
    wanted_name, args = dialog.history.get("wanted") or (None, "")
    if wanted_name != name or name not in FORMS:
        turn.stale(turn.tr("form.stale_button"))  # a forged button, or an older offer
        return
    up = _reply_keyboard_up(dialog)
    await store.discard(turn.session, chat_id=turn.chat_id)
    turn.drop_keyboard()
    turn.say(turn.tr("form.discarded", title=turn.tr(form.title)),
             markup=REMOVE_KEYBOARD if up else None)
    await start_form(turn, FORMS[name], args)


async def _on_question_button(
    turn: Turn, form: Form, dialog: Dialog, data: Data, action: str, arg: str
) -> None:
    index_text, _, code = arg.partition(":")
    question = _current(form, dialog, index_text)
    if question is None:
        turn.stale(turn.tr("form.step_over"))
        return
    if action == "s" and question.optional:
        mark_pressed(turn, question, data, turn.tr("form.skipped"))
        await _answer(turn, form, dialog, question, data, None)
        return
    options = {c.code: c for c in await question.options(turn, data)}
    if action == "a" and code in options:
        mark_pressed(turn, question, data, options[code].text(turn))
        await _answer(turn, form, dialog, question, data, code)
    elif action == "m" and code in options:
        picked = list(data.get(f"_{question.key}", []))
        picked = [c for c in picked if c != code] if code in picked else [*picked, code]
        data[f"_{question.key}"] = picked
        _touch(
            dialog, step=dialog.step, data=data, stack=dialog.history.get("stack", []), now=turn.now
        )
        await redraw_picks(turn, form, dialog, question, data)  # the same message, re-marked
    elif action == "d":
        picked = list(data.get(f"_{question.key}", []))
        if not picked and not question.optional:
            photos = question.kind == "photos"
            turn.notice(turn.tr("form.error.photos_needed") if photos
                        else turn.tr("form.error.pick_one"))
            return
        if question.kind == "multi":
            shown = await display(turn, form, question, {question.key: picked})
            mark_pressed(turn, question, data, shown or turn.tr("form.skipped"))
        else:
            turn.drop_keyboard()  # the photos' Done: the count above stays
        await _answer(turn, form, dialog, question, data, picked)
    else:
        turn.notice(turn.tr("form.stale_button"))  # a button the question never offered


def _current(form: Form, dialog: Dialog, index_text: str) -> Question | None:
    if not index_text.isdigit() or int(index_text) >= len(form.questions):
        return None
    question = form.questions[int(index_text)]
    return question if question.key == dialog.step else None


async def _save(turn: Turn, form: Form, dialog: Dialog, data: Data) -> None:
    active = {q.key for q in form.answered(data)}
    clean = {k: v for k, v in data.items() if k in active or k.startswith("ctx_")}
    await store.discard(turn.session, chat_id=turn.chat_id)
    turn.drop_keyboard()  # the card stays as a record of what was sent, without buttons
    await form.save(turn, clean)


async def _resume(turn: Turn, form: Form, dialog: Dialog, data: Data) -> None:
    """The draft again where it was left, in one message that says so (with the hint)."""
    await _advance(turn, form, dialog, data, list(dialog.history.get("stack", [])),
                   lead=turn.tr("form.resumed", title=turn.tr(form.title)), hint=True)


async def handles_command(turn: Turn, name: str) -> bool:
    """/back and /cancel belong to an open dialog."""
    if name == "back":
        dialog, closed = await _open(turn)
        if closed:
            return True
        if dialog is None or dialog.form not in FORMS:
            turn.say(turn.tr("form.nothing_to_go_back_to"))
            return True
        await _back(turn, FORMS[dialog.form], dialog)
        return True
    return False


async def _back(turn: Turn, form: Form, dialog: Dialog) -> None:
    data = dict(dialog.data)
    stack = list(dialog.history.get("stack", []))
    if _reply_keyboard_up(dialog):  # leaving the location step: its keyboard goes too
        turn.say(turn.tr("form.went_back"), markup=REMOVE_KEYBOARD)
    if dialog.step not in (CONFIRM, RESUME) and dialog.step in data:
        data.pop(dialog.step)
    if stack:
        previous = stack.pop()
        data.pop(previous, None)
    await _advance(turn, form, dialog, data, stack)


async def discard(turn: Turn) -> None:
    """Drop the user's open dialog without a word."""
    await store.discard(turn.session, chat_id=turn.chat_id)


@command(
    "cancel",
    roles=CADRE | {"township_leader", "leading_group", "office", "supervisor"},
    description=N_("help.cancel"),
    order=90,
)
async def cancel(turn: Turn, args: str = "") -> None:
    """Leave the open dialog; nothing of it is saved."""
    dialog, closed = await _open(turn)
    if closed:
        return
    if dialog is None:
        turn.say(turn.tr("form.nothing_to_cancel"))
        return
    up = _reply_keyboard_up(dialog)
    await store.discard(turn.session, chat_id=turn.chat_id)
    form = FORMS.get(dialog.form)
    said = (form.cancelled(turn, dict(dialog.data)) if form is not None and form.cancelled
            else turn.tr("form.cancelled"))
    turn.say(said, markup=REMOVE_KEYBOARD if up else None)
