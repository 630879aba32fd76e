"""/spotcheck: the office and the leading group draw recent visits and help records at random;
each goes to someone outside its cadre's chain (a supervision group member, else the office:
storage.spotchecks.assignee_for), who answers "confirmed" or "could not confirm" with a note.
`/spotcheck` alone shows what is pending and the results so far; the supervision groups read it
too, and answer the checks given them.

The render_* functions are pure (translator and data in, text out)."""

from __future__ import annotations

import datetime as dt
import random

from common.i18n import N_, Translator, locale_of, translator
from handlers.authority import record_refusal
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Data, Form, Question
from handlers.registry import COUNTY, SUPERVISOR, callback, command
from handlers.stats import scope_for, scope_label
from storage import people
from storage import spotchecks as store
from storage.models import Person, SpotCheck
from storage.outbox import Outgoing
from storage.scope import Scope

MAX_NOTE = 500
# Whom store.assignee_for picks. A role in a cadre's chain (team or township leader) never
# answers: someone moved into one is refused with the button, whatever was assigned before.
ASSIGNEES = frozenset(store.CHECKER_ROLES)
STATUS = "spotcheck.status.{}"
_LABELS = (
    N_("spotcheck.status.pending"), N_("spotcheck.status.confirmed"),
    N_("spotcheck.status.not_confirmed"), N_("spotcheck.kind.visit"), N_("spotcheck.kind.aid"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach commands
    return turn.person


# --- renderers ---------------------------------------------------------------------------------

def render_record(tr: Translator, view: store.CheckView) -> str:
    """One drawn record: what it is, who recorded it where, and its facts."""
    kind = view.check.record_kind
    label = tr(f"visit.kind.{view.kind}") if kind == "visit" else tr(f"aid.kind.{view.kind}")
    lines = [tr("spotcheck.record", id=view.check.id, what=tr(f"spotcheck.kind.{kind}"),
                kind=label, day=view.day, cadre=view.cadre, village=view.village)]
    if kind == "visit":
        lines.append(tr("spotcheck.visit_facts", heard=view.details["heard"],
                        wants=view.details["wants"]))
    else:
        facts = "; ".join(f"{value}" for value in view.details.values())
        if facts:
            lines.append(tr("spotcheck.aid_facts", facts=facts))
    return "\n".join(lines)


def render_request(tr: Translator, view: store.CheckView) -> str:
    """The message to the assignee: please verify this record."""
    return "\n".join([tr("spotcheck.request_title"), render_record(tr, view),
                      tr("spotcheck.request_hint")])


def _result_line(tr: Translator, view: store.CheckView) -> str:
    check = view.check
    line = tr("spotcheck.result_line", id=check.id, status=tr(STATUS.format(check.status)),
              assignee=view.assignee or tr("spotcheck.unassigned"))
    return line + (tr("spotcheck.note", note=check.note) if check.note else "")


def render_overview(tr: Translator, counts: dict[str, int], views: list[store.CheckView], *,
                    place: str) -> str:
    """The scope's checks: counts per status, then each check with its result."""
    lines = [tr("spotcheck.overview_title", place=place, **counts)]
    if not views:
        lines.append(tr("spotcheck.none"))
    for view in views:
        lines += [render_record(tr, view), _result_line(tr, view)]
    return "\n".join(lines)


def _assigned_lines(tr: Translator, views: list[store.CheckView]) -> list[str]:
    lines = []
    for view in views:
        if view.assignee is not None and not view.told:
            assigned = tr("spotcheck.assigned_unreached", assignee=view.assignee)
        else:
            assigned = tr("spotcheck.assigned",
                          assignee=view.assignee or tr("spotcheck.unassigned"))
        lines += [render_record(tr, view), assigned]
    return lines


def render_drawn(tr: Translator, views: list[store.CheckView], *, asked: int, place: str) -> str:
    """What a draw picked and to whom each went."""
    if not views:
        return tr("spotcheck.nothing_to_draw", place=place, days=store.RECENT_DAYS)
    lines = [tr("spotcheck.drawn_title", count=len(views), asked=asked, place=place)]
    return "\n".join(lines + _assigned_lines(tr, views))


def render_reassigned(tr: Translator, views: list[store.CheckView]) -> str:
    """Waiting checks handed to a new checker, and to whom each went."""
    return "\n".join([tr("spotcheck.reassigned_title", count=len(views)),
                      *_assigned_lines(tr, views)])


def render_meanwhile(tr: Translator, views: list[store.CheckView], *, by: str | None) -> str:
    """A draw that gave way to one made a moment ago (`by` None: the user's own)."""
    if by is None:
        lines = [tr("spotcheck.drawn_meanwhile_self", count=len(views))]
    else:
        lines = [tr("spotcheck.drawn_meanwhile", name=by, count=len(views))]
    return "\n".join(lines + _assigned_lines(tr, views))


# --- the command -------------------------------------------------------------------------------

def _parse(args: str) -> tuple[int | None, str | None] | None:
    """(N, place) from the arguments; (None, None) for none; None for a bad N."""
    words = args.split(maxsplit=1)
    if not words:
        return None, None
    if not words[0].isdigit() or not 1 <= int(words[0]) <= store.MAX_DRAW:
        return None
    return int(words[0]), (words[1] if len(words) > 1 else None)


@command("spotcheck", roles=COUNTY | SUPERVISOR, description=N_("help.spotcheck"), order=83)
async def spotcheck(turn: Turn, args: str) -> None:
    """Draw N records for checking, or show the checks of the scope so far."""
    parsed = _parse(args)
    if parsed is None:
        turn.say(turn.tr("spotcheck.bad_n", max=store.MAX_DRAW))
        return
    n, name = parsed
    if n is not None and _person(turn).role not in COUNTY:  # a supervisor reads, verifies
        turn.say(turn.tr("spotcheck.supervisor_reads"))
        return
    scope = await scope_for(turn, name)
    if scope is None:
        return
    place = scope_label(turn.tr, scope)
    if n is None:
        counts = await store.summary(turn.session, scope=scope)
        views = await store.in_scope(turn.session, scope=scope)
        turn.say(render_overview(turn.tr, counts, views, place=place))
        return
    since = turn.today - dt.timedelta(days=store.RECENT_DAYS - 1)
    # The county's waiting checks nobody may answer any more (no checker, or one who left or is
    # in the cadre's chain now) go to a checker first, by the same rule as the draw: the one
    # drawing is the county's (COUNTY roles), whatever place this draw is for.
    moved = await store.reassign_stranded(turn.session, scope=Scope("county"),
                                          by=_person(turn), now=turn.now)
    try:
        checks = await store.draw(turn.session, scope=scope, n=n, since=since,
                                  by=_person(turn), now=turn.now, rng=random.Random())
    except store.DrawnMeanwhile as meanwhile:
        await _show_meanwhile(turn, meanwhile)
        return
    views = await store.views_of(turn.session, check_ids=[c.id for c in checks])
    again = await store.views_of(turn.session, check_ids=[c.id for c in moved])
    text = render_drawn(turn.tr, views, asked=n, place=place)
    turn.say(text + "\n\n" + render_reassigned(turn.tr, again) if again else text)
    for view in views + again:
        await _notify(turn, view)


async def _show_meanwhile(turn: Turn, meanwhile: store.DrawnMeanwhile) -> None:
    """Another draw took these records a moment ago (a second office user, a double tap):
    show that draw, whose leaders have been asked already, instead of drawing again."""
    drawer = await people.by_id(turn.session, person_id=meanwhile.drawn_by)
    views = await store.views_of(turn.session, check_ids=meanwhile.check_ids)
    by_self = drawer is not None and drawer.id == _person(turn).id
    turn.say(render_meanwhile(turn.tr, views, by=None if by_self or drawer is None
                              else drawer.name))


def _buttons(tr: Translator, check: SpotCheck) -> dict[str, object]:
    return inline_keyboard([[(tr("spotcheck.button.confirmed"), f"spc:{check.id}:y"),
                             (tr("spotcheck.button.not_confirmed"), f"spc:{check.id}:n")]])


async def _notify(turn: Turn, view: store.CheckView) -> None:
    """Send the assignee the record and the answer buttons, in the same turn."""
    if view.check.assigned_to is None:
        return
    leader = await turn.session.get(Person, view.check.assigned_to)
    if leader is None or leader.telegram_user_id is None or not store.reachable(leader):
        return
    tr = translator(locale_of(leader.locale, leader.telegram_language,
                              turn.app.settings.default_locale))
    payload = {"text": render_request(tr, view), "parse_mode": "HTML",
               "reply_markup": _buttons(tr, view.check)}
    turn.replies.append(Outgoing(chat_id=leader.telegram_user_id, method="sendMessage",
                                 payload=payload, kind="spotcheck", person_id=leader.id,
                                 # one request per check and checker: a check handed on
                                 # (store.reassign_stranded) asks its new checker too
                                 dedup_key=f"spotcheck:{view.check.id}:{leader.id}"))


# --- the assignee's answer ---------------------------------------------------------------------

async def _pending_check(turn: Turn, id_text: str) -> SpotCheck | None:
    """The check if it is this person's and still pending; says why not otherwise."""
    check = None
    if turn.person is not None and id_text.isdigit():
        check = await store.check_by_id(turn.session, check_id=int(id_text), lock=True)
    if check is None or turn.person is None or check.assigned_to != turn.person.id:
        turn.notice(turn.tr("spotcheck.not_yours"))
        return None
    refusal = await record_refusal(turn, village_id=check.village_id,
                                   township_id=check.township_id, author_id=check.cadre_id)
    if refusal is not None:  # moved, or the record became their own team's work of theirs
        turn.notice(refusal)
        return None
    if check.status != "pending":
        turn.stale(turn.tr("spotcheck.already", status=turn.tr(STATUS.format(check.status))))
        return None
    return check


@callback("spc", roles=ASSIGNEES, refusal=N_("spotcheck.not_for_role"))
async def on_button(turn: Turn, rest: str) -> None:
    """spc:<id>:y confirms; spc:<id>:n asks for a note first."""
    id_text, _, code = rest.partition(":")
    if code not in ("y", "n"):
        turn.notice(turn.tr("common.stale_button"))
        return
    check = await _pending_check(turn, id_text)
    if check is None:
        return
    if code == "n":
        await start_form(turn, NOTE, str(check.id))
        return
    await store.answer(turn.session, check=check, status="confirmed", note=None,
                       by=_person(turn), now=turn.now)
    if turn.pressed_message_id is not None:
        turn.request("editMessageReplyMarkup", {"message_id": turn.pressed_message_id})
    turn.say(turn.tr("spotcheck.answered", id=check.id,
                     status=turn.tr(STATUS.format(check.status))))


async def _prepare_note(turn: Turn, args: str) -> Data | None:
    check = await _pending_check(turn, args)
    if check is None:
        return None  # _pending_check has said why on the pressed button
    return {"ctx_check": check.id}


async def _describe_note(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("spotcheck.not_confirming", id=data["ctx_check"])]


async def _save_note(turn: Turn, data: Data) -> None:
    check = await _pending_check(turn, str(data["ctx_check"]))
    if check is None:  # answered meanwhile (another chat, a repeated confirm)
        turn.say(turn.callback_text or turn.tr("spotcheck.not_yours"))
        return
    await store.answer(turn.session, check=check, status="not_confirmed", note=data["note"],
                       by=_person(turn), now=turn.now)
    turn.say(turn.tr("spotcheck.answered", id=check.id,
                     status=turn.tr(STATUS.format(check.status))))


NOTE = Form(
    name="spotcheck_note", title=N_("spotcheck.note_title"),
    questions=(Question("note", N_("spotcheck.q.note"), N_("spotcheck.label.note"),
                        max_len=MAX_NOTE),),
    save=_save_note, prepare=_prepare_note, describe=_describe_note,
)
add_form(NOTE, roles=ASSIGNEES)  # started from a button, not a command
