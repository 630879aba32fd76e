"""/condolence: a holiday condolence visit to one of one's own paired households, for the people
in no village team who pair by /pair (county-level leaders, township leaders, the office).

A command of its own rather than /aid opened to every role: /aid's other kinds (a donation,
labour export, a project, a household typed in) are records of the cadre's own village, which
these people do not have, and its pairing needs /pair's township and village questions. Here
the household is picked only from the person's pairings, by buttons; the holiday and the amount
are /aid's own questions (the same minimum). On Save the pairing and the village's scope are
read again (a household no longer theirs is asked again, the holiday and amount kept), and
storage.aid.add_aid re-checks both in the same transaction and puts the household's village
and township on the row, where the visit counts (/targets, the export, the county report).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal

from common.i18n import N_
from handlers.aid import AID_QUESTIONS
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form
from handlers.pairing import pair_status
from handlers.places import code_id
from handlers.registry import CADRE, EVERYONE
from storage import aid as store
from storage import pairings
from storage.models import Household, Person, Village
from storage.scope import OutOfScope

# Cadres and team leaders record condolences with /aid, in their own village.
OUTSIDE_TEAMS = EVERYONE - CADRE


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a form
    return turn.person


async def _household_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """The person's paired households they may still visit (not those of a village outside
    their pairing scope since they moved)."""
    households = await pairings.pairings_in_scope(turn.session, person=_person(turn))
    return [Choice(f"h{h.id}", h.name, literal=True) for h in households]


QUESTIONS = (
    dataclasses.replace(AID_QUESTIONS["household"], prompt=N_("condolence.q.household"),
                        choices=_household_choices, allow_text=False, max_len=None,
                        when=None),
    dataclasses.replace(AID_QUESTIONS["holiday"], when=None),
    dataclasses.replace(AID_QUESTIONS["amount"], when=None),
)


async def prepare(turn: Turn, args: str) -> Data | None:
    """Start with the person's paired households against their quota; with none, say /pair."""
    if not await pairings.pairings_in_scope(turn.session, person=_person(turn)):
        turn.say(turn.tr("condolence.no_pairs"))
        return None
    turn.say(await pair_status(turn))
    return {}


async def refresh(turn: Turn, data: Data) -> str | None:
    """On Save: a household no longer the person's to visit (unpaired, or its village outside
    their pairing scope now) is asked again, with the pairings left; the rest stays."""
    try:
        await pairings.paired_household(turn.session, person=_person(turn),
                                        household_id=code_id(data, "household"))
    except OutOfScope:
        data.pop("household", None)
        left = await pairings.pairings_in_scope(turn.session, person=_person(turn))
        return turn.tr("condolence.not_paired") if left else turn.tr("condolence.no_pairs_left")
    return None


async def save(turn: Turn, data: Data) -> None:
    """Record the condolence in the household's village (add_aid checks it is still theirs)."""
    try:
        row = await store.add_aid(
            turn.session, person=_person(turn), kind="condolence", day=turn.today, now=turn.now,
            household_id=code_id(data, "household"), holiday=data["holiday"],
            amount=Decimal(data["amount"]))
    except OutOfScope:
        turn.say(turn.tr("condolence.out_of_scope"))
        return
    household = await turn.session.get(Household, row.household_id)
    village = await turn.session.get(Village, row.village_id)
    assert household is not None and village is not None  # add_aid placed the row there
    turn.say(turn.tr("condolence.saved", day=turn.today, village=village.name,
                     household=household.name, holiday=turn.tr(f"aid.holiday.{row.holiday}")))


CONDOLENCE = register_form(
    Form(name="condolence", title=N_("condolence.title"), questions=QUESTIONS, save=save,
         prepare=prepare, refresh=refresh),
    roles=OUTSIDE_TEAMS, description=N_("help.condolence"), order=42,
)
