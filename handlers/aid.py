"""/aid: help given — condolence visits, unit donations, labour export, projects, pairing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from common.i18n import N_, Money
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Invalid, Question
from handlers.pairing import household_ref, pair_status, save_pair, unpaired_choices
from handlers.registry import CADRE
from storage import aid as store
from storage import pairings
from storage.models import Person

KIND_CHOICES = (
    Choice("condolence", N_("aid.kind.condolence")),
    Choice("donation", N_("aid.kind.donation")),
    Choice("labour", N_("aid.kind.labour")),
    Choice("project", N_("aid.kind.project")),
    Choice("pair", N_("aid.kind.pair")),
)
HOLIDAY_CHOICES = (
    Choice("new_year", N_("aid.holiday.new_year")),
    Choice("spring_festival", N_("aid.holiday.spring_festival")),
)
PROJECT_TYPE_CHOICES = (
    Choice("farming", N_("aid.project_type.farming")),
    Choice("transport", N_("aid.project_type.transport")),
    Choice("water", N_("aid.project_type.water")),
    Choice("other", N_("aid.project_type.other")),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


async def _paired_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """The cadre's paired households, to pick for a condolence visit."""
    households = await pairings.pairings_of(turn.session, person_id=_person(turn).id)
    return [Choice(f"h{h.id}", h.name, literal=True) for h in households]


def _at_least_minimum(turn: Turn, data: Data, value: Any) -> None:
    """A condolence amount below the configured minimum is refused, naming the minimum."""
    minimum = turn.app.settings.condolence_min_amount
    if Decimal(str(value)) < minimum:
        raise Invalid("aid.error.below_minimum", minimum=Money(minimum))


def _is(kind: str) -> Any:
    return lambda data: data.get("kind") == kind


POSITIVE = Decimal("0.01")

QUESTIONS = (
    Question("kind", N_("aid.q.kind"), N_("aid.label.kind"), kind="choice",
             choices=KIND_CHOICES),
    Question("household", N_("aid.q.household"), N_("aid.label.household"), kind="choice",
             choices=_paired_choices, allow_text=True, max_len=100, when=_is("condolence")),
    Question("holiday", N_("aid.q.holiday"), N_("aid.label.holiday"), kind="choice",
             choices=HOLIDAY_CHOICES, when=_is("condolence")),
    Question("amount", N_("aid.q.amount"), N_("aid.label.amount"), kind="money",
             validators=(_at_least_minimum,), when=_is("condolence")),
    Question("items", N_("aid.q.items"), N_("aid.label.items"), max_len=500,
             when=_is("donation")),
    Question("value", N_("aid.q.value"), N_("aid.label.value"), kind="money",
             min_value=POSITIVE, when=_is("donation")),
    Question("people", N_("aid.q.people"), N_("aid.label.people"), kind="int", min_value=1,
             max_value=10_000, when=_is("labour")),
    Question("destination", N_("aid.q.destination"), N_("aid.label.destination"),
             max_len=200, when=_is("labour")),
    Question("project", N_("aid.q.project"), N_("aid.label.project"), max_len=200,
             when=_is("project")),
    Question("project_type", N_("aid.q.project_type"), N_("aid.label.project_type"),
             kind="choice", choices=PROJECT_TYPE_CHOICES, when=_is("project")),
    Question("funds", N_("aid.q.funds"), N_("aid.label.funds"), kind="money",
             min_value=POSITIVE, when=_is("project")),
    Question("pair_household", N_("aid.q.pair_household"), N_("aid.label.pair_household"),
             kind="choice", choices=unpaired_choices, allow_text=True, max_len=100,
             when=_is("pair")),
)
AID_QUESTIONS = {q.key: q for q in QUESTIONS}


async def prepare(turn: Turn, args: str) -> Data | None:
    """Start with where the cadre stands on pairing: it decides whom condolences go to."""
    turn.say(await pair_status(turn))
    return {}


async def describe(turn: Turn, data: Data) -> list[str]:
    """The confirm screen of a pairing repeats the count against the quota."""
    return [await pair_status(turn)] if data.get("kind") == "pair" else []


async def save(turn: Turn, data: Data) -> None:
    """Record the help (or the pairing) and confirm it."""
    kind = data["kind"]
    if kind == "pair":
        await save_pair(turn, data, AID_QUESTIONS["pair_household"])
        return
    household_id, household_name = await household_ref(turn, data, AID_QUESTIONS["household"])
    money = data.get("amount") or data.get("value") or data.get("funds")
    await store.add_aid(
        turn.session, person=_person(turn), kind=kind, day=turn.today, now=turn.now,
        household_id=household_id, household_name=household_name,
        holiday=data.get("holiday"), amount=Decimal(money) if money else None,
        items=data.get("items"), people_count=data.get("people"),
        destination=data.get("destination"), project_name=data.get("project"),
        project_type=data.get("project_type"),
    )
    turn.say(turn.tr("aid.saved", kind=turn.tr(f"aid.kind.{kind}"), day=turn.today))


AID = register_form(
    Form(name="aid", title=N_("aid.title"), questions=QUESTIONS, save=save, prepare=prepare,
         describe=describe),
    roles=CADRE, description=N_("help.aid"), order=40,
)
