"""/problem raises a problem in the village's ledger; /problems lists the open ones by
priority then age and moves them: in hand (measures, who, by when) → solved → written
feedback → checked back ("looking back"), which reopens it in hand if the solution did not hold.

Cadres and team leaders work their own village's ledger (any member of the team may take a
step); township leaders, the leading group and the office read the open problems of their
scope, each with its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from common.i18n import N_, Translator
from handlers.base import Buttons, Turn, inline_keyboard
from handlers.dialogs import register_form, start_form
from handlers.formregistry import add_form
from handlers.forms import Choice, Data, Form, Question, future_day
from handlers.registry import CADRE, EVERYONE, callback, command
from handlers.reviews import reachable
from handlers.stats import scope_for, scope_label
from handlers.visits import household_choices, household_ref
from storage import households
from storage import problems as store
from storage.models import Person, Problem, ProblemStep
from storage.scope import own_scope

CATEGORY, STATUS, PRIORITY = "visit.problem.{}", "problem.status.{}", "problem.priority.{}"
CATEGORY_CHOICES = tuple(Choice(c, CATEGORY.format(c)) for c in store.CATEGORIES)
PRIORITY_CHOICES = tuple(Choice(c, PRIORITY.format(c)) for c in store.PRIORITIES)
HELD_CHOICES = (Choice("held", N_("problem.held.held")), Choice("not", N_("problem.held.not")))
ADDRESSEE = "problem.addressee.{}"
ADDRESSEE_CHOICES = tuple(Choice(a, ADDRESSEE.format(a)) for a in store.ADDRESSEES)
# Addressees not on the roster: the cadre hands the feedback over, and is told so.
BY_HAND = {"household": N_("problem.feedback_by_hand.household"),
           "village_committee": N_("problem.feedback_by_hand.village_committee")}
# Step buttons carry one letter per action, and the form the action's name.
CODES = {"t": "take", "s": "solve", "f": "feedback", "c": "check"}
BUTTON = {"take": N_("problem.button.take"), "solve": N_("problem.button.solve"),
          "feedback": N_("problem.button.feedback"), "check": N_("problem.button.check")}
# The step being recorded, named on its card (the problem's number is already in the heading).
STEP_NAME = {"take": N_("problem.step.take"), "solve": N_("problem.step.solve"),
        "feedback": N_("problem.step.feedback"), "check": N_("problem.step.check")}
DUE_IN_DAYS = (3, 7, 14)  # the by-when buttons; any later day may be typed
MAX_LISTED = 8  # one button each, four to a row: a longer keyboard is unusable on a phone
MAX_LEADER_LISTED = 24
# Labels built from codes above; listed here so the catalog check sees every one.
_LABELS = (
    N_("problem.priority.high"), N_("problem.priority.normal"), N_("problem.priority.low"),
    N_("problem.status.raised"), N_("problem.status.in_hand"), N_("problem.status.solved"),
    N_("problem.status.feedback"), N_("problem.status.checked"),
    N_("problem.action.raise"), N_("problem.action.take"), N_("problem.action.solve"),
    N_("problem.action.feedback"), N_("problem.action.check"),
    N_("problem.addressee.household"), N_("problem.addressee.village_committee"),
    N_("problem.addressee.township"), N_("problem.addressee.leading_group"),
)


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered people in
    return turn.person


QUESTIONS = (
    Question("category", N_("problem.q.category"), N_("problem.label.category"),
             kind="choice", choices=CATEGORY_CHOICES),
    Question("description", N_("problem.q.description"), N_("problem.label.description"),
             max_len=2000),
    Question("priority", N_("problem.q.priority"), N_("problem.label.priority"),
             kind="choice", choices=PRIORITY_CHOICES, columns=3),
    Question("household", N_("problem.q.household"), N_("problem.label.household"),
             kind="choice", choices=household_choices, allow_text=True, max_len=100,
             optional=True),
)


async def _household_id(turn: Turn, value: str | None) -> int | None:
    """A household of the cadre's village: a button's `h<id>`, or a typed name (added)."""
    if not value:
        return None
    household_id, name = await household_ref(turn, value)
    found = await households.resolve(turn.session, person=_person(turn), now=turn.now,
                                     household_id=household_id, household_name=name)
    return found.id if found is not None else None


async def save(turn: Turn, data: Data) -> None:
    """Put the problem in the village's ledger as raised, with its first step."""
    settings = turn.app.settings
    problem = await store.raise_problem(
        turn.session, person=_person(turn), category=data["category"],
        description=data["description"], priority=data["priority"], day=turn.today,
        now=turn.now, household_id=await _household_id(turn, data.get("household")),
        next_due_on=turn.today + dt.timedelta(days=settings.problem_raised_days))
    turn.say(turn.tr("problem.saved", id=problem.id,
                     category=turn.tr(CATEGORY.format(problem.category)),
                     due=problem.next_due_on or turn.today))


PROBLEM = register_form(
    Form(name="problem", title=N_("problem.title"), questions=QUESTIONS, save=save),
    roles=CADRE, description=N_("help.problem"), order=22,
)


# --- the list and a problem's card ---------------------------------------------------------


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(
    tr: Translator, item: store.Listed, today: dt.date, tz: dt.tzinfo, *, leader: bool
) -> str:
    problem = item.problem
    values: dict[str, Any] = {
        "id": problem.id, "priority": tr(PRIORITY.format(store.priority_code(problem))),
        "category": tr(CATEGORY.format(problem.category)),
        "text": _short(problem.description), "status": tr(STATUS.format(problem.status)),
        "days": (today - problem.created_at.astimezone(tz).date()).days}
    line = (tr("problems.scope_line", village=item.village, reporter=item.reporter, **values)
            if leader else tr("problems.line", **values))
    return tr("problems.overdue_mark") + line if store.is_overdue(problem, today) else line


def render_list(
    tr: Translator, items: list[store.Listed], *, place: str, today: dt.date, tz: dt.tzinfo,
    leader: bool,
) -> str:
    """Open problems by priority then age, the overdue ones marked, capped."""
    if not items:
        return tr("problems.none_open", place=place)
    cap = MAX_LEADER_LISTED if leader else MAX_LISTED
    late = sum(1 for item in items if store.is_overdue(item.problem, today))
    lines = [tr("problems.title", place=place, count=len(items), overdue=late)]
    lines += [_line(tr, item, today, tz, leader=leader) for item in items[:cap]]
    if len(items) > cap:
        lines.append(tr("problems.more", count=len(items) - cap))
    lines.append(tr("problems.hint"))
    return "\n".join(lines)


@command("problems", roles=EVERYONE, description=N_("help.problems"), order=23)
async def list_problems(turn: Turn, args: str) -> None:
    """A team's open problems of its village; a leader's those of their scope (or a place)."""
    person = _person(turn)
    if person.role in CADRE:
        items = await store.open_problems(turn.session, village_ids=[person.village_id or 0])
        place = person.village.name if person.village else ""
        leader = False
    else:
        scope = await scope_for(turn, args.strip() or None)
        if scope is None:
            return
        items = await store.open_problems(turn.session, **scope.filters)  # type: ignore[arg-type]
        place, leader = scope_label(turn.tr, scope), True
    shown = items[: MAX_LEADER_LISTED if leader else MAX_LISTED]
    row = [(f"#{item.problem.id}", f"prb:{item.problem.id}") for item in shown]
    rows: Buttons = [row[i : i + 4] for i in range(0, len(row), 4)]
    text = render_list(turn.tr, items, place=place, today=turn.today, tz=turn.app.settings.tz,
                       leader=leader)
    turn.say(text, markup=inline_keyboard(rows) if rows else None)


def _step_line(tr: Translator, step: ProblemStep, name: str) -> str:
    line = tr("problems.step_line", day=step.day,
              status=tr(STATUS.format(step.status)), name=name)
    if step.held is not None:
        line += tr(N_("problems.step_held") if step.held else N_("problems.step_not_held"))
    if step.addressee:
        line += tr("problems.step_addressee", addressee=tr(ADDRESSEE.format(step.addressee)))
    if step.measures:
        line += tr("problems.step_measures", measures=step.measures,
                   responsible=step.responsible or "",
                   due=step.due_on or "")
    if step.note:
        line += tr("problems.step_note", note=step.note)
    return line


def render_card(
    tr: Translator, item: store.Listed, steps: list[tuple[ProblemStep, str]], *,
    today: dt.date, checkback_on: dt.date | None,
) -> str:
    """A problem's card: what it is, where it stands, what is due, and every dated step."""
    problem = item.problem
    status = tr(STATUS.format(problem.status))
    if store.is_overdue(problem, today):
        status = tr("problems.overdue_mark") + status
    lines = [tr("problems.card_title", id=problem.id, village=item.village,
                category=tr(CATEGORY.format(problem.category))),
             tr("problems.card_facts", priority=tr(PRIORITY.format(store.priority_code(problem))),
                reporter=item.reporter, raised=steps[0][0].day if steps else ""),
             tr("problems.card_status", status=status),
             tr("problems.card_description", text=problem.description)]
    if problem.status == "in_hand":
        lines.append(tr("problems.card_in_hand", measures=problem.measures or "",
                        responsible=problem.responsible or "",
                        due=problem.due_on or ""))
    if problem.status == "feedback" and checkback_on is not None:
        lines.append(tr("problems.card_checkback", day=checkback_on))
    elif problem.status in store.OPEN and problem.next_due_on is not None:
        lines.append(tr("problems.card_next_due", day=problem.next_due_on))
    lines.append(tr("problems.card_steps"))
    lines += [_step_line(tr, step, name) for step, name in steps]
    return "\n".join(lines)


def _next_button(turn: Turn, problem: Problem, checkback_on: dt.date | None) -> Buttons:
    """The one step the problem waits for (a check back only once it is due)."""
    action = store.NEXT_ACTION.get(problem.status)
    if action is None or (action == "check" and checkback_on and checkback_on > turn.today):
        return []
    code = next(c for c, a in CODES.items() if a == action)
    return [[(turn.tr(BUTTON[action], id=problem.id), f"prs:{problem.id}:{code}")]]


@callback("prb", roles=EVERYONE)
async def on_card(turn: Turn, rest: str) -> None:
    """A problem's button, prb:<id>: its card; the village's team also get its next step."""
    person = turn.person
    if person is None or not rest.isdigit():
        turn.notice(turn.tr("common.stale_button"))
        return
    member = person.role in CADRE
    if member:
        item = await store.problem_in(turn.session, problem_id=int(rest),
                                      village_ids=[person.village_id or 0])
    else:
        scope = await own_scope(turn.session, person=person)
        item = None if scope is None else await store.problem_in(
            turn.session, problem_id=int(rest), **scope.filters)  # type: ignore[arg-type]
    if item is None:
        turn.notice(turn.tr("problems.not_in_scope"))  # a forged id outside the scope
        return
    steps = await store.history(turn.session, problem_id=item.problem.id)
    checkback = store.checkback_on(item.problem)
    text = render_card(turn.tr, item, steps, today=turn.today, checkback_on=checkback)
    rows = _next_button(turn, item.problem, checkback) if member else []
    turn.say(text, markup=inline_keyboard(rows) if rows else None)


@callback("prs", roles=CADRE)
async def on_step(turn: Turn, rest: str) -> None:
    """A step button, prs:<id>:t|s|f|c: the step's form, if the problem still waits for it."""
    id_text, _, code = rest.partition(":")
    person = turn.person
    if person is None or person.role not in CADRE or not id_text.isdigit() or code not in CODES:
        turn.notice(turn.tr("common.stale_button"))
        return
    await start_form(turn, STEP, f"{id_text}:{CODES[code]}")


# --- a step: a small form whose questions depend on the action ------------------------------


def _action(*actions: str) -> Any:
    return lambda data: data.get("ctx_action") in actions


def _new_measures(data: Data) -> bool:
    return data.get("ctx_action") == "take" or data.get("held") == "not"


async def _due_choices(turn: Turn, data: Data) -> Sequence[Choice]:
    days = [turn.today + dt.timedelta(days=n) for n in DUE_IN_DAYS]
    return [Choice(day.isoformat(), turn.tr("problem.due_in", days=n, day=day),
                   literal=True) for n, day in zip(DUE_IN_DAYS, days, strict=True)]


def parse_future_day(turn: Turn, data: Data, text: str) -> Any:
    """A typed by-when date, read forward (12-11, 下周五, 明天): today or later."""
    return future_day(turn, text).isoformat()


STEP_QUESTIONS = (
    Question("held", N_("problem.q.held"), N_("problem.label.held"), kind="choice",
             choices=HELD_CHOICES, when=_action("check")),
    Question("check_note", N_("problem.q.check_note"), N_("problem.label.check_note"),
             when=_action("check")),
    Question("solve_note", N_("problem.q.solve_note"), N_("problem.label.solve_note"),
             when=_action("solve")),
    Question("addressee", N_("problem.q.addressee"), N_("problem.label.addressee"),
             kind="choice", choices=ADDRESSEE_CHOICES, columns=2, when=_action("feedback")),
    Question("feedback_note", N_("problem.q.feedback_note"), N_("problem.label.feedback_note"),
             when=_action("feedback")),
    Question("measures", N_("problem.q.measures"), N_("problem.label.measures"),
             when=_new_measures),
    Question("responsible", N_("problem.q.responsible"), N_("problem.label.responsible"),
             max_len=200, when=_new_measures),
    Question("due", N_("problem.q.due"), N_("problem.label.due"), kind="choice",
             choices=_due_choices, allow_text=True, parse=parse_future_day, when=_new_measures),
)


async def _waiting(turn: Turn, problem_id: int, action: str, *, lock: bool) -> Problem | None:
    """The village's problem if it still waits for this step (and a check back is due);
    otherwise says why and returns None."""
    problem = await store.problem_of_village(turn.session, problem_id=problem_id,
                                             village_id=_person(turn).village_id, lock=lock)
    if problem is None:
        turn.say(turn.tr("problems.not_in_scope"))
        return None
    if store.NEXT_ACTION.get(problem.status) != action:
        turn.say(turn.tr("problem.step_stale", id=problem.id,
                         status=turn.tr(STATUS.format(problem.status))))
        return None
    due = store.checkback_on(problem)
    if action == "check" and due is not None and due > turn.today:
        turn.say(turn.tr("problem.checkback_not_yet", id=problem.id, day=due))
        return None
    return problem


async def _prepare_step(turn: Turn, args: str) -> Data | None:
    id_text, _, action = args.partition(":")
    if not id_text.isdigit() or action not in store.REACHES:
        turn.say(turn.tr("common.stale_button"))
        return None
    problem = await _waiting(turn, int(id_text), action, lock=False)
    if problem is None:
        return None
    return {"ctx_problem": problem.id, "ctx_action": action}


async def _describe_step(turn: Turn, data: Data) -> list[str]:
    problem = await turn.session.get(Problem, data["ctx_problem"])
    text = _short(problem.description) if problem is not None else ""
    return [turn.tr("problem.step_for", id=data["ctx_problem"], text=text,
                    step=turn.tr(STEP_NAME[data["ctx_action"]]))]


async def _save_step(turn: Turn, data: Data) -> None:
    action = data["ctx_action"]
    problem = await _waiting(turn, data["ctx_problem"], action, lock=True)
    if problem is None:
        return
    note = data.get(f"{action}_note")
    # Answers of a question no longer asked (held changed on the confirm screen) are dropped.
    fresh = _new_measures(data)
    due = data.get("due") if fresh else None
    await store.move_problem(
        turn.session, problem=problem, action=action, by_person_id=_person(turn).id,
        day=turn.today, now=turn.now, terms=store.terms_of(turn.app.settings), note=note,
        measures=data.get("measures") if fresh else None,
        responsible=data.get("responsible") if fresh else None,
        due_on=dt.date.fromisoformat(due) if due else None,
        held=None if action != "check" else data.get("held") == "held",
        addressee=data.get("addressee") if action == "feedback" else None)
    message = {"in_hand": N_("problem.moved_in_hand"), "solved": N_("problem.moved_solved"),
               "feedback": N_("problem.moved_feedback"), "checked": N_("problem.moved_checked")}
    said = turn.tr(message[problem.status], id=problem.id, day=problem.next_due_on or turn.today)
    if action == "feedback":
        said += "\n" + await _deliver_feedback(turn, problem, data["addressee"], note or "")
    turn.say(said)


async def _deliver_feedback(turn: Turn, problem: Problem, addressee: str, note: str) -> str:
    """Send the written feedback to its addressee where they are on the roster (with the
    problem's button); say truthfully who has it, or that the cadre hands it over."""
    if addressee in BY_HAND:
        return turn.tr(BY_HAND[addressee])
    found = await store.feedback_recipients(turn.session, problem=problem, addressee=addressee)
    recipients = [p for p in found if reachable(p) and p.id != _person(turn).id]
    if not recipients:
        return turn.tr("problem.feedback_nobody", addressee=turn.tr(ADDRESSEE.format(addressee)))
    village = _person(turn).village
    for person in recipients:
        tr = turn.tr_for(person)
        text = tr("problem.feedback_notice", addressee=tr(ADDRESSEE.format(addressee)),
                  id=problem.id, village=village.name if village else "",
                  category=tr(CATEGORY.format(problem.category)),
                  text=_short(problem.description, 200), note=note, name=_person(turn).name,
                  day=turn.today)
        button = inline_keyboard([[(tr("problem.button.open", id=problem.id),
                                    f"prb:{problem.id}")]])
        turn.tell(person, text, markup=button,
                  key=f"problem-feedback:{problem.id}:{turn.update.update_id}:{person.id}")
    names = turn.tr("common.list_sep").join(p.name for p in recipients)
    return turn.tr("problem.feedback_sent", names=names)


STEP = Form(
    name="problem_step", title=N_("problem.step_title"), questions=STEP_QUESTIONS,
    save=_save_step, prepare=_prepare_step, describe=_describe_step,
)
add_form(STEP, roles=CADRE)  # started from a button, not a command
