"""A bot in its own process for the benchmarks: Grassroots as `grassroots run` runs it, or
python-telegram-bot's plainest echo bot. Prints READY once it polls; stops on SIGTERM.

    python bench/_botproc.py grassroots --api URL --db URL [--schema S] --clock ISO
    python bench/_botproc.py echo --api URL

Not run by hand: bench/throughput.py, spike.py and memory.py start it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import _common  # the repository root on sys.path, and the defaults

from common.context import AppContext
from common.logs import settings_secrets, setup_logging
from common.settings import Settings
from storage.db import Database


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("grassroots", "echo"))
    parser.add_argument("--api", required=True, help="the emulator's base URL")
    parser.add_argument("--token", default=_common.TOKEN)
    parser.add_argument("--db", default="")
    parser.add_argument("--schema", default=None)
    parser.add_argument("--clock", default="2026-12-04T16:00:00+08:00")
    parser.add_argument("--global-rate", type=float, default=None,
                        help="OUTBOX_GLOBAL_PER_SECOND (default: the setting's default)")
    parser.add_argument("--per-chat-rate", type=float, default=None,
                        help="OUTBOX_PER_CHAT_PER_SECOND (default: the setting's default)")
    parser.add_argument("--poller", choices=("grassroots", "eager"), default="grassroots",
                        help="bot.polling's Poller (default) or, to compare, an eager one")
    parser.add_argument("--http-pool", type=int, default=None,
                        help="connections to the Bot API (default: bot.app's)")
    parser.add_argument("--webhook-port", type=int, default=0,
                        help="serve Telegram's webhook on this port instead of polling")
    parser.add_argument("--count-sql", default=None,
                        help="write the SQL statements run (text -> count) to this JSON file")
    parser.add_argument("--profile", default=None,
                        help="profile the run: a .pstats file (cProfile), else pyinstrument HTML")
    return parser.parse_args()


class RunningClock:
    """The clock starts at the given moment and runs at real speed (leases, last seen)."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start.astimezone(dt.UTC)
        self.started = time.monotonic()

    def now(self) -> dt.datetime:
        """The start plus the seconds since."""
        return self.start + dt.timedelta(seconds=time.monotonic() - self.started)


SECRET = "bench-webhook-secret"  # what the benchmark's webhook pusher sends


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()


async def run_echo(args: argparse.Namespace) -> None:
    """python-telegram-bot's echo example, sequential (its default) and polling."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    application = (Application.builder().token(args.token).base_url(f"{args.api}/bot")
                   .base_file_url(f"{args.api}/file/bot").build())
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=10)
        await _until_terminated()
        await application.updater.stop()
        await application.stop()


async def run_grassroots(args: argparse.Namespace) -> None:
    """The real application, started as `grassroots run` starts it; its clock starts at
    --clock (the dialogs' dates are fixed) and runs at real speed."""
    import bot.app
    from bot.app import build_application

    if args.http_pool is not None:
        bot.app.HTTP_CONNECTIONS = args.http_pool

    overrides: dict[str, Any] = {}
    if args.global_rate is not None:
        overrides["outbox_global_per_second"] = args.global_rate
    if args.per_chat_rate is not None:
        overrides["outbox_per_chat_per_second"] = args.per_chat_rate
    settings = Settings(_env_file=None, telegram_bot_token=args.token, webhook_secret=SECRET,
                        bot_api_base_url=args.api, bot_username=_common.BOT_USERNAME,
                        database_url=args.db, campaign_start=dt.date(2026, 11, 23),
                        **overrides)
    # The product's logging (its filters and redaction), from WARNING up: the INFO lines a
    # deployment keeps would only fill the benchmark's output.
    setup_logging(*settings_secrets(settings), level="WARNING")
    kwargs: dict[str, Any] = ({"connect_args": {"server_settings": {"search_path": args.schema}}}
                              if args.schema else {})
    db = Database(settings.database_url, **kwargs)
    counts = _count_statements(db) if args.count_sql else None
    clock = RunningClock(dt.datetime.fromisoformat(args.clock))
    # The limiter `grassroots run` and `serve` make: on PostgreSQL, the bot's shared budget.
    ctx = AppContext(settings=settings, db=db, clock=clock)
    if args.webhook_port:
        await _serve_webhook(ctx, args.webhook_port)
        return
    application = build_application(ctx)
    _without_schedules(application)
    poller = _poller(application, args.poller)
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        await poller.start()
        await _until_terminated()
        await poller.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    await db.dispose()
    if counts is not None:
        _write_counts(args.count_sql, counts)


def _without_schedules(application: Any) -> None:
    """The schedules would send reminders at the pinned time; the outbox sender stays."""
    if application.job_queue is not None:
        for job in application.job_queue.jobs():
            if job.name != "outbox":
                job.schedule_removal()


async def _serve_webhook(ctx: AppContext, port: int) -> None:
    """One worker of `grassroots serve`: the FastAPI app under uvicorn, answering Telegram's
    webhook on 127.0.0.1:port (several of these behind one address are --workers N)."""
    import uvicorn

    from bot.web import create_app

    app = create_app(ctx, register_webhook=False)
    _without_schedules(app.state.application)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve())  # uvicorn stops on SIGTERM by itself
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    await serving


def _write_counts(path: str, counts: collections.Counter[str]) -> None:
    Path(path).write_text(json.dumps(dict(counts.most_common()), indent=1, ensure_ascii=False),
                          encoding="utf-8")


def _count_statements(db: Any) -> collections.Counter[str]:
    """Count every statement the bot's engines run, by its SQL text."""
    from sqlalchemy import event

    counts: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts[" ".join(statement.split())[:160]] += 1

    for engine in {db.engine, db.read_engine}:
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    return counts


class EagerPoller:
    """For comparison only: fetch the next batch at once and confirm what was fetched, as
    python-telegram-bot's Updater does (an update in hand is lost if the process dies)."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.tasks: set[asyncio.Task[Any]] = set()
        self.loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.loop_task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        app, offset = self.application, None
        processor = app.update_processor
        while True:
            updates = await app.bot.get_updates(offset=offset, timeout=10, limit=100)
            for update in updates:
                task = asyncio.create_task(
                    processor.process_update(update, app.process_update(update)))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            if updates:
                offset = updates[-1].update_id + 1

    async def stop(self) -> None:
        if self.loop_task is not None:
            self.loop_task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _poller(application: Any, kind: str) -> Any:
    """The poller `grassroots run` uses, or the eager one to compare with."""
    if kind == "eager":
        return EagerPoller(application)
    from bot.polling import Poller

    return Poller(application)


def _die_with_the_benchmark() -> None:
    """Be killed when the benchmark that started this process dies, however it dies: a
    benchmark stopped by `timeout` or Ctrl-C once left its bots polling (and spinning) for
    hours, loading every later measurement on the machine (Linux's PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def main() -> None:
    _die_with_the_benchmark()
    args = _parse()
    runner = run_echo if args.kind == "echo" else run_grassroots
    if not args.profile:
        from bot.cli import loop_runner

        with loop_runner() as loop:  # the event loop `grassroots run` uses
            loop.run(runner(args))
    elif args.profile.endswith(".pstats"):  # cProfile: exact calls, greenlets and all
        import cProfile

        with cProfile.Profile() as profile:
            asyncio.run(runner(args))
        profile.dump_stats(args.profile)
    else:  # pyinstrument: a statistical profile as HTML
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled", interval=0.001) as profiler:
            asyncio.run(runner(args))
        with open(args.profile, "w", encoding="utf-8") as out:
            out.write(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False), file=sys.stderr)


if __name__ == "__main__":
    main()
