"""Reviews in chat: the one above gets the work with 通过 / 退回修改, a return asks a reason,
the author hears either way and a returned piece opens again for correcting.

Three kinds register here (handlers.summary, handlers.stage, handlers.appraise), each saying
how to load its row for a reviewer (re-checking that the reviewer is, now, the one above), how
to show it and how its author opens it again. `/review` (and the button under the evening
digest) lists what waits for the person. Buttons: rv:<code>:a|r|v:<id>, rv:l (the list).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.i18n import N_, Translator
from handlers.base import Buttons, Turn, inline_keyboard
from handlers.dialogs import start_form
from handlers.formregistry import add_form
from handlers.forms import Data, Form, Question
from handlers.registry import LEADERS, callback, command
from reports.digests import REVIEW_LIST
from storage import reviews
from storage.models import Person
from storage.reviewqueue import waiting_for

MAX_LISTED = 12  # one button each, two to a row


@dataclass(frozen=True)
class Reviewable:
    """One kind of reviewed work."""

    code: str  # in the buttons' callback data
    entity: str  # the audit log's entity
    # The row and its author, locked, if the person is now the one who reviews it.
    load: Callable[[AsyncSession, int, Person], Awaitable[tuple[Any, Person] | None]]
    # What it is, named for a reviewer ("张三的周小结（…）") or for its author (own=True).
    what: Callable[[Translator, Any, Person, bool], str]
    card: Callable[[Translator, Any, Person], str]
    # The button its author presses to correct it: (label msgid, callback data).
    reopen: Callable[[Any], tuple[str, str]]


KINDS: dict[str, Reviewable] = {}


def reviewable(kind: Reviewable) -> Reviewable:
    """Register a kind of reviewed work."""
    KINDS[kind.code] = kind
    return kind


def decision_buttons(tr: Translator, code: str, row_id: int) -> dict[str, Any]:
    """通过 / 退回修改 for one piece of work waiting for review."""
    return inline_keyboard([[(tr("review.button.accept"), f"rv:{code}:a:{row_id}"),
                             (tr("review.button.return"), f"rv:{code}:r:{row_id}")]])


def reachable(person: Person) -> bool:
    """Whether a message to this person can be sent at all."""
    return person.active and person.telegram_user_id is not None and person.blocked_at is None


def ask(turn: Turn, kind: Reviewable, row: Any, author: Person, reviewers: list[Person], *,
        again: bool) -> None:
    """Send the work to each reviewer with 通过 / 退回修改, in their language."""
    stamp = turn.update.update_id  # one notice per reviewer per submission, even if redelivered
    for reviewer in reviewers:
        tr = turn.tr_for(reviewer)
        what = kind.what(tr, row, author, False)
        head = tr("review.notice_again", what=what) if again else tr("review.notice", what=what)
        turn.tell(reviewer, "\n".join([head, kind.card(tr, row, author)]),
                  markup=decision_buttons(tr, kind.code, row.id),
                  key=f"review:{kind.code}:{row.id}:{stamp}:{reviewer.id}")


def sent_to(turn: Turn, reviewers: list[Person], *, msgid: str, **values: Any) -> str:
    """The author's confirmation naming who now has the work (or that nobody can review it)."""
    if not reviewers:
        return turn.tr(f"{msgid}.nobody", **values)
    names = turn.tr("common.list_sep").join(p.name for p in reviewers)
    return turn.tr(msgid, names=names, **values)


@command("review", roles=LEADERS, description=N_("help.review"), order=73)
async def review_list(turn: Turn, args: str) -> None:
    """What waits for this person's review, each a button that opens it."""
    await _show_list(turn)


async def _show_list(turn: Turn) -> None:
    assert turn.person is not None
    waiting = await waiting_for(turn.session, reviewer=turn.person)
    if not waiting:
        turn.say(turn.tr("review.none"))
        return
    lines = [turn.tr("review.list_title", count=len(waiting))]
    buttons: list[tuple[str, str]] = []
    for item in waiting[:MAX_LISTED]:
        kind = KINDS[item.code]
        lines.append(turn.tr("review.list_line", what=kind.what(turn.tr, item.row, item.author,
                                                                 False)))
        buttons.append((item.author.name, f"rv:{item.code}:v:{item.row.id}"))
    if len(waiting) > MAX_LISTED:
        lines.append(turn.tr("review.more", count=len(waiting) - MAX_LISTED))
    rows: Buttons = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turn.say("\n".join(lines), markup=inline_keyboard(rows))


async def _found(turn: Turn, code: str, id_text: str) -> tuple[Reviewable, Any, Person] | None:
    """The kind, row and author, if the presser may review it now and it still waits."""
    kind = KINDS.get(code)
    found = None
    if kind is not None and id_text.isdigit() and turn.person is not None:
        found = await kind.load(turn.session, int(id_text), turn.person)
    if kind is None or found is None:
        turn.stale(turn.tr("review.not_yours"))
        return None
    row, author = found
    if row.status != "submitted":
        turn.stale(turn.tr("review.already", status=turn.tr(f"review.status.{row.status}")))
        return None
    return kind, row, author


@callback("rv", roles=LEADERS, refusal=N_("review.not_yours"))
async def on_button(turn: Turn, rest: str) -> None:
    """rv:l the list; rv:<code>:v|a|r:<id> open, accept or return one piece of work."""
    if rest == REVIEW_LIST.partition(":")[2]:
        await _show_list(turn)
        return
    code, _, tail = rest.partition(":")
    action, _, id_text = tail.partition(":")
    found = await _found(turn, code, id_text)
    if found is None:
        return
    kind, row, author = found
    if action == "v":
        turn.say(turn.tr("review.notice", what=kind.what(turn.tr, row, author, False)) + "\n"
                 + kind.card(turn.tr, row, author),
                 markup=decision_buttons(turn.tr, kind.code, row.id))
    elif action == "a":
        await _accept(turn, kind, row, author)
    elif action == "r":
        await start_form(turn, RETURN, f"{kind.code}:{row.id}:{turn.pressed_message_id or 0}")
    else:
        turn.stale(turn.tr("common.stale_button"))


def _tell_author(turn: Turn, kind: Reviewable, row: Any, author: Person, msgid: str,
                 **values: Any) -> bool:
    """Tell the author of the decision (with the button that corrects a returned piece)."""
    if not reachable(author):
        return False
    tr = turn.tr_for(author)
    markup = None
    if row.status == "returned":
        label, data = kind.reopen(row)
        markup = inline_keyboard([[(tr(label), data)]])
    assert turn.person is not None
    turn.tell(author, tr(msgid, what=kind.what(tr, row, author, True), name=turn.person.name,
                         **values),
              markup=markup, key=f"review:{kind.code}:{row.id}:{row.status}:"
                                 f"{turn.update.update_id}")
    return True


def _told(turn: Turn, author: Person, told: bool) -> str:
    if told:
        return turn.tr("review.author_told", name=author.name)
    return turn.tr("review.author_not_told", name=author.name)


async def _accept(turn: Turn, kind: Reviewable, row: Any, author: Person) -> None:
    assert turn.person is not None
    await reviews.decide(turn.session, row, entity=kind.entity, by=turn.person, accept=True,
                         reason=None, now=turn.now)
    turn.drop_keyboard()
    told = _tell_author(turn, kind, row, author, "review.accepted_author")
    turn.say(turn.tr("review.accepted", what=kind.what(turn.tr, row, author, False),
                     told=_told(turn, author, told)))


# --- returning: a one-question form, so the reason's draft is durable like any other --------

def _args(text: str) -> tuple[str, int, int] | None:
    parts = text.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


async def _prepare_return(turn: Turn, args: str) -> Data | None:
    parsed = _args(args)
    if parsed is None:
        turn.say(turn.tr("review.not_yours"))
        return None
    found = await _found(turn, parsed[0], str(parsed[1]))
    if found is None:  # _found has said why, on the button
        return None
    kind, row, author = found
    return {"ctx_code": kind.code, "ctx_id": row.id, "ctx_message": parsed[2],
            "ctx_what": kind.what(turn.tr, row, author, False)}


async def _describe_return(turn: Turn, data: Data) -> list[str]:
    return [turn.tr("review.returning", what=data["ctx_what"])]


async def _save_return(turn: Turn, data: Data) -> None:
    assert turn.person is not None
    kind = KINDS[data["ctx_code"]]
    found = await kind.load(turn.session, int(data["ctx_id"]), turn.person)
    if found is None or found[0].status != "submitted":
        turn.say(turn.tr("review.gone"))
        return
    row, author = found
    await reviews.decide(turn.session, row, entity=kind.entity, by=turn.person, accept=False,
                         reason=data["reason"], now=turn.now)
    if data.get("ctx_message"):  # the notice's 通过 / 退回修改 are spent
        turn.request("editMessageReplyMarkup", {"message_id": int(data["ctx_message"])})
    told = _tell_author(turn, kind, row, author, "review.returned_author",
                        reason=row.return_reason)
    turn.say(turn.tr("review.returned", what=kind.what(turn.tr, row, author, False),
                     told=_told(turn, author, told)))


RETURN = Form(
    name="review_return", title=N_("review.return_title"),
    questions=(Question("reason", N_("review.q.reason"), N_("review.label.reason"),
                        max_len=reviews.MAX_REASON),),
    save=_save_return, prepare=_prepare_return, describe=_describe_return,
)
add_form(RETURN, roles=LEADERS)  # started from a 退回修改 button

