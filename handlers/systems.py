"""/systems: the eight village systems the notice asks of every village. A team's cadres and
team leader record one for their own village with buttons; township leaders, the leading group
and the office read which village of their scope lacks which system, and which has no slogans
or no publicity board.

A system is a rule of storage.rectification (the same rows a marked village's /rectify
records): one query serves both, and a marked village's rules count here too.
"""

from __future__ import annotations

from common.i18n import N_
from handlers.base import Turn
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form
from handlers.rectification import add_step, step_questions
from handlers.registry import CADRE, EVERYONE, command
from handlers.stats import scope_for, scope_label
from reports.systems import render_tasks, render_village, scope_tasks
from reports.villagework import RULE
from storage import rectification as store
from storage.models import Person

KIND_CHOICES = tuple(Choice(code, RULE.format(code)) for code in store.RULE_KINDS)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


@command("systems", roles=EVERYONE, description=N_("help.systems"), order=37)
async def systems(turn: Turn, args: str) -> None:
    """A team records a system of its village; leaders above the village read what lacks."""
    if _person(turn).role in CADRE:
        await start_form(turn, SYSTEM, args)
        return
    scope = await scope_for(turn, args.strip() or None)
    if scope is not None:
        tasks = await scope_tasks(turn.session, scope=scope)
        turn.say(render_tasks(turn.tr, tasks, place=scope_label(turn.tr, scope), scope=scope))


async def _own(turn: Turn) -> store.VillageSystems | None:
    """The person's village as it is placed now, with its systems (None: no village)."""
    village_id = _person(turn).village_id
    if village_id is None:
        return None
    found = await store.systems_by_village(turn.session, village_ids=[village_id])
    return found[0] if found else None


async def _prepare(turn: Turn, args: str) -> Data | None:
    own = await _own(turn)
    if own is None:
        turn.say(turn.tr("systems.no_village"))
        return None
    turn.say(render_village(turn.tr, own))
    return {}


async def _save(turn: Turn, data: Data) -> None:
    if await _own(turn) is None:  # moved off the roster's villages while the draft was open
        turn.say(turn.tr("systems.no_village"))
        return
    kind = await add_step(turn, data)
    own = await _own(turn)
    assert own is not None
    turn.say(turn.tr("systems.saved", kind=kind) + "\n" + render_village(turn.tr, own))


SYSTEM = Form(
    name="systems", title=N_("systems.form_title"),
    questions=step_questions(N_("systems.q.kind"), N_("systems.q.text"), KIND_CHOICES,
                             columns=2),
    save=_save, prepare=_prepare,
)
add_form(SYSTEM, roles=CADRE)  # started by /systems for a team's people
