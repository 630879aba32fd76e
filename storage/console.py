"""The campaign console's sign-in: one-time links and browser sessions.

A link's token and a session's token are random (`secrets.token_urlsafe`) and stored only as
their SHA-256, so a copy of the database signs nobody in. A link is taken once: the update
that marks it used is conditional, so two browsers opening the same link get one session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleLink, ConsoleSession, Person

LINK_MINUTES = 10  # how long a sign-in link sent by /console may be opened


def digest(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def new_link(session: AsyncSession, *, person_id: int, now: dt.datetime) -> str:
    """A one-time sign-in link's token for the person, good for LINK_MINUTES."""
    token = secrets.token_urlsafe(32)
    session.add(ConsoleLink(token_hash=digest(token), person_id=person_id, created_at=now,
                            expires_at=now + dt.timedelta(minutes=LINK_MINUTES)))
    await session.flush()
    return token


async def take_link(session: AsyncSession, *, token: str, now: dt.datetime) -> int | None:
    """The person a link signs in, marking it used; None when it is unknown, used or expired."""
    person_id = await session.scalar(
        update(ConsoleLink)
        .where(ConsoleLink.token_hash == digest(token), ConsoleLink.used_at.is_(None),
               ConsoleLink.expires_at > now)
        .values(used_at=now)
        .returning(ConsoleLink.person_id))
    return person_id


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie's token and the forms' CSRF token."""

    token: str
    csrf: str
    expires_at: dt.datetime


async def open_session(session: AsyncSession, *, person_id: int, via: str, now: dt.datetime,
                       hours: int) -> Opened:
    """Sign a browser in as the person for `hours`."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=hours)
    session.add(ConsoleSession(token_hash=digest(token), person_id=person_id, csrf=csrf, via=via,
                               created_at=now, expires_at=expires))
    await session.flush()
    return Opened(token, csrf, expires)


async def signed_in(session: AsyncSession, *, token: str,
                    now: dt.datetime) -> tuple[ConsoleSession, Person] | None:
    """The session a cookie names and its person, while it holds (not ended, not expired)."""
    row = (await session.execute(
        select(ConsoleSession, Person).join(Person, Person.id == ConsoleSession.person_id)
        .where(ConsoleSession.token_hash == digest(token), ConsoleSession.ended_at.is_(None),
               ConsoleSession.expires_at > now))).first()
    return (row[0], row[1]) if row is not None else None


async def end_session(session: AsyncSession, *, token: str, now: dt.datetime) -> None:
    """Sign a browser out: its cookie no longer names a session."""
    await session.execute(update(ConsoleSession)
                          .where(ConsoleSession.token_hash == digest(token),
                                 ConsoleSession.ended_at.is_(None))
                          .values(ended_at=now))
