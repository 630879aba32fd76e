"""Telegram's formatting rules: parse HTML and MarkdownV2 the way the Bot API does.

Both parsers return the plain text (markup removed, entities decoded) and raise ValueError
with a Telegram-like message when the server would answer "can't parse entities".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Tags the Bot API accepts in HTML mode (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "tg-emoji", "code", "pre", "blockquote", "tg-time",
})
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(
    r"""\s*([a-zA-Z0-9_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts message length in."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, index: int) -> tuple[str, int]:
    """Decode the entity that starts at `index`; return (character, index after it)."""
    match = _ENTITY.match(text, index)
    if match is None:
        raise ValueError(
            f"Unsupported HTML entity or bare '&' at byte offset {_byte_offset(text, index)}"
        )
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in NAMED_ENTITIES:
            raise ValueError(
                f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, index)}'
            )
        return NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"Invalid character reference at byte offset {_byte_offset(text, index)}")
    return chr(code), match.end()


def _decode_attribute(value: str) -> str:
    """Decode entities inside an attribute value (an invalid one is an error there too)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            char, i = _decode_entity(value, i)
            out.append(char)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass
class _Tag:
    name: str
    attributes: dict[str, str] = field(default_factory=dict)


def _parse_attributes(text: str, start: int, offset: int) -> tuple[dict[str, str], int]:
    """Read attributes up to the closing '>'; return them and the index after '>'."""
    attributes: dict[str, str] = {}
    i = start
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise ValueError(f"Unclosed start tag at byte offset {offset}")
        if text[i] == ">":
            return attributes, i + 1
        match = _ATTRIBUTE.match(text, i)
        if match is None or match.end() == i:
            raise ValueError(f"Expected equal sign in declaration of an attribute of the start "
                             f"tag at byte offset {offset}")
        name, dq, sq, bare = match.groups()
        raw = next((v for v in (dq, sq, bare) if v is not None), "")
        attributes[name.lower()] = _decode_attribute(raw)
        i = match.end()


def _check_start_tag(tag: _Tag, stack: list[_Tag], offset: int) -> None:
    """Tag-specific rules: required attributes and forbidden nesting."""
    if tag.name == "span" and tag.attributes.get("class") != "tg-spoiler":
        raise ValueError('Tag "span" must have class "tg-spoiler"')
    if tag.name == "tg-emoji" and not tag.attributes.get("emoji-id", "").isdigit():
        raise ValueError(f"Tag \"tg-emoji\" must have a numeric emoji-id at byte offset {offset}")
    if tag.name == "tg-time" and not tag.attributes.get("unix", "").lstrip("-").isdigit():
        raise ValueError(f'Tag "tg-time" must have a numeric "unix" at byte offset {offset}')
    if tag.name == "blockquote" and any(t.name == "blockquote" for t in stack):
        raise ValueError(f"Blockquote entities can't be nested at byte offset {offset}")


def _read_start_tag(text: str, i: int, stack: list[_Tag]) -> int:
    """Parse a start tag at text[i] == '<'; push it and return the index after it."""
    offset = _byte_offset(text, i)
    name_match = _TAG_NAME.match(text, i + 1)
    assert name_match is not None  # the pattern also matches the empty string
    name = name_match.group().lower()
    if name not in ALLOWED_TAGS:
        raise ValueError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attributes, end = _parse_attributes(text, name_match.end(), offset)
    tag = _Tag(name, attributes)
    _check_start_tag(tag, stack, offset)
    stack.append(tag)
    return end


def _read_end_tag(text: str, i: int, stack: list[_Tag]) -> int:
    """Parse an end tag at text[i:i+2] == '</'; pop the matching start tag."""
    offset = _byte_offset(text, i)
    close = text.find(">", i)
    if close == -1:
        raise ValueError(f"Unclosed end tag at byte offset {offset}")
    name = text[i + 2:close].strip().lower()
    if not stack:
        raise ValueError(f'Unexpected end tag "{name}" at byte offset {offset}')
    if stack[-1].name != name:
        raise ValueError(f'Unmatched end tag at byte offset {offset}, expected '
                         f'"</{stack[-1].name}>", found "</{name}>"')
    stack.pop()
    return close + 1


def parse_html(text: str) -> str:
    """Parse Bot API HTML; return the plain text or raise ValueError like Telegram would."""
    out: list[str] = []
    stack: list[_Tag] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            is_end = text.startswith("</", i)
            i = _read_end_tag(text, i, stack) if is_end else _read_start_tag(text, i, stack)
        elif char == "&":
            decoded, i = _decode_entity(text, i)
            out.append(decoded)
        else:
            out.append(char)
            i += 1
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return "".join(out)


# --- MarkdownV2 -------------------------------------------------------------------------

MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


@dataclass
class _MdState:
    text: str
    out: list[str] = field(default_factory=list)
    stack: list[tuple[str, int]] = field(default_factory=list)  # (marker, start index)
    i: int = 0

    def error(self, message: str, index: int | None = None) -> ValueError:
        where = self.i if index is None else index
        return ValueError(f"{message} at byte offset {_byte_offset(self.text, where)}")


def _md_toggle(state: _MdState, marker: str) -> None:
    """Open or close a symmetric entity (*, _, __, ~, ||)."""
    if state.stack and state.stack[-1][0] == marker:
        state.stack.pop()
    elif any(m == marker for m, _ in state.stack):
        raise state.error(f"Can't find end of the entity opened with '{marker}'")
    else:
        state.stack.append((marker, state.i))
    state.i += len(marker)


def _md_code(state: _MdState) -> None:
    """Inline code or a pre block: only '`' and '\\' need escaping inside."""
    text, start = state.text, state.i
    fence = "```" if text.startswith("```", start) else "`"
    i = start + len(fence)
    if fence == "```":  # the rest of the opening line names the language
        newline = text.find("\n", i)
        i = i if newline == -1 else newline + 1
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            state.out.append(text[i + 1])
            i += 2
        elif text.startswith(fence, i):
            state.i = i + len(fence)
            return
        else:
            state.out.append(text[i])
            i += 1
    raise state.error("Can't find end of the code entity", start)


def _md_link_end(state: _MdState) -> None:
    """']' closes link text; it must be followed by '(url)' with ')' and '\\' escaped."""
    if not state.stack or state.stack[-1][0] not in ("[", "!["):
        raise state.error("Character ']' is reserved and must be escaped with the preceding '\\'")
    state.stack.pop()
    text, i = state.text, state.i + 1
    if i >= len(text) or text[i] != "(":
        raise state.error("Expected '(' after the link text", i)
    i += 1
    while i < len(text) and text[i] != ")":
        i += 2 if text[i] == "\\" else 1
    if i >= len(text):
        raise state.error("Can't find end of the URL", state.i)
    state.i = i + 1


def _md_step(state: _MdState) -> None:
    """Consume one token of MarkdownV2 at state.i."""
    text, i = state.text, state.i
    char = text[i]
    at_line_start = i == 0 or text[i - 1] == "\n"
    if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
        state.out.append(text[i + 1])
        state.i += 2
    elif char == "`":
        _md_code(state)
    elif char == ">" and at_line_start:
        state.i += 1  # blockquote line marker
    elif text.startswith("**>", i) and at_line_start:
        state.i += 3  # expandable blockquote marker
    elif text.startswith("||", i) and (i + 2 == len(text) or text[i + 2] == "\n") and not any(
        m == "||" for m, _ in state.stack
    ) and "\n>" in "\n" + text[:i]:
        state.i += 2  # end of an expandable blockquote
    elif char in "*~" or text.startswith(("__", "||"), i) or char == "_":
        _md_toggle(state, text[i:i + 2] if text.startswith(("__", "||"), i) else char)
    elif char == "[" or text.startswith("![", i):
        marker = "![" if char == "!" else "["
        state.stack.append((marker, i))
        state.i += len(marker)
    elif char == "]":
        _md_link_end(state)
    elif char in MARKDOWN_V2_RESERVED:
        raise state.error(f"Character '{char}' is reserved and must be escaped with the "
                          f"preceding '\\'")
    else:
        state.out.append(char)
        state.i += 1


def parse_markdown_v2(text: str) -> str:
    """Parse MarkdownV2 (reserved characters must be escaped); return the plain text."""
    state = _MdState(text)
    while state.i < len(text):
        _md_step(state)
    if state.stack:
        marker, start = state.stack[-1]
        raise state.error(f"Can't find end of the entity opened with '{marker}'", start)
    return "".join(state.out)


def parse_markdown_legacy(text: str) -> str:
    """Legacy Markdown: strip the markers (*, _, `, [text](url)); no escaping rules."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[*_`]", "", text)


def to_plain(text: str, parse_mode: str | None) -> str:
    """Plain text for `text` under `parse_mode` (None: as is); raises ValueError on bad markup."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown_legacy(text)
    return text
