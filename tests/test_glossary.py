"""One word for each thing: docs/glossary.md, read as a table, applied to every catalog text.

A catalog text (msgstr) may not hold a word the glossary lists as "not used" (in Chinese texts the
Chinese variants, in English texts the English ones), unless the word is part of a longer term of
the glossary's first column; Chinese texts say 您, never 你, and put no half-width , : ; ( ) ? !
beside a Chinese character; terms of a past era appear only in the labels kept for old records,
and the labels of the default publicity topics and winter items are current.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from common.i18n import LOCALES, catalog
from common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "docs" / "glossary.md"
CJK = "\u3400-\u9fff\uf900-\ufaff"
HAS_CJK = re.compile(f"[{CJK}]")
HALF_WIDTH = re.compile(rf"[{CJK}][,:;()?!]|[,:;()?!][{CJK}]")
# What a text holds that is not prose: placeholders, HTML tags and entities, /commands, URLs.
NOT_PROSE = re.compile(r"\{[^{}]*\}|<[^>]+>|&[a-z]+;|/[a-z_]+|https?://\S+")
PLACEHOLDER = re.compile(r"\\\{[^{}]*\\\}")  # a placeholder in an re.escape()d variant
TICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Rule:
    """A variant that must not be used, and the glossary row that names the thing instead."""

    variant: str
    pattern: re.Pattern[str]
    term: str


@dataclass(frozen=True)
class Glossary:
    terms: frozenset[str]  # every Chinese and English term of the first two columns
    rules: tuple[Rule, ...]  # the "not used" column of the main tables
    past: tuple[Rule, ...]  # the "no longer used" column of the past-era table
    kept: frozenset[str]  # msgids whose labels keep a past-era word for old records
    read_only: tuple[str, ...]  # msgid prefixes of words the bot reads, never writes


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _terms(cell: str) -> set[str]:
    """The words of a term cell: '驻村工作队 / 工作队' gives both; '职级：县级 / 科级' all three."""
    words = re.split(r"\s*(?:/|、|：|:|（|）|\(|\))\s*", cell)
    return {w.strip() for w in words if w.strip()}


def _pattern(variant: str) -> re.Pattern[str]:
    """A variant as a pattern: `{n}` is any number or placeholder, spaces are optional; an English
    variant is matched as whole words, in any case, and not as a placeholder's name."""
    escaped = re.escape(variant)
    escaped = PLACEHOLDER.sub(r"(?:\\{\\w+\\}|\\d+)", escaped)
    escaped = re.sub(r"(?:\\ )+", r"\\s*", escaped)
    if HAS_CJK.search(variant):
        return re.compile(escaped)
    return re.compile(rf"(?<![\w{{-]){escaped}(?![\w}}-])", re.IGNORECASE)


def parse_glossary(text: str) -> Glossary:
    """The glossary's tables: each row's terms, its variants not to use, the past era's rows."""
    terms: set[str] = set()
    rules: list[Rule] = []
    past: list[Rule] = []
    kept: set[str] = set()
    header: list[str] = []
    intro = text.split("\n## ", 1)[0]
    read_only = tuple(p for p in TICKED.findall(intro) if p.endswith("."))
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = _cells(line)
        if not header:
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells, strict=False))
        if "中文" in row:
            term = row["中文"]
            terms |= _terms(term) | _terms(row.get("English", ""))
            rules += [Rule(v, _pattern(v), term) for v in TICKED.findall(row["不用 / not used"])]
        elif "现用" in row:
            term = row["现用"]
            terms |= _terms(term)
            past += [Rule(v, _pattern(v), term) for v in TICKED.findall(row["不再用"])]
            kept |= set(TICKED.findall(row["保留的旧标签"]))
    return Glossary(frozenset(terms), tuple(rules), tuple(past), frozenset(kept), read_only)


def _covered(text: str, start: int, end: int, terms: Iterable[str], variant: str) -> bool:
    """Whether text[start:end] lies inside a longer glossary term found in the text."""
    for term in terms:
        if len(term) <= len(variant) or variant.lower() not in term.lower():
            continue
        for found in re.finditer(re.escape(term), text, re.IGNORECASE):
            if found.start() <= start and end <= found.end():
                return True
    return False


def _applies(rule: Rule, locale: str) -> bool:
    return bool(HAS_CJK.search(rule.variant)) == (locale == "zh")


def violations(glossary: Glossary, locale: str, messages: Mapping[str, str]) -> list[str]:
    """Every place a catalog's texts break the glossary, as 'msgid: what (use what)'."""
    found: list[str] = []
    for msgid, text in sorted(messages.items()):
        if msgid.startswith(glossary.read_only):
            continue
        for rule in (r for r in glossary.rules if _applies(r, locale)):
            for hit in rule.pattern.finditer(text):
                if not _covered(text, hit.start(), hit.end(), glossary.terms, hit.group()):
                    found.append(f"{msgid}: “{hit.group()}” (use {rule.term}) in {text!r}")
        if msgid not in glossary.kept:
            for rule in (r for r in glossary.past if _applies(r, locale)):
                if rule.pattern.search(text):
                    found.append(f"{msgid}: “{rule.variant}” is of a past era (now {rule.term})")
        if locale == "zh":
            prose = NOT_PROSE.sub("□", text)
            if "你" in prose:
                found.append(f"{msgid}: 你 (use 您) in {text!r}")
            for hit in HALF_WIDTH.findall(prose):
                found.append(f"{msgid}: half-width “{hit}” beside Chinese in {text!r}")
    return found


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return parse_glossary(GLOSSARY.read_text(encoding="utf-8"))


def _po(text: str) -> dict[str, str]:
    """An in-memory catalog: msgid -> msgstr."""
    return {str(m.id): str(m.string) for m in read_po(BytesIO(text.encode()), locale="zh") if m.id}


def test_the_glossary_names_the_terms_of_the_issue(glossary: Glossary) -> None:
    for term in ("签到", "驻村工作队", "队长", "县活动办", "领导小组", "周小结", "审核", "逾期",
                 "花名册", "上报", "上交", "一般", "较急", "紧急", "纠纷", "问题", "帮扶", "结对",
                 "抽查", "鉴定", "通知", "导出", "台账", "您"):
        assert term in glossary.terms, term
    variants = {rule.variant for rule in glossary.rules}
    assert {"工作队长", "活动办", "领导小组办公室", "你", "超期", "审阅", "考核"} <= variants
    assert glossary.past and "publicity.topic.plenary_session" in glossary.kept
    assert glossary.read_only == ("roster.column_names.", "roster.role_names.")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_text_uses_the_glossary(glossary: Glossary, locale: str) -> None:
    found = violations(glossary, locale, catalog(locale))
    assert not found, "\n".join(found)


def test_a_planted_variant_fails_and_a_term_holding_it_does_not(glossary: Glossary) -> None:
    planted = _po(
        'msgid "a"\nmsgstr "请联系工作队长。"\n\n'
        'msgid "b"\nmsgstr "已提交给领导小组办公室。"\n\n'
        'msgid "c"\nmsgstr "你已签到。"\n\n'
        'msgid "d"\nmsgstr "本周走访 {visits} 户，纠纷超期 2 件。"\n\n'
        'msgid "e"\nmsgstr "完成率(%)，已签到:在村"\n\n'
        'msgid "f"\nmsgstr "宣讲十七届五中全会精神"\n\n'
        'msgid "ok"\nmsgstr "乡镇工作组组长、县活动办和{name}: 后进名单（3 人）"\n')
    found = violations(glossary, "zh", planted)
    for msgid, what in (("a", "工作队长"), ("b", "领导小组办公室"), ("c", "你"),
                        ("d", "走访 {visits} 户"), ("d", "超期"), ("e", "率("),
                        ("e", "到:"), ("f", "十七届")):
        assert any(f.startswith(f"{msgid}: ") and what in f for f in found), (msgid, what, found)
    assert not [f for f in found if f.startswith("ok: ")], found
    aliases = {"roster.role_names.team_leader": "队长、工作队长", "roster.x": "工作队长"}
    assert [f[:9] for f in violations(glossary, "zh", aliases)] == ["roster.x:"]
    english = violations(glossary, "en", {"x": "Ask the leading-group office.",
                                          "y": "Ask the county office, or the office."})
    assert [f[:2] for f in english] == ["x:"], english


def test_a_kept_label_may_hold_its_old_word_and_nothing_else_may(glossary: Glossary) -> None:
    old = {"publicity.topic.plenary_session": "十七届五中全会精神",
           "publicity.topic.other": "十七届五中全会精神"}
    found = violations(glossary, "zh", old)
    assert {f.split(":")[0] for f in found} == {"publicity.topic.other"}, found


def test_the_default_topics_and_items_are_current_and_named_in_both_languages(
        glossary: Glossary) -> None:
    defaults = Settings(_env_file=None)
    labels = [f"publicity.topic.{code}" for code in defaults.publicity_topics] + [
        f"winter.item.{code}" for code in defaults.winter_items]
    for locale in LOCALES:
        texts = catalog(locale)
        assert all(texts.get(label) for label in labels), locale
        shown = {label: texts[label] for label in labels}
        assert not violations(glossary, locale, shown)
        assert not [label for label in labels if label in glossary.kept], "a retired default"
    zh = catalog("zh")
    topics = {zh[f"publicity.topic.{code}"] for code in defaults.publicity_topics}
    assert {"城乡居民医保", "城乡居民养老保险", "法治宣传教育", "党的二十届四中全会精神"} <= topics


def test_codes_earlier_defaults_stored_still_have_a_name() -> None:
    for locale in LOCALES:
        texts = catalog(locale)
        for label in ("publicity.topic.cooperative_medical", "publicity.topic.rural_pension",
                      "publicity.topic.plenary_session", "publicity.topic.family_planning",
                      "winter.item.family_planning", "winter.item.tax",
                      "winter.item.medical_care", "winter.item.pension"):
            assert texts.get(label), (locale, label)
