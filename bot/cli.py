"""The `grassroots` command line: run, db upgrade, roster import/invites, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.context import AppContext
from bot.i18n import translate
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger("grassroots")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling")
    sub.add_parser("demo", help="a scripted tour on a local SQLite file, no Telegram needed")
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply the migrations")
    roster = sub.add_parser("roster", help="the roster").add_subparsers(
        dest="action", required=True
    )
    imp = roster.add_parser("import", help="import a roster (CSV or XLSX)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--lang", choices=("zh", "en"), default=None)
    inv = roster.add_parser("invites", help="print each person's invite code and link")
    inv.add_argument("--lang", choices=("zh", "en"), default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry the bot token
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "run":
        return _run(settings)
    if args.command == "demo":
        from bot.demo import main as demo_main

        return demo_main()
    if args.command == "db":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        print("database is at the newest schema")
        return 0
    if args.command == "roster":
        return asyncio.run(_roster(settings, args))
    return 2


def _run(settings: Settings) -> int:
    from bot.app import OutdatedSchema, build_application, check_schema

    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    ctx = AppContext(settings=settings, db=Database(settings.database_url), clock=SystemClock())
    try:
        asyncio.run(check_schema(ctx))
    except OutdatedSchema as exc:
        print(exc, file=sys.stderr)
        return 3
    asyncio.run(ctx.db.dispose())
    application = build_application(ctx)
    application.run_polling(allowed_updates=["message", "edited_message", "callback_query"])
    return 0


async def _roster(settings: Settings, args: argparse.Namespace) -> int:
    from storage.roster import import_roster_file, list_invites

    locale = args.lang or settings.default_locale
    db = Database(settings.database_url)
    try:
        if args.action == "import":
            result = await import_roster_file(
                db, args.file.read_bytes(), args.file.name, now=SystemClock().now()
            )
            if result.errors:
                print(translate(locale, "roster.rejected", count=len(result.errors)))
                for error in result.errors:
                    print(
                        translate(
                            locale, f"roster.error.{error.code}", line=error.line, value=error.value
                        )
                    )
                return 1
            print(
                translate(
                    locale,
                    "roster.report",
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                )
            )
            return 0
        async with db.read() as session:
            invites = await list_invites(session)
        bot = settings.bot_username or "<bot>"
        for invite in invites:
            print(
                "\t".join(
                    [
                        invite.name,
                        invite.phone,
                        invite.role,
                        invite.township or "",
                        invite.village or "",
                        invite.invite_code,
                        f"https://t.me/{bot}?start={invite.invite_code}",
                    ]
                )
            )
        return 0
    finally:
        await db.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
