"""Long messages are cut into pieces Telegram accepts: tags whole and balanced, nothing lost."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import Outgoing
from storage.textsplit import cut, html_units, split_html, split_plain, text_units
from tests.emulator import parse_html, utf16_len

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
LINK = '<a href="https://example.org/r?a=1&amp;b=2">'
_TOKEN = re.compile(r"<(/?)([a-z-]+)[^>]*>|&(amp|lt|gt|quot);|.", re.S)
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"'}


def styled(html: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each character Telegram would show, with the start tags around it; tags must nest."""
    out: list[tuple[str, tuple[str, ...]]] = []
    stack: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(html):
        closing, name, entity = m.groups()
        if name and closing:
            assert stack and stack[-1][0] == name, f"unbalanced </{name}> in {html!r}"
            stack.pop()
        elif name:
            stack.append((name, m.group()))
        else:
            char = _NAMED[entity] if entity else m.group()
            out.append((char, tuple(tag for _, tag in stack)))
    assert not stack, f"unclosed {stack} in {html!r}"
    return out


def assert_valid_chunks(chunks: list[str], limit: int) -> None:
    """What Telegram checks: a length in range after parsing and something left to show."""
    assert chunks
    for chunk in chunks:
        assert 1 <= utf16_len(parse_html(chunk)) <= limit, (utf16_len(parse_html(chunk)), chunk)
        assert parse_html(chunk).strip(), chunk


def assert_same_text(original: str, chunks: list[str]) -> None:
    """The chunks show the original's characters in their formatting, less blanks at cuts."""
    want = styled(original)
    pos = 0
    for number, chunk in enumerate(chunks):
        got = styled(chunk)
        while want[pos : pos + len(got)] != got:
            assert number > 0 and pos < len(want) and want[pos][0].isspace(), (
                f"chunk {number} does not continue the text at {pos}: {chunk!r}"
            )
            pos += 1
        pos += len(got)
    assert all(char.isspace() for char, _ in want[pos:])


def test_a_message_of_exactly_the_limit_stays_whole():
    text = "<b>" + "a" * 4089 + "</b>"
    assert len(text) == 4096
    assert split_html(text) == [text]


def test_one_character_over_the_limit_cuts_at_the_last_line_break():
    text = "first line\n" + "b" * 4086
    assert len(text) == 4097
    assert split_html(text) == ["first line", "b" * 4086]


def test_a_bold_span_across_the_cut_is_closed_and_reopened():
    text = "<b>heading\n" + "x" * 30 + "\n" + "y" * 30 + "</b>\nafter"
    chunks = split_html(text, 50)
    assert chunks == [
        "<b>heading\n" + "x" * 30 + "</b>",
        "<b>" + "y" * 30 + "</b>\nafter",
    ]
    assert_same_text(text, chunks)


def test_a_link_is_reopened_with_its_address():
    text = LINK + "word " * 30 + "</a>"
    chunks = split_html(text, 40)
    assert len(chunks) > 2
    assert all(chunk.startswith(LINK) and chunk.endswith("</a>") for chunk in chunks)
    assert_valid_chunks(chunks, 40)
    assert_same_text(text, chunks)


def test_an_entity_at_the_cut_goes_whole_to_one_side():
    assert split_html("x" * 18 + "&amp;" + "y" * 30, 20)[:2] == ["x" * 18 + "&amp;y", "y" * 20]
    for filler in range(15, 25):
        text = "x" * filler + "&amp;&lt;&gt;" + "y" * 30
        chunks = split_html(text, 20)
        assert_valid_chunks(chunks, 20)
        assert_same_text(text, chunks)


def test_a_ten_thousand_character_line_is_cut_at_spaces():
    words = [f"w{i:04d}" for i in range(1667)]
    text = " ".join(words)
    assert len(text) == 10_001
    chunks = split_html(text)
    assert [len(chunk) for chunk in chunks] == [4091, 4091, 1817]
    assert " ".join(chunks) == text


def test_a_line_without_spaces_is_cut_at_a_clause_or_else_hard_at_the_limit():
    prose = "城关镇驻村工作队走访农户，" * 800
    chunks = split_html(prose)
    assert all(chunk.endswith("，") for chunk in chunks[:-1])
    assert "".join(chunks) == prose
    solid = "字" * 10_000
    assert [len(chunk) for chunk in split_html(solid)] == [4096, 4096, 1808]


def test_emoji_count_as_two_units_like_telegram_counts_them():
    chunks = split_html("😀" * 3000)
    assert [utf16_len(chunk) for chunk in chunks] == [4096, 1904]


def test_blank_lines_at_a_cut_are_dropped_and_no_chunk_is_blank():
    text = "a" * 30 + "\n\n\n\n" + "b" * 30 + " " * 100
    assert split_html(text, 40) == ["a" * 30, "b" * 30]
    assert split_html(" " * 50 + "c", 40) == ["c"]


def test_plain_text_is_cut_without_reading_tags():
    text = "<b> is not a tag here " * 300
    chunks = split_plain(text)
    assert len(chunks) == 2
    assert all(len(chunk) <= 4096 and "</b>" not in chunk for chunk in chunks)
    assert " ".join(chunks) == text


def test_tags_count_nothing_and_an_entity_counts_its_character_as_telegram_does():
    assert html_units(LINK + "x</a> &amp; &#128512; 😀 <b>字</b>") == 11
    escaped = "&amp;" * 4000  # 20,000 characters as written, 4,000 as Telegram counts them
    assert split_html(escaped) == [escaped]
    long_link = '<a href="https://example.org/' + "p" * 5000 + '">x</a>'
    assert split_html(long_link) == [long_link]


def test_a_limit_with_no_room_for_one_character_is_refused():
    with pytest.raises(ValueError, match="limit"):
        split_html("😀" * 10, 1)


def test_a_cut_ends_with_an_ellipsis_inside_the_open_tags_at_the_best_boundary():
    text = "<b>heading</b>\n<i>" + "word " * 20 + "</i>"
    short = cut(text, 30, "HTML")
    assert short == "<b>heading</b>\n<i>word word word word…</i>"
    assert utf16_len(parse_html(short)) <= 30
    assert cut(text, 1000, "HTML") is text
    assert cut("😀" * 600, 1024, None) == "😀" * 511 + "…"
    assert cut("a &lt;" * 10, 8, "HTML") == "a &lt;a &lt;a…"  # an entity is one


_WORDS = st.text(alphabet="abz中文乡😀。，", min_size=1, max_size=12)
_ATOMS = st.one_of(_WORDS, st.sampled_from(["&amp;", "&lt;", "&gt;", " ", "\n", "\n\n"]))
_TAGS = st.sampled_from(["<b>", "<i>", "<code>", LINK])


def _tagged(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(_TAGS, st.lists(inner, min_size=1, max_size=6)).map(
        lambda t: t[0] + "".join(t[1]) + "</" + re.match(r"<([a-z]+)", t[0]).group(1) + ">"
    )


_LEVEL1 = st.one_of(_ATOMS, _tagged(_ATOMS))
_LEVEL2 = st.one_of(_ATOMS, _tagged(_LEVEL1))
_LEVEL3 = st.one_of(_ATOMS, _tagged(_LEVEL2))
_DOCUMENTS = st.lists(_LEVEL3, min_size=1, max_size=80).map(lambda parts: "x" + "".join(parts))


@given(text=_DOCUMENTS, limit=st.integers(min_value=200, max_value=500))
@settings(max_examples=200, deadline=None)
def test_any_well_formed_message_splits_into_valid_chunks_that_keep_every_character(text, limit):
    chunks = split_html(text, limit)
    assert_valid_chunks(chunks, limit)
    assert_same_text(text, chunks)
    if utf16_len(parse_html(text)) <= limit:
        assert chunks == [text]


@given(text=_DOCUMENTS, limit=st.integers(min_value=20, max_value=300))
@settings(max_examples=200, deadline=None)
def test_any_cut_is_valid_html_within_the_limit_that_begins_the_text(text, limit):
    short = cut(text, limit, "HTML")
    shown = parse_html(short)
    assert utf16_len(shown) <= limit
    if short != text:
        assert shown.endswith("…") and parse_html(text).startswith(shown[:-1].rstrip())


async def test_enqueue_stores_a_long_message_as_ordered_rows_with_the_keyboard_last(database):
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    text = "\n".join(f"<b>{i:05d}</b> 城关镇 &amp; 东关镇" for i in range(1000))
    long = Outgoing(
        chat_id=42, method="sendMessage", dedup_key="digest:2026-11-28:42",
        payload={"text": text, "parse_mode": "HTML", "reply_markup": keyboard},
    )
    short = Outgoing(chat_id=42, method="sendMessage", payload={"text": "next"})
    async with database.write() as session:
        stored = await outbox.enqueue(session, messages=[long, short], now=NOW)
    async with database.read() as session:
        rows = list(
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        )
    assert [r.id for r in rows] == [r.id for r in stored]
    parts, last = rows[:-1], rows[-1]
    assert len(parts) == 4 and last.payload["text"] == "next"
    assert [r.dedup_key for r in parts] == [
        "digest:2026-11-28:42", *(f"digest:2026-11-28:42#{n}" for n in (2, 3, 4))
    ]
    assert [("reply_markup" in r.payload) for r in parts] == [False, False, False, True]
    assert parts[-1].payload["reply_markup"] == keyboard
    assert all(r.payload["parse_mode"] == "HTML" and r.payload["chat_id"] == 42 for r in parts)
    assert "\n".join(r.payload["text"] for r in parts) == text
    assert_valid_chunks([r.payload["text"] for r in parts], 4096)


async def test_enqueue_skips_a_split_message_already_queued_under_its_first_key(database):
    message = Outgoing(
        chat_id=7, method="sendMessage", dedup_key="k",
        payload={"text": "line\n" * 2000, "parse_mode": "HTML"},
    )
    async with database.write() as session:
        first = await outbox.enqueue(session, messages=[message], now=NOW)
    async with database.write() as session:
        again = await outbox.enqueue(session, messages=[message], now=NOW)
        assert await outbox.depth(session) == len(first) == 3
    assert again == []


async def test_enqueue_cuts_an_edit_and_captions_to_telegrams_limits(database):
    edit = Outgoing(
        chat_id=7, method="editMessageText",
        payload={"message_id": 1, "text": "<b>y</b> " * 5000, "parse_mode": "HTML"},
    )
    photo = Outgoing(chat_id=7, method="sendPhoto",
                     payload={"photo": "p", "caption": "字" * 2000})
    album = Outgoing(chat_id=7, method="sendMediaGroup", payload={"media": [
        {"type": "photo", "media": "a", "caption": "😀" * 600},
        {"type": "photo", "media": "b"}]})
    short = Outgoing(chat_id=7, method="sendMessage", payload={"text": "z" * 4096})
    async with database.write() as session:
        rows = await outbox.enqueue(session, messages=[edit, photo, album, short], now=NOW)
    assert len(rows) == 4
    edited, captioned, grouped, whole = (row.payload for row in rows)
    assert utf16_len(parse_html(edited["text"])) == 4096 and edited["text"].endswith("y</b>…")
    assert captioned["caption"] == "字" * 1023 + "…"
    assert grouped["media"][0]["caption"] == "😀" * 511 + "…"
    assert grouped["media"][1] == {"type": "photo", "media": "b"}
    assert whole["text"] == "z" * 4096


def test_a_button_notice_is_cut_to_200_units_as_telegram_counts_them():
    from handlers.router import NOTICE_LIMIT, _notice

    notice = _notice("👍" * 150)  # 150 characters, 300 UTF-16 units
    assert text_units(notice) <= NOTICE_LIMIT < text_units("👍" * 150)
    assert notice.endswith("…")
