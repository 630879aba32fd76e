"""Fuzz: random updates of every kind from registered and unregistered users, in and out of
dialogs, through the real application and the Bot API emulator.

Each Hypothesis example sends a drawn sequence of updates from three people (a cadre, the
office, someone not on the roster): text of 1 to 4,096 characters mixing emoji, right-to-left
and zero-width characters, HTML and Markdown specials, `<script>`, SQL fragments and
command look-alikes; commands with junk arguments; stickers, photos, documents, locations,
their own and other people's contacts; edits of their earlier messages; messages in groups;
presses of forged `callback_data` on the bot's messages, for every callback prefix and for
random bytes. After every update:

- a private message got an answer, and a press exactly one answerCallbackQuery;
- nothing was sent to a group, nothing failed (no error logged, no apology, no request that
  Telegram would refuse), and a user's `<b>` came back as text, never as markup;
- no record exists: none of these updates confirms a dialog, so no visit, dispute, help,
  check-in, summary, problem, household or pairing, and no one new is bound to Telegram.

`FUZZ_SCALE=10` sends ten times as many (docs/reliability.md quotes such a run).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from handlers.registry import CALLBACKS
from storage.models import (
    Aid,
    Checkin,
    Dispute,
    Household,
    Pairing,
    Person,
    Problem,
    Summary,
    Visit,
)
from tests.test_dialog_properties import APOLOGIES, examples, watching_logs

SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))
MARKER = "<b>FZ</b>"
FRAGMENTS = (
    MARKER, "<script>alert(1)</script>", "<i>", "</b>", "&amp;", "&", "<", ">", "*bold*",
    "_it_", "`code`", "[link](http://x)", "'; DROP TABLE visits; --", "' OR 1=1 --",
    "\u202eRTL\u202c", "مرحبا", "שלום", "\u200b", "\u200d", "\ufeff", "👨‍👩‍👧", "🇨🇳", "😀",
    "/visit", "/cancel", "/start", "/back", "/help x", "/ ", "@grassroots_test_bot", "\n", " ",
    "１２", "十二", "-1", "9" * 40, "NaN", "李大爷", "0x41",
)
COMMANDS = ("start", "help", "checkin", "visit", "dispute", "disputes", "aid", "summary", "me",
            "digest", "stats", "laggards", "pairs", "team", "appraise", "spotcheck", "broadcast",
            "export", "roster", "back", "cancel", "nonsense")
RECORDS = (Visit, Dispute, Aid, Checkin, Summary, Problem, Household, Pairing)
GROUP = -4_000_000_001
SUPERGROUP = -1_001_234_567_890

# Any character Telegram carries in a message: no control characters but the line break.
CHARACTERS = st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n")


@st.composite
def texts(draw: Any) -> str:
    """Text of 1 to 4,096 characters, mostly short, sometimes at the limit."""
    parts = draw(st.lists(st.one_of(st.sampled_from(FRAGMENTS),
                                     st.text(CHARACTERS, min_size=1, max_size=12)),
                          min_size=1, max_size=8))
    text = "".join(parts)
    if draw(st.integers(0, 9)) == 0:  # a long one: filled up to the limit
        text = (text * (4096 // max(1, len(text)) + 1))[:draw(st.integers(200, 4096))]
    return text[:4096]


@st.composite
def forged_data(draw: Any) -> str:
    """callback_data a client could send: a known prefix with junk, or random bytes."""
    if draw(st.booleans()):
        prefix = draw(st.sampled_from(sorted(CALLBACKS)))
        rest = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30))
        data = f"{prefix}:{rest}"
    else:
        data = draw(st.text(CHARACTERS, min_size=1, max_size=40))
    while len(data.encode()) > 64:
        data = data[:-1]
    return data or "x"


ACTIONS = ("text", "text", "text", "command", "sticker", "photo", "document", "location",
           "own_contact", "other_contact", "edit", "group", "press", "press")


class Fuzz:
    """One example's people, and the checks after each update."""

    def __init__(self, harness: Any, people: dict[str, Any], draw: Any) -> None:
        self.harness = harness
        self.emu = harness.emu
        self.people = people
        self.draw = draw
        self.sent_updates = 0

    async def step(self) -> None:
        name = self.draw(st.sampled_from(sorted(self.people)), label="who")
        user = self.people[name]
        kind = self.draw(st.sampled_from(ACTIONS), label="kind")
        before = len(self.emu.sent_to(user.id))
        answers = len(self.emu.callback_answers)
        query_id = None
        if kind == "text":
            update_id = user.send(self.draw(texts(), label="text"))
        elif kind == "command":
            command = self.draw(st.sampled_from(COMMANDS), label="command")
            update_id = user.send(f"/{command} {self.draw(texts(), label='args')}"[:4096])
        elif kind == "sticker":
            update_id = user.sticker(self.draw(st.sampled_from(("👍", "😀", "🔥"))))
        elif kind == "photo":
            caption = self.draw(st.one_of(st.none(), texts()), label="caption")
            update_id = user.photo(caption=caption[:1024] if caption else None)
        elif kind == "document":
            name = self.draw(st.sampled_from(("roster.xlsx", "roster.csv", "a.pdf", "x")))
            content = self.draw(st.binary(max_size=2048), label="file") or b"\0"
            caption = self.draw(st.sampled_from((None, "/roster", "名单")), label="caption")
            update_id = user.document(name, content, "application/octet-stream", caption)
        elif kind == "location":
            update_id = user.location(self.draw(st.floats(-90, 90)),
                                      self.draw(st.floats(-180, 180)))
        elif kind == "own_contact":  # a phone that is on no roster
            update_id = user.contact(phone="+8613999999999")
        elif kind == "other_contact":  # someone else's card, with a roster phone on it
            phone = self.draw(st.sampled_from(("+8613800138001", "+8613800138005")))
            owner = self.draw(st.sampled_from((0, 424242)), label="owner")
            update_id = user.contact(phone=phone, user_id=owner)
        elif kind == "edit":
            # Drawn the same way whatever came before: Hypothesis replays examples.
            pick, text = self.draw(st.integers(0, 1000), label="edited message"), \
                self.draw(texts(), label="edited to")
            mine = [mid for (chat, mid), stored in self.emu.world.messages.items()
                    if chat == user.id and not stored.from_bot and "text" in stored.message]
            update_id = user.edited(text, mine[pick % len(mine)]) if mine else user.send(text)
        elif kind == "group":
            chat = self.draw(st.sampled_from((GROUP, SUPERGROUP)))
            message = self.emu.world.new_message(chat, user.json,
                                                 text=self.draw(texts(), label="text"))
            update_id = self.emu.push_update({"message": message})
        else:  # a forged press on the bot's newest message in this chat
            data = self.draw(forged_data(), label="data")
            if self.emu.world.last_inline_message(user.id) is None:
                update_id = user.send("/help")
                kind = "text"
            else:
                update_id = user.press(data)
                query_id = self.emu.updates.history[update_id]["callback_query"]["id"]
        await self.harness.wait_processed(update_id)
        self.sent_updates += 1
        replies = self.emu.sent_to(user.id)[before:]
        if kind == "group":
            assert replies == [], "a group message was answered in private"
            assert self.emu.sent_to(GROUP) == [] and self.emu.sent_to(SUPERGROUP) == []
        elif kind == "press":
            mine = [a for a in self.emu.callback_answers[answers:]
                    if str(a["callback_query_id"]) == str(query_id)]
            assert len(mine) == 1, "a press was not answered exactly once"
        else:
            assert replies, f"no answer to a {kind}"
        for reply in replies:
            plain = reply.plain_text or ""
            assert plain not in APOLOGIES, plain
            assert "FZ" not in plain or MARKER in plain, "a user's <b> became markup"


async def setup(harness: Any) -> dict[str, Any]:
    await harness.import_roster()
    cadre = await harness.register("13800138002", user_id=7702, language_code="zh-hans")
    office = await harness.register("13800138009", user_id=7709, language_code="en")
    stranger = harness.emu.user(7799, first_name="Stranger", language_code="en")
    return {"cadre": cadre, "office": office, "stranger": stranger}


async def records(harness: Any) -> dict[str, int]:
    async with harness.db.read() as session:
        counts = {m.__tablename__: (await session.execute(
            select(func.count()).select_from(m))).scalar_one() for m in RECORDS}
        counts["bound"] = (await session.execute(select(func.count(Person.id)).where(
            Person.telegram_user_id.is_not(None)))).scalar_one()
    return counts


@examples(20 * SCALE)
@given(data=st.data())
async def test_random_updates_of_every_kind_are_answered_and_change_nothing(harness, data):
    if not hasattr(harness, "fuzz_people"):
        harness.fuzz_people = await setup(harness)
        harness.fuzz_records = await records(harness)
    fuzz = Fuzz(harness, harness.fuzz_people, data.draw)
    with watching_logs() as watch:
        for _ in range(data.draw(st.integers(10, 40), label="updates")):
            await fuzz.step()
            assert watch.records == [], watch.records
    assert harness.emu.violations == [], harness.emu.violations
    assert await records(harness) == harness.fuzz_records
    harness.fuzz_total = getattr(harness, "fuzz_total", 0) + fuzz.sent_updates
    print(f"fuzz: {harness.fuzz_total} updates so far")  # the figure docs/reliability.md quotes
