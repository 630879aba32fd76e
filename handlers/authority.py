"""Authority is checked when it is used: a button or a draft from before a person's role or
place changed no longer acts, and a record is acted on only inside the person's current scope.

The router asks `button_refusal` before any button handler runs; the form engine asks
`draft_refusal` before any step of a draft; a handler acting on a record asks
`record_refusal` in the same transaction that writes.
"""

from __future__ import annotations

import datetime as dt

from handlers.base import Turn
from storage.dialogs import opened_under
from storage.models import Dialog
from storage.scope import Scope, own_scope


def privileged(roles: frozenset[str]) -> bool:
    """A dialog or button plain cadres cannot use: its drafts expire."""
    return "cadre" not in roles


def _changed_at(turn: Turn) -> dt.datetime | None:
    return turn.person.authority_changed_at if turn.person is not None else None


def changed_when(turn: Turn) -> dt.datetime:
    """When the person's role or place last changed (the message shows it in the county's
    time: 11月28日（周六）10:01)."""
    changed = _changed_at(turn)
    assert changed is not None
    return changed


def _sent_before_change(turn: Turn) -> bool:
    """Whether the pressed button's message is older than the person's last change."""
    changed = _changed_at(turn)
    if changed is None:
        return False
    query = turn.update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return True  # no message to date the button by: not trusted
    # An inaccessible message is dated 0 (1970): its age is unknown, so it counts as older.
    # Telegram dates are whole seconds: a message of the change's own second still counts.
    return message.date < changed.replace(microsecond=0)


def button_refusal(turn: Turn, roles: frozenset[str], refusal: str) -> str | None:
    """Why the person may not press this button now (None: they may); `refusal` is the
    button's own sentence for another role."""
    person = turn.person
    assert person is not None  # the router sends only registered, active people here
    if _sent_before_change(turn):
        return turn.tr("authority.stale_button", when=changed_when(turn))
    if person.role not in roles:
        return turn.tr(refusal)
    return None


def draft_refusal(turn: Turn, dialog: Dialog, roles: frozenset[str], title: str) -> str | None:
    """Why an open draft may not go on (None: it may); the sentence says nothing was saved."""
    person = turn.person
    assert person is not None
    changed = _changed_at(turn)
    if dialog.person_id is not None and dialog.person_id != person.id:
        return turn.tr("authority.draft_closed_account", title=title)
    if _changed_since(changed, opened_under(dialog)):
        return turn.tr("authority.draft_closed_changed", when=changed_when(turn), title=title)
    if person.role not in roles:
        return turn.tr("authority.draft_closed_role", title=title)
    hours = turn.app.settings.privileged_draft_hours
    if privileged(roles) and turn.now - dialog.updated_at > dt.timedelta(hours=hours):
        return turn.tr("authority.draft_expired", title=title, hours=hours)
    return None


def _changed_since(changed: dt.datetime | None, opened: dt.datetime | None) -> bool:
    """Whether the person's authority changed after the draft's was read."""
    if changed is None:
        return False
    return opened is None or opened < changed


async def record_refusal(
    turn: Turn, *, village_id: int | None, township_id: int | None, author_id: int | None = None
) -> str | None:
    """Why the person may not act on a record of this place (None: they may): it must lie
    inside their current scope (a cadre's: their village), and nobody checks their own work."""
    person = turn.person
    assert person is not None
    if author_id is not None and author_id == person.id:
        return turn.tr("authority.own_work")
    scope = await own_scope(turn.session, person=person)
    if scope is None and person.village_id is not None:  # a cadre works in their village
        scope = Scope("village", "", person.township_id, person.village_id)
    if scope is None or not scope.contains(Scope("village", "", township_id, village_id)):
        return turn.tr("authority.out_of_scope")
    return None
