"""/team, /laggards and /pairs: figures about the people of a leader's scope.

The render_* functions are pure (translator and data in, text out), tested in both languages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from common.i18n import N_, Span, Translator
from handlers.base import Turn
from handlers.registry import READERS, command
from handlers.stats import RANK, RANKS, parsed_args, scope_for, scope_label
from reports.attendance import excused_line
from reports.figures import week_laggards
from reports.targets import render_targets, scope_targets
from storage import checkins, leave, stats
from storage.rollups import monday_of
from storage.scope import Scope

BY_PLACE = {"township": N_("pairs.by_township"), "village": N_("pairs.by_village")}
TEAM_SUMMARY = {
    None: N_("team.summary.none"),
    "submitted": N_("team.summary.submitted"),
    "returned": N_("team.summary.returned"),
    "accepted": N_("team.summary.accepted"),
}


def _span(week_start: dt.date, today: dt.date | None = None) -> dict[str, Span]:
    end = week_start + dt.timedelta(days=6)
    return {"period": Span(week_start, min(end, today) if today else end)}


# --- /team -----------------------------------------------------------------------------------

def render_team(
    tr: Translator, members: list[stats.TeamMember], *, village: str, week_start: dt.date,
    today: dt.date, min_days: int, excused: Mapping[int, Iterable[dt.date]] | None = None,
    far: dict[int, list[tuple[dt.date, float]]] | None = None,
) -> str:
    """A team's week so far: each member's days in the village, visits and summary, and under
    a member the week's days approved leave excuses (`excused`, by person id)."""
    lines = [tr("team.title", village=village, **_span(week_start, today)),
             tr("team.legend", minimum=min_days)]
    for member in members:
        name = member.name + (tr("team.leader_mark") if member.role == "team_leader" else "")
        lines.append(tr("team.line", name=name, days=member.days, visits=member.visits,
                        summary=tr(TEAM_SUMMARY.get(member.summary, TEAM_SUMMARY["submitted"]))))
        if member.absent:
            lines.append(tr("team.absent", count=member.absent))
        on_leave = excused_line(tr, (excused or {}).get(member.person_id, []))
        if on_leave is not None:
            lines.append(tr("team.excused", excused=on_leave))
        away = [tr("team.far_day", day=day, km=round(km))
                for day, km in (far or {}).get(member.person_id, [])]
        if away:
            lines.append(tr("team.far", days=tr("common.list_sep").join(away)))
    if not members:
        lines.append(tr("team.no_members"))
    return "\n".join(lines)


@command("team", roles=READERS, description=N_("help.team"), order=71)
async def team(turn: Turn, args: str) -> None:
    """The team leader's team this week (or the week of a period: /team 上周); other leaders
    name a village of their scope."""
    parsed = _week(turn, args)
    if parsed is None:
        return
    monday, name = parsed
    scope = await scope_for(turn, name)
    if scope is None:
        return
    if scope.village_id is None:
        turn.say(turn.tr("team.which_village"))
        return
    members = await stats.team_week(turn.session, village_id=scope.village_id,
                                    week_start=monday, today=turn.today)
    sunday = monday + dt.timedelta(days=6)
    excused = await leave.excused(turn.session, person_ids=[m.person_id for m in members],
                                  start=monday, end=sunday)
    reference = await checkins.village_location(
        turn.session, village_id=scope.village_id, first_week=turn.app.settings.campaign_start)
    far = {} if reference is None else await checkins.far_checkins(
        turn.session, village_id=scope.village_id, start=monday, end=sunday,
        reference=reference)
    turn.say(render_team(turn.tr, members, village=scope.name, week_start=monday,
                         today=turn.today,
                         min_days=turn.app.settings.calendar.required_days(monday),
                         excused=excused, far=far))


# --- /laggards -------------------------------------------------------------------------------

def _reasons(tr: Translator, person: stats.Laggard) -> str:
    reasons = []
    if person.short:
        reasons.append(tr("laggards.short_excused", days=person.days, excused=person.excused)
                       if person.excused else tr("laggards.short", days=person.days))
    if person.no_summary:
        reasons.append(tr("laggards.no_summary"))
    if person.silent:
        reasons.append(tr("laggards.never") if person.silent_days is None
                       else tr("laggards.silent", days=person.silent_days))
    if person.missed:
        reasons.append(tr("laggards.missed_sessions", count=person.missed))
    if person.absent:
        reasons.append(tr("laggards.absent", count=person.absent))
    if person.trainings:
        reasons.append(tr("laggards.missed_trainings", count=person.trainings))
    return tr("stats.separator").join(reasons)


def render_laggards(
    tr: Translator, report: stats.Laggards, *, place: str, silent_after_days: int,
) -> str:
    """Cadres behind in a week, grouped by township and home unit; the days asked are the
    week's own (fewer in a part week or a holiday week)."""
    lines = [tr("laggards.title", place=place, **_span(report.week_start)),
             tr("laggards.legend", minimum=report.required, days=silent_after_days)]
    if not report.summary_due:
        lines.append(tr("laggards.summary_not_due"))
    if not report.people:
        lines.append(tr("laggards.none", cadres=report.cadres))
        return "\n".join(lines)
    lines.append(tr("laggards.count", count=len(report.people), cadres=report.cadres))
    for township, unit, people in report.groups():
        lines.append(tr("laggards.group", township=township, unit=unit))
        lines += [tr("laggards.line", name=p.name, village=p.village, reasons=_reasons(tr, p))
                  for p in people]
    return "\n".join(lines)


def _week(turn: Turn, args: str) -> tuple[dt.date, str | None] | None:
    """The Monday of the week a period in the arguments starts in (this week's without one:
    上周, last week, 11-25), and the place named; None after saying why the period won't do."""
    parsed = parsed_args(turn, args)
    if parsed is None:
        return None
    period, name = parsed
    return monday_of(period[0] if period else turn.today), name


@command("laggards", roles=READERS, description=N_("help.laggards"), order=74)
async def laggards(turn: Turn, args: str) -> None:
    """Cadres of the scope behind this week (or another week), by township and home unit."""
    parsed = _week(turn, args)
    if parsed is None:
        return
    monday, name = parsed
    scope = await scope_for(turn, name)
    if scope is None:
        return
    settings = turn.app.settings
    report = await week_laggards(turn.session, settings, scope=scope, week_start=monday,
                                 today=turn.today, now=turn.now)
    turn.say(render_laggards(turn.tr, report, place=scope_label(turn.tr, scope),
                             silent_after_days=settings.silent_after_days))


# --- /pairs ----------------------------------------------------------------------------------

def _groups(tr: Translator, groups: list[stats.PairGroup]) -> list[str]:
    return [tr("pairs.group", name=g.name, met=g.met, quota=g.quota, short=len(g.short),
               cadres=g.cadres) for g in groups]


def _short(tr: Translator, cadres: list[stats.CadrePairs]) -> list[str]:
    by_village: dict[tuple[str, str], list[stats.CadrePairs]] = {}
    for cadre in sorted((c for c in cadres if c.short), key=lambda c: (c.township, c.village,
                                                                       c.name)):
        by_village.setdefault((cadre.township, cadre.village), []).append(cadre)
    sep = tr("common.list_sep")
    return [tr("pairs.short_line", township=township, village=village, people=sep.join(
                tr("pairs.cadre", name=c.name, rank=tr(RANK.format(c.rank)), paired=c.paired,
                   quota=c.quota) for c in people))
            for (township, village), people in by_village.items()]


def render_pairs(
    tr: Translator, cadres: list[stats.CadrePairs], *, place: str, level: str,
    quotas: dict[str, int],
) -> str:
    """Pairing against the quotas per township or village, per rank and per home unit."""
    lines = [tr("pairs.title", place=place),
             tr("pairs.quotas", **{rank: quotas[rank] for rank in RANKS})]
    if not cadres:
        lines.append(tr("pairs.no_cadres"))
        return "\n".join(lines)
    # County-level leaders in no village team are listed on their own, each against the quota.
    outside = [c for c in cadres if not c.village]
    by_place = stats.pair_groups(
        [c for c in cadres if c.village], lambda c: c.township if level == "township"
        else c.village)
    lines += [tr(BY_PLACE[level]),
              *_groups(tr, by_place), tr("pairs.by_rank")]
    ranked = sorted(stats.pair_groups(cadres, lambda c: c.rank),
                    key=lambda g: RANKS.index(g.name) if g.name in RANKS else len(RANKS))
    for group in ranked:
        group.name = tr(RANK.format(group.name))
    lines += _groups(tr, ranked)
    lines += [tr("pairs.by_unit"), *_groups(tr, stats.pair_groups(cadres, lambda c: c.unit))]
    if outside:
        sep = tr("common.list_sep")
        lines.append(tr("pairs.outside", people=sep.join(
            tr("pairs.cadre", name=c.name, rank=tr(RANK.format(c.rank)), paired=c.paired,
               quota=c.quota) for c in sorted(outside, key=lambda c: c.name))))
    short = _short(tr, [c for c in cadres if c.village])
    if short:
        lines += [tr("pairs.short_title"), *short]
    elif not any(c.short for c in outside):
        lines.append(tr("pairs.all_met"))
    return "\n".join(lines)


@command("pairs", roles=READERS, description=N_("help.pairs"), order=76)
async def pairs(turn: Turn, args: str) -> None:
    """Help pairs against the quotas of the scope (or a place in it), and who is short."""
    scope = await scope_for(turn, args.strip() or None)
    if scope is None:
        return
    settings = turn.app.settings
    cadres = await stats.pairing_gaps(turn.session, scope=scope, quotas=settings.pair_quota)
    text = render_pairs(turn.tr, cadres, place=scope_label(turn.tr, scope),
                        level=_level(scope),
                        quotas={rank: settings.pair_quota(rank) for rank in RANKS})
    if turn.person is not None and turn.person.role == "team_leader":
        # The team leader's help targets are here (/targets is for the places above a village).
        found = await scope_targets(turn.session, settings, scope=scope, today=turn.today)
        text += "\n\n" + render_targets(turn.tr, found, place=scope_label(turn.tr, scope))
    turn.say(text)


def _level(scope: Scope) -> str:
    return "township" if scope.kind == "county" else "village"
