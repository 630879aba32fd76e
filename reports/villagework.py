"""Village rectification and winter work as text: pure renderers for /stats, /rectify, /winter
and the Monday county report, in either language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from common.i18n import N_, Money, Translator
from storage.rectification import RULE_KINDS, TYPES, RectificationTotals, VillageProgress
from storage.winter import UNITS, WinterSum, percent, unit_of

TYPE, RULE, ITEM, UNIT = "rectify.type.{}", "rectify.kind.{}", "winter.item.{}", "winter.unit.{}"
# Labels built from codes; listed here so the catalog check sees every one.
_LABELS = (
    N_("rectify.type.weak_team"), N_("rectify.type.disputes"),
    N_("rectify.type.weak_management"), N_("rectify.kind.measure"),
    N_("rectify.kind.village_rules"), N_("rectify.kind.finance"), N_("rectify.kind.openness"),
    N_("rectify.kind.procedure"),
    N_("winter.item.water_works"), N_("winter.item.winter_planting"),
    N_("winter.item.winter_construction"), N_("winter.item.family_planning"),
    N_("winter.item.afforestation"), N_("winter.item.fire_prevention"), N_("winter.item.tax"),
    N_("winter.item.investment"), N_("winter.item.medical_care"), N_("winter.item.pension"),
    N_("winter.item.living_environment"),
    N_("winter.unit.projects"), N_("winter.unit.mu"), N_("winter.unit.people"),
    N_("winter.unit.households"), N_("winter.unit.yuan"), N_("winter.unit.units"),
)


def _label(tr: Translator, template: str, code: str) -> str:
    try:
        return tr(template.format(code))
    except KeyError:  # a configured code the catalogs lack
        return code


def item_label(tr: Translator, item: str) -> str:
    """A winter item's name in the reader's language (an unknown code as it is)."""
    return _label(tr, ITEM, item)


def unit_label(tr: Translator, item: str) -> str:
    """The unit a winter item is counted in."""
    return tr(UNIT.format(unit_of(item)))


def pct(value: float | None) -> str:
    """A share as a whole percentage ('—' when there is no target)."""
    return "—" if value is None else f"{value:.0f}%"


def ordered(items: Iterable[str], order: Sequence[str] = tuple(UNITS)) -> list[str]:
    """Item codes in the configured order, any others after them by code."""
    present = set(items)
    return [i for i in order if i in present] + sorted(present - set(order))


def type_names(tr: Translator, types: Iterable[str]) -> str:
    """The three types a village is marked with, by name."""
    return tr("common.list_sep").join(tr(TYPE.format(t)) for t in types)


def rule_names(tr: Translator, kinds: Iterable[str]) -> str:
    """Kinds of rule, by name."""
    return tr("common.list_sep").join(tr(RULE.format(k)) for k in kinds)


def village_line(tr: Translator, village: VillageProgress) -> str:
    """A marked village's progress: its types, measures, and the rules it has established."""
    done = village.rule_kinds
    line = tr("rectify.village_line", village=village.village, types=type_names(tr, village.types),
              measures=village.measures, rules=len(done), of=len(RULE_KINDS))
    if done:
        line += tr("rectify.rules_named", rules=rule_names(tr, done))
    return line + (tr("rectify.rules_complete") if village.complete else "")


def rectification_line(tr: Translator, totals: RectificationTotals) -> str:
    """Marked villages by type, measures, rules, and villages with all four kinds of rule."""
    if not totals.marked:
        return tr("rectify.stats_none")
    types = tr("common.list_sep").join(
        f"{tr(TYPE.format(t))} {totals.by_type[t]}" for t in TYPES if totals.by_type.get(t))
    return tr("rectify.stats", marked=totals.marked, types=types, measures=totals.measures,
              rules=totals.rules, complete=totals.complete)


def is_money(item: str) -> bool:
    """A winter item counted in yuan: its figures are shown as money (9,000 元, ¥9,000)."""
    return unit_of(item) == "yuan"


def item_line(tr: Translator, item: str, *, target: int | None, progress: int) -> str:
    """'Afforestation: 120/200 mu (60%)', 'Investment attracted: ¥0/¥9,000 (0%)', or the
    item without a target yet."""
    if not target:
        return tr("winter.item_no_target", item=item_label(tr, item), unit=unit_label(tr, item))
    if is_money(item):
        return tr("winter.item_line_money", item=item_label(tr, item), progress=Money(progress),
                  target=Money(target), percent=pct(percent(progress, target)))
    return tr("winter.item_line", item=item_label(tr, item), progress=progress, target=target,
              unit=unit_label(tr, item), percent=pct(percent(progress, target)))


def winter_lines(tr: Translator, totals: Mapping[str, WinterSum],
                 order: Sequence[str] = tuple(UNITS)) -> list[str]:
    """The winter work of a scope, one line per item with a target."""
    if not totals:
        return [tr("winter.stats_none")]
    lines = [tr("winter.stats_title")]
    for item in ordered(totals, order):
        sums = totals[item]
        lines.append(tr("winter.stats_line", line=item_line(
            tr, item, target=sums.target, progress=sums.progress), villages=sums.villages))
    return lines


def overall(items: Mapping[str, WinterSum]) -> float | None:
    """A place's winter progress in one number: the mean of its items' percentages, each
    counted at most 100 so an item done twice over does not hide one not begun."""
    shares = [min(100.0, s.percent) for s in items.values() if s.percent is not None]
    return sum(shares) / len(shares) if shares else None


def lagging(items: Mapping[str, WinterSum], below: float,
            order: Sequence[str] = tuple(UNITS)) -> list[str]:
    """The items below `below` percent of their target, in the configured order."""
    return [i for i in ordered(items, order)
            if (items[i].percent is not None and (items[i].percent or 0.0) < below)]


def township_winter_line(tr: Translator, township: str, items: Mapping[str, WinterSum], *,
                         below: float, order: Sequence[str] = tuple(UNITS)) -> str:
    """One township in one line: overall progress and the items lagging behind."""
    line = tr("winter.township_line", township=township, percent=pct(overall(items)))
    late = lagging(items, below, order)
    if late:
        line += tr("winter.lagging", items=tr("common.list_sep").join(
            f"{item_label(tr, i)} {pct(items[i].percent)}" for i in late))
    return line


@dataclass
class VillageWork:
    """What the Monday county report shows of rectification and winter work."""

    winter: dict[str, dict[str, WinterSum]]  # township name -> item -> sums
    rectification: RectificationTotals
    lagging_percent: float
    order: tuple[str, ...] = tuple(UNITS)


def report_lines(tr: Translator, work: VillageWork) -> list[str]:
    """The county report's part: winter progress, one line per township (the furthest behind
    first), and the marked villages' rectification in one line."""
    lines = ["", tr("report.winter")]
    if not work.winter:
        lines.append(tr("winter.stats_none"))

    def behind(name: str) -> tuple[float, str]:
        share = overall(work.winter[name])
        return (-1.0 if share is None else share, name)

    lines += [township_winter_line(tr, name, work.winter[name], below=work.lagging_percent,
                                   order=work.order) for name in sorted(work.winter, key=behind)]
    lines += [rectification_line(tr, work.rectification), ""]
    return lines
