"""/publicity: a policy session held — its kind, day, attendance, topics, slogans and boards.

A mobilisation meeting recorded by the team leader is followed by its roll call: a button per
cadre of the team (ab:<meeting>:<person> marks them absent, or present again), then 完成
(ab:<meeting>:done). Each press re-reads the presser's role and village in the transaction that
writes (storage.absences.roll_call); /laggards names the absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from common.i18n import N_, Translator
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Question
from handlers.registry import CADRE, callback
from handlers.visits import day_choices, parse_past_day
from storage import absences
from storage import publicity as store
from storage.models import Person

KIND_CHOICES = tuple(Choice(code, f"publicity.kind.{code}") for code in store.KINDS)
TOPIC = "publicity.topic.{}"
MAX_PEOPLE = 100_000  # more at one session is a typing mistake
MAX_COUNT = 10_000
# Labels built from codes above and from the PUBLICITY_TOPICS setting's defaults, today's and
# earlier ones (records keep their codes); listed here so the catalog check sees every one.
_LABELS = (
    N_("publicity.kind.mobilisation"), N_("publicity.kind.party_members"),
    N_("publicity.kind.mass"), N_("publicity.kind.door_to_door"),
    N_("publicity.topic.cooperative_medical"), N_("publicity.topic.rural_pension"),
    N_("publicity.topic.farm_subsidies"), N_("publicity.topic.plenary_session"),
    N_("publicity.topic.legal_education"), N_("publicity.topic.family_planning"),
    N_("publicity.topic.plenum_20_4"), N_("publicity.topic.medical_insurance"),
    N_("publicity.topic.resident_pension"), N_("publicity.topic.other"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


def topic_label(turn: Turn, code: str) -> str:
    """A topic's name in the user's language; a configured code the catalogs lack, as it is."""
    try:
        return turn.tr(TOPIC.format(code))
    except KeyError:
        return code


async def _topic_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """The configured topics, then "other" (whose name is typed next)."""
    codes = [c for c in turn.app.settings.publicity_topics if c != store.OTHER_TOPIC]
    return [Choice(code, topic_label(turn, code), literal=True)
            for code in [*codes, store.OTHER_TOPIC]]


def _other_picked(data: Data) -> bool:
    return store.OTHER_TOPIC in (data.get("topics") or [])


QUESTIONS = (
    Question("kind", N_("publicity.q.kind"), N_("publicity.label.kind"), kind="choice",
             choices=KIND_CHOICES),
    Question("day", N_("publicity.q.day"), N_("publicity.label.day"), kind="choice",
             choices=day_choices, allow_text=True, parse=parse_past_day),
    Question("attendance", N_("publicity.q.attendance"), N_("publicity.label.attendance"),
             kind="int", min_value=1, max_value=MAX_PEOPLE),
    Question("topics", N_("publicity.q.topics"), N_("publicity.label.topics"), kind="multi",
             choices=_topic_choices),
    Question("other_topic", N_("publicity.q.other_topic"), N_("publicity.label.other_topic"),
             max_len=200, when=_other_picked),
    Question("slogans", N_("publicity.q.slogans"), N_("publicity.label.slogans"), kind="int",
             min_value=0, max_value=MAX_COUNT),
    Question("boards", N_("publicity.q.boards"), N_("publicity.label.boards"), kind="int",
             min_value=0, max_value=MAX_COUNT),
)


async def save(turn: Turn, data: Data) -> None:
    """Record the session and confirm it."""
    row = await store.add_publicity(
        turn.session, person=_person(turn), day=dt.date.fromisoformat(data["day"]),
        kind=data["kind"], attendance=int(data["attendance"]), topics=list(data["topics"]),
        other_topic=data.get("other_topic"), slogans=int(data["slogans"]),
        boards=int(data["boards"]), now=turn.now,
    )
    values: dict[str, Any] = {"kind": turn.tr(f"publicity.kind.{row.kind}"),
                              "day": row.day, "people": row.attendance}
    turn.say(turn.tr("publicity.saved", **values))
    if absences.may_call(_person(turn), row):
        call = await absences.roll_call(turn.session, publicity_id=row.id, by=_person(turn))
        if call is not None and call.team:
            turn.say(roll_text(turn.tr, call), markup=roll_keyboard(turn.tr, call))


def roll_text(tr: Translator, call: absences.RollCall) -> str:
    """The roll call's message: the meeting, and who is marked absent so far."""
    absent = call.absent_names
    return "\n".join([
        tr("absence.roll_intro", day=call.meeting.day, count=len(call.team)),
        tr("absence.marked", names=tr("common.list_sep").join(absent)) if absent
        else tr("absence.none_marked")])


def roll_keyboard(tr: Translator, call: absences.RollCall) -> dict[str, Any]:
    """A button per team cadre (✗ before the absent), two a row, then 完成."""
    buttons = [(tr("absence.button_absent", name=p.name) if p.id in call.absent else p.name,
                f"ab:{call.meeting.id}:{p.id}") for p in call.team]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return inline_keyboard([*rows, [(tr("absence.button_done"), f"ab:{call.meeting.id}:done")]])


@callback("ab", roles={"team_leader"}, refusal=N_("absence.not_yours"))
async def on_roll_call(turn: Turn, rest: str) -> None:
    """ab:<meeting>:<person> marks a cadre absent or present again; ab:<meeting>:done ends."""
    meeting_text, _, target = rest.partition(":")
    call = None
    if meeting_text.isdigit() and turn.person is not None:
        call = await absences.roll_call(turn.session, publicity_id=int(meeting_text),
                                        by=turn.person)
    if call is None or turn.person is None:
        turn.stale(turn.tr("absence.not_yours"))
        return
    if target == "done":
        turn.drop_keyboard()
        absent = call.absent_names
        turn.say(turn.tr("absence.done", day=call.meeting.day,
                         names=turn.tr("common.list_sep").join(absent)) if absent
                 else turn.tr("absence.done_all", day=call.meeting.day, count=len(call.team)))
        return
    if not target.isdigit() or int(target) not in {p.id for p in call.team}:
        turn.stale(turn.tr("absence.not_in_team"))
        return
    await absences.toggle(turn.session, call, person_id=int(target), by=turn.person,
                          now=turn.now)
    message_id = turn.pressed_message_id
    if message_id is not None:
        turn.edit(message_id, roll_text(turn.tr, call), markup=roll_keyboard(turn.tr, call))


PUBLICITY = register_form(
    Form(name="publicity", title=N_("publicity.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.publicity"), order=15,
)
