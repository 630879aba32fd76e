"""People on the roster and their Telegram bindings."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, event, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from storage import dialogs, outbox
from storage.audit import record_audit
from storage.db import dialect_name
from storage.models import InviteAttempt, Person, Township, Unit, Village

ROLES = ("cadre", "team_leader", "township_leader", "leading_group", "office", "supervisor")
RANKS = ("county", "department", "ordinary")
# Invite codes: 8 of 32 characters (about 10^12), without 0/O and 1/I/L, which are misread.
INVITE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
INVITE_LENGTH = 8
# Wrong invite codes are counted over this sliding window, and kept a day for whoever looks.
INVITE_WINDOW = dt.timedelta(hours=1)
INVITE_ATTEMPTS_KEPT = dt.timedelta(days=1)
# What a person may do and where: a change of any of these ends their open drafts and buttons.
AUTHORITY_FIELDS = frozenset({"role", "township_id", "village_id", "active"})


def authority_stamp(changed: Iterable[str], *, now: dt.datetime) -> dict[str, dt.datetime]:
    """`authority_changed_at` for a write that changes these fields, if any gives or takes
    authority: every writer of people (one row or a bulk import) adds it to what it writes."""
    return {"authority_changed_at": now} if AUTHORITY_FIELDS.intersection(changed) else {}


def set_authority(person: Person, *, now: dt.datetime, **fields: object) -> list[str]:
    """Change a person's role, township_id, village_id or active, stamping the moment when
    anything really changed; returns the fields that changed."""
    unknown = set(fields) - AUTHORITY_FIELDS
    if unknown:
        raise ValueError(f"not an authority field: {sorted(unknown)}")
    changed = [name for name, value in fields.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, fields[name])
    for name, value in authority_stamp(changed, now=now).items():
        setattr(person, name, value)
    if changed:
        person.updated_at = now
    return changed


class AuthorityNotStamped(Exception):
    """A person's role, place or access was written without authority_changed_at."""


@event.listens_for(Session, "before_flush")
def _authority_is_stamped(session: Session, flush_context: object, instances: object) -> None:
    """Refuse to write a change of role, place or access without its stamp, so that a new
    writer cannot forget it (bulk writers add `authority_stamp` to their rows)."""
    for obj in session.dirty:
        if not isinstance(obj, Person):
            continue
        attrs = inspect(obj).attrs
        changed = [name for name in AUTHORITY_FIELDS if attrs[name].history.has_changes()]
        if changed and not attrs["authority_changed_at"].history.has_changes():
            raise AuthorityNotStamped(f"person {obj.id}: {sorted(changed)} without the stamp")


# Every update reads its person: the statement is built once, not each time.
_BY_TELEGRAM_ID = select(Person).where(Person.telegram_user_id == bindparam("telegram_user_id"))
_BY_TELEGRAM_ID_LOCKED = _BY_TELEGRAM_ID.with_for_update(of=Person)
# A group of turns reads its people at once, locked in the accounts' order (as every process
# locks them, so that two groups never wait for each other in a cycle).
_BY_TELEGRAM_IDS = (select(Person)
                    .where(Person.telegram_user_id.in_(bindparam("ids", expanding=True)))
                    .order_by(Person.telegram_user_id))
_BY_TELEGRAM_IDS_LOCKED = _BY_TELEGRAM_IDS.with_for_update(of=Person)
# In a session: the people load_bound read, by account, each given out once by by_telegram_id.
_BOUND = "people.bound"


@event.listens_for(Session, "after_transaction_end")
def _forget_bound(session: Session, transaction: SessionTransaction) -> None:
    """What was read for a group serves its transaction only, and not past a savepoint's end
    (a rollback to it expires what it changed, which a read afresh would load again)."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_BOUND, None)


async def load_bound(
    session: AsyncSession, *, telegram_user_ids: Iterable[int], lock: bool = False
) -> None:
    """Read the people bound to several accounts in one statement (with `lock`, locked as
    by_telegram_id locks), for the turns of a group: by_telegram_id then gives each of them
    out once in this transaction instead of reading it again."""
    accounts = sorted(set(telegram_user_ids))
    locked = lock and dialect_name(session) == "postgresql"
    query = _BY_TELEGRAM_IDS_LOCKED if locked else _BY_TELEGRAM_IDS
    found = {person.telegram_user_id: person
             for person in (await session.execute(query, {"ids": accounts})).scalars()}
    session.info[_BOUND] = {account: found.get(account) for account in accounts}


async def by_telegram_id(
    session: AsyncSession, *, telegram_user_id: int, lock: bool = False
) -> Person | None:
    """The person bound to this Telegram account; `lock` serialises their updates across
    processes on PostgreSQL (a row lock held until the transaction ends)."""
    bound: dict[int, Person | None] = session.info.get(_BOUND, {})
    if telegram_user_id in bound:
        # Read (and locked) with its group; an account is bound only in its own turn, and a
        # person released since then by another turn of the group is read again.
        person = bound.pop(telegram_user_id)
        if person is None or person.telegram_user_id == telegram_user_id:
            return person
    locked = lock and dialect_name(session) == "postgresql"
    query = _BY_TELEGRAM_ID_LOCKED if locked else _BY_TELEGRAM_ID
    result = await session.execute(query, {"telegram_user_id": telegram_user_id})
    return result.scalar_one_or_none()


async def by_phone(session: AsyncSession, *, phone: str) -> Person | None:
    """The person with this normalised phone number, if any."""
    result = await session.execute(select(Person).where(Person.phone == phone))
    return result.scalar_one_or_none()


async def by_invite_code(session: AsyncSession, *, code: str) -> Person | None:
    """The person with this invite code, if any (codes are upper case)."""
    result = await session.execute(select(Person).where(Person.invite_code == code.upper()))
    return result.scalar_one_or_none()


async def bind(
    session: AsyncSession, *, person: Person, telegram_user_id: int, now: dt.datetime
) -> None:
    """Bind a Telegram account to a person, releasing it from anyone it was bound to."""
    await session.execute(
        update(Person)
        .where(Person.telegram_user_id == telegram_user_id, Person.id != person.id)
        .values(telegram_user_id=None, menu_hash=None, updated_at=now)
    )
    person.telegram_user_id = telegram_user_id
    person.bound_at = now
    person.blocked_at = None
    person.menu_hash = None
    person.updated_at = now


def unblock(person: Person) -> bool:
    """The person wrote to the bot again, so they no longer block it: clear the mark the
    outbox set when a message to them was refused. True if they were marked."""
    if person.blocked_at is None:
        return False
    person.blocked_at = None
    return True


async def set_locale(
    session: AsyncSession, *, person: Person, locale: str, now: dt.datetime
) -> None:
    """Remember the language a person picked with /language."""
    person.locale = locale
    person.updated_at = now


async def bound_people(session: AsyncSession) -> list[Person]:
    """Everyone with a Telegram account bound, active or not."""
    result = await session.execute(
        select(Person).where(Person.telegram_user_id.is_not(None)).order_by(Person.id)
    )
    return list(result.scalars())


async def set_menu_hash(session: AsyncSession, *, person_id: int, menu_hash: str | None) -> None:
    """Record which command menu a person's chat was last given."""
    await session.execute(update(Person).where(Person.id == person_id).values(menu_hash=menu_hash))


async def reachable(
    session: AsyncSession,
    *,
    roles: Iterable[str],
    village_ids: Iterable[int] | None = None,
    township_ids: Iterable[int] | None = None,
) -> list[Person]:
    """Active people bound to Telegram in these roles (and places), by name."""
    query = select(Person).where(
        Person.active.is_(True), Person.telegram_user_id.is_not(None),
        Person.role.in_(list(roles)),
    )
    if village_ids is not None:
        query = query.where(Person.village_id.in_(list(village_ids)))
    if township_ids is not None:
        query = query.where(Person.township_id.in_(list(township_ids)))
    result = await session.execute(query.order_by(Person.name, Person.id))
    return list(result.unique().scalars())


def places(person: Person) -> dict[str, int | None]:
    """The cadre's village, township and unit, copied onto every record they make."""
    return {"village_id": person.village_id, "township_id": person.township_id,
            "unit_id": person.unit_id}


# --- lookups for the office's roster and broadcast dialogs, and deactivation ---------------

# A search for a person offers at most this many: more is a list, not a choice.
MAX_MATCHES = 10


def _containing(text: str) -> str:
    """A LIKE pattern (escape character: backslash) for names that hold `text`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def by_id(session: AsyncSession, *, person_id: int, lock: bool = False) -> Person | None:
    """The person with this id; `lock` holds their row until the transaction ends (PostgreSQL)."""
    query = select(Person).where(Person.id == person_id)
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update(of=Person)
    return (await session.execute(query)).scalar_one_or_none()


async def search(
    session: AsyncSession, *, query: str, phone: str | None, limit: int = MAX_MATCHES
) -> list[Person]:
    """Active people by normalised phone, else by exact name, else by a part of the name."""
    base = select(Person).where(Person.active.is_(True)).order_by(Person.name, Person.id)
    if phone is not None:
        return list((await session.execute(base.where(Person.phone == phone))).scalars())
    wanted = query.strip()
    if not wanted:
        return []
    exact = list((await session.execute(base.where(Person.name == wanted))).scalars())
    if exact:
        return exact[:limit]
    partial = base.where(Person.name.ilike(_containing(wanted), escape="\\")).limit(limit)
    return list((await session.execute(partial)).scalars())


async def in_village(session: AsyncSession, *, village_id: int) -> list[Person]:
    """Everyone placed in a village, active or not: the team leader first, then by name."""
    result = await session.execute(select(Person).where(Person.village_id == village_id))
    people = list(result.scalars())
    # Sorted here: the backends collate text differently.
    return sorted(people, key=lambda p: (p.role != "team_leader", not p.active, p.name, p.id))


# The roster's states a list may be narrowed to: registered (bound to Telegram), not yet
# registered, and deactivated.
ROSTER_STATES = ("registered", "unregistered", "inactive")


async def roster_page(
    session: AsyncSession, *, name: str = "", township_id: int | None = None,
    role: str | None = None, state: str | None = None, offset: int = 0, limit: int = 50,
) -> list[Person]:  # fmt: skip
    """A page of the roster in the order it was entered, narrowed to a part of a name (or
    digits of a phone number), a township, a role and a state (ROSTER_STATES)."""
    query = select(Person).order_by(Person.id)
    wanted = name.strip()
    if wanted.isdigit():
        query = query.where(Person.phone.like(_containing(wanted), escape="\\"))
    elif wanted:
        query = query.where(Person.name.ilike(_containing(wanted), escape="\\"))
    if township_id is not None:
        query = query.where(Person.township_id == township_id)
    if role is not None:
        query = query.where(Person.role == role)
    if state == "inactive":
        query = query.where(Person.active.is_(False))
    elif state in ("registered", "unregistered"):
        bound = Person.telegram_user_id.is_not(None)
        query = query.where(Person.active.is_(True), bound if state == "registered" else ~bound)
    result = await session.execute(query.offset(offset).limit(limit))
    return list(result.unique().scalars())


async def townships(session: AsyncSession) -> list[Township]:
    """Every township, by name."""
    return list((await session.execute(select(Township).order_by(Township.name))).scalars())


async def villages_of(session: AsyncSession, *, township_id: int) -> list[Village]:
    """The villages of a township, by name."""
    query = select(Village).where(Village.township_id == township_id).order_by(Village.name)
    return list((await session.execute(query)).scalars())


async def all_villages(session: AsyncSession) -> list[Village]:
    """Every village with its township, by township and name."""
    query = (select(Village).join(Township, Township.id == Village.township_id)
             .order_by(Township.name, Village.name))
    return list((await session.execute(query)).scalars())


async def village_by_id(session: AsyncSession, *, village_id: int) -> Village | None:
    """A village (with its township), if it exists."""
    return await session.get(Village, village_id)


async def villages_named(session: AsyncSession, *, name: str) -> list[Village]:
    """Villages called `name`, or 'township/village' for one township's; '村' may be left off."""
    township, _, village = name.strip().rpartition("/")
    wanted = village.strip()
    if not wanted:
        return []
    query = select(Village).join(Township, Village.township_id == Township.id).where(
        Village.name.in_([wanted, wanted + "村"]))
    if township.strip():
        query = query.where(Township.name == township.strip())
    result = await session.execute(query.order_by(Township.name, Village.name))
    return list(result.unique().scalars())


async def unit_by_id(session: AsyncSession, *, unit_id: int) -> Unit | None:
    """A home unit, if it exists."""
    return await session.get(Unit, unit_id)


async def units_matching(session: AsyncSession, *, query: str, limit: int = 24) -> list[Unit]:
    """Units whose name holds `query` (the exact name first), by name."""
    wanted = query.strip()
    if not wanted:
        return []
    result = await session.execute(
        select(Unit).where(Unit.name.ilike(_containing(wanted), escape="\\")).order_by(Unit.name))
    units = sorted(result.scalars(), key=lambda u: (u.name != wanted, u.name))
    return units[:limit]


async def deactivate(
    session: AsyncSession, *, person: Person, by: int | None, now: dt.datetime
) -> int | None:
    """End a person's access: inactive, Telegram binding released, a new invite code, open
    dialog and waiting messages dropped, audited.

    Their records stay. Returns the Telegram account that was bound (None if none)."""
    released = person.telegram_user_id
    await record_audit(session, actor_id=by, entity="person", entity_id=person.id,
                       action="deactivate", field="active", old=person.active, new=False, at=now)
    if released is not None:
        await record_audit(session, actor_id=by, entity="person", entity_id=person.id,
                           action="deactivate", field="telegram_user_id", old=released, new=None,
                           at=now)
        await dialogs.discard(session, chat_id=released)
    await dialogs.discard_for_person(session, person_id=person.id)
    await outbox.withdraw_for_person(session, person_id=person.id)
    set_authority(person, active=False, now=now)
    # A code given out before must not bind anyone once access has ended, nor when it returns.
    await replace_invite_code(session, person=person, by=by, action="deactivate", now=now)
    person.telegram_user_id = None
    person.menu_hash = None
    person.updated_at = now
    await session.flush()
    return released


# --- invite codes: wrong ones counted, and a new code when access ends or comes back -------


async def record_wrong_code(session: AsyncSession, *, telegram_user_id: int,
                            now: dt.datetime) -> None:
    """Count a wrong invite code from this account; attempts older than a day go."""
    old = now - INVITE_ATTEMPTS_KEPT
    await session.execute(delete(InviteAttempt).where(InviteAttempt.at < old))
    session.add(InviteAttempt(telegram_user_id=telegram_user_id, at=now))
    await session.flush()


async def _nth_newest(session: AsyncSession, *, n: int, since: dt.datetime,
                      telegram_user_id: int | None) -> dt.datetime | None:
    query = select(InviteAttempt.at).where(InviteAttempt.at > since)
    if telegram_user_id is not None:
        query = query.where(InviteAttempt.telegram_user_id == telegram_user_id)
    query = query.order_by(InviteAttempt.at.desc(), InviteAttempt.id.desc()).offset(n - 1).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def code_lockout(
    session: AsyncSession, *, telegram_user_id: int, now: dt.datetime, per_account: int,
    in_all: int,
) -> tuple[str, dt.datetime] | None:
    """Whether invite codes are refused now: ("account" or "all", when they are taken again)
    after `per_account` wrong codes from this account, or `in_all` from anyone, within the last
    INVITE_WINDOW; None when a code may be tried."""
    since = now - INVITE_WINDOW
    found: list[tuple[str, dt.datetime]] = []
    for kind, limit, account in (("account", per_account, telegram_user_id), ("all", in_all, None)):
        nth = await _nth_newest(session, n=limit, since=since, telegram_user_id=account)
        if nth is not None:
            found.append((kind, nth + INVITE_WINDOW))  # the window has let go of enough by then
    return max(found, key=lambda pair: pair[1]) if found else None


async def fresh_invite_code(session: AsyncSession) -> str:
    """A code no one holds, from an alphabet without 0/O and 1/I/L."""
    while True:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        if (await by_invite_code(session, code=code)) is None:
            return code


async def replace_invite_code(
    session: AsyncSession, *, person: Person, by: int | None, action: str, now: dt.datetime
) -> None:
    """Give a person a new invite code: the old one stops working at once. Audited without the
    new code, which is a credential (the audit trail goes out in the office's export)."""
    old = person.invite_code
    person.invite_code = await fresh_invite_code(session)
    await record_audit(session, actor_id=by, entity="person", entity_id=person.id, action=action,
                       field="invite_code", old=old, new=None, at=now)
