"""Overdue disputes climb the hierarchy: the cadre, the team leader, the township, the office."""

from __future__ import annotations

from scheduler.runs import Run, leaders, message
from storage import disputes, figures, people
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

