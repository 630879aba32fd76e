"""/training: a training of the cadres, recorded by whoever held it — a township leader for
their township, the office or the leading group for the whole county (全县) or a township
picked by buttons — with the day (today unless changed), the topic and who was absent: names
typed in one message (张三、李四), matched against the active cadres and team leaders of that
scope, or 无人缺席. The confirm screen names whom the names found (a part of a name finds the
whole), or which name matches nobody there or more than one; Save then asks that question
again, the other answers kept. An absence counts in
/laggards (缺席培训) in the week of the training, and on the export's 培训 sheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from common.i18n import N_
from handlers.base import Turn
from handlers.dialogs import register_form
from handlers.forms import Choice, Data, Form, Invalid, Question, check_text
from handlers.places import township_choices
from handlers.visits import day_choices, parse_past_day
from storage import training as store
from storage.models import Person

MAX_TOPIC = 200
COUNTY = "county"  # the township answer for a training of the whole county
NOBODY = "none"  # the absent answer's button: nobody was absent
ROLES = frozenset({"township_leader", *store.RECORDERS})


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


def _township_id(data: Data) -> int | None:
    township = data.get("township")
    return None if township in (None, COUNTY) else int(township)


def _names(data: Data) -> list[str]:
    absent = data.get("absent")
    return [] if absent in (None, NOBODY) else store.split_names(absent)


async def _prepare(turn: Turn, args: str) -> Data | None:
    """A township leader's own township; today unless changed on the confirm screen."""
    person = _person(turn)
    data: Data = {}
    if person.role == "township_leader":
        if person.township_id is None:
            turn.say(turn.tr("training.no_township"))
            return None
        data["township"] = str(person.township_id)
    if turn.app.settings.calendar.in_campaign(turn.today):
        data["day"] = turn.today.isoformat()
    return data


async def _township_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    """A township leader's own township; for the county, 全县 and every township."""
    person = _person(turn)
    if person.role == "township_leader":
        if person.township_id is None:
            return []
        return await township_choices(turn, only=person.township_id)
    return [Choice(COUNTY, N_("training.county")), *await township_choices(turn)]


def _parse_absent(turn: Turn, data: Data, text: str) -> str:
    """The typed names, kept as one list joined by 、 (matched when Save is tapped)."""
    names = store.split_names(check_text(turn, QUESTIONS[3], text))
    if not names:
        raise Invalid("form.error.empty")
    return "、".join(names)


def _unmatched(turn: Turn, found: store.Matched) -> str:
    """The sentence naming what did not match: nobody of the scope, or several."""
    sep = turn.tr("common.list_sep")
    parts = []
    if found.unknown:
        parts.append(turn.tr("training.unknown", names=sep.join(found.unknown)))
    if found.ambiguous:
        parts.append(turn.tr("training.ambiguous", names=sep.join(found.ambiguous)))
    return "".join(parts)


async def _refresh(turn: Turn, data: Data) -> str | None:
    """Match the typed names now; any that fail are named and the question is asked again."""
    found = await store.match_names(turn.session, township_id=_township_id(data),
                                    names=_names(data))
    if found.complete:
        return None
    data.pop("absent", None)
    return _unmatched(turn, found)


async def _describe(turn: Turn, data: Data) -> list[str]:
    """The rule, and the typed names as matched now: whom Save records absent (a part of a
    name finds the whole), or which names it will ask again."""
    lines = [turn.tr("training.rule")]
    names = _names(data)
    if names:
        found = await store.match_names(turn.session, township_id=_township_id(data),
                                        names=names)
        lines.append(turn.tr("training.matched", names=turn.tr("common.list_sep").join(
            p.name for p in found.people)) if found.complete else _unmatched(turn, found))
    return lines


async def _save(turn: Turn, data: Data) -> None:
    """Save the training after checking, in this transaction, that the person may record it
    and that every typed name is still one cadre of the scope."""
    township_id = _township_id(data)
    place = turn.tr("training.county")
    if township_id is not None:
        name = await store.township_name(turn.session, township_id=township_id)
        if name is None:
            turn.say(turn.tr("training.no_such_township"))
            return
        place = name
    if not store.may_record(_person(turn), township_id=township_id):
        turn.say(turn.tr("training.not_yours", place=place))
        return
    found = await store.match_names(turn.session, township_id=township_id, names=_names(data))
    if not found.complete:
        turn.say(_unmatched(turn, found) + turn.tr("training.not_saved"))
        return
    day = dt.date.fromisoformat(data["day"])
    await store.record(turn.session, by=_person(turn), township_id=township_id, day=day,
                       topic=data["topic"], absent=found.people, now=turn.now)
    if found.people:
        turn.say(turn.tr("training.saved", day=day, place=place, topic=data["topic"],
                         count=len(found.people),
                         names=turn.tr("common.list_sep").join(p.name for p in found.people)))
    else:
        turn.say(turn.tr("training.saved_none", day=day, place=place, topic=data["topic"]))


QUESTIONS = (
    Question("township", N_("training.q.township"), N_("training.label.township"),
             kind="choice", choices=_township_choices, columns=3, resets=("absent",)),
    Question("day", N_("training.q.day"), N_("training.label.day"), kind="choice",
             choices=day_choices, allow_text=True, parse=parse_past_day),
    Question("topic", N_("training.q.topic"), N_("training.label.topic"), max_len=MAX_TOPIC),
    Question("absent", N_("training.q.absent"), N_("training.label.absent"), kind="choice",
             choices=(Choice(NOBODY, N_("training.button.nobody")),), allow_text=True,
             parse=_parse_absent, max_len=1000),
)

TRAINING = register_form(
    Form(name="training", title=N_("training.title"), questions=QUESTIONS, save=_save,
         prepare=_prepare, describe=_describe, refresh=_refresh),
    roles=ROLES, description=N_("help.training"), order=16,
)
