"""Each morning, whoever holds a problem's next step is reminded; overdue ones reach the team.

The holder is the cadre who raised the problem: one message a morning lists every problem of
theirs whose step is overdue (or whose check back is due). A problem still overdue
PROBLEM_ESCALATE_DAYS days after its step's day is told to the team leader once for that step
(`escalated_on` is set, and cleared by the next step), so leaders are not reminded daily.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from common.i18n import N_, Translator
from common.keyboards import inline_keyboard
from scheduler.runs import Run, above, leaders, message
from storage import figures, people, problems
from storage.models import Person, Problem
from storage.outbox import Outgoing

# Each due problem's next step, one button each (the chat's prs:<id>:<code>, which opens the
# step's form): the look-back a morning chases is one tap away.
STEP_BUTTON = {"raised": (N_("problem.button.take"), "t"),
               "in_hand": (N_("problem.button.solve"), "s"),
               "solved": (N_("problem.button.feedback"), "f"),
               "feedback": (N_("problem.button.check"), "c")}
MAX_BUTTONS = 8
LINE = {"raised": N_("remind.problem_line.raised"), "in_hand": N_("remind.problem_line.in_hand"),
        "solved": N_("remind.problem_line.solved"),
        "feedback": N_("remind.problem_line.feedback")}


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_line(tr: Translator, problem: Problem) -> str:
    """One problem and the step it waits for, with that step's day."""
    return tr(LINE[problem.status], id=problem.id, day=problem.next_due_on or "",
              text=_short(problem.description), category=tr(f"visit.problem.{problem.category}"))


def _step_buttons(tr: Translator, mine: list[Problem]) -> dict[str, Any]:
    buttons = []
    for problem in mine[:MAX_BUTTONS]:
        label, code = STEP_BUTTON[problem.status]
        buttons.append((tr(label, id=problem.id), f"prs:{problem.id}:{code}"))
    return inline_keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _escalates(problem: Problem, today: dt.date, after_days: int) -> bool:
    due = problem.next_due_on
    return (problem.escalated_on is None and due is not None and due < today
            and (today - due).days >= after_days)


async def problem_reminders(run: Run) -> list[Outgoing]:
    """Morning: each holder's due steps in one message; escalations to the team, once."""
    settings = run.ctx.settings
    due = await problems.due_for_reminder(run.session, today=run.day)
    if not due:
        return []
    cadres = {p.id: p for p in await people.reachable(
        run.session, roles=("cadre", "team_leader"))}
    by_holder: dict[int, list[Problem]] = defaultdict(list)
    for problem in due:
        by_holder[problem.person_id].append(problem)
    out: list[Outgoing] = []
    for holder_id, mine in by_holder.items():
        holder = cadres.get(holder_id)
        if holder is not None:
            tr = run.tr(holder)
            text = "\n".join([tr("remind.problems", count=len(mine)),
                              *[problem_line(tr, p) for p in mine]])
            out.append(message(holder, text, kind="reminder",
                               key=f"problems:{run.day}:{holder.id}",
                               markup=_step_buttons(tr, mine)))
    late = [p for p in due if _escalates(p, run.day, settings.problem_escalate_days)]
    out += await _escalations(run, late, cadres)
    return out


async def _escalations(run: Run, late: list[Problem], cadres: dict[int, Person]) -> list[Outgoing]:
    """The team leader (the township's, for a team leader's own problem) gets each once."""
    teams, townships = await leaders(run.session)
    names = await figures.village_names(run.session)
    by_leader: dict[int, tuple[Person, list[Problem]]] = {}
    for problem in late:
        holder = cadres.get(problem.person_id)
        told = (above(holder, teams, townships) if holder is not None
                else teams.get(problem.village_id or 0, []))
        for leader in told:
            by_leader.setdefault(leader.id, (leader, []))[1].append(problem)
        if told:
            problem.escalated_on = run.day
    out: list[Outgoing] = []
    for leader, mine in by_leader.values():
        tr = run.tr(leader)
        lines = [tr("remind.problems_escalated", count=len(mine))]
        for problem in mine:
            holder = cadres.get(problem.person_id)
            lines.append(tr("remind.problem_escalated_line",
                            line=problem_line(tr, problem),
                            village=names.get(problem.village_id or 0, ""),
                            name=holder.name if holder else "?"))
        out.append(message(leader, "\n".join(lines), kind="escalation",
                           key=f"problems-up:{run.day}:{leader.id}"))
    return out
