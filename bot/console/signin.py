"""Signing in and out of the console (its first page is the overview: bot.console.overview).

- GET /console/app: the Mini App's page inside Telegram; its script posts the initData.
- POST /console/webapp: initData checked (auth.check_init_data), the Telegram user mapped to the
  person on the roster, a session opened.
- GET /console/signin?token=…: the page of a one-time link (a button the browser presses, so a
  link previewer cannot use the link up); POST /console/signin takes the link and opens a
  session.
- POST /console/signout: the session ends (CSRF-checked).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.console.auth import (
    COOKIE,
    BadInitData,
    Poster,
    Refused,
    check_init_data,
    context,
    person_locale,
    request_locale,
    secure,
    usable,
)
from bot.console.render import PREFIX, bare
from common.context import AppContext
from common.i18n import normalise_locale
from storage import console, people

Token = Annotated[str, Form(max_length=100)]


def _signed_in(ctx: AppContext, request: Request, response: Response, opened: console.Opened,
               *, embedded: bool = False) -> Response:
    """Set the session cookie. `embedded`: the Mini App, which Telegram Web shows in an iframe
    of another site, where a SameSite=Lax cookie is not sent; there it is SameSite=None (only
    over https, which Mini Apps need anyway; every post still carries the CSRF token)."""
    is_secure = secure(ctx, request)
    response.set_cookie(COOKIE, opened.token, max_age=ctx.settings.console_session_hours * 3600,
                        path=PREFIX, httponly=True,
                        samesite="none" if embedded and is_secure else "lax", secure=is_secure)
    return response


def router(ctx: AppContext) -> APIRouter:
    """The sign-in routes."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/app")
    async def webapp_page(request: Request) -> HTMLResponse:
        return bare(request_locale(ctx, request), "webapp.html")

    @routes.post("/webapp")
    async def webapp_signin(request: Request, init_data: Annotated[str, Form(max_length=8192)],
                            ) -> Response:
        now = ctx.clock.now()
        try:
            user = check_init_data(init_data, bot_token=ctx.settings.telegram_bot_token, now=now,
                                   max_age_seconds=ctx.settings.console_init_data_max_age_seconds)
        except BadInitData as exc:
            raise Refused("console.refused.init_data", status=401,
                          locale=normalise_locale(None, ctx.settings.default_locale)) from exc
        language = user.get("language_code")
        async with ctx.db.write() as session:
            person = await people.by_telegram_id(session, telegram_user_id=user["id"])
            why = usable(person)
            if why is not None or person is None:
                raise Refused(why or "console.refused.unregistered", locale=normalise_locale(
                    language if isinstance(language, str) else None,
                    ctx.settings.default_locale))
            opened = await console.open_session(
                session, person_id=person.id, via="webapp", now=now,
                hours=ctx.settings.console_session_hours)
        return _signed_in(ctx, request, Response(status_code=204), opened, embedded=True)

    @routes.get("/signin")
    async def link_page(request: Request, token: str = "") -> HTMLResponse:
        return bare(request_locale(ctx, request), "signin.html", token=token[:100])

    @routes.post("/signin")
    async def link_signin(request: Request, token: Token) -> Response:
        now = ctx.clock.now()
        async with ctx.db.write() as session:
            person_id = await console.take_link(session, token=token, now=now)
            person = (await people.by_id(session, person_id=person_id)
                      if person_id is not None else None)
            if person_id is None:
                raise Refused("console.refused.link", locale=request_locale(ctx, request))
            why = usable(person)
            if why is not None or person is None:
                raise Refused(why or "console.refused.unregistered",
                              locale=person_locale(ctx, person) if person else None)
            opened = await console.open_session(
                session, person_id=person.id, via="link", now=now,
                hours=ctx.settings.console_session_hours)
        return _signed_in(ctx, request, RedirectResponse(f"{PREFIX}/", status_code=303), opened)

    @routes.post("/signout")
    async def signout(request: Request, who: Poster) -> Response:
        async with context(request).db.write() as session:
            await console.end_session(session, token=who.token, now=ctx.clock.now())
        response = bare(who.locale, "message.html", heading="console.signout.heading",
                        text="console.signout.done")
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="lax",
                               secure=secure(ctx, request))
        return response

    return routes
