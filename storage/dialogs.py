"""Open dialogs: the durable drafts, written in the same transaction as the step they record."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from storage.models import Dialog

# The person's authority_changed_at as it stood when the dialog opened, kept in its history:
# the draft belongs to that authority, whatever the clocks of the processes that opened the
# dialog and changed the person.
AUTHORITY = "authority"
# What this transaction has read or written of each chat's dialog (None: it has none). A turn
# asks several times (the closing check, then the step): the session's identity map forgets a
# dialog nobody holds and would not remember that there was none, so each ask was a SELECT.
_KNOWN = "dialogs.known"


_BY_CHATS = select(Dialog).where(Dialog.chat_id.in_(bindparam("chat_ids", expanding=True)))


def _known(session: AsyncSession | Session) -> dict[int, Dialog | None]:
    return session.info.setdefault(_KNOWN, {})  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """A commit or rollback (of a savepoint too) ends what the transaction knew; the inner
    transaction of each flush does not."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_KNOWN, None)


async def get(session: AsyncSession, *, chat_id: int) -> Dialog | None:
    """The chat's open dialog, if any (read once a transaction)."""
    known = _known(session)
    if chat_id not in known:
        # No flush first: a draft this transaction wrote is known above, so the flush would
        # only write the person's turn marks early, a unit of work of its own every turn.
        with session.no_autoflush:
            known[chat_id] = await session.get(Dialog, chat_id)
    return known[chat_id]


async def load(session: AsyncSession, *, chat_ids: Iterable[int]) -> None:
    """Read the open dialogs of several chats in one statement, for the turns of a group
    (after their people are locked): get then knows each of them."""
    known = _known(session)
    wanted = sorted({chat_id for chat_id in chat_ids if chat_id not in known})
    if not wanted:
        return
    with session.no_autoflush:
        found = {dialog.chat_id: dialog for dialog in (await session.execute(
            _BY_CHATS, {"chat_ids": wanted})).scalars()}
    for chat_id in wanted:
        known[chat_id] = found.get(chat_id)


async def open_dialog(
    session: AsyncSession,
    *,
    chat_id: int,
    person_id: int | None,
    form: str,
    step: str,
    data: dict[str, Any],
    now: dt.datetime,
    authority: dt.datetime | None = None,
) -> Dialog:
    """Start a dialog, replacing any other of this chat; a fresh token retires old buttons.
    `authority` is the person's authority_changed_at as this transaction read it."""
    known = _known(session)
    if chat_id not in known or known[chat_id] is not None:  # unless it is known to have none
        await discard(session, chat_id=chat_id)
    dialog = Dialog(
        chat_id=chat_id,
        person_id=person_id,
        form=form,
        step=step,
        data=data,
        history={"stack": [], AUTHORITY: authority.isoformat() if authority else None},
        token=secrets.token_hex(3),
        started_at=now,
        updated_at=now,
    )
    session.add(dialog)
    await session.flush()
    _known(session)[chat_id] = dialog
    return dialog


def touch(
    dialog: Dialog, *, step: str, data: dict[str, Any], stack: list[str], now: dt.datetime
) -> None:
    """Record the dialog's new step and answers (new dicts, so the JSON change is seen)."""
    dialog.step = step
    dialog.data = dict(data)
    kept = {AUTHORITY: dialog.history[AUTHORITY]} if AUTHORITY in dialog.history else {}
    dialog.history = {"stack": list(stack), **kept}
    dialog.updated_at = now


def opened_under(dialog: Dialog) -> dt.datetime | None:
    """The authority_changed_at the dialog was opened under; for a dialog opened before this
    was kept, the latest stamp its opening time can vouch for (its started_at)."""
    if AUTHORITY not in dialog.history:
        return dialog.started_at
    seen = dialog.history[AUTHORITY]
    return dt.datetime.fromisoformat(seen) if seen else None


async def discard(session: AsyncSession, *, chat_id: int) -> None:
    """Drop the chat's dialog, if any."""
    await session.execute(delete(Dialog).where(Dialog.chat_id == chat_id))
    _known(session)[chat_id] = None


async def discard_for_person(session: AsyncSession, *, person_id: int) -> None:
    """Drop every dialog a person opened, in whichever chat."""
    await session.execute(delete(Dialog).where(Dialog.person_id == person_id))
    _known(session).clear()  # which chats they were in is not known here


async def count_open(session: AsyncSession) -> int:
    """How many dialogs are open."""
    result = await session.execute(select(func.count()).select_from(Dialog))
    return int(result.scalar_one())
