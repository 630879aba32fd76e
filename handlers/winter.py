"""/winter: the year-end work items of a village, each with a target and the progress so far.

The team leader updates them (an item's button opens a short form: target, then progress); the
team's cadres see them; leaders above see their scope, per township or per village.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from common.i18n import N_, Money, Translator
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Invalid, Question
from handlers.parsing import ParseError, VagueNumber, fold, parse_int
from handlers.registry import CADRE, EVERYONE, callback, command
from handlers.stats import scope_for, scope_label
from reports.villagework import (
    is_money,
    item_label,
    item_line,
    township_winter_line,
    unit_label,
    winter_lines,
)
from storage import winter as store
from storage.models import Person, Village
from storage.scope import Scope

MAX_AMOUNT = 10**12  # more in one village is a typing mistake
LEADER = frozenset({"team_leader"})  # who updates the items
KEEP = "keep"
# A unit typed after the number is understood and dropped ("200亩", "150 mu").
UNIT_WORDS = re.compile(
    r"\s*(亩|元|处|项|户|人|个|mu|yuan|projects?|households?|people|persons?|units?)$", re.I)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people reach a command
    return turn.person


def _order(turn: Turn) -> Sequence[str]:
    return turn.app.settings.winter_items


def render_village(tr: Translator, village: str, items: Mapping[str, store.WinterItem],
                   order: Sequence[str]) -> str:
    """A village's items: each with its progress, or without a target yet."""
    lines = [tr("winter.village_title", village=village)]
    for item in [*order, *sorted(set(items) - set(order))]:
        row = items.get(item)
        lines.append(item_line(tr, item, target=row.target if row else None,
                               progress=row.progress if row else 0))
    return "\n".join(lines)


@command("winter", roles=EVERYONE, description=N_("help.winter"), order=37)
async def winter(turn: Turn, args: str) -> None:
    """A team's own items (the team leader's as buttons); a leader's scope per place."""
    person = _person(turn)
    if person.role in CADRE:
        await _own(turn, person)
        return
    scope = await scope_for(turn, args.strip() or None)
    if scope is not None:
        await _scope(turn, scope)


async def _own(turn: Turn, person: Person) -> None:
    village = await turn.session.get(Village, person.village_id or 0)
    if village is None:
        turn.say(turn.tr("digest.not_in_scope"))
        return
    items = await store.items_of(turn.session, village_id=village.id)
    text = render_village(turn.tr, village.name, items, _order(turn))
    if person.role != "team_leader":
        turn.say(text + "\n" + turn.tr("winter.leader_updates"))
        return
    rows = [[(item_label(turn.tr, item), f"wnt:{item}")] for item in _order(turn)]
    turn.say(text + "\n" + turn.tr("winter.pick_item"), markup=inline_keyboard(rows))


async def _scope(turn: Turn, scope: Scope) -> None:
    tr, order = turn.tr, _order(turn)
    place = scope_label(tr, scope)
    if scope.village_id is not None:
        items = await store.items_of(turn.session, village_id=scope.village_id)
        turn.say(render_village(tr, place, items, order))
        return
    totals = await store.winter_totals(turn.session, township_id=scope.township_id)
    lines = [tr("winter.scope_title", place=place), *winter_lines(tr, totals, order)]
    by_place = await _per_place(turn, scope)
    if by_place:
        lines.append(tr("winter.places_title"))
    below = turn.app.settings.winter_lagging_percent
    lines += [township_winter_line(tr, name, items, below=below, order=order)
              for name, items in by_place.items()]
    turn.say("\n".join(lines))


async def _per_place(turn: Turn, scope: Scope) -> dict[str, dict[str, store.WinterSum]]:
    """Per township (the county) or per village (a township), by name: item -> sums."""
    if scope.township_id is None:
        names = await store.township_names(turn.session)
        found = await store.winter_by_township(turn.session)
        return dict(sorted((names.get(tid, str(tid)), items) for tid, items in found.items()))
    by_village: dict[str, dict[str, store.WinterSum]] = {}
    for row in await store.village_items(turn.session, township_id=scope.township_id):
        by_village.setdefault(row.village, {})[row.item] = store.WinterSum(
            row.target, row.progress, 1)
    return by_village


@callback("wnt", roles=LEADER, refusal=N_("winter.leader_only"))
async def on_item(turn: Turn, rest: str) -> None:
    """An item's button, wnt:<code>: the team leader's form for it."""
    if turn.person is None or turn.person.role != "team_leader":
        turn.notice(turn.tr("winter.leader_only"))
        return
    if rest not in _order(turn):
        turn.notice(turn.tr("common.stale_button"))
        return
    await start_form(turn, ITEM, rest)


# --- the team leader's form: an item's target and progress -------------------------------------


async def _prepare(turn: Turn, args: str) -> Data | None:
    person = _person(turn)
    if person.role != "team_leader" or person.village_id is None:
        turn.say(turn.tr("winter.leader_only"))
        return None
    if args not in _order(turn):
        turn.say(turn.tr("winter.unknown_item", item=args))
        return None
    row = (await store.items_of(turn.session, village_id=person.village_id)).get(args)
    target = row.target if row else None
    turn.say(item_line(turn.tr, args, target=target, progress=row.progress if row else 0))
    return {"ctx_item": args, "ctx_target": target}


def _amount(text: str, *, minimum: int) -> int:
    try:
        value = parse_int(UNIT_WORDS.sub("", fold(text).strip()))
    except VagueNumber as exc:  # 三十多户: a target or progress is a figure, not an estimate
        raise Invalid("form.error.vague") from exc
    except ParseError as exc:
        raise Invalid("form.error.int") from exc
    if value < minimum:
        raise Invalid("form.error.too_small", minimum=str(minimum))
    if value > MAX_AMOUNT:
        raise Invalid("form.error.too_large", maximum=str(MAX_AMOUNT))
    return value


def _target(data: Data) -> int:
    value = data["target"]
    return int(data["ctx_target"]) if value == KEEP else int(value)


def _most(turn: Turn, target: int) -> int:
    return target * turn.app.settings.winter_progress_max_percent // 100


def _parse_target(turn: Turn, data: Data, text: str) -> int:
    target = _amount(text, minimum=1)
    if "progress" in data and int(data["progress"]) > _most(turn, target):
        # Changed on the confirm screen: the progress already given must still fit.
        raise Invalid("winter.error.below_progress", progress=data["progress"])
    return target


def _parse_progress(turn: Turn, data: Data, text: str) -> int:
    value = _amount(text, minimum=0)
    most = _most(turn, _target(data))
    if value > most:
        raise Invalid("winter.error.too_much", most=most,
                      percent=turn.app.settings.winter_progress_max_percent)
    return value


async def _keep_choice(turn: Turn, data: Data) -> Sequence[Choice]:
    if not data.get("ctx_target"):
        return []
    if is_money(data["ctx_item"]):
        label = turn.tr("winter.keep_target_money", target=Money(int(data["ctx_target"])))
    else:
        label = turn.tr("winter.keep_target", target=data["ctx_target"],
                        unit=unit_label(turn.tr, data["ctx_item"]))
    return [Choice(KEEP, label, literal=True)]


async def _describe(turn: Turn, data: Data) -> list[str]:
    item = data["ctx_item"]
    return [turn.tr("winter.describe", item=item_label(turn.tr, item),
                    unit=unit_label(turn.tr, item))]


async def _save(turn: Turn, data: Data) -> None:
    person = _person(turn)
    village = await turn.session.get(Village, person.village_id or 0)
    if village is None or person.role != "team_leader":
        turn.say(turn.tr("winter.leader_only"))
        return
    row = await store.set_item(turn.session, village=village, item=data["ctx_item"],
                               target=_target(data), progress=int(data["progress"]),
                               by=person, now=turn.now)
    turn.say(turn.tr("winter.saved", line=item_line(turn.tr, row.item, target=row.target,
                                                    progress=row.progress)))


ITEM = Form(
    name="winter_item", title=N_("winter.title"),
    questions=(
        Question("target", N_("winter.q.target"), N_("winter.label.target"), kind="choice",
                 choices=_keep_choice, allow_text=True, parse=_parse_target, columns=1),
        Question("progress", N_("winter.q.progress"), N_("winter.label.progress"),
                 kind="choice", allow_text=True, parse=_parse_progress),
    ),
    save=_save, prepare=_prepare, describe=_describe,
)
add_form(ITEM, roles=LEADER)  # started from an item's button
