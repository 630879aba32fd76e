"""/leave: a request for leave (from, to, reason) that the one above approves or declines in
one tap; the asker hears the decision. Only approved leave excuses days (storage.leave).

The request goes at once, through the outbox, to the team leader (a team leader's own, the
township leader) with 批准 / 不批准: lv:a|d:<id>. The presser's authority is checked again in
the transaction that saves the decision, a spent button answers once, and nobody decides
their own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from common.i18n import N_, Span, Translator
from handlers.base import Turn, inline_keyboard
from handlers.dialogs import register_form
from handlers.forms import Data, Form, Invalid, Question, future_day
from handlers.registry import CADRE, LEADERS, callback
from handlers.reviews import reachable, sent_to
from storage import leave as store
from storage import reviews
from storage.models import LeaveRequest, Person


def _person(turn: Turn) -> Person:
    assert turn.person is not None  # the router lets only registered cadres reach a form
    return turn.person


def _first_day(turn: Turn, data: Data, text: str) -> str:
    return future_day(turn, text).isoformat()


def _last_day(turn: Turn, data: Data, text: str) -> str:
    day = future_day(turn, text)
    first = dt.date.fromisoformat(data["first_day"])
    if day < first:
        raise Invalid("leave.error.before_first", first=first)
    if (day - first).days >= store.MAX_DAYS:
        raise Invalid("leave.error.too_long", days=store.MAX_DAYS)
    return day.isoformat()


QUESTIONS = (
    Question("first_day", N_("leave.q.first_day"), N_("leave.label.first_day"), kind="date",
             parse=_first_day, resets=("last_day",)),
    Question("last_day", N_("leave.q.last_day"), N_("leave.label.last_day"), kind="date",
             parse=_last_day),
    Question("reason", N_("leave.q.reason"), N_("leave.label.reason"), max_len=store.MAX_REASON),
)


def span(row: LeaveRequest) -> Span:
    """The request's days as a range."""
    return Span(row.first_day, row.last_day)


def card(tr: Translator, row: LeaveRequest, author: Person) -> str:
    """The request as its decider reads it."""
    return "\n".join([tr("leave.notice", name=author.name, period=span(row),
                         days=len(store.days_of(row))),
                      tr("leave.card_reason", reason=row.reason)])


def decision_buttons(tr: Translator, row_id: int) -> dict[str, Any]:
    """批准 / 不批准 for one pending request."""
    return inline_keyboard([[(tr("leave.button.approve"), f"lv:a:{row_id}"),
                             (tr("leave.button.decline"), f"lv:d:{row_id}")]])


async def _describe(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("leave.rule")]


async def _save(turn: Turn, data: Data) -> None:
    """Record the request and send it, at once, to whoever decides it."""
    author = _person(turn)
    row = await store.request(turn.session, person=author,
                              first_day=dt.date.fromisoformat(data["first_day"]),
                              last_day=dt.date.fromisoformat(data["last_day"]),
                              reason=data["reason"], now=turn.now)
    deciders = await reviews.weekly_reviewers(turn.session, author=author)
    for decider in deciders:
        tr = turn.tr_for(decider)
        turn.tell(decider, card(tr, row, author), markup=decision_buttons(tr, row.id),
                  key=f"leave:{row.id}:{decider.id}")
    turn.say(sent_to(turn, deciders, msgid="leave.sent", period=span(row)))


LEAVE = register_form(
    Form(name="leave", title=N_("leave.title"), questions=QUESTIONS, save=_save,
         describe=_describe),
    roles=CADRE, description=N_("help.leave"), order=12,
)


@callback("lv", roles=LEADERS, refusal=N_("leave.not_yours"))
async def on_button(turn: Turn, rest: str) -> None:
    """lv:a:<id> approves, lv:d:<id> declines — if the presser decides it now and it waits."""
    action, _, id_text = rest.partition(":")
    found = None
    if action in ("a", "d") and id_text.isdigit() and turn.person is not None:
        found = await store.to_decide(turn.session, leave_id=int(id_text), by=turn.person)
    if found is None or turn.person is None:
        turn.stale(turn.tr("leave.not_yours"))
        return
    row, author = found
    if row.status != "pending":
        turn.stale(turn.tr("leave.already", status=turn.tr(f"leave.status.{row.status}")))
        return
    approve = action == "a"
    await store.decide(turn.session, row, by=turn.person, approve=approve, now=turn.now)
    turn.drop_keyboard()
    told = False
    if reachable(author):
        tr = turn.tr_for(author)
        msgid = "leave.approved_author" if approve else "leave.declined_author"
        turn.tell(author, tr(msgid, period=span(row), name=turn.person.name),
                  key=f"leave:{row.id}:{row.status}")
        told = True
    if told:
        told_line = turn.tr("leave.author_told", name=author.name)
    else:
        told_line = turn.tr("leave.author_not_told", name=author.name)
    msgid = "leave.approved" if approve else "leave.declined"
    turn.say(turn.tr(msgid, name=author.name, period=span(row), told=told_line))
