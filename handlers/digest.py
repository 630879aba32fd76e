"""/digest: a leader's digest of their team, township or county, now."""

from __future__ import annotations

from common.i18n import N_
from handlers.base import Turn
from handlers.registry import READERS, command
from reports.digests import render_for, scope_of
from reports.targets import scope_targets, targets_line
from storage import figures
from storage.scope import Scope, own_scope


@command("digest", roles=READERS, description=N_("help.digest"), order=72)
async def digest(turn: Turn, args: str) -> None:
    """Today's digest for the leader's own scope, as the evening job would send it."""
    assert turn.person is not None
    settings = turn.app.settings
    villages = await figures.village_days(
        turn.session, day=turn.today, now=turn.now, tz=settings.tz,
        overdue_days=settings.dispute_overdue_days,
        default_overdue_days=settings.overdue_days("default"), **scope_of(turn.person))
    text = render_for(turn.tr, turn.person, villages, day=turn.today,
                      silent_after_days=settings.silent_after_days)
    if text is None:
        turn.say(turn.tr("digest.not_in_scope"))
        return
    scope = await own_scope(turn.session, person=turn.person)
    found = await scope_targets(turn.session, settings, scope=scope or Scope("county"),
                                today=turn.today, details=False)
    line = targets_line(turn.tr, turn.person, found)
    turn.say(text + ("\n" + line if line else ""))
