"""/visit: one of the "eight visits", feeding the people's-feelings diary and problem ledger."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from common.i18n import N_
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Question, past_day
from handlers.registry import CADRE
from storage import households
from storage import visits as store
from storage.models import Person

KIND_CHOICES = tuple(Choice(code, f"visit.kind.{code}") for code in store.KINDS)
CATEGORY_CHOICES = tuple(
    Choice(code, f"visit.category.{code}") for code in store.HOUSEHOLD_CATEGORIES
)
PROBLEM_CHOICES = tuple(
    Choice(code, f"visit.problem.{code}") for code in store.PROBLEM_CATEGORIES
)
YES_NO = (Choice("yes", N_("visit.followup.yes")), Choice("no", N_("visit.followup.no")))
HOUSEHOLD_CODE = re.compile(r"h(\d+)")
MAX_HOUSEHOLD_BUTTONS = 12  # a longer list is typed: a phone screen shows no more
# Labels built from codes above; listed here so the catalog check sees every one.
_LABELS = (
    N_("visit.kind.weak"), N_("visit.kind.masses"), N_("visit.kind.rich"),
    N_("visit.kind.enterprise"), N_("visit.kind.petitioner"), N_("visit.kind.wise"),
    N_("visit.kind.talent"), N_("visit.kind.old"),
    N_("visit.category.poor"), N_("visit.category.ill"), N_("visit.category.five_guarantee"),
    N_("visit.category.left_behind"), N_("visit.category.zero_employment"),
    N_("visit.category.petitioning"), N_("visit.category.specialised"),
    N_("visit.problem.land"), N_("visit.problem.infrastructure"),
    N_("visit.problem.livelihood"), N_("visit.problem.health"),
    N_("visit.problem.employment"), N_("visit.problem.dispute"), N_("visit.problem.other"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


async def household_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """The cadre's paired households first, then the rest of the village's list."""
    person = _person(turn)
    if person.village_id is None:
        return []
    found = await households.households_for(
        turn.session, village_id=person.village_id, person_id=person.id,
        limit=MAX_HOUSEHOLD_BUTTONS)
    return [Choice(f"h{h.id}", h.name, literal=True) for h in found]


async def day_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """Today and yesterday, those of them inside the campaign; the code is the ISO date."""
    calendar = turn.app.settings.calendar
    # The date is on the label too: a draft resumed tomorrow must not say "today" wrongly.
    choices = []
    if calendar.in_campaign(turn.today):
        today = turn.today.isoformat()
        choices.append(Choice(today, turn.tr("visit.day.today", day=turn.today), literal=True))
    yesterday = turn.today - dt.timedelta(days=1)
    if calendar.in_campaign(yesterday):
        day = yesterday.isoformat()
        choices.append(Choice(day, turn.tr("visit.day.yesterday", day=yesterday), literal=True))
    return choices


def parse_past_day(turn: Turn, data: Data, text: str) -> Any:
    """A typed date of something done (昨天, 11月27日, 周三): never in the future, never
    before the campaign started."""
    return past_day(turn, text).isoformat()


def _is(key: str, value: str) -> Any:
    return lambda data: data.get(key) == value


QUESTIONS = (
    Question("kind", N_("visit.q.kind"), N_("visit.label.kind"), kind="choice",
             choices=KIND_CHOICES),
    Question("category", N_("visit.q.category"), N_("visit.label.category"), kind="choice",
             choices=CATEGORY_CHOICES, when=_is("kind", "weak")),
    Question("household", N_("visit.q.household"), N_("visit.label.household"),
             kind="choice", choices=household_choices, allow_text=True, max_len=100),
    Question("heard", N_("visit.q.heard"), N_("visit.label.heard"), max_len=1000),
    Question("wants", N_("visit.q.wants"), N_("visit.label.wants"), max_len=1000),
    Question("followup", N_("visit.q.followup"), N_("visit.label.followup"), kind="choice",
             choices=YES_NO),
    Question("problem", N_("visit.q.problem"), N_("visit.label.problem"), kind="choice",
             choices=PROBLEM_CHOICES, when=_is("followup", "yes")),
    Question("photo", N_("visit.q.photo"), N_("visit.label.photo"), kind="photo",
             optional=True),
    Question("location", N_("visit.q.location"), N_("visit.label.location"),
             kind="location", optional=True),
    Question("day", N_("visit.q.day"), N_("visit.label.day"), kind="choice",
             choices=day_choices, allow_text=True, parse=parse_past_day),
)


async def household_ref(turn: Turn, value: str) -> tuple[int | None, str | None]:
    """A button answer is `h<id>` of the cadre's village; anything else is a typed name (a
    typed "h12" naming no household of the village must not fail the save)."""
    match = HOUSEHOLD_CODE.fullmatch(value)
    village_id = _person(turn).village_id
    if match and village_id is not None and await households.household_in_village(
            turn.session, household_id=int(match.group(1)), village_id=village_id):
        return int(match.group(1)), None
    return None, value


async def save(turn: Turn, data: Data) -> None:
    """Record the visit (and its problem, if follow-up is needed) and confirm it."""
    household_id, household_name = await household_ref(turn, data["household"])
    location = data.get("location") or {}
    visit = await store.add_visit(
        turn.session, person=_person(turn), kind=data["kind"],
        day=dt.date.fromisoformat(data["day"]), heard=data["heard"], wants=data["wants"],
        now=turn.now, household_id=household_id, household_name=household_name,
        household_category=data.get("category"), problem_category=data.get("problem"),
        photo_file_id=data.get("photo"), latitude=location.get("latitude"),
        longitude=location.get("longitude"),
        problem_due_on=turn.today + dt.timedelta(days=turn.app.settings.problem_raised_days),
    )
    turn.say(turn.tr("visit.saved", kind=turn.tr(f"visit.kind.{visit.kind}"),
                     day=visit.day))
    if visit.followup:
        turn.say(turn.tr("visit.problem_raised",
                         category=turn.tr(f"visit.problem.{data['problem']}")))


VISIT = register_form(
    Form(name="visit", title=N_("visit.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.visit"), order=20,
)
