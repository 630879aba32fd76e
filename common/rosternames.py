"""The names a roster file may use, from the catalogs: the export, the chat and the import
say the same.

A column is called what the export's roster sheet calls it (``export.people.<column>``), a
rank what the export writes for it (``export.rank.<rank>``), a role what the chat calls it
(``role.<role>``), yes and no what the export writes for them (``export.yes``/``export.no``),
in Chinese and in English, besides the codes; and by the other names people write, which
each catalog lists (``roster.column_names.*``, ``roster.rank_names.*``,
``roster.role_names.*``: 手机号, 派出单位, 队长, 县活动办 …). An export of the roster, edited
in Excel or WPS, imports again; and the import's errors list the names of the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from common.i18n import LOCALES, catalog, translate
from storage.people import RANKS, ROLES
from storage.roster import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    ImportResult,
    RosterError,
    RosterNames,
    ShapeWarning,
)

# How a catalog separates the other names of one thing: 、 in Chinese, commas in English.
_SEPARATORS = re.compile(r"[、,，;；]")


def _split(text: str) -> list[str]:
    return [name.strip() for name in _SEPARATORS.split(text) if name.strip()]


def _names(shown: str, other: str, codes: Iterable[str]) -> dict[str, list[str]]:
    """Each code's names in every language: the one `shown` in the export or the chat, then
    the `other` ones."""
    return {
        code: [name for locale in LOCALES
               for name in (catalog(locale)[shown + code],
                            *_split(catalog(locale).get(other + code, "")))]
        for code in codes
    }  # fmt: skip


@cache
def roster_names() -> RosterNames:
    """Every name the catalogs give the roster's columns, ranks, roles and yes/no."""
    return RosterNames.of(
        columns=_names("export.people.", "roster.column_names.", (*COLUMNS, *OPTIONAL_COLUMNS)),
        ranks=_names("export.rank.", "roster.rank_names.", RANKS),
        roles=_names("role.", "roster.role_names.", ROLES),
        yes=[catalog(locale)["export.yes"] for locale in LOCALES],
        no=[catalog(locale)["export.no"] for locale in LOCALES],
    )


def _listed(locale: str, prefix: str, codes: Iterable[str]) -> str:
    separator = catalog(locale)["common.list_sep"]
    return separator.join(catalog(locale)[prefix + code] for code in codes)


def roster_error(locale: str, error: RosterError) -> str:
    """``roster.error.<code>`` in `locale` (HTML, as translate gives it): missing columns, and
    the columns, ranks and roles a file may use, by the names of that language; each role by
    its name too (``{team_leader}``)."""
    value = error.value
    if error.code == "missing_column":  # storage names them by their codes
        value = _listed(locale, "export.people.", [c.strip() for c in value.split(",")])
    words = catalog(locale)
    return translate(
        locale, f"roster.error.{error.code}", line=error.line, value=value,
        columns=_listed(locale, "export.people.", COLUMNS),
        ranks=_listed(locale, "export.rank.", RANKS), roles=_listed(locale, "role.", ROLES),
        active=words["export.people.active"], yes=words["export.yes"], no=words["export.no"],
        **{role: words[f"role.{role}"] for role in ROLES},
    )  # fmt: skip


def roster_report(locale: str, result: ImportResult) -> str:
    """What an import did, in `locale`; a second line for the rows it left alone, if any."""
    said = translate(locale, "roster.report", created=result.created, updated=result.updated,
                     unchanged=result.unchanged)
    if not result.skipped:
        return said
    words = catalog(locale)
    return "\n".join([said, translate(locale, "roster.skipped", skipped=result.skipped,
                                       active=words["export.people.active"],
                                       no=words["export.no"])])


def roster_warnings(locale: str, warnings: list[ShapeWarning], *, limit: int | None = None) -> str:
    """Where the roster is not shaped as the notice asks, in `locale` (HTML): a heading, one
    line a place (a village as 乡镇/村, as the roster names it), at most `limit` of them and
    how many more; empty when there is nothing to say."""
    if not warnings:
        return ""
    shown = warnings if limit is None else warnings[:limit]
    lines = [translate(locale, "roster.warnings", count=len(warnings))]
    lines += [
        translate(locale, f"roster.warning.{w.code}", township=w.township,
                  village=f"{w.township}/{w.village}", county_organ=w.county_organ,
                  township_cadres=w.township_cadres)
        for w in shown
    ]  # fmt: skip
    if len(warnings) > len(shown):
        lines.append(translate(locale, "roster.warnings_more", count=len(warnings) - len(shown)))
    return "\n".join(lines)


MAX_ERRORS_SHOWN = 20
MAX_WARNINGS_SHOWN = 20  # where the roster is not shaped as the notice asks, after the counts


def import_report(locale: str, result: ImportResult) -> str:
    """What an import says to the office, in `locale` (HTML, lines): the counts and then the
    warnings when it stands; when refused, that nothing was changed and each problem (the
    first MAX_ERRORS_SHOWN, then how many more). The chat and the console say the same."""
    if not result.errors:
        # The import stands; where the roster is not shaped as the notice asks is said after.
        said = [roster_report(locale, result),
                roster_warnings(locale, result.warnings, limit=MAX_WARNINGS_SHOWN)]
        return "\n\n".join(part for part in said if part)
    lines = [translate(locale, "roster.rejected", count=len(result.errors))]
    lines += [roster_error(locale, e) for e in result.errors[:MAX_ERRORS_SHOWN]]
    if len(result.errors) > MAX_ERRORS_SHOWN:
        lines.append(translate(locale, "roster_chat.more_errors",
                               count=len(result.errors) - MAX_ERRORS_SHOWN))
    return "\n".join(lines)
