"""/me: the cadre's own week and campaign so far."""

from __future__ import annotations

from typing import Any

from common.i18n import N_, Span, Translator
from handlers.base import Turn
from handlers.registry import CADRE, command
from reports.attendance import excused_line
from storage import reviews, summaries

SUMMARY_STATUS = {
    None: N_("me.summary.none"),
    "submitted": N_("me.summary.submitted"),
    "returned": N_("me.summary.returned"),
    "accepted": N_("me.summary.accepted"),
}


def _figures(tr: Translator, figures: dict[str, Any]) -> list[str]:
    return [
        tr("me.days", days=figures["days_in_village"]),
        tr("me.visits", visits=figures["visits"]),
        tr("me.disputes", opened=figures["disputes_opened"],
           resolved=figures["disputes_resolved"]),
        tr("me.aid", aid=figures["aid"]),
    ]


def render_me(tr: Translator, overview: dict[str, Any], *, min_days: int,
              reviewers: str = "") -> str:
    """The /me message from a `summaries.person_overview` result (`reviewers`: who reviews a
    submitted summary, named)."""
    status = overview["summary_status"]
    lines = [tr("me.week_title", period=Span(overview["week_start"], overview["today"]))]
    lines += _figures(tr, overview["week"])
    excused = excused_line(tr, overview["week"].get("excused_days") or [])
    if excused is not None:
        lines.append(excused)
    lines.append(tr("me.days_needed", minimum=min_days))
    if status == "submitted" and not reviewers:
        lines.append(tr("me.summary.submitted.nobody"))
    else:
        lines.append(tr(SUMMARY_STATUS.get(status, SUMMARY_STATUS["submitted"]),
                        names=reviewers))
    lines.append("")
    lines.append(tr("me.campaign_title", start=overview["campaign_start"]))
    lines += _figures(tr, overview["campaign"])
    return "\n".join(lines)


@command("me", roles=CADRE, description=N_("help.me"), order=60)
async def me(turn: Turn, args: str) -> None:
    """Show the cadre their own figures."""
    assert turn.person is not None
    settings = turn.app.settings
    overview = await summaries.person_overview(
        turn.session, person_id=turn.person.id, today=turn.today,
        campaign_start=settings.campaign_start, tz=settings.tz,
    )
    reviewers = await reviews.weekly_reviewers(turn.session, author=turn.person)
    names = turn.tr("common.list_sep").join(p.name for p in reviewers)
    # This week's own minimum: fewer in a part week of the campaign or a holiday week.
    turn.say(render_me(turn.tr, overview,
                       min_days=settings.calendar.required_days(overview["week_start"]),
                       reviewers=names))
