"""/publicity: a policy session held — its kind, day, attendance, topics, slogans and boards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from common.i18n import N_
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Question
from handlers.registry import CADRE
from handlers.visits import day_choices, parse_past_day
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


PUBLICITY = register_form(
    Form(name="publicity", title=N_("publicity.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.publicity"), order=15,
)
