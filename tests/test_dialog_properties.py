"""Property tests: whatever a cadre sends at any step of any dialog, the bot answers, nothing
fails, and the database holds only whole records that were confirmed with Save.

Each Hypothesis example is a fresh cadre who drives one dialog through the real application
(python-telegram-bot over HTTP to the Bot API emulator, a real database) with a mix of good
answers, junk text, commands, media, clock jumps and presses of current, stale and forged
buttons. After every step:

- the bot answered: a message or an edit, and every press its answerCallbackQuery;
- nothing failed: no error logged, no generic apology, no request Telegram would refuse;
- an open draft is consistent (its step is its next unanswered question, its form one the
  cadre's role may use) and the records are exactly what the model expects: none while a
  dialog is open, exactly one complete record matching the draft after its Save.

`PROPERTY_SCALE=10` runs ten times as many examples (for a deeper search than CI's);
`PROPERTY_SHRINK=1` shrinks a failing example to a minimal one (slow: minutes).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from common.i18n import translate
from handlers.dialogs import CONFIRM
from handlers.formregistry import FORMS
from handlers.forms import Form, Question
from handlers.router import parse_command
from storage import checkins as checkin_store
from storage import disputes as dispute_store
from storage import households, people, reviews, summaries
from storage import problems as problem_store
from storage.models import (
    Aid,
    Checkin,
    Dialog,
    Dispute,
    DisputeStep,
    Household,
    Pairing,
    Problem,
    Summary,
    Visit,
)
from storage.roster import normalise_phone
from tests.harness import ROSTER_HEADER, BotHarness, texts

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCALE = max(1, int(os.environ.get("PROPERTY_SCALE", "1")))
SHRINK = os.environ.get("PROPERTY_SHRINK", "") not in ("", "0")
CADRE_FORMS = frozenset({"visit", "dispute", "aid", "summary", "dispute_step", "publicity",
                         "problem", "problem_step", "case", "final", "rectify_action"})
REASONS = ("meeting", "sick", "other")
HOUSEHOLD_CODE = re.compile(r"h(\d+)")
APOLOGIES = {translate(locale, msgid) for locale in ("zh", "en")
             for msgid in ("common.error", "common.temporarily_unavailable")}
START_TIMES = (  # Saturday; the campaign's first Monday (no "yesterday"); Sunday night
    dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI),
    dt.datetime(2026, 11, 29, 23, 50, tzinfo=SHANGHAI),
)
COMMANDS = ("/back", "/cancel", "/back@grassroots_test_bot", "/visit", "/dispute", "/aid",
            "/summary", "/checkin", "/disputes", "/help", "/me", "/start", "/nonsense",
            "/visit extra words", "/CANCEL")
NAMES = ("王大妈", "李大爷", "张三", "老支书", "县农机厂", "Old Wang", "王 大妈")
JUNK = (
    "0", "-1", "-200", "+7", "3.5", "0.001", "1e9", "NaN", "Infinity", "１２", "十二", "两百",
    "一百零五", "三万五千", "亿", "9" * 30, "9" * 4000, "12人", "¥200.5", "200元", "200.123",
    "0.00", "今天", "昨天", "前天", "today", "2026-11-28", "11-28", "11月26日", "2026-02-30",
    "12-31", "2025-11-28", "2030-01-01", "<b>x</b>", "</b>", "a & b < c", "&amp;", "/", "/ x",
    "//back", "h1", "h0", "h999999", "weak", "yes", "Save", "✅ Save", "👍🏽", "🇨🇳", "\u200b",
    "\u202eabc", "x" * 1001, "字" * 4096, "line1\nline2", "   padded   ",
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",),
                             exclude_characters="\x00"),  # Telegram delivers no NUL
               min_size=1, max_size=30)
GOOD_TEXT = st.one_of(st.sampled_from(NAMES),
                      TEXT.filter(lambda t: t.strip() and not t.strip().startswith("/")))
JUNK_TEXT = st.one_of(
    st.sampled_from(JUNK), TEXT,
    st.integers(-(10**40), 10**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(COMMANDS),
    st.integers(0, 60).map("h{}".format),  # looks like a button's household code
)


def examples(count: int) -> Callable[[Any], Any]:
    """Hypothesis settings for a test that drives the harness: few, long examples.

    Every example is a fresh cadre, so the one function-scoped harness serves them all.
    Shrinking replays whole examples for minutes; a failure already shows its transcript,
    so it is opt-in (PROPERTY_SHRINK=1)."""
    phases = tuple(Phase) if SHRINK else (Phase.explicit, Phase.generate)
    return settings(max_examples=count * SCALE, deadline=None, database=None, phases=phases,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# --- rendering good answers in the ways people type them -----------------------------------

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CN_DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """0-999 in Chinese numerals: 七, 十二, 二十三, 一百零五, 三百四十."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    tail = "" if not rest else ("零" + CN_DIGITS[rest] if rest < 10 else "一" * (rest < 20)
                                + chinese(rest))
    return CN_DIGITS[hundreds] + "百" + tail


def number_text(draw: Any, n: int) -> str:
    styles = ["plain", "full_width", "unit"] + (["chinese"] if 0 <= n < 1000 else [])
    style = draw(st.sampled_from(styles), label="number style")
    return {"plain": str(n), "full_width": str(n).translate(FULL_WIDTH), "unit": f"{n}人",
            "chinese": chinese(n) if 0 <= n < 1000 else str(n)}[style]


def money_text(draw: Any, amount: Decimal) -> str:
    style = draw(st.sampled_from(["{}", "¥{}", "{}元", "￥ {}"]), label="money style")
    return style.format(amount)


def day_text(draw: Any, day: dt.date, today: dt.date) -> str:
    styles = ["{:%Y-%m-%d}", "{:%m-%d}", "{d.month}月{d.day}日"]
    styles += {0: ["今天", "today"], 1: ["昨天", "yesterday"], 2: ["前天"]}.get(
        (today - day).days, [])
    return draw(st.sampled_from(styles), label="date style").format(day, d=day)


# --- what the database holds ------------------------------------------------------------------

COUNTED = {"visits": Visit, "problems": Problem, "disputes": Dispute, "aid": Aid,
           "pairings": Pairing, "summaries": Summary, "checkins": Checkin}


@dataclass(frozen=True)
class Draft:
    """The open dialog row, copied out of its session."""

    form: str
    step: str
    token: str
    data: dict[str, Any]
    person_id: int | None


@dataclass
class State:
    """A cadre's records as far as the properties care."""

    counts: dict[str, int]
    dialog: Draft | None
    disputes: dict[int, tuple[str, str, str | None]]
    checkins: dict[dt.date, tuple[bool, str | None]]


async def snapshot(harness: BotHarness, person_id: int, chat_id: int) -> State:
    """Counts of every kind of record of this person, their open dialog, disputes, check-ins."""
    columns = [select(func.count()).select_from(model).where(model.person_id == person_id)
               .scalar_subquery().label(name) for name, model in COUNTED.items()]
    columns.append(select(func.count()).select_from(DisputeStep)
                   .join(Dispute, Dispute.id == DisputeStep.dispute_id)
                   .where(Dispute.person_id == person_id).scalar_subquery().label("steps"))
    async with harness.db.read() as session:
        counts = dict((await session.execute(select(*columns))).one()._mapping)
        row = (await session.execute(
            select(Dialog.form, Dialog.step, Dialog.token, Dialog.data, Dialog.person_id)
            .where(Dialog.chat_id == chat_id))).one_or_none()
        disputes = {} if not counts["disputes"] else {
            i: (status, level, verdict) for i, status, level, verdict in await session.execute(
                select(Dispute.id, Dispute.status, Dispute.level, Dispute.verdict)
                .where(Dispute.person_id == person_id))}
        checkins = {} if not counts["checkins"] else {
            day: (in_village, reason) for day, in_village, reason in await session.execute(
                select(Checkin.day, Checkin.in_village, Checkin.reason)
                .where(Checkin.person_id == person_id))}
    dialog = None if row is None else Draft(row.form, row.step, row.token, dict(row.data),
                                            row.person_id)
    return State(counts, dialog, disputes, checkins)


def clean(form: Form, data: dict[str, Any]) -> dict[str, Any]:
    """The answers a Save keeps: the active questions' and the context."""
    active = {q.key for q in form.answered(data)}
    return {k: v for k, v in data.items() if k in active or k.startswith("ctx_")}


# --- one step and what must follow from it ------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """What the cadre does: text, press (of data on a message), photo, location, ..."""

    kind: str
    value: Any = None
    message_id: int | None = None

    def __str__(self) -> str:
        shown = repr(self.value)[:60] if self.value is not None else ""
        where = f" on #{self.message_id}" if self.message_id else ""
        return f"{self.kind} {shown}{where}"


Verify = Callable[[State], Awaitable[None]]


@dataclass
class Expect:
    """What a step may change: the counts, and checks of the records it wrote."""

    delta: dict[str, int] = field(default_factory=dict)
    verify: list[Verify] = field(default_factory=list)
    disputes: dict[int, tuple[str, str, str | None]] | None = None
    checkin: tuple[dt.date, bool, str | None] | None = None
    closes: bool = False


class LogWatch(logging.Handler):
    """Collects every record of level ERROR and above: a handler failed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def watching_logs() -> Iterator[LogWatch]:
    watch = LogWatch()
    logging.getLogger().addHandler(watch)
    try:
        yield watch
    finally:
        logging.getLogger().removeHandler(watch)


_serial = itertools.count(1)


@dataclass
class Plan:
    """One dialog under test: how a cadre starts it, what is there before, what else happens."""

    name: str
    begin: Callable[[Run], Action]
    seed: Callable[[Run], Awaitable[None]] | None = None
    moves: tuple[str, ...] = ()
    finish: int = 0  # at most this many good answers after the drawn steps, to reach Save


MOVES = ("advance",) * 7 + ("junk", "junk", "press", "press", "stale", "forge", "forge",
                            "command", "media", "clock")


class Run:
    """One example: a fresh cadre in their own chat, and the model of their records."""

    def __init__(self, harness: BotHarness, draw: Any, plan: Plan, watch: LogWatch) -> None:
        self.harness = harness
        self.emu = harness.emu
        self.draw = draw
        self.plan = plan
        self.watch = watch
        self.pressed: list[tuple[str, int | None]] = []
        self.offers: dict[tuple[str, str], tuple[str, Any]] = {}
        self.foreign: list[int] = []  # ids of the neighbour's disputes
        self.transcript: list[str] = []
        self.steps = 0

    # --- setting up ----------------------------------------------------------------------

    async def setup(self) -> None:
        """A fresh cadre (and a neighbour in the same village) with a bound Telegram account."""
        draw, harness = self.draw, self.harness
        harness.at(draw(st.sampled_from(START_TIMES), label="start time"))
        n = next(_serial)
        role = draw(st.sampled_from(("cadre", "team_leader")), label="role")
        rank = draw(st.sampled_from(("ordinary", "department", "county")), label="rank")
        village = f"试点{n}村"  # its own village: what one example sees never depends on another
        phone, other = f"1390{n:07d}", f"1391{n:07d}"
        await harness.import_roster(
            ROSTER_HEADER + f"测试{n},{phone},{rank},县农业局,黄金埠镇,{village},{role}\n"
            f"邻居{n},{other},ordinary,县水利局,黄金埠镇,{village},cadre\n")
        user_id = 800_000 + n
        async with harness.db.write() as session:
            self.person = await people.by_phone(session, phone=normalise_phone(phone) or "")
            self.neighbour = await people.by_phone(session, phone=normalise_phone(other) or "")
            assert self.person is not None and self.neighbour is not None
            await people.bind(session, person=self.person, telegram_user_id=user_id,
                              now=harness.clock.now())
        language = draw(st.sampled_from(("en", "zh-hans")), label="language")
        self.user = harness.emu.user(user_id, first_name=f"C{n}", language_code=language)
        if self.plan.seed is not None:
            await self.plan.seed(self)
        self.state = await snapshot(harness, self.person.id, self.user.id)

    async def add_households(self) -> None:
        """Households on the village list, some paired with the cadre (buttons to press)."""
        names = self.draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True),
                          label="households")
        paired = self.draw(st.integers(0, len(names)), label="paired")
        async with self.harness.db.write() as session:
            for i, name in enumerate(names):
                found = await households.add_household(
                    session, village_id=self.person.village_id, name=name, created_by=None,
                    now=self.harness.clock.now())
                if i < paired:
                    session.add(Pairing(person_id=self.person.id, household_id=found.id,
                                        created_at=self.harness.clock.now()))

    @property
    def today(self) -> dt.date:
        return self.harness.clock.now().astimezone(SHANGHAI).date()

    # --- playing -------------------------------------------------------------------------

    async def play(self, steps: int) -> None:
        """Take `steps` drawn actions, then answer straight on to the Save (a few more steps),
        checking every property after each."""
        for _ in range(steps):
            await self.take(self.next_action())
        for _ in range(self.plan.finish):
            if self.state.dialog is None:
                break
            await self.take(self.move_advance())

    async def take(self, action: Action) -> None:
        try:
            await self.step(action)
        except AssertionError as exc:
            shown = "\n".join(self.transcript[-24:])
            raise AssertionError(f"{self.plan.name}, step {self.steps} ({action}): "
                                 f"{exc}\n--- the last exchanges ---\n{shown}") from None

    async def step(self, action: Action) -> None:
        self.steps += 1
        before = self.state
        expect = await self.predict(action)
        violations, errors, logged = (len(self.emu.violations), len(self.emu.errors),
                                      len(self.watch.records))
        sent, answer = await self.perform(action)
        self.record(action, sent, answer)
        after = await snapshot(self.harness, self.person.id, self.user.id)
        assert self.emu.violations[violations:] == [], "a request Telegram would refuse"
        # Removing buttons already gone is harmless (a double tap does it): any other error not.
        refused = [e for e in self.emu.errors[errors:] if "not modified" not in e]
        assert refused == [], "a request answered with an error"
        assert self.watch.records[logged:] == [], "an error was logged"
        texts = [s.text for s in sent] + [(answer or {}).get("text")]
        assert not APOLOGIES & set(texts), "the generic apology: a handler failed"
        self.check_answered(action, sent, answer)
        self.check_dialog(after)
        self.check_records(before, after, expect)
        for verify in expect.verify:
            await verify(after)
        self.note_offers(action, sent)
        self.state = after

    async def perform(self, action: Action) -> tuple[list[Any], dict[str, Any] | None]:
        user, harness = self.user, self.harness
        if action.kind == "clock":
            harness.at(harness.clock.now() + dt.timedelta(minutes=action.value))
            return [], None
        if action.kind == "accept":
            await self.accept_summary()
            return [], None
        if action.kind == "press":
            self.pressed.append((action.value, action.message_id))
            update_id = user.press(action.value, message_id=action.message_id)
        elif action.kind == "text":
            update_id = user.send(action.value)
        elif action.kind == "photo":
            update_id = user.photo()
        elif action.kind == "location":
            update_id = user.location(*action.value)
        elif action.kind == "sticker":
            update_id = user.sticker()
        elif action.kind == "edit":
            update_id = user.edited(action.value, action.message_id or 0)
        else:
            update_id = user.contact(self.person.phone)
        sent = await harness.roundtrip(user, update_id)
        if action.kind != "press":
            return sent, None
        query_id = self.emu.updates.history[update_id]["callback_query"]["id"]
        answers = [a for a in self.emu.callback_answers if str(a["callback_query_id"]) == query_id]
        return sent, answers[0] if answers else None

    def record(self, action: Action, sent: list[Any], answer: dict[str, Any] | None) -> None:
        self.transcript.append(f"👤 {action}")
        for s in sent:
            text = (s.plain_text or f"[{s.method}]").replace("\n", " ⏎ ")
            buttons = " ".join(f"[{d}]" for row in s.buttons for _, d in row)
            self.transcript.append(f"   🤖 {s.method[:4]} #{s.message_id}: {text[:150]} {buttons}")
        if answer is not None and answer.get("text"):
            self.transcript.append(f"   🔔 {answer['text']}")

    # --- the properties ------------------------------------------------------------------

    def check_answered(self, action: Action, sent: list[Any], answer: dict | None) -> None:
        if action.kind in ("clock", "accept"):
            return
        if action.kind == "press":
            assert answer is not None, "the press was never answered (answerCallbackQuery)"
            assert sent or answer.get("text"), "the press changed nothing and said nothing"
        else:
            assert sent, "the message got no answer"

    def check_dialog(self, state: State) -> None:
        dialog = state.dialog
        if dialog is None:
            return
        assert dialog.person_id == self.person.id
        assert dialog.form in CADRE_FORMS, f"a {self.person.role} opened the {dialog.form} form"
        upcoming = FORMS[dialog.form].next_question(dialog.data)
        wanted = upcoming.key if upcoming is not None else CONFIRM
        assert dialog.step == wanted, f"the draft is at {dialog.step}, its next step is {wanted}"
        if dialog.form == "dispute_step":
            assert dialog.data["ctx_dispute"] in state.disputes, "escalating someone else's"

    def check_records(self, before: State, after: State, expect: Expect) -> None:
        wanted = {k: v + expect.delta.get(k, 0) for k, v in before.counts.items()}
        changed = {k: (wanted[k], after.counts[k]) for k in wanted if wanted[k] != after.counts[k]}
        assert not changed, f"records (expected, found): {changed}"
        disputes = dict(expect.disputes if expect.disputes is not None else before.disputes)
        for new in set(after.disputes) - set(before.disputes):
            disputes[new] = ("reported", "village", None)
        assert after.disputes == disputes, "a dispute moved when it should not have"
        checkins = dict(before.checkins)
        if expect.checkin is not None:
            day, in_village, reason = expect.checkin
            checkins[day] = (in_village, reason)
        assert after.checkins == checkins, "the check-ins are not what was pressed"
        if expect.closes:
            assert after.dialog is None, "the dialog is still open"

    def note_offers(self, action: Action, sent: list[Any]) -> None:
        """Remember which request a "continue or discard" offer stands for."""
        intent = self.intent(action)
        for s in sent:
            for _, data in (b for row in s.buttons for b in row):
                parts = (data or "").split(":")
                if intent is not None and len(parts) >= 4 and parts[0] == "f" and parts[2] == "n":
                    self.offers[(parts[1], parts[3])] = intent

    def intent(self, action: Action) -> tuple[str, Any] | None:
        """The dialog an action asks for: a form's command, or an escalation button."""
        if action.kind == "text":
            parsed = parse_command(action.value.strip())
            if parsed is not None and parsed[0] in ("visit", "dispute", "aid", "summary"):
                return parsed[0], None
        if action.kind == "press":
            parts = action.value.split(":")
            if len(parts) == 3 and parts[0] == "dsp" and parts[2] in ("et", "ec"):
                level = "township" if parts[2] == "et" else "county"
                return "dispute_step", (int(parts[1]) if parts[1].isdigit() else -1, level)
        return None

    # --- the model: what a step may change -----------------------------------------------

    async def predict(self, action: Action) -> Expect:
        if action.kind == "edit":  # an edit is no answer: it is said so, and nothing changes
            return Expect()
        if action.kind == "text":
            parsed = parse_command(action.value.strip())
            return Expect(closes=parsed is not None and parsed[0] == "cancel")
        if action.kind != "press":
            return Expect()
        prefix, _, rest = action.value.partition(":")
        if prefix == "f":
            return await self.predict_form_button(rest)
        if prefix == "ci":
            return self.predict_checkin(rest)
        if prefix == "dsp":
            return self.predict_dispute_move(rest)
        return Expect()

    async def predict_form_button(self, rest: str) -> Expect:
        token, _, tail = rest.partition(":")
        action, _, arg = tail.partition(":")
        dialog = self.state.dialog
        if dialog is None or dialog.token != token or dialog.form not in FORMS:
            return Expect()
        if action == "x":
            return Expect(closes=True)
        if action == "n" and (token, arg) in self.offers:
            return await self.expect_restart(*self.offers[(token, arg)])
        if action != "ok" or dialog.step != CONFIRM:
            return Expect()
        draft = clean(FORMS[dialog.form], dialog.data)
        event(f"saved a {dialog.form}" + (f" ({draft['kind']})" if dialog.form == "aid" else ""))
        expect = await getattr(self, f"expect_{dialog.form}")(draft)
        expect.closes = True
        return expect

    async def expect_restart(self, form: str, args: Any) -> Expect:
        """"Discard and start again" starts what the cadre asked for, when it can start."""
        can_start = True
        if form == "dispute_step":
            status = self.state.disputes.get(args[0], ("resolved",))[0]
            can_start = "escalated" in dispute_store.ALLOWED[status]
        elif form == "summary":
            row = await self.summary_row()
            can_start = row is None or row.status != "accepted"

        async def verify(state: State) -> None:
            if not can_start:
                assert state.dialog is None, f"{form} started though it could not"
                return
            assert state.dialog is not None and state.dialog.form == form, (
                f"Discard and start again did not start the {form} asked for")
            if form == "dispute_step":
                data = state.dialog.data
                assert (data["ctx_dispute"], data["ctx_level"]) == args

        return Expect(verify=[verify])

    def predict_checkin(self, rest: str) -> Expect:
        if rest == "v":
            choice: tuple[bool, str | None] = (True, None)
        elif rest.startswith("r:") and rest[2:] in REASONS:
            choice = (False, rest[2:])
        else:
            return Expect()
        new = int(self.today not in self.state.checkins)
        event("checked in" if new else "corrected a check-in")
        return Expect(delta={"checkins": new}, checkin=(self.today, *choice))

    def predict_dispute_move(self, rest: str) -> Expect:
        id_text, _, code = rest.partition(":")
        disputes = self.state.disputes
        if not id_text.isdigit() or int(id_text) not in disputes:
            return Expect()
        status, level, verdict = disputes[int(id_text)]
        allowed = dispute_store.ALLOWED[status]
        if code == "m" and "mediating" in allowed:
            moved = ("mediating", level, verdict)
        elif code in ("vs", "vn") and "resolved" in allowed:
            moved = ("resolved", level, "satisfied" if code == "vs" else "unsatisfied")
        else:
            return Expect()
        event(f"moved a dispute to {moved[0]}")
        return Expect(delta={"steps": 1}, disputes={**disputes, int(id_text): moved})

    async def newest(self, model: Any) -> Any:
        async with self.harness.db.read() as session:
            found = await session.execute(select(model).where(model.person_id == self.person.id)
                                          .order_by(model.id.desc()).limit(1))
            return found.scalar_one()

    async def village_households(self) -> dict[int, str]:
        async with self.harness.db.read() as session:
            found = await session.execute(select(Household).where(
                Household.village_id == self.person.village_id))
            return {h.id: h.name for h in found.scalars()}

    async def paired_ids(self) -> set[int]:
        async with self.harness.db.read() as session:
            found = await session.execute(select(Pairing.household_id).where(
                Pairing.person_id == self.person.id))
            return set(found.scalars())

    def places_match(self, row: Any) -> None:
        person = self.person
        assert (row.village_id, row.township_id, row.unit_id) == (
            person.village_id, person.township_id, person.unit_id), "the record lost its place"

    async def household_named(self, household_id: int | None, value: str,
                              offered: set[int]) -> None:
        """A household answer is an offered button's household, or else a name (new or not)."""
        async with self.harness.db.read() as session:
            household = await session.get(Household, household_id) if household_id else None
        assert household is not None and household.village_id == self.person.village_id
        match = HOUSEHOLD_CODE.fullmatch(value)
        if match and int(match.group(1)) in offered:
            assert household.id == int(match.group(1))
        else:
            assert household.name == value, f"household {household.name!r} for {value!r}"

    async def expect_visit(self, draft: dict[str, Any]) -> Expect:
        offered = set(await self.village_households())
        today = self.today

        async def verify(state: State) -> None:
            visit = await self.newest(Visit)
            async with self.harness.db.read() as session:
                problem = (await session.execute(
                    select(Problem).where(Problem.visit_id == visit.id))).scalar_one_or_none()
            assert (visit.kind, visit.heard, visit.wants) == (
                draft["kind"], draft["heard"], draft["wants"])
            assert visit.day == dt.date.fromisoformat(draft["day"])
            assert self.harness.settings.campaign_start <= visit.day <= today
            assert visit.household_category == draft.get("category")
            assert (visit.kind == "weak") == (visit.household_category is not None)
            await self.household_named(visit.household_id, draft["household"], offered)
            assert visit.followup == (draft["followup"] == "yes")
            assert (problem.category if problem else None) == draft.get("problem")
            assert visit.photo_file_id == draft.get("photo")
            location = draft.get("location") or {}
            assert visit.latitude == location.get("latitude")
            self.places_match(visit)

        delta = {"visits": 1, "problems": int(draft["followup"] == "yes")}
        return Expect(delta=delta, verify=[verify])

    async def expect_dispute(self, draft: dict[str, Any]) -> Expect:
        today = self.today

        async def verify(state: State) -> None:
            dispute = await self.newest(Dispute)
            async with self.harness.db.read() as session:
                steps = await dispute_store.steps_of(session, dispute_id=dispute.id)
            assert (dispute.category, dispute.parties, dispute.people_count,
                    dispute.description, dispute.urgency) == (
                draft["category"], draft["parties"], draft["people"], draft["description"],
                draft["urgency"])
            assert 1 <= dispute.people_count <= 100_000 and dispute.opened_on == today
            assert dispute.flags == {flag: True for flag in draft.get("flags") or []}
            assert [(s.action, s.status) for s in steps] == [("report", "reported")]
            self.places_match(dispute)

        return Expect(delta={"disputes": 1, "steps": 1}, verify=[verify])

    async def expect_aid(self, draft: dict[str, Any]) -> Expect:
        kind, today = draft["kind"], self.today
        village, paired = await self.village_households(), await self.paired_ids()
        if kind == "pair":
            value = draft["pair_household"]
            match = HOUSEHOLD_CODE.fullmatch(value)
            unpaired = set(village) - paired
            target = int(match.group(1)) if match and int(match.group(1)) in unpaired else next(
                (i for i, name in village.items() if name == value), None)

            async def verify_pair(state: State) -> None:
                now_paired = await self.paired_ids()
                assert len(now_paired) == len(paired) + int(target not in paired)
                newest = (await self.newest(Pairing)).household_id
                await self.household_named(newest if target is None else target, value,
                                           unpaired)
                assert target is None or target in now_paired

            return Expect(delta={"pairings": int(target not in paired)}, verify=[verify_pair])

        async def verify(state: State) -> None:
            aid = await self.newest(Aid)
            money = draft.get("amount") or draft.get("value") or draft.get("funds")
            assert (aid.kind, aid.day) == (kind, today)
            assert aid.amount == (Decimal(money) if money else None), "the amount changed"
            assert (aid.holiday, aid.items, aid.people_count, aid.destination,
                    aid.project_name) == (draft.get("holiday"), draft.get("items"),
                                          draft.get("people"), draft.get("destination"),
                                          draft.get("project"))
            if kind == "condolence":
                assert aid.amount >= self.harness.settings.condolence_min_amount
                await self.household_named(aid.household_id, draft["household"], paired)
            else:
                assert aid.household_id is None
            required = {"condolence": aid.holiday, "donation": aid.items,
                        "labour": aid.destination, "project": aid.project_name}[kind]
            assert required is not None and (kind == "labour") == (aid.people_count is not None)
            self.places_match(aid)

        return Expect(delta={"aid": 1}, verify=[verify])

    async def summary_row(self, week: dt.date | None = None) -> Summary | None:
        """The cadre's summary of that week (this week by default)."""
        monday = week or self.today - dt.timedelta(days=self.today.weekday())
        async with self.harness.db.read() as session:
            return await summaries.summary_for(session, person_id=self.person.id,
                                               week_start=monday)

    async def expect_summary(self, draft: dict[str, Any]) -> Expect:
        week = dt.date.fromisoformat(draft["ctx_week"])
        before = await self.summary_row(week)

        async def verify(state: State) -> None:
            row = await self.summary_row(week)
            assert row is not None
            if before is not None and before.status == "accepted":  # the Save changed nothing
                assert (row.status, row.figures, row.plan) == ("accepted", before.figures,
                                                              before.plan)
                return
            assert row.status == "submitted"
            # No sequence of inputs changes a computed figure: they are the records' own.
            async with self.harness.db.read() as session:
                counted = await summaries.week_figures(
                    session, person_id=self.person.id, week_start=week,
                    tz=self.harness.settings.tz)
            assert row.figures == counted, "a figure is not what the records give"
            short = row.figures["days_in_village"] < self.harness.settings.min_days_in_village
            assert (row.achievements, row.problems, row.plan, row.figures_note) == (
                draft["achievements"], draft["problems"], draft["plan"],
                draft.get("figures_note"))
            assert row.short_reason == (draft.get("short_reason") if short else None)
            assert short == (row.short_reason is not None), "a short week needs its reason"
            self.places_match(row)

        return Expect(delta={"summaries": int(before is None)}, verify=[verify])

    async def expect_dispute_step(self, draft: dict[str, Any]) -> Expect:
        dispute_id, level = draft["ctx_dispute"], draft["ctx_level"]
        status, _, verdict = self.state.disputes[dispute_id]
        if "escalated" not in dispute_store.ALLOWED[status]:
            return Expect()

        async def verify(state: State) -> None:
            async with self.harness.db.read() as session:
                steps = await dispute_store.steps_of(session, dispute_id=dispute_id)
            assert (steps[-1].action, steps[-1].note) == ("escalate", draft["reason"])

        moved = {**self.state.disputes, dispute_id: ("escalated", level, verdict)}
        return Expect(delta={"steps": 1}, disputes=moved, verify=[verify])

    async def expect_problem(self, draft: dict[str, Any]) -> Expect:
        offered = set(await self.village_households())

        async def verify(state: State) -> None:
            problem = await self.newest(Problem)
            assert (problem.category, problem.description, problem.status, problem.visit_id) == (
                draft["category"], draft["description"], "raised", None)
            assert problem_store.priority_code(problem) == draft["priority"]
            if draft.get("household"):
                await self.household_named(problem.household_id, draft["household"], offered)
            else:
                assert problem.household_id is None
            assert (problem.village_id, problem.township_id) == (
                self.person.village_id, self.person.township_id), "the problem lost its place"

        return Expect(delta={"problems": 1}, verify=[verify])

    async def accept_summary(self) -> None:
        """The team leader accepts this week's summary, if there is one (the neighbour acts)."""
        monday = self.today - dt.timedelta(days=self.today.weekday())
        async with self.harness.db.write() as session:
            row = await summaries.summary_for(session, person_id=self.person.id,
                                              week_start=monday)
            if row is not None:
                await reviews.decide(session, row, entity="summary", by=self.neighbour,
                                     accept=True, reason=None, now=self.harness.clock.now())

    # --- choosing the next action --------------------------------------------------------

    def next_action(self) -> Action:
        move = self.draw(st.sampled_from(self.plan.moves or MOVES), label="move")
        return getattr(self, f"move_{move}")()

    def keyboards(self) -> list[tuple[int, list[tuple[str, str]]]]:
        """The bot's messages in this chat that still carry inline buttons, newest first."""
        found = [(mid, [(b.get("text", ""), b["callback_data"]) for row in m.inline_keyboard
                        for b in row if b.get("callback_data")])
                 for (chat, mid), m in self.emu.world.messages.items()
                 if chat == self.user.id and m.from_bot and m.inline_keyboard]
        return sorted(found, reverse=True)

    def latest_message(self) -> int | None:
        return max((mid for (chat, mid), m in self.emu.world.messages.items()
                    if chat == self.user.id and m.from_bot), default=None)

    def press(self, label: str, options: list[str], message_id: int) -> Action:
        return Action("press", self.draw(st.sampled_from(options), label=label), message_id)

    def move_advance(self) -> Action:
        """A good answer to whatever the bot asks now (or the dialog's start)."""
        dialog = self.state.dialog
        if dialog is None or dialog.form not in FORMS:
            return self.plan.begin(self)
        keyboards = self.keyboards()
        if keyboards and f"f:{dialog.token}:c" in (d for _, d in keyboards[0][1]):
            offer = [d for _, d in keyboards[0][1] if d.startswith(f"f:{dialog.token}:")]
            return self.press("offer", offer + offer[:1], keyboards[0][0])  # continue twice
        if dialog.step == CONFIRM:
            for message_id, buttons in keyboards:
                mine = [d for _, d in buttons if d.startswith(f"f:{dialog.token}:")]
                if f"f:{dialog.token}:ok" in mine:
                    if self.draw(st.integers(0, 4), label="save?"):
                        return Action("press", f"f:{dialog.token}:ok", message_id)
                    return self.press("confirm button", mine, message_id)
            return self.lost(dialog)
        return self.answer(dialog, keyboards)

    def lost(self, dialog: Draft) -> Action:
        """No button of the current step is on screen: ask for the dialog again."""
        return Action("text", f"/{dialog.form}" if dialog.form in CADRE_FORMS - {
            "dispute_step"} else "/back")

    def answer(self, dialog: Draft, keyboards: list[tuple[int, list[tuple[str, str]]]]) -> Action:
        form = FORMS[dialog.form]
        question = form.question(dialog.step)
        pattern = re.compile(rf"f:{dialog.token}:[amds]:{form.questions.index(question)}(:.*)?")
        mine = next(((mid, [d for _, d in b if pattern.fullmatch(d)]) for mid, b in keyboards
                     if any(pattern.fullmatch(d) for _, d in b)), (0, []))
        by_action = {a: [d for d in mine[1] if d.split(":")[2] == a] for a in "amds"}
        if by_action["s"] and self.draw(st.integers(0, 3), label="skip?") == 0:
            return Action("press", by_action["s"][0], mine[0])
        if question.kind in ("photo", "location"):
            return Action(question.kind, (28.69, 116.69))
        if question.kind == "multi":
            if not by_action["m"]:
                return self.lost(dialog)
            if dialog.data.get(f"_{question.key}") and self.draw(st.booleans(), label="done?"):
                return Action("press", by_action["d"][0], mine[0])
            return self.press("toggle", by_action["m"], mine[0])
        if question.kind == "choice":
            if by_action["a"] and not (question.allow_text and self.draw(st.booleans(),
                                                                         label="type it?")):
                return self.press("choice", by_action["a"], mine[0])
            if not question.allow_text:
                return self.lost(dialog)
            if question.parse is not None:  # the visit's day: a button or a typed date
                return Action("text", self.good_day())
        return Action("text", self.typed_answer(dialog, question))

    def typed_answer(self, dialog: Draft, question: Question) -> str:
        if question.kind == "int":
            low, high = int(question.min_value or 0), int(question.max_value or 10**6)
            return number_text(self.draw, self.draw(st.integers(low, high), label="number"))
        if question.kind == "money":
            low = Decimal(question.min_value or 0)
            if dialog.form == "aid" and question.key == "amount":
                low = max(low, self.harness.settings.condolence_min_amount)
            cents = self.draw(st.integers(int(low * 100), int(low * 100) + 10**8), label="cents")
            return money_text(self.draw, Decimal(cents) / 100)
        if question.kind == "date":
            return self.good_day()
        return self.draw(GOOD_TEXT, label="text")

    def good_day(self) -> str:
        today, start = self.today, self.harness.settings.campaign_start
        back = self.draw(st.integers(0, max(0, (today - start).days)), label="days back")
        return day_text(self.draw, today - dt.timedelta(days=back), today)

    def move_junk(self) -> Action:
        keyboards = self.keyboards()[:1]
        typed = [t for _, buttons in keyboards for label, data in buttons
                 for t in (label, data.rsplit(":", 1)[-1]) if t]
        strategy = st.one_of(JUNK_TEXT, st.sampled_from(typed)) if typed else JUNK_TEXT
        return Action("text", self.draw(strategy, label="junk"))

    def move_press(self) -> Action:
        keyboards = self.keyboards()
        if not keyboards:
            return self.plan.begin(self)
        message_id, buttons = keyboards[0]
        return self.press("button", [d for _, d in buttons], message_id)

    def move_stale(self) -> Action:
        options = [(d, mid) for mid, b in self.keyboards()[1:] for _, d in b] + self.pressed
        if not options:
            return self.move_junk()
        data, message_id = self.draw(st.sampled_from(options), label="stale button")
        return Action("press", data, message_id)

    def move_forge(self) -> Action:
        target = self.latest_message()
        if target is None:
            return self.plan.begin(self)
        token = self.state.dialog.token if self.state.dialog else "a1b2c3"
        ids = sorted(self.state.disputes) + self.foreign + [0, 10**9]
        real = [d for _, buttons in self.keyboards() for _, d in buttons]
        forged = [
            st.sampled_from(sorted(FORMS)).map(lambda name: f"f:{token}:n:{name}"),
            st.sampled_from(("ok", "x", "c", "e:99", "e:-1", "e:0", "a:0:bogus", "a:99:x",
                             "d:0", "s:0", "s:9", "m:3:repeated", "n:", "zz", ""))
            .map(lambda tail: f"f:{token}:{tail}"),
            st.tuples(st.sampled_from(ids), st.sampled_from(("m", "r", "vs", "vn", "et", "ec",
                                                              "xx", "")))
            .map(lambda p: f"dsp:{p[0]}:{p[1]}"),
            st.sampled_from(ids).map(lambda i: f"dsh:{i}"),
            st.sampled_from(("ci:v", "ci:a", "ci:r:sick", "ci:r:bogus", "ci:", "ci", "f",
                             "f:", ":", "lang:xx")),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                    max_size=64),
        ]
        if real:
            forged.append(st.sampled_from(real).map(lambda d: d.replace(token, "000000")))
            forged.append(st.sampled_from(real).map(lambda d: d[:-1] or "f"))
        return Action("press", self.draw(st.one_of(forged), label="forged"), target)

    def move_command(self) -> Action:
        return Action("text", self.draw(st.sampled_from(COMMANDS), label="command"))

    def move_media(self) -> Action:
        """Something other than text, or an earlier message edited (Telegram sends both)."""
        kind = self.draw(st.sampled_from(("photo", "location", "sticker", "contact", "edit")),
                         label="media")
        if kind != "edit":
            return Action(kind, (28.69, 116.69) if kind == "location" else None)
        typed = [mid for (chat, mid), m in self.emu.world.messages.items()
                 if chat == self.user.id and not m.from_bot and "text" in m.message]
        if not typed:
            return self.move_junk()
        return Action("edit", self.draw(JUNK_TEXT, label="edited to"),
                      self.draw(st.sampled_from(typed), label="edited message"))

    def move_clock(self) -> Action:
        return Action("clock", self.draw(st.sampled_from((2, 45, 150, 700, 1440)),
                                         label="minutes pass"))

    def move_accept(self) -> Action:
        return Action("accept")


# --- the dialogs -----------------------------------------------------------------------------

def begin_with(command: str) -> Callable[[Run], Action]:
    return lambda run: Action("text", command)


def begin_with_buttons(prefixes: tuple[str, ...], command: str) -> Callable[[Run], Action]:
    """Press one of these buttons on the newest keyboard, or send the command that shows them."""

    def begin(run: Run) -> Action:
        for message_id, buttons in run.keyboards()[:1]:
            offered = [d for _, d in buttons if d.startswith(prefixes)]
            if offered:
                return run.press("button", offered, message_id)
        return Action("text", command)

    return begin


async def seed_disputes(run: Run) -> None:
    """One to three disputes of the cadre in any status, and one of the neighbour's."""
    paths = run.draw(st.lists(st.sampled_from(("", "mediate", "escalate", "resolve",
                                               "mediate,resolve", "escalate,mediate")),
                              min_size=1, max_size=3), label="disputes")
    now = run.harness.clock.now()
    async with run.harness.db.write() as session:
        for owner, path in [(run.person, p) for p in paths] + [(run.neighbour, "")]:
            dispute = await dispute_store.add_dispute(
                session, person=owner, category="land", parties="甲, 乙", people_count=3,
                flags=[], description="田界纠纷", urgency="normal", day=run.today, now=now)
            for action in filter(None, path.split(",")):
                await dispute_store.move_dispute(
                    session, dispute=dispute, by_person_id=owner.id, action=action, note=None,
                    now=now, level="township" if action == "escalate" else None,
                    verdict="satisfied" if action == "resolve" else None)
            if owner is run.neighbour:
                run.foreign.append(dispute.id)


async def seed_week(run: Run) -> None:
    """Some days in the village this week, and perhaps a summary already submitted."""
    today, now = run.today, run.harness.clock.now()
    monday = today - dt.timedelta(days=today.weekday())
    days = run.draw(st.integers(0, today.weekday()), label="days in village")
    submitted = run.draw(st.sampled_from(("no", "no", "submitted", "accepted")),
                         label="summary before")
    async with run.harness.db.write() as session:
        for offset in range(days):
            await checkin_store.check_in(session, person=run.person,
                                         day=monday + dt.timedelta(days=offset),
                                         in_village=True, reason=None, now=now)
        if submitted != "no":
            row, _ = await summaries.submit_summary(
                session, person=run.person, week_start=monday,
                text=summaries.SummaryText("a", "b", "c", "short"), now=now,
                tz=run.harness.settings.tz, minimum=run.harness.settings.min_days_in_village)
            if submitted == "accepted":
                await reviews.decide(session, row, entity="summary", by=run.neighbour,
                                     accept=True, reason=None, now=now)


async def seed_checkin(run: Run) -> None:
    """Perhaps a check-in already made today."""
    already = run.draw(st.sampled_from(("none", "village", "sick")), label="checked in")
    if already != "none":
        async with run.harness.db.write() as session:
            await checkin_store.check_in(
                session, person=run.person, day=run.today, in_village=already == "village",
                reason=None if already == "village" else already, now=run.harness.clock.now())


async def explore(harness: BotHarness, data: Any, plan: Plan, steps: tuple[int, int]) -> None:
    """One example: a fresh cadre takes a drawn number of drawn steps."""
    with watching_logs() as watch:
        run = Run(harness, data.draw, plan, watch)
        await run.setup()
        await run.play(data.draw(st.integers(*steps), label="steps"))


@examples(9)
@given(data=st.data())
async def test_a_visit_dialog_takes_anything_and_saves_only_what_was_confirmed(harness, data):
    plan = Plan("visit", begin_with("/visit"), Run.add_households, finish=12)
    await explore(harness, data, plan, (1, 10))


@examples(7)
@given(data=st.data())
async def test_a_dispute_dialog_takes_anything_and_saves_only_what_was_confirmed(harness, data):
    await explore(harness, data, Plan("dispute", begin_with("/dispute"), finish=8), (1, 8))


@examples(7)
@given(data=st.data())
async def test_dispute_steps_move_only_as_pressed_and_escalate_only_when_confirmed(
    harness, data
):
    plan = Plan("disputes", begin_with_buttons(("dsp:", "dsh:"), "/disputes"), seed_disputes,
                finish=3)
    await explore(harness, data, plan, (2, 10))


@examples(9)
@given(data=st.data())
async def test_an_aid_dialog_of_any_kind_takes_anything_and_saves_only_what_was_confirmed(
    harness, data
):
    plan = Plan("aid", begin_with("/aid"), Run.add_households, finish=8)
    await explore(harness, data, plan, (1, 8))


@examples(7)
@given(data=st.data())
async def test_a_summary_takes_anything_and_is_submitted_only_when_confirmed(harness, data):
    plan = Plan("summary", begin_with("/summary"), seed_week, (*MOVES, "accept"), finish=7)
    await explore(harness, data, plan, (1, 8))


@examples(6)
@given(data=st.data())
async def test_a_problem_dialog_takes_anything_and_saves_only_what_was_confirmed(harness, data):
    plan = Plan("problem", begin_with("/problem"), Run.add_households, finish=6)
    await explore(harness, data, plan, (1, 8))


@examples(5)
@given(data=st.data())
async def test_a_checkin_takes_anything_and_records_only_what_was_pressed(harness, data):
    plan = Plan("checkin", begin_with_buttons(("ci:",), "/checkin"), seed_checkin)
    await explore(harness, data, plan, (2, 8))


# --- what the properties found, kept as plain transcripts ---------------------------------------

async def _dialog(harness: BotHarness, chat_id: int) -> Draft | None:
    return (await snapshot(harness, 0, chat_id)).dialog


async def test_a_forged_discard_button_opens_no_form_of_another_role(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6301)
    await harness.send(user, "/visit")
    replies = await harness.send(user, "/aid")  # a visit is open: continue it, or discard?
    token = (await _dialog(harness, user.id)).token
    for forged in ("broadcast", "roster_off", "dispute_step"):
        assert await harness.press(user, f"f:{token}:n:{forged}") == []
        assert harness.emu.callback_answers[-1].get("text") == translate("zh", "form.stale_button")
    assert (await _dialog(harness, user.id)).form == "visit"
    replies = await harness.tap(user, replies, suffix=":n:aid")
    assert (await _dialog(harness, user.id)).form == "aid" and "帮扶" in replies[-1].plain_text


async def test_discarding_a_draft_for_an_escalation_starts_that_escalation(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6302, language_code="en")
    async with harness.db.write() as session:
        cadre = await people.by_phone(session, phone="+8613800138002")
        dispute = await dispute_store.add_dispute(
            session, person=cadre, category="land", parties="a, b", people_count=2, flags=[],
            description="d", urgency="normal", day=dt.date(2026, 11, 28),
            now=harness.clock.now())
    await harness.send(user, "/visit")
    replies = await harness.tap(user, await harness.send(user, "/disputes"), suffix=":ec")
    replies = await harness.tap(user, replies, suffix=":n:dispute_step")
    assert "Why does it need to go up?" in texts(replies)[-1]
    draft = await _dialog(harness, user.id)
    assert (draft.form, draft.data["ctx_dispute"], draft.data["ctx_level"]) == (
        "dispute_step", dispute.id, "county")


async def test_an_amount_beyond_the_ledger_is_refused_and_a_code_like_name_is_a_name(harness):
    await harness.import_roster()
    user = await harness.register("13800138002", user_id=6303, language_code="en")
    replies = await harness.tap(user, await harness.send(user, "/aid"), suffix=":donation")
    await harness.send(user, "Two computers")
    for huge in ("1" + "0" * 40, "1000000000000"):  # past Decimal's precision; past the column
        replies = await harness.send(user, huge)
        assert texts(replies)[0] == "The largest value allowed is 999999999999.99."
    replies = await harness.send(user, "999999999999.99")
    await harness.tap(user, replies, "Save")
    async with harness.db.read() as session:
        [aid] = (await session.execute(select(Aid))).scalars()
    assert aid.amount == Decimal("999999999999.99")
    replies = await harness.tap(user, await harness.send(user, "/visit"), suffix=":masses")
    for answer in ("h999", "heard", "wants"):  # "h999" is a name, not a forged button
        replies = await harness.send(user, answer)
    replies = await harness.tap(user, replies, suffix=":no")
    replies = await harness.tap(user, replies, "Skip")  # the photo
    replies = await harness.tap(user, await harness.send(user, "Skip"), position=0)  # location
    replies = await harness.tap(user, replies, "Save")
    assert "Visit recorded" in texts(replies)[-1]
    async with harness.db.read() as session:
        [visit] = (await session.execute(select(Visit))).scalars()
        assert (await session.get(Household, visit.household_id)).name == "h999"

