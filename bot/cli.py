"""The `grassroots` command line: run, serve, db upgrade, roster, backup/restore, demo."""

from __future__ import annotations

import argparse
import asyncio
import errno
import html
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)

from common.clock import SystemClock
from common.context import AppContext
from common.i18n import translate
from common.logs import logging_config, settings_secrets, setup_logging
from common.settings import Settings
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
    demo = sub.add_parser("demo", help="a scripted tour on a local SQLite file, no Telegram needed")
    demo.add_argument("--lang", choices=("zh", "en"), default="zh",
                      help="the tour's language: the people's, their answers' and the narration's")
    demo.add_argument("--out", type=Path, default=Path("grassroots-demo"),
                      help="the folder for its database, roster, export and charts")
    demo.add_argument("--serve", action=argparse.BooleanOptionalAction, default=None,
                      help="serve the console over the demo's database until Ctrl-C "
                      "(default: when run at a terminal)")
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


class Refusal(Exception):
    """A failure the user can act on; its message is the one sentence the CLI prints."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: every expected failure is one sentence on stderr."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        sentence = _sentence(exc)
        if sentence is None:  # a bug: its traceback goes to the log, through the redaction
            log.exception("grassroots %s failed", args.command)
            sentence = (f"grassroots {args.command} failed unexpectedly ({type(exc).__name__}); "
                        "the log above has the details")
        print(sentence, file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.command != "demo":  # the demo makes its own SQLite file
        _check_database_url(settings.database_url)
    setup_logging(*settings_secrets(settings))
    if args.command == "demo":
        from bot.demo.tour import main as demo_main

        serve = sys.stdin.isatty() if args.serve is None else args.serve
        return demo_main(args.lang, args.out, serve=serve)
    if args.command == "run":
        return _run(settings)
    if args.command in ("backup", "restore"):
        return _backup(settings, args)
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "db":
        from storage.migrate import upgrade

        upgrade(settings.database_url)
        print("database is at the newest schema")
        return 0
    if args.command == "roster":
        return asyncio.run(_roster(settings, args))
    return 2


def _check_database_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise Refusal("DATABASE_URL is not a database URL (e.g. sqlite:///grassroots.db or "
                      "postgresql://user@host/db)") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise Refusal(f"DATABASE_URL names a {backend} database; Grassroots runs on SQLite or "
                      "PostgreSQL")
    # Said here rather than by the driver: aiosqlite's thread, failing to open the file, prints
    # a traceback of its own when the command's event loop has already closed.
    file = parsed.database if backend == "sqlite" else None
    folder = Path(file or ".").absolute().parent
    if file not in (None, "", ":memory:") and not folder.is_dir():
        raise Refusal(f"the folder of the SQLite database, {folder}, does not exist: check "
                      "DATABASE_URL")


def _sentence(exc: BaseException) -> str | None:
    """The sentence for a failure the user can act on; None for a bug."""
    from storage.backup import BackupError

    if isinstance(exc, Refusal | BackupError):
        return str(exc)
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}"
                             for error in exc.errors())
        return f"the settings are not valid: {problems}"
    if isinstance(exc, DBAPIError) and not isinstance(exc, _DATABASE_BUGS):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"the database at DATABASE_URL cannot be used: {reason}"
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError):
        return f"the database server cannot be reached: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return None


# Errors of a statement the code wrote wrong, not of the database's state: they are bugs.
_DATABASE_BUGS = (ProgrammingError, IntegrityError, DataError, NotSupportedError)


def _run(settings: Settings) -> int:
    from bot.app import OutdatedSchema, build_application, check_schema

    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    _warn_without_cjk_font()
    ctx = AppContext(settings=settings, db=Database(settings.database_url), clock=SystemClock())
    try:
        asyncio.run(_checked(ctx, check_schema))
    except OutdatedSchema as exc:
        print(exc, file=sys.stderr)
        return 3
    from bot.polling import run_until_stopped

    with loop_runner() as runner:
        runner.run(run_until_stopped(build_application(ctx)))
    return 0


async def _checked(ctx: AppContext, check: Callable[[AppContext], Awaitable[None]]) -> None:
    """Run `check(ctx)`, then give back its database connections on the same event loop: the
    bot runs on a loop of its own, and a connection closed on another loop than its own logs
    an error at every start."""
    try:
        await check(ctx)
    finally:
        await ctx.db.dispose()


def loop_runner() -> asyncio.Runner:
    """The bot's event loop: uvloop's when it is installed (the `fast` extra), which spends
    10–20 % less CPU on a dialog step (docs/benchmarks.md §1.2), else asyncio's. `serve` gets
    the same from uvicorn, which takes uvloop when it is there."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def _warn_without_cjk_font() -> None:
    """The charts need a font with Chinese glyphs (one comes with the install): say so at
    start when none is found, before a /stats or a weekly report draws boxes."""
    from reports.charts import cjk_font

    if cjk_font() is None:
        log.warning("no font with Chinese glyphs was found: charts will draw Chinese as boxes; "
                    "reinstall grassroots (its dependency pylopdf-fonts-zh-cn brings Noto Sans "
                    "SC) or install a system CJK font (Debian: apt-get install fonts-noto-cjk)")


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import backup, restore

    if args.command == "backup":
        contents = backup(settings.database_url, args.file)
        total = f", {sum(contents.rows.values())} rows" if contents.rows is not None else ""
        print(f"backup written to {args.file} (schema {contents.revision}{total})")
        return 0
    contents = restore(settings.database_url, args.file, now=SystemClock().now())
    print(f"database restored from {args.file} (schema {contents.revision})")
    rows = contents.rows or {}
    width = max(map(len, rows), default=0)
    for table, count in rows.items():
        if count:
            print(f"  {table:<{width}}  {count:>9}")
    empty = sum(1 for count in rows.values() if not count)
    if empty:
        print(f"  ({empty}{' other' if empty < len(rows) else ''} tables are empty)")
    if contents.previous is not None:
        print(f"the database it replaced is kept as {contents.previous}")
    if contents.outdated:
        print(f"the backup's schema is older than this version's ({contents.head}): run "
              "`grassroots db upgrade` before starting the bot")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN must be set to serve", file=sys.stderr)
        return 2
    if settings.webhook_url and not settings.webhook_secret:
        # Without WEBHOOK_URL, serve is the console and the API beside `grassroots run`.
        print("WEBHOOK_SECRET must be set to serve the webhook (WEBHOOK_URL)", file=sys.stderr)
        return 2
    _warn_without_cjk_font()
    uvicorn.run("bot.web:app_from_env", factory=True, host=args.host or settings.web_host,
                port=args.port or settings.web_port, workers=args.workers,
                proxy_headers=True, log_level="info",
                # uvicorn configures each worker it spawns with this: the same as ours.
                log_config=logging_config(*settings_secrets(settings)))
    return 0


async def _roster(settings: Settings, args: argparse.Namespace) -> int:
    from common.rosternames import roster_error, roster_names, roster_report, roster_warnings
    from storage.roster import import_roster_file, list_invites

    locale = args.lang or settings.default_locale
    db = Database(settings.database_url)
    try:
        if args.action == "import":
            result = await import_roster_file(
                db, _read_roster(args.file, locale), args.file.name, now=SystemClock().now(),
                names=roster_names(),
            )
            if result.errors:
                print(_say(locale, "roster.rejected", count=len(result.errors)))
                for error in result.errors:
                    print(html.unescape(roster_error(locale, error)))
                return 1
            print(html.unescape(roster_report(locale, result)))
            if result.warnings:  # the import stands: these are for the office to check
                print(html.unescape(roster_warnings(locale, result.warnings)))
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
                        _say(locale, f"role.{invite.role}"),
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


def _read_roster(path: Path, locale: str) -> bytes:
    """The roster file's bytes, or a refusal in the operator's language."""
    try:
        return path.read_bytes()
    except OSError as exc:
        msgid = {errno.ENOENT: "cli.file_missing", errno.EISDIR: "cli.file_is_folder",
                 errno.EACCES: "cli.file_denied"}.get(exc.errno or 0, "cli.file_unreadable")
        raise Refusal(_say(locale, msgid, file=str(path), reason=exc.strerror or "")) from exc


def _say(locale: str, msgid: str, **values: object) -> str:
    """A catalog message as plain text for the terminal (the catalogs hold Telegram's HTML)."""
    return html.unescape(translate(locale, msgid, **values))


if __name__ == "__main__":
    raise SystemExit(main())
