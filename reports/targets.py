"""Help targets read with the county's settings, and their text: /targets, the digest's line,
the export's sheet and the API all take `scope_targets` (storage.targets.village_targets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.clock import spring_festival
from common.i18n import Money, Translator
from common.settings import Settings
from storage.aid import HOLIDAYS
from storage.scope import COUNTY_ROLES, Scope
from storage.targets import TARGETS, TargetRules, VillageTargets, village_targets

COMMAND = "/targets"
VILLAGE_COMMAND = "/pairs"  # a team leader's targets are under /pairs


def holidays_of(settings: Settings) -> tuple[tuple[str, dt.date], ...]:
    """The campaign's New Year's Day and Spring Festival: the first of each on or after its
    start (the holiday reminder's holidays)."""
    start = settings.campaign_start
    found = []
    for name in HOLIDAYS:
        for year in (start.year, start.year + 1):
            day = dt.date(year, 1, 1) if name == "new_year" else spring_festival(year)
            if day >= start:
                found.append((name, day))
                break
    return tuple(found)


def rules_for(settings: Settings, today: dt.date) -> TargetRules:
    """The targets as the county set them, judged on `today`."""
    return TargetRules(labour_min=settings.labour_export_min_per_village,
                       project_min=settings.project_min_funds,
                       holidays=holidays_of(settings), today=today)


@dataclass
class ScopeTargets:
    """A scope's villages against the targets."""

    rules: TargetRules
    villages: list[VillageTargets]

    @property
    def below(self) -> list[VillageTargets]:
        """The villages that miss at least one target."""
        return [v for v in self.villages if v.missed]

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON for the API: every village, what it did and what it misses."""
        rules = self.rules
        return {
            "rules": {"labour_min": rules.labour_min, "project_min": str(rules.project_min),
                      "holidays": {name: day.isoformat() for name, day in rules.holidays},
                      "due": list(rules.due)},
            "villages_below": len(self.below), "villages": len(self.villages),
            "items": [{
                "township": v.township, "village": v.village, "labour": v.labour,
                "projects": [{"name": p.name, "type": p.type, "funds": str(p.funds),
                              "day": p.day.isoformat(),
                              "met": p.funds >= rules.project_min} for p in v.projects],
                "donations": [{"unit": u.unit, "count": u.count, "value": str(u.value)}
                              for u in v.units],
                "condolences": {name: {"paired": len(v.households), "visited": v.covered(name),
                                       "without": v.without(name)}
                                for name, _ in rules.holidays},
                "missed": v.missed,
            } for v in self.villages],
        }


async def scope_targets(session: AsyncSession, settings: Settings, *, scope: Scope,
                        today: dt.date, details: bool = True) -> ScopeTargets:
    """Every village of the scope against the county's targets, as they stand today; without
    `details`, only which targets each misses (a count, a digest's line: not /targets' lists
    nor the API's figures)."""
    rules = rules_for(settings, today)
    villages = await village_targets(session, rules, village_ids=scope.village_ids,
                                     township_id=scope.township_id, details=details)
    return ScopeTargets(rules, villages)


def _type(tr: Translator, code: str | None) -> str:
    return tr(f"aid.project_type.{code}") if code else tr("targets.type_unknown")


def _village_lines(tr: Translator, village: VillageTargets, rules: TargetRules) -> list[str]:
    sep = tr("common.list_sep")
    missed = village.missed
    lines = [tr("targets.village", township=village.township, village=village.village)]
    if "labour" in missed:
        lines.append(tr("targets.labour_below", people=village.labour,
                        minimum=rules.labour_min))
    if "project" in missed:
        below = village.projects_below(rules)
        if not below:
            lines.append(tr("targets.no_project"))
        lines += [tr("targets.project_below", name=p.name, type=_type(tr, p.type),
                     funds=Money(p.funds), minimum=Money(rules.project_min)) for p in below]
    if "donation" in missed:
        lines.append(tr("targets.not_donated", units=sep.join(village.not_donated())))
    for holiday in rules.due:
        without = village.without(holiday)
        if without:
            lines.append(tr("targets.condolence_missing", holiday=tr(f"aid.holiday.{holiday}"),
                            households=sep.join(without)))
    return lines


def render_targets(tr: Translator, targets: ScopeTargets, *, place: str) -> str:
    """/targets: the rules, then each village below target with what it misses, then the
    villages that meet them all and the condolences of the holidays still ahead."""
    rules = targets.rules
    lines = [tr("targets.title", place=place),
             tr("targets.rules", labour=rules.labour_min, funds=Money(rules.project_min))]
    if not targets.villages:
        lines.append(tr("targets.no_villages"))
        return "\n".join(lines)
    below = targets.below
    lines.append(tr("targets.count", below=len(below), total=len(targets.villages)))
    for village in below:
        lines += _village_lines(tr, village, rules)
    met = [v.village for v in targets.villages if v not in below]
    if met:
        lines.append(tr("targets.all_met", villages=tr("common.list_sep").join(met)))
    for holiday, day in rules.holidays:
        if holiday in rules.due:
            continue
        paired = sum(len(v.households) for v in targets.villages)
        done = sum(v.covered(holiday) for v in targets.villages)
        lines.append(tr("targets.holiday_ahead", holiday=tr(f"aid.holiday.{holiday}"),
                        day=day, done=done, total=paired))
    return "\n".join(lines)


def targets_line(tr: Translator, person: Any, targets: ScopeTargets) -> str | None:
    """The digest's line for a leader, from targets covering at least their scope (None: a
    person with no village or township to judge)."""
    if person.role == "team_leader":
        mine = [v for v in targets.villages if v.village_id == person.village_id]
        return digest_line(tr, mine, own_village=True) if mine else None
    if person.role == "township_leader":
        mine = [v for v in targets.villages if v.township_id == person.township_id]
        return digest_line(tr, mine, own_village=False) if mine else None
    if person.role in COUNTY_ROLES:
        return digest_line(tr, targets.villages, own_village=False)
    return None


def digest_line(tr: Translator, villages: Sequence[VillageTargets], *,
                own_village: bool) -> str:
    """The digest's short line: a team leader's missed targets, or how many villages of a
    township are below target; with the command that lists them."""
    if own_village:
        missed = [target for v in villages for target in v.missed]
        if not missed:
            return tr("digest.targets_met")
        names = tr("common.list_sep").join(tr(f"targets.target.{t}") for t in TARGETS
                                           if t in missed)
        return tr("digest.targets_missed", targets=names, command=VILLAGE_COMMAND)
    count = sum(1 for v in villages if v.missed)
    if not count:
        return tr("digest.targets_met")
    return tr("digest.targets_below", count=count, total=len(villages), command=COMMAND)


def targets_paragraph(tr: Translator, targets: ScopeTargets) -> str:
    """The county report's paragraph: how many villages fall short, and of which target."""
    rules = targets.rules
    if not targets.below:
        return tr("county_report.targets_met", total=len(targets.villages))
    short = {target: sum(1 for v in targets.villages if target in v.missed)
             for target in TARGETS}
    return tr("county_report.targets", total=len(targets.villages), below=len(targets.below),
              minimum=rules.labour_min, funds=Money(rules.project_min), **short)
