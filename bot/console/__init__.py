"""The campaign console: web pages for leaders, the office and cadres, served by `grassroots
serve` beside the webhook and the API, opened from Telegram as a Mini App (/console, the menu
button) or in any browser with a one-time link.

`install(app, ctx)` adds the sign-in pages, the page modules' routes, the static files and the
pages that refuse (sign in first, not allowed, outside your scope). Every page takes its
viewer from `auth.viewer` (the person and scope of the session, read again per request).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.console import maps, office, overview, people, records, signin
from bot.console.auth import Refused, SignInNeeded, request_locale
from bot.console.render import PREFIX, STATIC, bare
from common.context import AppContext


def standalone(ctx: AppContext) -> FastAPI:
    """The console alone, without the webhook and the API (the demo serves it this way)."""
    app = FastAPI(title="Grassroots console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.state.application = None
    install(app, ctx)
    return app


def install(app: FastAPI, ctx: AppContext) -> None:
    """Add the console to the web application."""
    app.include_router(signin.router(ctx), prefix=PREFIX)
    app.include_router(overview.router(ctx), prefix=PREFIX)
    app.include_router(people.router(ctx), prefix=PREFIX)
    app.include_router(maps.router(ctx), prefix=PREFIX)
    app.include_router(office.router(ctx), prefix=PREFIX)
    app.include_router(records.router(ctx), prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, exc: SignInNeeded) -> Response:
        return bare(request_locale(ctx, request), "message.html", status=401,
                    heading="console.signin.needed_heading", text="console.signin.needed",
                    values={"hours": ctx.settings.console_session_hours})

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> HTMLResponse:
        return bare(exc.locale or request_locale(ctx, request), "message.html",
                    status=exc.status, heading="console.refused.heading", text=exc.msgid)
