"""The `grassroots` command line: run, serve, db upgrade, roster, backup/restore, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.context import AppContext
from bot.i18n import translate
from bot.logs import logging_config, settings_secrets, setup_logging
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger("grassroots")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling")
    serve = sub.add_parser("serve", help="run the webhook, health check and HTTP API (uvicorn)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--host", default=None, help="default: WEB_HOST")
    serve.add_argument("--port", type=int, default=None, help="default: WEB_PORT")
    back = sub.add_parser("backup", help="write a consistent copy of the database")
    back.add_argument("file", type=Path)
    rest = sub.add_parser("restore", help="replace the database with a backup (bot stopped)")
    rest.add_argument("file", type=Path)
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
    args = _parser().parse_args(argv)
    settings = Settings()
    setup_logging(*settings_secrets(settings))
    if args.command == "run":
        return _run(settings)
    if args.command in ("backup", "restore"):
        return _backup(settings, args)
    if args.command == "serve":
        return _serve(settings, args)
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
    from bot.polling import run_until_stopped

    asyncio.run(run_until_stopped(build_application(ctx)))
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup, restore

    try:
        if args.command == "backup":
            backup(settings.database_url, args.file)
            print(f"backup written to {args.file}")
        else:
            restore(settings.database_url, args.file)
            print(f"database restored from {args.file}")
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if not settings.telegram_bot_token or not settings.webhook_secret:
        print("TELEGRAM_BOT_TOKEN and WEBHOOK_SECRET must be set to serve the webhook",
              file=sys.stderr)
        return 2
    uvicorn.run("bot.web:app_from_env", factory=True, host=args.host or settings.web_host,
                port=args.port or settings.web_port, workers=args.workers,
                proxy_headers=True, log_level="info",
                # uvicorn configures each worker it spawns with this: the same as ours.
                log_config=logging_config(*settings_secrets(settings)))
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
