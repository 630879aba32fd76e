"""Overdue disputes climb the hierarchy: the cadre, the team leader, the township, the office;
and a hand-over nobody took in time climbs from the township to the office."""

from __future__ import annotations

import datetime as dt

from reports import handover as words
from scheduler.runs import Run, leaders, message
from storage import disputes, figures, handover, people
from storage.models import Dispute, Person
from storage.outbox import Outgoing

# Petitions that may reach Beijing or involve a crowd start one level higher.
URGENT_FLAGS = ("beijing", "collective")
TOP_STAGE = 4


def stage_due(dispute: Dispute, *, idle_days: int, allowance: int) -> int:
    """How far reminders should have climbed after `idle_days` without a step (0: not yet)."""
    if idle_days < allowance:
        return 0
    urgent = any(dispute.flags.get(flag) for flag in URGENT_FLAGS)
    return min(TOP_STAGE, idle_days // allowance + (1 if urgent else 0))


def _flags(run: Run, person: Person, dispute: Dispute) -> str:
    tr = run.tr(person)
    names = [tr(f"dispute.flag.{flag}") for flag in disputes.FLAGS if dispute.flags.get(flag)]
    return ("\n" + tr("remind.dispute_flags", flags=", ".join(names))) if names else ""


async def dispute_escalations(run: Run) -> list[Outgoing]:
    """Daily: remind or escalate each open dispute whose last step is too old."""
    settings = run.ctx.settings
    teams, townships = await leaders(run.session)
    office = await people.reachable(run.session, roles=("office",))
    reporters = {p.id: p for p in await people.reachable(
        run.session, roles=("cadre", "team_leader"))}
    names = await figures.village_names(run.session)
    out: list[Outgoing] = []
    for dispute in await disputes.open_disputes(run.session):
        idle = (run.now - dispute.last_step_at).days
        allowance = settings.overdue_days(dispute.category)
        stage = stage_due(dispute, idle_days=idle, allowance=allowance)
        if stage <= dispute.escalation_stage:
            continue
        reporter = reporters.get(dispute.person_id)
        above: list[Person] = []
        if stage >= 2:
            above = {2: teams.get(dispute.village_id or 0, []),
                     3: townships.get(dispute.township_id or 0, []), 4: office}[stage]
        stamp = int(dispute.last_step_at.timestamp())
        if reporter is not None:
            tr = run.tr(reporter)
            text = tr("remind.dispute_overdue", id=dispute.id, days=idle,
                      category=tr(f"dispute.category.{dispute.category}"),
                      parties=dispute.parties)
            out.append(message(reporter, text, kind="escalation",
                               key=f"dispute:{dispute.id}:{stamp}:{stage}:{reporter.id}"))
        for leader in above:
            if reporter is not None and leader.id == reporter.id:
                continue
            tr = run.tr(leader)
            text = tr("remind.dispute_escalated", id=dispute.id, days=idle,
                      village=names.get(dispute.village_id or 0, ""),
                      people=dispute.people_count,
                      category=tr(f"dispute.category.{dispute.category}"),
                      parties=dispute.parties,
                      name=reporter.name if reporter else "?") + _flags(run, leader, dispute)
            out.append(message(leader, text, kind="escalation",
                               key=f"dispute:{dispute.id}:{stamp}:{stage}:{leader.id}"))
        dispute.escalation_stage = stage
    return out



async def handover_climbs(run: Run) -> list[Outgoing]:
    """A hand-over to a township nobody took within ESCALATION_TAKE_HOURS climbs to the office:
    the office gets the case with 受理 / 退回, and the cadre hears who has it now."""
    hours = run.ctx.settings.escalation_take_hours
    due = await handover.due_to_climb(run.session,
                                      handed_before=run.now - dt.timedelta(hours=hours))
    if not due:
        return []
    office = await handover.receivers(run.session, level="county", township_id=None)
    names = await figures.village_names(run.session)
    out: list[Outgoing] = []
    for dispute in due:
        await handover.hand_over(run.session, dispute, level="county", by_person_id=None,
                                 now=run.now, action="climb")
        if dispute.status == "escalated":
            dispute.level = "county"  # the level shown is the one that has it
        cadre = await run.session.get(Person, dispute.person_id)
        village = names.get(dispute.village_id or 0, "")
        reason = await handover.escalation_reason(run.session, dispute_id=dispute.id)
        stamp = words.stamp(dispute)
        for person in office:
            tr = run.tr(person)
            head = tr("handover.head.climbed", id=dispute.id, hours=hours)
            text = words.notice(tr, dispute, head=head, village=village,
                                cadre=cadre.name if cadre else "", reason=reason)
            out.append(message(person, text, kind="escalation", markup=words.buttons(tr, dispute),
                               key=f"handover:{dispute.id}:{stamp}:{person.id}"))
        if (cadre is not None and cadre.active and cadre.telegram_user_id is not None
                and cadre.blocked_at is None):
            tr = run.tr(cadre)
            if office:
                text = tr("handover.climbed_cadre", id=dispute.id, hours=hours,
                          names=tr("common.list_sep").join(p.name for p in office))
            else:
                text = tr("handover.climbed_cadre_nobody", id=dispute.id, hours=hours)
            out.append(message(cadre, text, kind="escalation",
                               key=f"handover:{dispute.id}:{stamp}:climbed"))
    return out
