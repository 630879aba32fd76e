"""/targets: the help targets of the leader's township or county (or a place in it).

A team leader reads their village's targets under /pairs: their /help is one phone screen
already full, and for one village pairing and targets are one picture of the help given."""

from __future__ import annotations

from common.i18n import N_
from handlers.base import Turn
from handlers.registry import command
from handlers.stats import scope_for, scope_label
from reports.targets import render_targets, scope_targets

ABOVE_VILLAGE = frozenset({"township_leader", "leading_group", "office", "supervisor"})


@command("targets", roles=ABOVE_VILLAGE, description=N_("help.targets"), order=77)
async def targets(turn: Turn, args: str) -> None:
    """Each village below a help target with what it misses, and those that meet them all."""
    scope = await scope_for(turn, args.strip() or None)
    if scope is None:
        return
    found = await scope_targets(turn.session, turn.app.settings, scope=scope, today=turn.today)
    turn.say(render_targets(turn.tr, found, place=scope_label(turn.tr, scope)))
