"""/dispute reports a dispute or petition; /disputes lists the cadre's open ones and moves
them: mediating, resolved (with the party's verdict), or escalated with a reason.

Leaders' /disputes lists the open disputes of their scope, oldest first with the overdue ones
marked, each with a button to read its history; only the reporting cadre moves a dispute."""

from __future__ import annotations

import datetime as dt

from common.i18n import N_, Translator
from handlers.authority import record_refusal
from handlers.base import Buttons, Turn, inline_keyboard
from handlers.dialogs import register_form, start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Question
from handlers.handover import announce
from handlers.registry import CADRE, EVERYONE, callback, command
from handlers.stats import scope_for, scope_label
from reports import handover as handover_words
from storage import disputes as store
from storage import handover, stats
from storage.models import Dispute, DisputeStep, Person
from storage.scope import own_scope

CATEGORY_CHOICES = tuple(Choice(c, f"dispute.category.{c}") for c in store.CATEGORIES)
FLAG_CHOICES = tuple(Choice(c, f"dispute.flag.{c}") for c in store.FLAGS)
URGENCY_CHOICES = tuple(Choice(c, f"dispute.urgency.{c}") for c in store.URGENCIES)
MAX_LISTED = 8  # four buttons each: a longer keyboard is unusable on a phone
STATUS, LEVEL, CATEGORY = "dispute.status.{}", "dispute.level.{}", "dispute.category.{}"
FLAG, URGENCY = "dispute.flag.{}", "dispute.urgency.{}"
MAX_LEADER_LISTED = 24  # one history button each, four to a row
# Labels built from codes above; listed here so the catalog check sees every one.
_LABELS = (
    N_("dispute.category.land"), N_("dispute.category.demolition"),
    N_("dispute.category.pollution"), N_("dispute.category.accident"),
    N_("dispute.category.ownership"), N_("dispute.category.other"),
    N_("dispute.flag.repeated"), N_("dispute.flag.collective"), N_("dispute.flag.province"),
    N_("dispute.flag.beijing"), N_("dispute.flag.superior"), N_("dispute.flag.county_leader"),
    N_("dispute.urgency.low"), N_("dispute.urgency.normal"), N_("dispute.urgency.high"),
    N_("dispute.status.reported"), N_("dispute.status.mediating"),
    N_("dispute.status.resolved"), N_("dispute.status.escalated"),
    N_("dispute.level.township"), N_("dispute.level.county"),
    N_("dispute.verdict.satisfied"), N_("dispute.verdict.unsatisfied"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


QUESTIONS = (
    Question("category", N_("dispute.q.category"), N_("dispute.label.category"),
             kind="choice", choices=CATEGORY_CHOICES),
    Question("parties", N_("dispute.q.parties"), N_("dispute.label.parties"), max_len=500),
    Question("people", N_("dispute.q.people"), N_("dispute.label.people"), kind="int",
             min_value=1, max_value=100_000),
    Question("flags", N_("dispute.q.flags"), N_("dispute.label.flags"), kind="multi",
             choices=FLAG_CHOICES, optional=True),
    Question("description", N_("dispute.q.description"), N_("dispute.label.description"),
             max_len=2000),
    Question("urgency", N_("dispute.q.urgency"), N_("dispute.label.urgency"), kind="choice",
             choices=URGENCY_CHOICES, columns=3),
)


async def save(turn: Turn, data: Data) -> None:
    """Record the dispute as reported, with its first step, and confirm it."""
    dispute = await store.add_dispute(
        turn.session, person=_person(turn), category=data["category"], parties=data["parties"],
        people_count=data["people"], flags=list(data.get("flags") or []),
        description=data["description"], urgency=data["urgency"], day=turn.today, now=turn.now,
    )
    saved = turn.tr("dispute.saved", id=dispute.id,
                    category=turn.tr(f"dispute.category.{dispute.category}"))
    level = handover.level_for_new(dispute)
    if level is not None:  # very urgent, or a priority petition: the level above is told now
        saved += "\n" + await announce(turn, dispute, level=level, reason=None, new=True)
    turn.say(saved)


DISPUTE = register_form(
    Form(name="dispute", title=N_("dispute.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.dispute"), order=30,
)


def _status(turn: Turn, dispute: Dispute) -> str:
    return status_text(turn.tr, dispute)


def status_text(tr: Translator, dispute: Dispute) -> str:
    """A dispute's status, with the level it was escalated to and whether that level has taken
    it (受理) or it still waits for them."""
    label = tr(STATUS.format(dispute.status))
    if dispute.status == "escalated":
        label += " · " + tr(LEVEL.format(dispute.level))
    if dispute.handover_level is not None and dispute.status in store.OPEN:
        taken = dispute.taken_at is not None
        label += " · " + tr(N_("handover.status.taken") if taken
                            else N_("handover.status.waiting"))
    return label


def _parties(dispute: Dispute) -> str:
    return dispute.parties if len(dispute.parties) <= 40 else dispute.parties[:39] + "…"


def _line(turn: Turn, dispute: Dispute) -> str:
    return turn.tr(
        "dispute.line", id=dispute.id, category=turn.tr(f"dispute.category.{dispute.category}"),
        parties=_parties(dispute), people=dispute.people_count, status=_status(turn, dispute),
        days=(turn.today - dispute.opened_on).days,
    )


def _buttons(turn: Turn, dispute: Dispute) -> list[list[tuple[str, str]]]:
    allowed = store.ALLOWED[dispute.status]
    offers = [
        ("mediating", "m", N_("dispute.button.mediating")),
        ("resolved", "r", N_("dispute.button.resolved")),
        ("escalated", "et", N_("dispute.button.township")),
        ("escalated", "ec", N_("dispute.button.county")),
    ]
    row = [(turn.tr(msgid, id=dispute.id), f"dsp:{dispute.id}:{code}")
           for status, code, msgid in offers if status in allowed]
    return [row[i : i + 2] for i in range(0, len(row), 2)]


@command("disputes", roles=EVERYONE, description=N_("help.disputes"), order=31)
async def list_disputes(turn: Turn, args: str) -> None:
    """A cadre's own open disputes; a leader's those of their scope (or a place in it)."""
    if _person(turn).role == "cadre":
        await _own_disputes(turn)
    else:
        await _scope_disputes(turn, args.strip() or None)


async def _own_disputes(turn: Turn) -> None:
    """The cadre's open disputes, oldest first, each with the steps it can take next."""
    found = await store.open_disputes(turn.session, person_id=_person(turn).id)
    if not found:
        turn.say(turn.tr("dispute.none_open"))
        return
    shown = found[:MAX_LISTED]
    lines = [turn.tr("dispute.list_title", count=len(found))]
    lines += [_line(turn, d) for d in shown]
    if len(found) > len(shown):
        lines.append(turn.tr("dispute.more", count=len(found) - len(shown)))
    rows = [row for d in shown for row in _buttons(turn, d)]
    turn.say("\n".join(lines), markup=inline_keyboard(rows))


@callback("dsp", roles=CADRE)
async def on_button(turn: Turn, rest: str) -> None:
    """A step button: dsp:<id>:m|r|et|ec, or the verdict dsp:<id>:vs|vn."""
    id_text, _, code = rest.partition(":")
    if turn.person is None or turn.person.role not in CADRE or not id_text.isdigit():
        turn.notice(turn.tr("common.stale_button"))
        return
    dispute = await store.dispute_of(turn.session, dispute_id=int(id_text),
                                     person_id=turn.person.id, lock=True)
    if dispute is None:
        turn.notice(turn.tr("dispute.not_yours"))  # a forged id: not this cadre's dispute
        return
    refusal = await record_refusal(turn, village_id=dispute.village_id,
                                   township_id=dispute.township_id)
    if refusal is not None:  # the cadre has moved to another village since
        turn.notice(refusal)
        return
    if code == "m":
        await _move(turn, dispute, "mediate")
    elif code == "r" and "resolved" in store.ALLOWED[dispute.status]:
        _ask_verdict(turn, dispute)
    elif code in ("vs", "vn"):
        verdict = "satisfied" if code == "vs" else "unsatisfied"
        await _move(turn, dispute, "resolve", verdict=verdict)
    elif code in ("et", "ec") and "escalated" in store.ALLOWED[dispute.status]:
        level = "township" if code == "et" else "county"
        await start_form(turn, STEP, f"{dispute.id}:{level}")
    else:
        turn.notice(turn.tr("dispute.not_allowed", status=_status(turn, dispute)))


def _ask_verdict(turn: Turn, dispute: Dispute) -> None:
    rows = [[
        (turn.tr("dispute.verdict.satisfied"), f"dsp:{dispute.id}:vs"),
        (turn.tr("dispute.verdict.unsatisfied"), f"dsp:{dispute.id}:vn"),
    ]]
    turn.say(turn.tr("dispute.ask_verdict", id=dispute.id), markup=inline_keyboard(rows))


async def _move(
    turn: Turn, dispute: Dispute, action: str, *, note: str | None = None,
    level: str | None = None, verdict: str | None = None,
) -> None:
    try:
        await store.move_dispute(turn.session, dispute=dispute, by_person_id=_person(turn).id,
                                 action=action, note=note, now=turn.now, level=level,
                                 verdict=verdict)
    except store.TransitionError:
        say = turn.stale if action == "resolve" else turn.notice  # the verdict's own buttons
        say(turn.tr("dispute.not_allowed", status=_status(turn, dispute)))
        return
    message_id = turn.pressed_message_id
    if message_id is not None and action == "resolve":
        turn.request("editMessageReplyMarkup", {"message_id": message_id})
    turn.say(turn.tr("dispute.moved", id=dispute.id, status=_status(turn, dispute)))


# The escalation reason: a one-question form, so the draft is durable like any other.
async def _prepare_step(turn: Turn, args: str) -> Data | None:
    id_text, _, level = args.partition(":")
    dispute = None
    if id_text.isdigit() and level in store.LEVELS:
        dispute = await store.dispute_of(turn.session, dispute_id=int(id_text),
                                         person_id=_person(turn).id)
    if dispute is None or "escalated" not in store.ALLOWED[dispute.status]:
        turn.say(turn.tr("dispute.step_unavailable"))
        return None
    return {"ctx_dispute": dispute.id, "ctx_level": level}


async def _describe_step(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("dispute.escalating", id=data["ctx_dispute"],
                    level=turn.tr(f"dispute.level.{data['ctx_level']}"))]


async def _save_step(turn: Turn, data: Data) -> None:
    dispute = await store.dispute_of(turn.session, dispute_id=data["ctx_dispute"],
                                     person_id=_person(turn).id, lock=True)
    if dispute is None:
        turn.say(turn.tr("dispute.step_unavailable"))
        return
    try:
        await store.move_dispute(turn.session, dispute=dispute, by_person_id=_person(turn).id,
                                 action="escalate", note=data["reason"], now=turn.now,
                                 level=data["ctx_level"])
    except store.TransitionError:
        turn.say(turn.tr("dispute.not_allowed", status=_status(turn, dispute)))
        return
    # The level above is told at once, and the cadre hears who (or that nobody could be).
    turn.say(await announce(turn, dispute, level=data["ctx_level"], reason=data["reason"],
                            new=False))


STEP = Form(
    name="dispute_step", title=N_("dispute.step_title"),
    questions=(Question("reason", N_("dispute.q.reason"), N_("dispute.label.reason"),
                        max_len=1000),),
    save=_save_step, prepare=_prepare_step, describe=_describe_step,
)
add_form(STEP, roles=CADRE)  # started from a button, not a command


# --- leaders: the open disputes of a scope, and any dispute's history --------------------------


def _scope_line(tr: Translator, item: stats.OpenDispute, today: dt.date) -> str:
    dispute = item.dispute
    line = tr("disputes.scope_line", id=dispute.id,
              category=tr(CATEGORY.format(dispute.category)), village=item.village,
              parties=_parties(dispute), people=dispute.people_count,
              status=status_text(tr, dispute), days=(today - dispute.opened_on).days,
              reporter=item.reporter)
    return tr("disputes.overdue_mark") + line if item.overdue else line


def render_scope_disputes(
    tr: Translator, items: list[stats.OpenDispute], *, place: str, today: dt.date
) -> str:
    """A leader's open disputes of a scope, oldest first, the overdue ones marked."""
    if not items:
        return tr("disputes.scope_none", place=place)
    overdue = sum(1 for item in items if item.overdue)
    lines = [tr("disputes.scope_title", place=place, count=len(items), overdue=overdue)]
    lines += [_scope_line(tr, item, today) for item in items[:MAX_LEADER_LISTED]]
    if len(items) > MAX_LEADER_LISTED:
        lines.append(tr("dispute.more", count=len(items) - MAX_LEADER_LISTED))
    lines.append(tr("disputes.history_hint"))
    return "\n".join(lines)


async def _scope_disputes(turn: Turn, name: str | None) -> None:
    scope = await scope_for(turn, name)
    if scope is None:
        return
    settings = turn.app.settings
    items = await stats.open_disputes_in(
        turn.session, scope=scope, now=turn.now, overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"))
    shown = [item.dispute for item in items[:MAX_LEADER_LISTED]]
    history = [(turn.tr("disputes.history_button", id=d.id), f"dsh:{d.id}") for d in shown]
    rows: Buttons = [history[i : i + 4] for i in range(0, len(history), 4)]
    # A team leader is also a cadre: their own disputes keep the buttons that move them.
    rows += [row for d in shown if d.person_id == _person(turn).id for row in _buttons(turn, d)]
    text = render_scope_disputes(turn.tr, items, place=scope_label(turn.tr, scope),
                                 today=turn.today)
    turn.say(text, markup=inline_keyboard(rows) if rows else None)


def render_history(
    tr: Translator, item: stats.OpenDispute, steps: list[tuple[DisputeStep, str]], *,
    tz: dt.tzinfo,
) -> str:
    """A dispute's card: what it is, where it stands, and every dated step."""
    dispute = item.dispute
    flags = [tr(FLAG.format(f)) for f in store.FLAGS if dispute.flags.get(f)]
    status = status_text(tr, dispute)
    lines = [tr("disputes.history_title", id=dispute.id, village=item.village,
                category=tr(CATEGORY.format(dispute.category))),
             tr("disputes.history_facts", parties=dispute.parties, people=dispute.people_count,
                urgency=tr(URGENCY.format(dispute.urgency)), reporter=item.reporter,
                opened=dispute.opened_on),
             tr("disputes.history_status",
                status=tr("disputes.overdue_mark") + status if item.overdue else status)]
    if flags:
        lines.append(tr("disputes.history_flags", flags=tr("stats.separator").join(flags)))
    lines += [tr("disputes.history_description", text=dispute.description),
              tr("disputes.history_steps")]
    for step, name in steps:
        # A take or a return by the level above reads as what it was, not as the status.
        done = (tr(f"handover.step.{step.action}") if step.action in ("take", "return")
                else tr(STATUS.format(step.status)))
        line = tr("disputes.step_line", at=step.at.astimezone(tz), status=done, name=name)
        lines.append(line + (tr("disputes.step_note", note=step.note) if step.note else ""))
    return "\n".join(lines)


@callback("dsh", roles=EVERYONE)
async def on_history(turn: Turn, rest: str) -> None:
    """A history button, dsh:<id>: the dispute's card, if it lies in the person's scope."""
    if turn.person is None or not rest.isdigit():
        turn.notice(turn.tr("common.stale_button"))
        return
    settings = turn.app.settings
    scope = await own_scope(turn.session, person=turn.person)  # None for a cadre: own only
    item = await stats.dispute_in(
        turn.session, dispute_id=int(rest), scope=scope, reporter_id=turn.person.id,
        now=turn.now, overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"))
    if item is None:
        turn.notice(turn.tr("disputes.not_in_scope"))  # a forged id outside the scope
        return
    steps = await stats.dispute_history(turn.session, dispute_id=item.dispute.id)
    # A hand-over waiting for this leader: 受理 / 退回 under the card, as on the notice.
    waits = handover.waiting(item.dispute) and handover.may_take(turn.person, item.dispute)
    turn.say(render_history(turn.tr, item, steps, tz=settings.tz),
             markup=handover_words.buttons(turn.tr, item.dispute) if waits else None)
