"""Form specs: a dialog is data — questions with coded choices, parsers, validators, conditions.

One engine (handlers/dialogs.py) runs every form: it asks each question whose condition
holds, validates the answer, keeps the draft in the database, shows a confirm screen that
can jump back to any field, and understands /back and /cancel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from common.i18n import N_
from handlers.base import Turn
from handlers.parsing import ParseError, VagueNumber, fold, parse_day, parse_int, parse_money
from storage.models import Money
from storage.textsplit import text_units

Data = dict[str, Any]
HALF_YEAR = 183  # days: a deadline typed without a year further ahead is more likely a past day
# The largest amount storage's money columns hold (Numeric(14, 2): 999999999999.99).
MONEY_MAX = Decimal(10) ** ((Money.precision or 0) - (Money.scale or 0)) - Decimal(1).scaleb(
    -(Money.scale or 0))


class Invalid(Exception):
    """An answer that fails a check: the message id (and values) tell the user why."""

    def __init__(self, msgid: str, **values: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.values = values


@dataclass(frozen=True)
class Choice:
    """A coded button: `code` goes in callback_data, `label` is a message id (or literal)."""

    code: str
    label: str
    literal: bool = False

    def text(self, turn: Turn) -> str:
        """The label in the user's language."""
        return self.label if self.literal else turn.tr(self.label)


ChoicesFn = Callable[[Turn, Data], Awaitable[Sequence[Choice]]]
Parser = Callable[[Turn, Data, str], Any]
Validator = Callable[[Turn, Data, Any], None]


@dataclass(frozen=True)
class Question:
    """One step of a form."""

    key: str
    prompt: str
    label: str
    # text | int | money | date | choice | multi | location | photo | photos (several, then
    # Done; max_value caps how many)
    kind: str = "text"
    choices: Sequence[Choice] | ChoicesFn = ()
    allow_text: bool = False  # a choice question that also takes a typed answer
    when: Callable[[Data], bool] | None = None
    optional: bool = False
    max_len: int | None = None
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    validators: Sequence[Validator] = ()
    parse: Parser | None = None
    columns: int = 2
    # Answers that depend on this one (a village on its township): asked again once it changes.
    resets: tuple[str, ...] = ()
    # A multi question's picks when first asked (a marked village's current types).
    initial: Callable[[Turn, Data], Awaitable[list[str]]] | None = None
    # The values the prompt names, from the answers so far (a reason question says the figure).
    prompt_values: Callable[[Data], dict[str, Any]] | None = None

    def active(self, data: Data) -> bool:
        """Whether this question is asked, given the answers so far."""
        return self.when is None or self.when(data)

    def prompt_text(self, turn: Turn, data: Data) -> str:
        """The question as the user reads it, with the figures it names."""
        values = self.prompt_values(data) if self.prompt_values is not None else {}
        return turn.tr(self.prompt, **values)

    async def options(self, turn: Turn, data: Data) -> Sequence[Choice]:
        """The choices, computed for this user when they depend on the records."""
        if callable(self.choices):
            return await self.choices(turn, data)
        return self.choices


@dataclass(frozen=True)
class Form:
    """A guided dialog: its questions, how it starts and how it saves."""

    name: str
    title: str
    questions: Sequence[Question]
    save: Callable[[Turn, Data], Awaitable[None]]
    prepare: Callable[[Turn, str], Awaitable[Data | None]] | None = None
    describe: Callable[[Turn, Data], Awaitable[list[str]]] | None = None
    # What /cancel says when the form knows more than "nothing was saved" (a cancelled
    # correction leaves the submitted summary as it was); None: form.cancelled.
    cancelled: Callable[[Turn, Data], str] | None = None
    # Run when Save is tapped, before saving: brings the draft's record-derived values up to
    # date (a summary's figures); a line returned means a question now needs an answer
    # first, or (none left to ask) the confirm screen must be read again, and the engine
    # shows that with the line above it.
    refresh: Callable[[Turn, Data], Awaitable[str | None]] | None = None
    # The confirm screen's button and question, in the form's own verb (a notice is sent).
    save_label: str = N_("form.button.save")
    confirm_question: str = N_("form.confirm_question")
    extra: dict[str, Any] = field(default_factory=dict)

    def question(self, key: str) -> Question:
        """The question with this key."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)

    def next_question(self, data: Data) -> Question | None:
        """The first active question without an answer; None means: confirm."""
        for question in self.questions:
            if question.active(data) and question.key not in data:
                return question
        return None

    def answered(self, data: Data) -> list[Question]:
        """The active questions with answers, in order."""
        return [q for q in self.questions if q.active(data) and q.key in data]


def parse_typed(turn: Turn, question: Question, data: Data, text: str) -> Any:
    """Turn typed text into a JSON-safe value for a question, or raise Invalid."""
    if question.parse is not None:
        return question.parse(turn, data, text)
    if question.kind == "date":
        return past_day(turn, text).isoformat()
    try:
        if question.kind == "int":
            return _bounded(parse_int(text), question)
        if question.kind == "money":
            return str(_storable(_bounded(parse_money(text), question)))
    except VagueNumber as exc:  # 三十多人: a count is a figure, not an estimate
        raise Invalid("form.error.vague") from exc
    except ParseError as exc:
        raise Invalid(f"form.error.{question.kind}") from exc
    except ArithmeticError as exc:  # more digits than a Decimal holds: far too large
        raise Invalid("form.error.too_large", maximum=str(MONEY_MAX)) from exc
    if question.kind in ("text", "choice", "multi"):
        return check_text(turn, question, text)
    raise Invalid("form.error.use_buttons")


def check_text(turn: Turn, question: Question, text: str) -> str:
    """A free-text answer: not empty, within the limit."""
    value = text.strip()
    limit = question.max_len or turn.app.settings.text_answer_max_chars
    if not value:
        raise Invalid("form.error.empty")
    check_length(value, limit)
    return value


def check_length(value: str, limit: int) -> None:
    """Refuse a text longer than `limit` as Telegram counts it: an emoji counts two."""
    length = text_units(value)
    if length > limit:
        wide = length != len(value)  # say why when the count is not what the user sees
        raise Invalid("form.error.too_long_wide" if wide else "form.error.too_long",
                      limit=limit, length=length)


def outside_campaign(turn: Turn, dated: dt.date, /, *, prefix: str = "form.error",
                     **values: Any) -> Invalid | None:
    """Why a record dated `dated` is refused, or None inside CAMPAIGN_START..CAMPAIGN_END: the
    one check every dated record goes through (a typed day, a visit's day button, a
    check-in, a weekly summary's week). `prefix` chooses the words for what was refused:
    `{prefix}.before_campaign` / `{prefix}.after_campaign`, given the campaign's dates."""
    calendar = turn.app.settings.calendar
    if calendar.in_campaign(dated):
        return None
    which = "before_campaign" if dated < calendar.start else "after_campaign"
    return Invalid(f"{prefix}.{which}", start=calendar.start, end=calendar.end, **values)


def past_day(turn: Turn, text: str) -> dt.date:
    """A record's day as typed (昨天, 11月27日, 周三, last wednesday): today or before, inside
    the campaign. A date without a year that fits only by reaching back past the campaign's
    start (12-3 typed on 28 November) is the coming one it is nearest to, and refused as not
    yet come. Each refusal gives days that would do."""
    calendar = turn.app.settings.calendar
    start = calendar.start
    shown = min(max(start, turn.today - dt.timedelta(days=2)), calendar.end)
    example: dict[str, Any] = {"month": shown.month, "day": shown.day}
    try:
        day = parse_day(text, today=turn.today, direction="past")
    except ParseError as exc:
        raise Invalid("form.error.date", **example) from exc
    if day > turn.today or (
            day < start and parse_day(text, today=turn.today, direction="nearest") > turn.today):
        raise Invalid("form.error.future_date", **example)
    refusal = outside_campaign(turn, day, **example)
    if refusal is not None:
        raise refusal
    return day


def future_day(turn: Turn, text: str) -> dt.date:
    """A deadline as typed (12-11, 12月20日, 明天, 下周五, next friday): today or later. A date
    without a year more than half a year ahead whose nearest reading has passed (11-3 typed
    on 28 November) is refused as past; each refusal gives days that would do."""
    shown = turn.today + dt.timedelta(days=7)
    example = {"month": shown.month, "day": shown.day}
    try:
        day = parse_day(text, today=turn.today, direction="future")
    except ParseError as exc:
        raise Invalid("form.error.future_date_expected", **example) from exc
    if day < turn.today or ((day - turn.today).days > HALF_YEAR and parse_day(
            text, today=turn.today, direction="nearest") < turn.today):
        raise Invalid("form.error.past_date", **example)
    return day


def _storable(amount: Decimal) -> Decimal:
    """An amount the money columns can hold; a larger one would fail the whole save."""
    if amount > MONEY_MAX:
        raise Invalid("form.error.too_large", maximum=str(MONEY_MAX))
    return amount


def _bounded(value: Any, question: Question) -> Any:
    if question.min_value is not None and value < question.min_value:
        raise Invalid("form.error.too_small", minimum=str(question.min_value))
    if question.max_value is not None and value > question.max_value:
        raise Invalid("form.error.too_large", maximum=str(question.max_value))
    return value


def match_choice(turn: Turn, choices: Sequence[Choice], text: str) -> Choice | None:
    """The choice whose label (in either case) is what the user typed."""
    wanted = fold(text).casefold()
    for choice in choices:
        if fold(choice.text(turn)).casefold() == wanted:
            return choice
    return None
