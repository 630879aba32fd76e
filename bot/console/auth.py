"""Who is looking at the console: sign-in by the Mini App's initData or a one-time link, the
session cookie, CSRF, and the viewer every page is given.

Telegram signs a Mini App's initData with a key made from the bot token (HMAC-SHA256 of the
token keyed with "WebAppData"); `check_init_data` recomputes it over the sorted fields and
refuses a wrong hash or an auth_date older than CONSOLE_INIT_DATA_MAX_AGE_SECONDS. A browser
outside Telegram signs in with the link /console sends (single use, ten minutes, bound to the
person). Either way the browser gets a session cookie (HttpOnly, SameSite=Lax, Secure behind
https) that expires after CONSOLE_SESSION_HOURS.

Every request reads the person again: a role, township or village changed on the roster is the
scope of the next page, and a deactivated person is refused at once. The scope comes from the
person, never from the address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from common.context import AppContext
from common.i18n import Translator, locale_of, normalise_locale, translator
from storage import console
from storage.models import Person
from storage.scope import Scope, own_scope

COOKIE = "grassroots_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class BadInitData(ValueError):
    """initData that Telegram did not sign, or signed too long ago (the message says which)."""


def init_data_hash(fields: dict[str, str], bot_token: str) -> str:
    """The hash Telegram puts in initData for these fields (all but `hash`)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def check_init_data(init_data: str, *, bot_token: str, now: dt.datetime,
                    max_age_seconds: int) -> dict[str, Any]:
    """The Telegram user a Mini App's initData names, once its signature and age are checked."""
    if not bot_token:
        raise BadInitData("no bot token to check it with")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise BadInitData("not a query string") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise BadInitData("a field given twice")
    given = fields.pop("hash", "")
    if not given or not hmac.compare_digest(init_data_hash(fields, bot_token), given):
        raise BadInitData("the hash is not Telegram's")
    try:
        signed_at = dt.datetime.fromtimestamp(int(fields["auth_date"]), dt.UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BadInitData("no auth_date or user") from exc
    age = (now - signed_at).total_seconds()
    if age > max_age_seconds or age < -300:
        raise BadInitData("signed too long ago")
    return {**user, "id": user_id}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages need them, read again for this request."""

    person_id: int
    name: str
    role: str
    township_id: int | None
    village_id: int | None
    scope: Scope | None  # what they may see; None: a cadre, who sees their own records
    locale: str
    today: dt.date
    tz: dt.tzinfo
    csrf: str
    token: str

    @property
    def tr(self) -> Translator:
        return translator(self.locale, today=self.today, tz=self.tz)

    @property
    def county(self) -> bool:
        return self.scope is not None and self.scope.kind == "county"

    def may_see(self, place: Scope) -> bool:
        """Whether a place lies inside what this person may see."""
        return self.scope is not None and self.scope.contains(place)


class SignInNeeded(Exception):
    """No session, an ended one or an expired one: the page says how to sign in."""


class Refused(Exception):
    """Signed in (or signing in), but not allowed: `msgid` says why, in the viewer's language.

    Pages raise it for a place, record or person outside the viewer's scope (403)."""

    def __init__(self, msgid: str, *, locale: str | None = None, status: int = 403) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.locale = locale
        self.status = status


def person_locale(ctx: AppContext, person: Person) -> str:
    """The language the person chose in the chat, else their Telegram app's, else the county's."""
    return locale_of(person.locale, person.telegram_language, ctx.settings.default_locale)


def usable(person: Person | None) -> str | None:
    """Why a person may not use the console (a msgid), or None when they may."""
    if person is None or person.telegram_user_id is None:
        return "console.refused.unregistered"
    if not person.active:
        return "console.refused.inactive"
    return None


async def viewer(ctx: AppContext, request: Request) -> Viewer:
    """The person this request's session cookie signs in, with their scope as it is now."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded()
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        found = await console.signed_in(session, token=token, now=now)
        if found is None:
            raise SignInNeeded()
        row, person = found
        why = usable(person)
        locale = person_locale(ctx, person)
        if why is not None:
            raise Refused(why, locale=locale)
        scope = await own_scope(session, person=person)
    tz = ctx.settings.tz
    return Viewer(person_id=person.id, name=person.name, role=person.role,
                  township_id=person.township_id, village_id=person.village_id, scope=scope,
                  locale=locale, today=now.astimezone(tz).date(), tz=tz, csrf=row.csrf,
                  token=token)


async def check_csrf(request: Request, who: Viewer) -> None:
    """Refuse a state-changing request that does not carry the session's CSRF token (a form
    field, or a header for scripts)."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), who.csrf.encode()):
        raise Refused("console.refused.csrf", locale=who.locale)


def secure(ctx: AppContext, request: Request) -> bool:
    """Whether the cookie must be Secure: the console is reached over https."""
    return request.url.scheme == "https" or ctx.settings.console_url.startswith("https://")


def request_locale(ctx: AppContext, request: Request) -> str:
    """The language of someone not signed in: their browser's first, else the county's."""
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return normalise_locale(first or None, ctx.settings.default_locale)


def context(request: Request) -> AppContext:
    """The application context the web application was built with."""
    ctx: AppContext = request.app.state.ctx
    return ctx


async def current_viewer(request: Request) -> Viewer:
    """The dependency every page takes: `who: Who`."""
    return await viewer(context(request), request)


async def posting_viewer(request: Request) -> Viewer:
    """The dependency of every state-changing request: the viewer, once the request's CSRF
    token is checked."""
    who = await viewer(context(request), request)
    await check_csrf(request, who)
    return who


Who = Annotated[Viewer, Depends(current_viewer)]
Poster = Annotated[Viewer, Depends(posting_viewer)]
