"""/inspect: a supervisor (督查组、督导组) records an inspection or unannounced visit of a
village — the township and village by buttons, the day (today unless changed), who of the
village team was found there (a button per member), and what was found. On save the village's
team leader is told, with 查看记录 to open the record (isp:<id>, its scope checked when pressed).
A member found away who had checked in as in the village that day has the check-in turned to
away (storage.checkins.strike): they are told, the leader's notice names them, and the
supervisor's confirmation counts them.

The render_* functions are pure (translator and data in, text out)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from common.i18n import N_, Translator
from handlers.authority import record_refusal
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Question
from handlers.places import township_choices, village_choices
from handlers.registry import READERS, SUPERVISOR, callback
from handlers.reviews import reachable, sent_to
from handlers.visits import day_choices, parse_past_day
from storage import inspections as store
from storage.models import Person, Village

MAX_FINDINGS = 1000
KIND = "inspect.kind.{}"
KIND_CHOICES = tuple(Choice(code, KIND.format(code)) for code in store.KINDS)
_LABELS = (N_("inspect.kind.inspection"), N_("inspect.kind.unannounced"))


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


def render_record(tr: Translator, view: store.InspectionView) -> str:
    """An inspection as a reader sees it: what, where, when, by whom, who was there, findings."""
    record = view.inspection
    sep = tr("common.list_sep")
    lines = [tr("inspect.record_title", kind=tr(KIND.format(record.kind)), day=record.day,
                township=view.township, village=view.village, inspector=view.inspector),
             tr("inspect.record_present", names=sep.join(view.present) or tr("inspect.nobody")),
             tr("inspect.record_absent", names=sep.join(view.absent) or tr("inspect.nobody")),
             tr("inspect.record_findings", findings=record.findings)]
    return "\n".join(lines)


# --- the form ----------------------------------------------------------------------------------

async def _prepare(turn: Turn, args: str) -> Data | None:
    """Today unless the supervisor changes it on the confirm screen."""
    data: Data = {}
    if turn.app.settings.calendar.in_campaign(turn.today):
        data["day"] = turn.today.isoformat()
    return data


async def _township_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await township_choices(turn)


async def _village_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await village_choices(turn, int(data.get("township") or 0))


async def _team_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    team = await store.team_of(turn.session, village_id=int(data.get("village") or 0))
    return [Choice(str(p.id), p.name, literal=True) for p in team]


async def _describe(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("inspect.rule")]


async def _save(turn: Turn, data: Data) -> None:
    """Save the record and tell the village's team leader, with the button that opens it."""
    village = await turn.session.get(Village, int(data["village"]))
    if village is None:
        turn.say(turn.tr("inspect.no_such_village"))
        return
    present = [int(code) for code in data.get("present") or []]
    inspection, struck = await store.record(
        turn.session, by=_person(turn), village=village, kind=data["kind"],
        day=dt.date.fromisoformat(data["day"]), findings=data["findings"],
        present_ids=present, now=turn.now)
    view = await store.view_of(turn.session, inspection)
    team = await store.team_of(turn.session, village_id=village.id)
    leaders = [p for p in team if p.role == "team_leader" and reachable(p)]
    struck_names = [p.name for p in team if p.id in struck]
    for leader in leaders:
        tr = turn.tr_for(leader)
        lines = [tr("inspect.leader_notice"), render_record(tr, view)]
        if struck_names:
            lines.append(tr("inspect.leader_struck", names=tr("common.list_sep").join(
                struck_names)))
        turn.tell(leader, "\n".join(lines),
                  markup=inline_keyboard([[(tr("inspect.button.open"),
                                            f"isp:{inspection.id}")]]),
                  key=f"inspection:{inspection.id}:{leader.id}")
    for cadre in (p for p in team if p.id in struck and reachable(p)):
        tr = turn.tr_for(cadre)
        turn.tell(cadre, tr("inspect.day_struck", day=inspection.day, village=village.name,
                            kind=tr(KIND.format(inspection.kind))),
                  key=f"inspection-struck:{inspection.id}:{cadre.id}")
    lines = [turn.tr("inspect.saved", village=village.name, absent=len(view.absent))]
    if struck:
        lines.append(turn.tr("inspect.saved_struck", count=len(struck)))
    turn.say("\n".join([*lines, sent_to(turn, leaders, msgid="inspect.told")]))


QUESTIONS = (
    Question("township", N_("inspect.q.township"), N_("inspect.label.township"), kind="choice",
             choices=_township_choices, columns=3, resets=("village", "present")),
    Question("village", N_("inspect.q.village"), N_("inspect.label.village"), kind="choice",
             choices=_village_choices, columns=3, resets=("present",)),
    Question("kind", N_("inspect.q.kind"), N_("inspect.label.kind"), kind="choice",
             choices=KIND_CHOICES),
    Question("day", N_("inspect.q.day"), N_("inspect.label.day"), kind="choice",
             choices=day_choices, allow_text=True, parse=parse_past_day),
    Question("present", N_("inspect.q.present"), N_("inspect.label.present"), kind="multi",
             choices=_team_choices, optional=True),
    Question("findings", N_("inspect.q.findings"), N_("inspect.label.findings"),
             max_len=MAX_FINDINGS),
)

INSPECT = register_form(
    Form(name="inspect", title=N_("inspect.title"), questions=QUESTIONS, save=_save,
         prepare=_prepare, describe=_describe),
    roles=SUPERVISOR, description=N_("help.inspect"), order=14,
)


# --- the record, opened from the team leader's message ----------------------------------------

@callback("isp", roles=READERS)
async def on_open(turn: Turn, rest: str) -> None:
    """isp:<id>: the inspection, if it lies inside the presser's scope now."""
    inspection = None
    if rest.isdigit():
        inspection = await store.by_id(turn.session, inspection_id=int(rest))
    if inspection is None:
        turn.notice(turn.tr("common.stale_button"))
        return
    refusal = await record_refusal(turn, village_id=inspection.village_id,
                                   township_id=inspection.township_id)
    if refusal is not None:
        turn.notice(refusal)
        return
    turn.say(render_record(turn.tr, await store.view_of(turn.session, inspection)))
