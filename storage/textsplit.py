"""Fitting a message to what Telegram takes: split into pieces, or cut with an ellipsis,
without breaking its HTML; lengths counted as Telegram counts them."""

from __future__ import annotations

import html
import re

# sendMessage takes 1-4096 characters after entity parsing, a caption 0-1024, counted in
# UTF-16 code units (an emoji is two). We count the same: tags are free, an entity is the
# character it stands for, so an escaped '&' in a user's text costs one, not five.
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
ELLIPSIS = "…"

_HTML_ATOM = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|[\s\S]")
_CHAR = re.compile(r"[\s\S]")
_START_TAG = re.compile(r"<([A-Za-z][\w-]*)")
_END_TAG = re.compile(r"</\s*([A-Za-z][\w-]*)")
# Where a line with no spaces (Chinese prose) may still break: after a sentence or clause.
_CLAUSE_ENDS = frozenset("。！？；，、")
# Boundaries from best to worst; "blank" leaves a side with nothing visible, a last resort.
# A split keeps a paragraph whole in the next piece; a cut loses what follows, so it takes
# the latest boundary between words.
Preference = tuple[tuple[str, ...], ...]
_SPLIT: Preference = (("line",), ("space",), ("clause",), ("any",), ("blank",))
_CUT: Preference = (("line", "space", "clause"), ("any",), ("blank",))

OpenTag = tuple[str, str]  # (name, the start tag as written, attributes and all)


def text_units(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts message length in."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def html_units(text: str) -> int:
    """What Telegram counts of an HTML text: its characters after entity parsing, in UTF-16."""
    return sum(_units(atom, markup=True) for atom in _HTML_ATOM.findall(text))


def units_in(text: str, parse_mode: str | None) -> int:
    """Telegram's count of a text sent with this parse mode (HTML or none)."""
    return html_units(text) if parse_mode == "HTML" else text_units(text)


def split_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut Telegram HTML into chunks of at most `limit`, closing and reopening tags at cuts."""
    return _split(_HTML_ATOM.findall(text), limit, markup=True)


def split_plain(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut text sent without a parse mode into chunks of at most `limit`."""
    return _split(_CHAR.findall(text), limit, markup=False)


def cut(text: str, limit: int, parse_mode: str | None) -> str:
    """The text unchanged if it fits `limit`, else its head at the best boundary, an ellipsis
    after it, its open tags closed: for what cannot be split (an edit, a caption)."""
    markup = parse_mode == "HTML"
    items = _HTML_ATOM.findall(text) if markup else _CHAR.findall(text)
    atoms = _Atoms(items, markup)
    if sum(atoms.units) <= limit:
        return text
    room = limit - text_units(ELLIPSIS)
    chunk, _, tags = _next_chunk(atoms, atoms.blanks_end[0], (), room, _CUT)
    closing = _closing(tags)
    return chunk[: len(chunk) - len(closing)] + ELLIPSIS + closing


class _Atoms:
    """The text as characters, whole tags and whole entities, with what each cut needs."""

    def __init__(self, items: list[str], markup: bool) -> None:
        self.items, self.markup = items, markup
        self.units = [_units(a, markup) for a in items]
        n = len(items)
        self.visible_from = [False] * (n + 1)  # anything visible at index k or later
        self.blanks_end = list(range(n + 1))  # first index at or after k that is not blank
        for k in range(n - 1, -1, -1):
            self.visible_from[k] = self.visible_from[k + 1] or _is_visible(items[k], markup)
            if items[k].isspace():
                self.blanks_end[k] = self.blanks_end[k + 1]
        self.blanks_start = list(range(n + 1))  # first index of the blank run ending at k
        for k in range(1, n + 1):
            if items[k - 1].isspace():
                self.blanks_start[k] = self.blanks_start[k - 1]


def _units(atom: str, markup: bool) -> int:
    """What Telegram counts of one atom: a tag nothing, an entity its character."""
    if len(atom) == 1:
        return 1 + (atom > "\uffff")
    if _is_tag(atom):
        return 0
    return text_units(html.unescape(atom))


def _is_tag(atom: str) -> bool:
    return bool(_START_TAG.match(atom) or _END_TAG.match(atom))


def _split(items: list[str], limit: int, *, markup: bool) -> list[str]:
    atoms = _Atoms(items, markup)
    if sum(atoms.units) <= limit:
        return ["".join(items)] if items else []
    chunks: list[str] = []
    start = atoms.blanks_end[0]  # leading blanks would make a chunk with nothing to show
    open_tags: tuple[OpenTag, ...] = ()
    while start < len(items):
        chunk, start, open_tags = _next_chunk(atoms, start, open_tags, limit)
        chunks.append(chunk)
    return chunks


def _next_chunk(
    atoms: _Atoms, start: int, open_tags: tuple[OpenTag, ...], limit: int,
    preference: Preference = _SPLIT,
) -> tuple[str, int, tuple[OpenTag, ...]]:
    """The longest chunk from `start` that fits, cut at the best kind of boundary."""
    items = atoms.items
    reopen = "".join(tag for _, tag in open_tags)
    used = 0  # tags reopened and closed count nothing
    tags = open_tags
    seen_visible = False
    # boundary kind -> the last cut of that kind that fits: (before which atom, open tags there)
    best: dict[str, tuple[int, tuple[OpenTag, ...]]] = {}
    for j in range(start, len(items)):
        atom = items[j]
        if j > start:
            best[_kind(atoms, j, seen_visible)] = (j, tags)
        used += atoms.units[j]
        if used > limit:
            break
        if atoms.markup and atom.startswith("<"):
            tags = _track(tags, atom)
        seen_visible = seen_visible or _is_visible(atom, atoms.markup)
    else:
        return reopen + "".join(items[start:]), len(items), ()
    found = next(([best[k] for k in kinds if k in best] for kinds in preference
                  if any(k in best for k in kinds)), None)
    if found is None:
        raise ValueError(f"a limit of {limit} leaves no room for a character")
    at, tags = max(found, key=lambda cut: cut[0])
    end, resume = at, at
    if items[at].isspace():  # a soft cut drops the run of blanks it falls in
        end = max(atoms.blanks_start[at], start + 1)
        resume = atoms.blanks_end[at]
    return reopen + "".join(items[start:end]) + _closing(tags), resume, tags


def _kind(atoms: _Atoms, j: int, seen_visible: bool) -> str:
    """What kind of boundary a cut before atoms[j] would be."""
    atom = atoms.items[j]
    resume = atoms.blanks_end[j] if atom.isspace() else j
    # Telegram refuses a message with nothing visible: both sides of the cut need some text.
    if not seen_visible or (resume < len(atoms.items) and not atoms.visible_from[resume]):
        return "blank"
    if atom == "\n":
        return "line"
    if atom.isspace():
        return "space"
    return "clause" if atoms.items[j - 1] in _CLAUSE_ENDS else "any"


def _track(tags: tuple[OpenTag, ...], atom: str) -> tuple[OpenTag, ...]:
    """The open tags after `atom`."""
    end = _END_TAG.match(atom)
    if end is not None:
        name = end.group(1).lower()
        for k in range(len(tags) - 1, -1, -1):
            if tags[k][0] == name:
                return tags[:k] + tags[k + 1 :]
        return tags
    start = _START_TAG.match(atom)
    if start is not None and not atom.endswith("/>"):
        return (*tags, (start.group(1).lower(), atom))
    return tags


def _is_visible(atom: str, markup: bool) -> bool:
    if atom.isspace():
        return False
    return not (markup and _is_tag(atom))


def _closing(tags: tuple[OpenTag, ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(tags))
