"""/pair: pair with a household, for everyone the notice gives a quota.

A village team's member picks from their village's households (as /aid's pairing does); a
person in no village team (a county-level leader, a township leader) first picks the township
and the village by buttons. The save re-reads who may pair where (storage.pairings.pairing_scope)
in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from common.i18n import N_
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Question
from handlers.places import code_id, township_choices, village_choices
from handlers.registry import EVERYONE
from storage import pairings
from storage.models import Person
from storage.scope import OutOfScope

HOUSEHOLD_CODE = re.compile(r"h(\d+)")
MAX_HOUSEHOLD_BUTTONS = 24  # a longer list is typed: a phone screen shows no more


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a form
    return turn.person


def chosen_village(turn: Turn, data: Data) -> int | None:
    """The village whose households are offered: the one picked, else the person's own."""
    picked = code_id(data, "village")
    return picked if picked is not None else _person(turn).village_id


async def unpaired_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """The village's households the person is not yet paired with."""
    village_id = chosen_village(turn, data)
    if village_id is None:
        return []
    paired = {h.id for h in await pairings.pairings_of(turn.session, person_id=_person(turn).id)}
    village = await pairings.households_of(turn.session, village_id=village_id)
    free = [h for h in village if h.id not in paired][:MAX_HOUSEHOLD_BUTTONS]
    return [Choice(f"h{h.id}", h.name, literal=True) for h in free]


async def household_ref(turn: Turn, data: Data, question: Question
                        ) -> tuple[int | None, str | None]:
    """A button answer is one of the offered `h<id>` codes; anything else is a typed name."""
    value = data.get(question.key)
    if value is None:
        return None, None
    offered = {c.code for c in await question.options(turn, data)}
    match = HOUSEHOLD_CODE.fullmatch(value)
    return (int(match.group(1)), None) if match and value in offered else (None, value)


async def pair_status(turn: Turn) -> str:
    """The person's paired households against the quota of their rank."""
    person = _person(turn)
    households = await pairings.pairings_of(turn.session, person_id=person.id)
    quota = turn.app.settings.pair_quota(person.rank)
    names = "、".join(h.name for h in households) or "—"
    return turn.tr("aid.pairs_status", count=len(households), quota=quota, names=names)


async def save_pair(turn: Turn, data: Data, question: Question) -> None:
    """Pair with the household `question` asked for, inside the person's scope as it is now."""
    household_id, household_name = await household_ref(turn, data, question)
    try:
        household, created = await pairings.pair(
            turn.session, person=_person(turn), now=turn.now,
            village_id=code_id(data, "village"), household_id=household_id,
            household_name=household_name)
    except (OutOfScope, ValueError):  # placed elsewhere, or in no village, since it began
        turn.say(turn.tr("pair.out_of_scope"))
        return
    if not created:
        turn.say(turn.tr("aid.already_paired", name=household.name))
        return
    turn.say(turn.tr("aid.paired", name=household.name) + "\n" + await pair_status(turn))


async def _township_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    only = pairings.pairing_scope(_person(turn)).township_id
    return await township_choices(turn, prefix="t", only=only)


async def _village_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await village_choices(turn, code_id(data, "township"), prefix="v")


def _outside(data: Data) -> bool:
    return bool(data.get("outside"))


QUESTIONS = (
    Question("township", N_("pair.q.township"), N_("pair.label.township"), kind="choice",
             choices=_township_choices, columns=3, when=_outside, resets=("village", "household")),
    Question("village", N_("pair.q.village"), N_("pair.label.village"), kind="choice",
             choices=_village_choices, columns=3, when=_outside, resets=("household",)),
    Question("household", N_("aid.q.pair_household"), N_("aid.label.pair_household"),
             kind="choice", choices=unpaired_choices, allow_text=True, max_len=100),
)
HOUSEHOLD = QUESTIONS[-1]


async def prepare(turn: Turn, args: str) -> Data | None:
    """Start with where the person stands against their quota; a person in no village team
    picks the village first."""
    turn.say(await pair_status(turn))
    return {"outside": _person(turn).village_id is None}


async def save(turn: Turn, data: Data) -> None:
    """Pair, re-checking the village against the person's scope now."""
    await save_pair(turn, data, HOUSEHOLD)


PAIR = register_form(
    Form(name="pair", title=N_("pair.title"), questions=QUESTIONS, save=save, prepare=prepare),
    roles=EVERYONE, description=N_("help.pair"), order=41,
)
