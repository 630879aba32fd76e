"""Every village's tasks of the notice as they stand: the eight village systems its team has
recorded (storage.rectification.systems_by_village) and its publicity coverage, slogans and a
board (storage.publicity.coverage_by_village). /systems, the county report and the API all take
`scope_tasks`; the export's sheets read the same two queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_, Translator
from reports.villagework import RULE, rule_names
from storage.publicity import LACKS, VillageCoverage, coverage_by_village
from storage.rectification import RULE_KINDS, VillageSystems, systems_by_village
from storage.scope import Scope

LACK = "systems.lack.{}"
_LABELS = (N_("systems.lack.slogans"), N_("systems.lack.boards"),
           N_("rectify.kind.plan"), N_("rectify.kind.one_matter"),
           N_("rectify.kind.supervision"), N_("rectify.kind.party_building"))
MAX_LISTED = 30  # villages listed in one message; the export has them all


@dataclass
class VillageTasks:
    """A scope's villages: the systems each has recorded, and its publicity coverage."""

    systems: list[VillageSystems]
    coverage: list[VillageCoverage]

    @property
    def incomplete(self) -> list[VillageSystems]:
        """The villages lacking at least one system."""
        return [v for v in self.systems if not v.complete]

    @property
    def uncovered(self) -> list[VillageCoverage]:
        """The villages without slogans or without a board."""
        return [v for v in self.coverage if v.lacking]

    def systems_dict(self) -> dict[str, Any]:
        """The systems as JSON for the API: every village, what it has and what it lacks."""
        return {"kinds": list(RULE_KINDS), "villages": len(self.systems),
                "complete": len(self.systems) - len(self.incomplete),
                "items": [{"township": v.township, "village": v.village,
                           "recorded": {k: v.rules.get(k, 0) for k in RULE_KINDS},
                           "lacking": v.lacking, "complete": v.complete}
                          for v in self.systems]}

    def coverage_dict(self) -> dict[str, Any]:
        """The publicity coverage as JSON for the API."""
        return {"villages": len(self.coverage),
                **{f"without_{lack}": sum(1 for v in self.coverage if lack in v.lacking)
                   for lack in LACKS},
                "items": [{"township": v.township, "village": v.village, "slogans": v.slogans,
                           "boards": v.boards, "lacking": v.lacking} for v in self.coverage]}


async def scope_tasks(session: AsyncSession, *, scope: Scope) -> VillageTasks:
    """A scope's villages with their systems and publicity coverage, as they stand."""
    filters: dict[str, Any] = dict(scope.filters)
    return VillageTasks(await systems_by_village(session, **filters),
                        await coverage_by_village(session, **filters))


def lack_names(tr: Translator, lacks: list[str]) -> str:
    """What a village's publicity lacks, by name."""
    return tr("common.list_sep").join(tr(LACK.format(lack)) for lack in lacks)


def _village(tr: Translator, township: str, village: str, scope: Scope) -> str:
    return village if scope.kind != "county" else f"{township}/{village}"


def render_tasks(tr: Translator, tasks: VillageTasks, *, place: str, scope: Scope) -> str:
    """/systems for a leader: which village lacks which system, and which has no slogans or
    no board (each list at most MAX_LISTED villages)."""
    lines = [tr("systems.title", place=place, villages=len(tasks.systems),
                complete=len(tasks.systems) - len(tasks.incomplete), of=len(RULE_KINDS))]
    lines += [tr("systems.lacking_line", village=_village(tr, v.township, v.village, scope),
                 count=len(v.lacking), kinds=rule_names(tr, v.lacking))
              for v in tasks.incomplete[:MAX_LISTED]]
    if len(tasks.incomplete) > MAX_LISTED:
        lines.append(tr("systems.more", count=len(tasks.incomplete) - MAX_LISTED))
    lines += ["", tr("systems.coverage_title", villages=len(tasks.coverage),
                     uncovered=len(tasks.uncovered))]
    lines += [tr("systems.coverage_line", village=_village(tr, v.township, v.village, scope),
                 lacks=lack_names(tr, v.lacking))
              for v in tasks.uncovered[:MAX_LISTED]]
    if len(tasks.uncovered) > MAX_LISTED:
        lines.append(tr("systems.more", count=len(tasks.uncovered) - MAX_LISTED))
    return "\n".join(lines)


def render_village(tr: Translator, systems: VillageSystems) -> str:
    """A team's own village: the systems recorded and those still lacking."""
    lines = [tr("systems.village_title", village=systems.village,
                done=len(systems.rule_kinds), of=len(RULE_KINDS))]
    if systems.rule_kinds:
        lines.append(tr("systems.recorded", kinds=rule_names(tr, systems.rule_kinds)))
    if systems.lacking:
        lines.append(tr("systems.still_lacking", kinds=rule_names(tr, systems.lacking)))
    else:
        lines.append(tr("systems.all_recorded"))
    return "\n".join(lines)


def systems_paragraph(tr: Translator, tasks: VillageTasks) -> str:
    """The county report's paragraph on the village systems."""
    short = {kind: sum(1 for v in tasks.systems if kind in v.lacking) for kind in RULE_KINDS}
    lacking = tr("common.list_sep").join(
        tr("county_report.systems_kind", kind=tr(RULE.format(kind)), count=count)
        for kind, count in short.items() if count)
    complete = len(tasks.systems) - len(tasks.incomplete)
    if not lacking:
        return tr("county_report.systems_complete", villages=len(tasks.systems))
    return tr("county_report.systems", villages=len(tasks.systems), complete=complete,
              of=len(RULE_KINDS), lacking=lacking)


def coverage_paragraph(tr: Translator, tasks: VillageTasks) -> str:
    """The county report's paragraph on slogans and boards, naming the villages without."""
    if not tasks.uncovered:
        return tr("county_report.coverage_complete", villages=len(tasks.coverage))
    without = {lack: [v.village for v in tasks.coverage if lack in v.lacking] for lack in LACKS}
    return tr("county_report.coverage", villages=len(tasks.coverage),
              slogans=len(without["slogans"]), boards=len(without["boards"]),
              slogan_villages=_names(tr, without["slogans"]),
              board_villages=_names(tr, without["boards"]))


def _names(tr: Translator, villages: list[str]) -> str:
    """Villages by name, at most MAX_LISTED and how many more."""
    if not villages:
        return tr("county_report.coverage_none")
    named = tr("common.list_sep").join(villages[:MAX_LISTED])
    if len(villages) > MAX_LISTED:
        named += tr("county_report.coverage_more", count=len(villages) - MAX_LISTED)
    return named
