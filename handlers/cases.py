"""/case: a cadre submits a model case or good practice, with a text and photos.

/cases: the office (and the leading group, to read) lists the newest submitted cases, opens
one — its photos, then its text — and features it for publicity or sets it aside.
The cadre hears through the outbox when their case is featured.
"""

from __future__ import annotations

import html

from common.i18n import N_, Translator, locale_of, translator
from handlers.authority import record_refusal
from handlers.base import Buttons, Turn, inline_keyboard
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Invalid, Question, check_length
from handlers.formscreens import MEDIA_GROUP_MAX
from handlers.registry import CADRE, COUNTY, OFFICE, callback, command
from storage import cases as store
from storage.models import ModelCase, Person
from storage.outbox import Outgoing

KIND_CHOICES = tuple(Choice(code, f"case.kind.{code}") for code in store.KINDS)
TITLE_MAX = 60  # one line of a list, a button and the Monday report
MAX_LISTED = 10  # one button each, two to a row: a longer keyboard is unusable on a phone
BUTTON_TITLE = 24  # characters of the title on a list button
CAPTION_MAX = 1024  # Telegram's limit on a photo caption
# Labels built from codes above; listed here so the catalog check sees every one.
_LABELS = (
    N_("case.kind.model"), N_("case.kind.practice"),
    N_("case.status.submitted"), N_("case.status.featured"), N_("case.status.set_aside"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a handler
    return turn.person


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _parse_text(turn: Turn, data: Data, text: str) -> str:
    """The case's text: longer than other answers, up to the case_text_max_chars setting."""
    value = text.strip()
    if not value:
        raise Invalid("form.error.empty")
    check_length(value, turn.app.settings.case_text_max_chars)
    return value


QUESTIONS = (
    Question("kind", N_("case.q.kind"), N_("case.label.kind"), kind="choice",
             choices=KIND_CHOICES),
    Question("title", N_("case.q.title"), N_("case.label.title"), max_len=TITLE_MAX),
    Question("text", N_("case.q.text"), N_("case.label.text"), parse=_parse_text),
    # Optional: a weak connection must not stop a good case; the prompt asks for them.
    Question("photos", N_("case.q.photos"), N_("case.label.photos"), kind="photos",
             optional=True, max_value=MEDIA_GROUP_MAX),
)


async def save(turn: Turn, data: Data) -> None:
    """Record the case as submitted and confirm it."""
    row = await store.add_case(
        turn.session, person=_person(turn), kind=data["kind"], title=data["title"],
        text=data["text"], photos=list(data.get("photos") or []), day=turn.today, now=turn.now)
    turn.say(turn.tr("case.saved", id=row.id, title=row.title, photos=len(row.photos)))


CASE = register_form(
    Form(name="case", title=N_("case.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.case"), order=45,
)


# --- the office: list, open, decide ------------------------------------------------------


def _short(title: str) -> str:
    return title if len(title) <= BUTTON_TITLE else title[: BUTTON_TITLE - 1] + "…"


@command("cases", roles=COUNTY, description=N_("help.cases"), order=84)
async def list_cases(turn: Turn, args: str) -> None:
    """The newest submitted cases, each with a button that opens it."""
    found, total = await store.recent_cases(turn.session, limit=MAX_LISTED)
    if not found:
        turn.say(turn.tr("case.none_submitted"))
        return
    lines = [turn.tr("case.list_title", count=total)]
    lines += [turn.tr("case.line", id=v.case.id, kind=turn.tr(f"case.kind.{v.case.kind}"),
                      title=v.case.title, village=v.village, cadre=v.cadre,
                      day=v.case.day, photos=len(v.case.photos)) for v in found]
    if total > len(found):
        lines.append(turn.tr("case.more", count=total - len(found)))
    buttons = [(f"#{v.case.id} {_short(v.case.title)}", f"mc:v:{v.case.id}") for v in found]
    rows: Buttons = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turn.say("\n".join(lines), markup=inline_keyboard(rows))


def render_case(tr: Translator, view: store.CaseView) -> str:
    """A case as the office reads it: what, where, who, when, its status, then its text."""
    case = view.case
    return "\n".join([
        tr("case.view_title", id=case.id, kind=tr(f"case.kind.{case.kind}"),
           title=case.title),
        tr("case.view_meta", village=view.village, cadre=view.cadre,
           day=case.day, photos=len(case.photos),
           status=tr(f"case.status.{case.status}")),
        "", _esc(case.text)])


def _decision_buttons(tr: Translator, case: ModelCase) -> dict[str, object]:
    return inline_keyboard([[(tr("case.button.feature"), f"mc:f:{case.id}"),
                             (tr("case.button.set_aside"), f"mc:s:{case.id}")]])


def _send_photos(turn: Turn, case: ModelCase) -> None:
    """The photos as one album (a single photo on its own), the title as the first caption."""
    items: list[dict[str, object]] = [{"type": "photo", "media": file_id}
                                      for file_id in case.photos[:MEDIA_GROUP_MAX]]
    if not items:
        return
    items[0]["caption"] = case.title[:CAPTION_MAX]
    if len(items) == 1:
        turn.request("sendPhoto", {"photo": items[0]["media"], "caption": items[0]["caption"]})
    else:
        turn.request("sendMediaGroup", {"media": items})


@callback("mc", roles=COUNTY)  # features and set-asides: the office only
async def on_button(turn: Turn, rest: str) -> None:
    """mc:v:<id> opens a case (county roles); mc:f:<id> features it, mc:s:<id> sets it aside
    (the office)."""
    action, _, id_text = rest.partition(":")
    role = _person(turn).role
    allowed = COUNTY if action == "v" else OFFICE
    if action not in ("v", "f", "s") or role not in allowed or not id_text.isdigit():
        turn.notice(turn.tr("common.stale_button"))
        return
    view = await store.case_view(turn.session, case_id=int(id_text), lock=action != "v")
    if view is None:
        turn.notice(turn.tr("case.not_found"))
        return
    if action == "v":
        _open(turn, view)
    else:
        await _decide(turn, view, store.FEATURED if action == "f" else store.SET_ASIDE)


def _open(turn: Turn, view: store.CaseView) -> None:
    _send_photos(turn, view.case)
    markup = None
    if _person(turn).role in OFFICE and view.case.status == store.SUBMITTED:
        markup = _decision_buttons(turn.tr, view.case)
    turn.say(render_case(turn.tr, view), markup=markup)


async def _decide(turn: Turn, view: store.CaseView, status: str) -> None:
    case = view.case
    refusal = await record_refusal(turn, village_id=case.village_id,
                                   township_id=case.township_id, author_id=case.person_id)
    if refusal is not None:  # nobody features their own case
        turn.notice(refusal)
        return
    try:
        await store.decide(turn.session, case=case, status=status, by_person_id=_person(turn).id,
                           now=turn.now, day=turn.today)
    except store.AlreadyDecided:
        turn.stale(turn.tr("case.already_decided", status=turn.tr(f"case.status.{case.status}")))
        return
    message_id = turn.pressed_message_id
    if message_id is not None:  # the case as it now stands, without its buttons
        turn.edit(message_id, render_case(turn.tr, view))
    turn.say(turn.tr(f"case.done.{status}", id=case.id, title=case.title))
    if status == store.FEATURED:
        await _tell_cadre(turn, case)


_DONE = (N_("case.done.featured"), N_("case.done.set_aside"))


async def _tell_cadre(turn: Turn, case: ModelCase) -> None:
    """The cadre hears, in their language, that their case was featured for publicity."""
    cadre = await turn.session.get(Person, case.person_id)
    if cadre is None or cadre.telegram_user_id is None or not cadre.active:
        return
    tr = translator(locale_of(cadre.locale, cadre.telegram_language,
                              turn.app.settings.default_locale))
    text = tr("case.featured_notice", id=case.id, title=case.title)
    turn.replies.append(Outgoing(chat_id=cadre.telegram_user_id, method="sendMessage",
                                 payload={"text": text, "parse_mode": "HTML"}, kind="notice",
                                 person_id=cadre.id, dedup_key=f"case:{case.id}:featured"))
