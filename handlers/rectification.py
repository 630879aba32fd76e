"""/rectify: the office marks villages of the "three types" (weak team, prominent disputes, weak
management) or unmarks them; a marked village's cadres record the measures they take and the
rules they establish; township leaders and the leading group read the progress of their scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from common.i18n import N_, Translator
from handlers.base import Turn
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Question
from handlers.places import ask_which, township_choices
from handlers.registry import CADRE, EVERYONE, OFFICE, command
from handlers.stats import scope_for, scope_label
from handlers.visits import day_choices, parse_past_day
from reports.villagework import RULE, TYPE, type_names, village_line
from storage import people
from storage import rectification as store
from storage.models import Person, Village
from storage.scope import AmbiguousPlace, Scope, UnknownPlace, named_place

MAX_LISTED = 30  # villages listed in one message; the export has them all
UNMARK = "unmark"
TYPE_CHOICES = tuple(Choice(code, TYPE.format(code)) for code in store.TYPES)
KIND_CHOICES = tuple(Choice(code, RULE.format(code)) for code in store.ACTION_KINDS)
ACTION_CHOICES = (Choice("change", N_("rectify.action.change")),
                  Choice(UNMARK, N_("rectify.action.unmark")))


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


def render_marked(tr: Translator, villages: list[store.VillageProgress], *, place: str) -> str:
    """The marked villages of a scope, each with its progress, and the totals."""
    if not villages:
        return tr("rectify.none_marked", place=place)
    totals = store.RectificationTotals()
    for village in villages:
        totals.add(village)
    lines = [tr("rectify.list_title", place=place, count=len(villages),
                complete=totals.complete)]
    lines += [village_line(tr, v) for v in villages[:MAX_LISTED]]
    if len(villages) > MAX_LISTED:
        lines.append(tr("rectify.more", count=len(villages) - MAX_LISTED))
    return "\n".join(lines)


@command("rectify", roles=EVERYONE, description=N_("help.rectify"), order=36)
async def rectify(turn: Turn, args: str) -> None:
    """Cadres record a step of their marked village; the office marks; leaders read."""
    role = _person(turn).role
    if role in CADRE:
        await start_form(turn, ACTION, args)
    elif role == "office":
        await start_form(turn, MARK, args)
    else:
        scope = await scope_for(turn, args.strip() or None)
        if scope is not None:
            await _listing(turn, scope)


async def _listing(turn: Turn, scope: Scope) -> None:
    township_id = scope.township_id if scope.village_id is None else None
    villages = await store.progress_by_village(turn.session, village_ids=scope.village_ids,
                                               township_id=township_id)
    turn.say(render_marked(turn.tr, villages, place=scope_label(turn.tr, scope)))


# --- the office: mark or unmark a village -------------------------------------------------------


async def _prepare_mark(turn: Turn, args: str) -> Data | None:
    """The county's marked villages first; a place named with the command skips its steps."""
    await _listing(turn, Scope("county"))
    if not args.strip():
        return {}
    try:
        place = await named_place(turn.session, name=args)
    except UnknownPlace:
        turn.say(turn.tr("stats.unknown_place", name=args.strip()))
        return None
    except AmbiguousPlace as exc:
        await ask_which(turn, exc)
        return None
    data: Data = {"township": str(place.township_id)}
    if place.village_id is not None:
        marked = await store.marked_ids(turn.session, township_id=place.township_id or 0)
        data["village"] = _village_code(place.village_id, marked)
    return data


def _village_code(village_id: int, marked: set[int]) -> str:
    # The code says whether the village is marked, so the next question can depend on it.
    return f"{'m' if village_id in marked else 'u'}{village_id}"


def _village_id(data: Data) -> int:
    return int(str(data["village"])[1:])


async def _township_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    return await township_choices(turn)


async def _village_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    township_id = int(data.get("township") or 0)
    marked = await store.marked_ids(turn.session, township_id=township_id)
    return [Choice(_village_code(v.id, marked), v.name, literal=True)
            for v in await people.villages_of(turn.session, township_id=township_id)]


def _is_marked(data: Data) -> bool:
    return str(data.get("village", "")).startswith("m")


def _types_asked(data: Data) -> bool:
    return data.get("action") != UNMARK


async def _current_types(turn: Turn, data: Data) -> list[str]:
    """A marked village's types, picked already when the office changes them."""
    if not _is_marked(data):
        return []
    return store.types_of(await store.mark_of(turn.session, village_id=_village_id(data)))


async def _describe_mark(turn: Turn, data: Data) -> list[str]:
    if "village" not in data:
        return []
    mark = await store.mark_of(turn.session, village_id=_village_id(data))
    types = store.types_of(mark)
    if types:
        return [turn.tr("rectify.now_marked", types=type_names(turn.tr, types))]
    return [turn.tr("rectify.now_unmarked")]


async def _save_mark(turn: Turn, data: Data) -> None:
    village = await turn.session.get(Village, _village_id(data))
    if village is None:
        turn.say(turn.tr("rectify.no_such_village"))
        return
    types = [] if data.get("action") == UNMARK else list(data.get("types") or [])
    await store.set_mark(turn.session, village=village, types=types, by=_person(turn),
                         now=turn.now)
    if types:
        turn.say(turn.tr("rectify.marked", village=village.name,
                         types=type_names(turn.tr, types)))
    else:
        turn.say(turn.tr("rectify.unmarked", village=village.name))


MARK = Form(
    name="rectify_mark", title=N_("rectify.mark_title"),
    questions=(
        Question("township", N_("rectify.q.township"), N_("rectify.label.township"),
                 kind="choice", choices=_township_choices, columns=3,
                 resets=("village", "action", "types")),
        Question("village", N_("rectify.q.village"), N_("rectify.label.village"),
                 kind="choice", choices=_village_choices, columns=3, resets=("action", "types")),
        Question("action", N_("rectify.q.action"), N_("rectify.label.action"), kind="choice",
                 choices=ACTION_CHOICES, when=_is_marked),
        Question("types", N_("rectify.q.types"), N_("rectify.label.types"), kind="multi",
                 choices=TYPE_CHOICES, columns=1, when=_types_asked, initial=_current_types),
    ),
    save=_save_mark, prepare=_prepare_mark, describe=_describe_mark,
)


# --- a marked village's cadres: a measure taken or a rule established --------------------------


async def _prepare_action(turn: Turn, args: str) -> Data | None:
    person = _person(turn)
    progress = None
    if person.village_id is not None:
        progress = await store.village_progress(turn.session, village_id=person.village_id)
    if progress is None:
        turn.say(turn.tr("rectify.not_marked"))
        return None
    turn.say(turn.tr("rectify.progress_intro") + "\n" + village_line(turn.tr, progress))
    return {}


async def _save_action(turn: Turn, data: Data) -> None:
    person = _person(turn)
    if person.village_id is None or await store.village_progress(
            turn.session, village_id=person.village_id) is None:
        turn.say(turn.tr("rectify.not_marked"))  # unmarked while the draft was open
        return
    kind = await add_step(turn, data)
    progress = await store.village_progress(turn.session, village_id=person.village_id)
    assert progress is not None
    turn.say(turn.tr("rectify.saved", kind=kind) + "\n" + village_line(turn.tr, progress))


def step_questions(kind_prompt: str, text_prompt: str, choices: Sequence[Choice], *,
                   columns: int) -> tuple[Question, ...]:
    """A village's step (a measure or a system): its kind by button, a description, its day."""
    return (
        Question("kind", kind_prompt, N_("rectify.label.kind"), kind="choice",
                 choices=tuple(choices), columns=columns),
        Question("text", text_prompt, N_("rectify.label.text"), max_len=1000),
        Question("day", N_("rectify.q.day"), N_("rectify.label.day"), kind="choice",
                 choices=day_choices, allow_text=True, parse=parse_past_day),
    )


async def add_step(turn: Turn, data: Data) -> str:
    """Record the step of step_questions for the person's village; the name of its kind."""
    await store.add_action(turn.session, person=_person(turn), kind=data["kind"],
                           text=data["text"], day=dt.date.fromisoformat(data["day"]),
                           now=turn.now)
    return turn.tr(RULE.format(data["kind"]))


ACTION = Form(
    name="rectify_action", title=N_("rectify.action_title"),
    questions=step_questions(N_("rectify.q.kind"), N_("rectify.q.text"), KIND_CHOICES,
                             columns=1),
    save=_save_action, prepare=_prepare_action,
)
add_form(MARK, roles=OFFICE)  # both started by /rectify, by role
add_form(ACTION, roles=CADRE)
