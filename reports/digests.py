"""Digest and report text: pure functions from query results to a message, in either language.

They live in `bot` (a leaf module) because the evening job and the /digest command both use them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from common.i18n import Money, Span, Translator
from reports.villagework import VillageWork, report_lines
from storage.cases import CaseView
from storage.figures import MemberDay, TownshipWeek, VillageDay
from storage.inspections import InspectionCounts
from storage.publicity import PublicityTotals
from storage.scope import COUNTY_ROLES, summed
from storage.visits import KINDS

VISIT_KIND = "summary.visit_kind.{}"
REVIEW_LIST = "rv:l"  # the button under a digest that lists what waits for the leader's review
MAX_OVERDUE_LISTED = 3  # the team digest names the first few; /problems has them all


def _names(members: Iterable[MemberDay]) -> str:
    return "、".join(m.name for m in members)


def _visits(tr: Translator, by_kind: dict[str, int]) -> str:
    total = sum(by_kind.values())
    parts = [f"{tr(VISIT_KIND.format(kind))} {by_kind[kind]}"
             for kind in KINDS if by_kind.get(kind)]
    listed = tr("common.list_sep").join(parts)
    return tr("digest.visits", total=total) + (" — " + listed if parts else "")


def _reason(tr: Translator, reason: str | None) -> str:
    return tr(f"checkin.reason.{reason or 'other'}")


def _checkins(tr: Translator, team: VillageDay) -> list[str]:
    inside = [m for m in team.members if m.in_village]
    away = [m for m in team.members if m.in_village is False]
    lines = [tr("digest.checked_in", done=team.checked_in, total=len(team.members),
                inside=len(inside), away=len(away))]
    if away:
        shown = tr("common.list_sep").join(tr("common.named_note", name=m.name,
                                                note=_reason(tr, m.reason)) for m in away)
        lines.append(tr("digest.away", names=shown))
    if team.missing:
        lines.append(tr("digest.missing", names=_names(team.missing)))
    if team.excused:
        lines.append(tr("digest.excused", names=_names(team.excused)))
    return lines


def render_team_digest(
    tr: Translator, team: VillageDay, *, day: dt.date, silent_after_days: int
) -> str:
    """A team leader's evening digest of their village team."""
    silent = team.silent(silent_after_days)
    lines = [tr("digest.team_title", village=team.village, day=day)]
    lines += _checkins(tr, team)
    lines.append(_visits(tr, team.visits_by_kind))
    lines.append(tr("digest.disputes", new=team.disputes_new, open=team.disputes_open,
                    overdue=team.disputes_overdue))
    lines.append(tr("digest.problems", raised=team.problems_raised,
                    solved=team.problems_solved))
    lines += _overdue_problems(tr, team)
    lines.append(_publicity(tr, "digest.publicity", team.publicity))
    if silent:
        lines.append(tr("digest.silent", days=silent_after_days, names=_names(silent)))
    else:
        lines.append(tr("digest.none_silent", days=silent_after_days))
    return "\n".join(lines)


def _overdue_problems(tr: Translator, team: VillageDay) -> list[str]:
    """The team's overdue problems: how many, and the first few."""
    late = team.problems_overdue
    if not late:
        return []
    lines = [tr("digest.problems_overdue", count=len(late))]
    for problem in late[:MAX_OVERDUE_LISTED]:
        text = problem.description
        lines.append(tr("digest.problem_overdue_line", id=problem.id,
                        category=tr(f"visit.problem.{problem.category}"),
                        text=text if len(text) <= 30 else text[:29] + "…",
                        status=tr(f"problem.status.{problem.status}"),
                        day=problem.next_due_on or ""))
    return lines


def _township_problems(tr: Translator, villages: Sequence[VillageDay]) -> list[str]:
    """A township's overdue problems: the total, and the villages that have them."""
    return _overdue_by_place(tr, [(v.village, len(v.problems_overdue)) for v in villages])


def _overdue_by_place(tr: Translator, counts: Sequence[tuple[str, int]]) -> list[str]:
    """Overdue problems: the total, and the places (villages or townships) that have them."""
    late = [(name, count) for name, count in counts if count]
    if not late:
        return []
    names = tr("stats.separator").join(f"{name} {count}" for name, count in late)
    return [tr("digest.township_problems_overdue", count=sum(n for _, n in late),
               villages=names)]


def _line(tr: Translator, name: str, rows: Sequence[VillageDay], silent_after_days: int) -> str:
    members = sum(len(r.members) for r in rows)
    return tr(
        "digest.village_line", name=name,
        done=sum(r.checked_in for r in rows), total=members,
        visits=sum(sum(r.visits_by_kind.values()) for r in rows),
        open=sum(r.disputes_open for r in rows), overdue=sum(r.disputes_overdue for r in rows),
        silent=sum(len(r.silent(silent_after_days)) for r in rows),
    )


def render_township_digest(
    tr: Translator, township: str, villages: Sequence[VillageDay], *, day: dt.date,
    silent_after_days: int,
) -> str:
    """A township leader's digest: one line per village, worst first."""
    ordered = sorted(villages, key=lambda v: v.badness(silent_after_days))
    lines = [tr("digest.township_title", township=township, day=day),
             tr("digest.village_legend")]
    lines += [_line(tr, v.village, [v], silent_after_days) for v in ordered]
    lines += _township_problems(tr, ordered)
    if not ordered:
        lines.append(tr("digest.no_villages"))
    else:
        lines.append(_publicity(tr, "digest.publicity", _township_publicity(ordered)))
    return "\n".join(lines)


def _township_publicity(villages: Sequence[VillageDay]) -> PublicityTotals:
    return summed((village.publicity for village in villages), PublicityTotals())


def _publicity(tr: Translator, msgid: str, done: PublicityTotals) -> str:
    return tr(msgid, sessions=done.sessions, people=done.attendance, slogans=done.slogans,
              boards=done.boards)


def _case_lines(tr: Translator, featured: Sequence[CaseView]) -> list[str]:
    """The week's cases featured for publicity: title, village, cadre."""
    if not featured:
        return [tr("report.no_cases")]
    return [tr("report.cases", count=len(featured))] + [
        tr("report.case_line", title=v.case.title, village=v.village,
           cadre=v.cadre) for v in featured]


def render_county_digest(
    tr: Translator, villages: Sequence[VillageDay], *, day: dt.date, silent_after_days: int
) -> str:
    """The county's day: one line per township, worst first."""
    by_township: dict[str, list[VillageDay]] = {}
    for village in villages:
        by_township.setdefault(village.township, []).append(village)

    def badness(item: tuple[str, list[VillageDay]]) -> tuple[int, int, str]:
        rows = item[1]
        return (-sum(len(r.missing) for r in rows), -sum(r.disputes_overdue for r in rows),
                item[0])

    lines = [tr("digest.county_title", day=day), tr("digest.village_legend")]
    ordered = sorted(by_township.items(), key=badness)
    lines += [_line(tr, name, rows, silent_after_days) for name, rows in ordered]
    lines += _overdue_by_place(tr, [(name, sum(len(r.problems_overdue) for r in rows))
                                    for name, rows in ordered])
    return "\n".join(lines)


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def _money(value: Decimal) -> Money:
    return Money(value)


def render_county_report(
    tr: Translator,
    *,
    week_start: dt.date,
    townships: Sequence[TownshipWeek],
    disputes: dict[tuple[str, str], int],
    aid: dict[str, Any],
    min_days: int,
    publicity: PublicityTotals | None = None,
    featured: Sequence[CaseView] = (),
    village_work: VillageWork | None = None,
    targets: str | None = None,
    inspected: InspectionCounts | None = None,
) -> str:
    """The Monday county report: reporting, days in the village (with the week's inspections,
    `inspected`, when there were any), disputes, help (with the help targets' line, `targets`,
    when given), publicity and the model cases featured."""
    end = week_start + dt.timedelta(days=6)
    lines = [tr("report.title", period=Span(week_start, end)),
             tr("report.townships", minimum=min_days)]
    for t in sorted(townships, key=lambda t: (t.completeness, t.compliance, t.township)):
        lines.append(tr("report.township_line", township=t.township, summaries=t.summaries,
                        cadres=t.cadres, completeness=_percent(t.completeness),
                        compliant=t.compliant, compliance=_percent(t.compliance)))
    expected = sum(t.cadres for t in townships)
    submitted = sum(t.summaries for t in townships)
    lines.append(tr("report.total", summaries=submitted, cadres=expected))
    excused = sum(t.excused for t in townships)
    if excused:
        lines.append(tr("report.excused", days=excused))
    if inspected is not None and inspected.inspections:
        lines.append(tr("report.inspections", count=inspected.inspections,
                        villages=inspected.villages, absent=inspected.absent))
    lines.append("")
    lines.append(tr("report.disputes"))
    lines += _dispute_lines(tr, disputes) or [tr("report.no_disputes")]
    lines.append("")
    lines.append(tr("report.aid", condolences=aid["condolence_count"],
                    condolence_amount=_money(aid["condolence_amount"]),
                    donations=aid["donation_count"], donation_value=_money(aid["donation_value"]),
                    labour=aid["labour_people"], projects=aid["project_count"],
                    project_funds=_money(aid["project_funds"])))
    if targets:
        lines.append(targets)
    if village_work is not None:
        lines += report_lines(tr, village_work)
    lines.append(_publicity(tr, "report.publicity", publicity or PublicityTotals()))
    lines.append("")
    lines += _case_lines(tr, featured)
    return "\n".join(lines)


STATUSES = ("reported", "mediating", "escalated", "resolved")


def _dispute_lines(tr: Translator, disputes: dict[tuple[str, str], int]) -> list[str]:
    lines = []
    for category in sorted({c for c, _ in disputes}):
        counts = {s: disputes.get((category, s), 0) for s in STATUSES}
        detail = tr("common.list_sep").join(f"{tr(f'dispute.status.{s}')} {n}"
                                           for s, n in counts.items() if n)
        lines.append(tr("report.dispute_line", category=tr(f"dispute.category.{category}"),
                        total=sum(counts.values()), detail=detail))
    return lines


def render_for(
    tr: Translator, person: Any, villages: dict[int, VillageDay], *, day: dt.date,
    silent_after_days: int,
) -> str | None:
    """The digest a leader gets, picked by role from every village's day (None: no scope)."""
    if person.role == "team_leader" and person.village_id in villages:
        return render_team_digest(tr, villages[person.village_id], day=day,
                                  silent_after_days=silent_after_days)
    if person.role == "township_leader" and person.township_id is not None:
        mine = [v for v in villages.values() if v.township_id == person.township_id]
        name = person.township.name if person.township else ""
        return render_township_digest(tr, name, mine, day=day,
                                      silent_after_days=silent_after_days)
    if person.role in COUNTY_ROLES:
        return render_county_digest(tr, list(villages.values()), day=day,
                                    silent_after_days=silent_after_days)
    return None


def review_line(tr: Translator, authors: Sequence[str]) -> str:
    """The digest's chase of work waiting for the leader's review: how many, and whose."""
    return tr("digest.review_waiting", count=len(authors),
              names=tr("common.list_sep").join(dict.fromkeys(authors)))


def scope_of(person: Any) -> dict[str, list[int] | None]:
    """The villages or township whose figures a leader's digest needs."""
    if person.role == "team_leader":
        return {"village_ids": [person.village_id or 0], "township_ids": None}
    if person.role == "township_leader":
        return {"village_ids": None, "township_ids": [person.township_id or 0]}
    return {"village_ids": None, "township_ids": None}
