"""Item 3 — campaign-scale aggregates: /stats, the evening digests, the county report and the
full-campaign XLSX export on a generated campaign (bench/generate.py), at several sizes.

For each backend and each scale a fresh database is filled with a campaign of 90 days
(2,000 cadres in 27 townships and 600 villages; scale 1 is about 500,000 visits), then, on
the evening of its last day (a Monday):

- /stats: `storage.stats.scope_stats` and `handlers.stats.render_stats`, as /stats runs them,
  for the county and for one township (the largest), over the last whole week and over the
  whole campaign; the chart's query (`stats.visits_per_day`) apart;
- every team leader's and township leader's evening digest built together
  (`scheduler.reports.evening_digests`), with the SQL statements it executes (a
  `before_cursor_execute` listener on the engines);
- the county report (`scheduler.reports.county_report`, its chart included), and its statements;
- the office's whole-campaign export (`handlers.export.build_export`, every sheet) in a child
  process: wall seconds, the child's CPU seconds (user + system: on a shared machine the
  steadier figure), and the child's peak resident memory (its own
  `getrusage(RUSAGE_SELF).ru_maxrss`, interpreter and imports included), and the RSS it had
  before the export started.

Times are medians of --repeats runs after one untimed warm-up (the export: medians of
--export-repeats runs, no warm-up). A scale may name a campaign length too: `0.2:18` is
18 days at the density of 90 days at scale 1, so that `0.2:18,0.5:45,1.0:90` shows a week's
query as the campaign gets longer at a constant daily activity.

    .venv/bin/python bench/aggregates.py [--backend sqlite|postgresql|both]
        [--scales 0.02,0.2,1.0] [--repeats 3] [--export-repeats 1] [--no-export]
        [--db URL [--schema NAME]]

--db measures an already generated campaign instead (bench/generate.py), once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import ROOT, Backend, analyse, fresh_backend, median, print_machine, table
from sqlalchemy import event, func, select

from common.clock import FrozenClock
from common.context import AppContext
from common.i18n import translator
from common.settings import Settings, normalise_database_url
from storage.db import Database
from storage.models import Checkin, DisputeStep, Person, Township, Visit
from storage.scope import Scope

TZ = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 11, 25)
DAYS = 90
SEED = 1
MB = 1024.0  # ru_maxrss and VmRSS are in kB
SCRIPT = str(Path(__file__).resolve())


@dataclass(frozen=True)
class Size:
    """A campaign to generate: its scale and its length in days."""

    scale: float
    days: int

    @property
    def label(self) -> str:
        return f"{self.scale:g}" if self.days == DAYS else f"{self.scale:g}:{self.days}"


def parse_sizes(text: str) -> list[Size]:
    """'0.02,0.2,1.0' or '0.2:18,1.0:90' (scale:days)."""
    sizes = []
    for part in text.split(","):
        scale, _, days = part.strip().partition(":")
        sizes.append(Size(float(scale), int(days) if days else DAYS))
    return sizes


class Statements:
    """Counts the SQL statements sent on a Database's engines (transaction control aside)."""

    SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

    def __init__(self, db: Database) -> None:
        self.count = 0
        for engine in {id(e): e for e in (db.engine, db.read_engine)}.values():
            event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(self.SKIP):
            self.count += 1


def settings_for(url: str, *, last_day: dt.date, export_dir: str) -> Settings:
    """The deployment's defaults, on this database and campaign."""
    return Settings(_env_file=None, database_url=url, campaign_start=START,
                    campaign_end=last_day, export_dir=export_dir)


async def timed(repeats: int, call: Callable[[], Awaitable[Any]], *,
                warmup: bool = True) -> tuple[float, Any]:
    """Median milliseconds of `repeats` calls (after one untimed call) and the last result."""
    result = await call() if warmup else None
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return median(times), result


# --- the measurements --------------------------------------------------------------------

@dataclass
class Campaign:
    """What the measurements need to know about a generated campaign."""

    ctx: AppContext
    last_day: dt.date
    township: Scope
    visits: int
    checkins: int
    steps: int


async def describe(db: Database, settings: Settings) -> Campaign:
    """The campaign's last day, its largest township and its sizes."""
    async with db.read() as session:
        last_day = (await session.execute(select(func.max(Checkin.day)))).scalar_one()
        tid, name = (await session.execute(
            select(Township.id, Township.name).join(Person, Person.township_id == Township.id)
            .group_by(Township.id, Township.name)
            .order_by(func.count(Person.id).desc(), Township.id).limit(1))).one()
        visits = (await session.execute(select(func.count(Visit.id)))).scalar_one()
        checkins = (await session.execute(select(func.count(Checkin.id)))).scalar_one()
        steps = (await session.execute(select(func.count(DisputeStep.id)))).scalar_one()
    now = dt.datetime.combine(last_day, settings.digest_time, TZ)
    ctx = AppContext(settings, db, FrozenClock(now.astimezone(dt.UTC)))
    return Campaign(ctx, last_day, Scope("township", name, township_id=tid), visits, checkins,
                    steps)


async def stats_once(camp: Campaign, scope: Scope, start: dt.date, end: dt.date) -> str:
    """/stats as the handler runs it: the figures, then the text (charts aside)."""
    from handlers.stats import render_stats, scope_label
    from storage import stats

    settings, now = camp.ctx.settings, camp.ctx.clock.now()
    tr = translator("zh")
    async with camp.ctx.db.write() as session:
        figures = await stats.scope_stats(
            session, scope=scope, start=start, end=end, now=now, tz=settings.tz,
            calendar=settings.calendar, overdue_days=settings.dispute_overdue_days,
            default_overdue_days=settings.overdue_days("default"),
            deadline_weekday=settings.summary_deadline_weekday,
            deadline_time=settings.summary_deadline_time)
    return render_stats(tr, figures, place=scope_label(tr, scope))


async def chart_query_once(camp: Campaign, scope: Scope, start: dt.date, end: dt.date) -> int:
    """The query behind /stats's visits chart."""
    from storage import stats

    async with camp.ctx.db.write() as session:
        series = await stats.visits_per_day(session, scope=scope, start=start, end=end)
    return len(series)


async def job_once(camp: Campaign, build: Callable[[Any], Awaitable[list[Any]]],
                   due: dt.datetime) -> int:
    """A scheduled job's build (no outbox): how many messages it makes."""
    from scheduler.runs import Run

    async with camp.ctx.db.write() as session:
        out = await build(Run(camp.ctx, session, due.astimezone(dt.UTC), camp.ctx.clock.now()))
    return len(out)


async def counted(stmts: Statements, call: Callable[[], Awaitable[Any]]) -> int:
    """Statements one call executes."""
    before = stmts.count
    await call()
    return stmts.count - before


async def measure_queries(camp: Campaign, stmts: Statements, repeats: int) -> dict[str, Any]:
    """/stats, the digests and the county report, in this process."""
    from scheduler.reports import county_report, evening_digests

    settings = camp.ctx.settings
    last = camp.last_day
    week_end = last - dt.timedelta(days=last.weekday() + 1)  # the last whole week's Sunday
    week = (week_end - dt.timedelta(days=6), week_end)
    whole = (START, last)
    county = Scope("county")
    fig: dict[str, Any] = {}
    for label, scope in (("county", county), ("township", camp.township)):
        for span, (start, end) in (("week", week), ("campaign", whole)):
            once = functools.partial(stats_once, camp, scope, start, end)
            fig[f"stats {label} {span}"], _ = await timed(repeats, once)
            fig[f"stats {label} {span} queries"] = await counted(stmts, once)
    fig["chart county week"], _ = await timed(
        repeats, lambda: chart_query_once(camp, county, *week))
    fig["chart county campaign"], _ = await timed(
        repeats, lambda: chart_query_once(camp, county, *whole))
    evening = dt.datetime.combine(last, settings.digest_time, TZ)
    fig["digests"], fig["digest messages"] = await timed(
        repeats, lambda: job_once(camp, evening_digests, evening))
    fig["digest queries"] = await counted(stmts, lambda: job_once(camp, evening_digests, evening))
    monday = last - dt.timedelta(days=last.weekday())
    report_due = dt.datetime.combine(monday, settings.county_report_time, TZ)
    fig["report"], fig["report messages"] = await timed(
        repeats, lambda: job_once(camp, county_report, report_due))
    fig["report queries"] = await counted(stmts, lambda: job_once(camp, county_report,
                                                                  report_due))
    return fig


async def measure_export(backend: Backend, repeats: int) -> dict[str, Any]:
    """The whole-campaign export in a child process, `repeats` times: medians."""
    runs = []
    for _ in range(repeats):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT, "--export-child", "--db",
            backend.url, *(["--schema", backend.schema] if backend.schema else []),
            stdout=asyncio.subprocess.PIPE, cwd=str(ROOT))
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"export child failed ({proc.returncode})")
        runs.append(json.loads(out.decode().strip().splitlines()[-1]))
    return {"export s": median([r["seconds"] for r in runs]),
            "export cpu s": median([r["cpu"] for r in runs]),
            "export peak MB": median([r["peak_kb"] / MB for r in runs]),
            "export base MB": median([r["base_kb"] / MB for r in runs]),
            "export MB file": median([r["bytes"] / 1e6 for r in runs]),
            # Over Telegram's 50 MB the file is removed and the office is told it is too large.
            "export sent": "yes" if runs[-1].get("sent") else "no: over 50 MB",
            "export rows": runs[-1]["rows"]}


async def export_child(url: str, schema: str | None, limit_mb: float | None = None) -> None:
    """One export, as /export builds it for the office (every sheet, the whole campaign);
    `limit_mb` lowers the upload limit, to measure an export cut into several workbooks."""
    import handlers.export
    from handlers.export import Job, build_messages

    if limit_mb:
        handlers.export.MAX_UPLOAD_BYTES = int(limit_mb * 1024 * 1024)

    backend = Backend("", normalise_database_url(url), schema)
    db = backend.database()
    with tempfile.TemporaryDirectory(prefix="grassroots-export-") as folder:
        try:
            async with db.read() as session:
                last = (await session.execute(select(func.max(Checkin.day)))).scalar_one()
                office = (await session.execute(select(Person.id).where(
                    Person.role == "office").order_by(Person.id).limit(1))).scalar_one()
            settings = settings_for(backend.url, last_day=last, export_dir=folder)
            camp = AppContext(settings, db, FrozenClock(
                dt.datetime.combine(last, dt.time(21), TZ).astimezone(dt.UTC)))
            job = Job(1, office, "office", "zh", Scope("county"), START, last)
            base = rss_now()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            messages = await build_messages(camp, job)
            seconds = time.perf_counter() - started
            size = folder_bytes(folder)
            files = file_sizes(folder)
        finally:
            await db.dispose()
    message = messages[-1]  # one workbook, or the last part of several
    rows = message.payload.get("caption", "")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "base_kb": base, "bytes": size, "files": files,
                      "cpu": usage.ru_utime + usage.ru_stime - cpu,
                      "sent": message.method == "sendDocument",
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "rows": rows if message.method == "sendDocument" else
                      message.payload.get("text")}, ensure_ascii=False))


def folder_bytes(folder: str) -> int:
    """What the files in a folder hold, in bytes."""
    return sum(file_sizes(folder))


def file_sizes(folder: str) -> list[int]:
    """The size of each file in a folder (the export's workbooks), in bytes."""
    return sorted(f.stat().st_size for f in Path(folder).iterdir())


def rss_now() -> int:
    """This process's resident memory now, in kB."""
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- the runs -----------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def campaign_db(backend_name: str, size: Size) -> AsyncIterator[tuple[Backend, float]]:
    """A fresh database holding a generated campaign, and the seconds generating took."""
    from generate import generate

    async with fresh_backend(backend_name) as backend:
        print(f"[{backend_name} {size.label}] generating...", flush=True)
        started = time.monotonic()
        await generate(backend.url, scale=size.scale, start=START, days=size.days, seed=SEED,
                       schema=backend.schema)
        seconds = time.monotonic() - started
        if backend.name == "postgresql":
            await analyse(backend)
        yield backend, seconds


async def measure(backend: Backend, args: argparse.Namespace, label: str) -> dict[str, Any]:
    """Everything on one database."""
    db = backend.database()
    try:
        stmts = Statements(db)
        probe = settings_for(backend.url, last_day=START, export_dir=".")
        camp = await describe(db, probe)
        camp.ctx.settings = settings_for(backend.url, last_day=camp.last_day, export_dir=".")
        print(f"[{label}] {camp.visits:,} visits, {camp.checkins:,} check-ins, township "
              f"{camp.township.name}; queries...", flush=True)
        fig = await measure_queries(camp, stmts, args.repeats)
        fig.update(visits=camp.visits, checkins=camp.checkins, days=(camp.last_day - START).days
                   + 1)
    finally:
        await db.dispose()
    if not args.no_export:
        print(f"[{label}] export...", flush=True)
        fig.update(await measure_export(backend, args.export_repeats))
        print(f"[{label}] export {fig['export s']:.1f} s, peak {fig['export peak MB']:.0f} MB",
              flush=True)
    return fig


COLUMNS = [
    ("visits", "visits", "{:,}"), ("days", "days", "{}"),
    ("stats county week", "/stats county week ms", "{:.1f}"),
    ("stats county week queries", "/stats statements", "{}"),
    ("stats county campaign", "/stats county campaign ms", "{:.1f}"),
    ("stats township week", "/stats township week ms", "{:.1f}"),
    ("stats township campaign", "/stats township campaign ms", "{:.1f}"),
    ("chart county week", "chart query county week ms", "{:.1f}"),
    ("chart county campaign", "chart query county campaign ms", "{:.1f}"),
    ("digests", "all digests ms", "{:.0f}"), ("digest messages", "digests", "{}"),
    ("digest queries", "digest queries", "{}"),
    ("report", "county report ms", "{:.0f}"), ("report queries", "report queries", "{}"),
    ("export s", "export s", "{:.1f}"), ("export cpu s", "export CPU s", "{:.1f}"),
    ("export peak MB", "export peak RSS MB", "{:.0f}"),
    ("export base MB", "RSS before export MB", "{:.0f}"),
    ("export MB file", "xlsx MB", "{:.1f}"), ("export sent", "xlsx sent", "{}"),
]


def print_table(results: list[tuple[str, str, float | None, dict[str, Any]]]) -> None:
    """One row per backend and size."""
    headers = ["backend", "scale", "generate s"] + [h for _, h, _ in COLUMNS]
    rows = []
    for backend, label, gen, fig in results:
        rows.append([backend, label, "—" if gen is None else f"{gen:.0f}"]
                    + [fmt.format(fig[k]) if k in fig else "—" for k, _, fmt in COLUMNS])
    print(table(headers, rows))
    print("\n/stats: scope_stats + render_stats, in one write session as a turn has it (charts "
          "not drawn); week: the last whole Monday-Sunday week. Times: medians of the repeats."
          " Statements: SQL sent, transaction control aside.")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scales", type=parse_sizes, default=parse_sizes("0.02,0.2,1.0"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--export-repeats", type=int, default=1)
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--db", help="measure this generated campaign instead")
    parser.add_argument("--schema", help="its PostgreSQL schema")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--upload-limit-mb", type=float,
                        help="with --export-child: cut the export at this size, not 50 MB")
    args = parser.parse_args()
    if args.export_child:
        await export_child(args.db, args.schema, args.upload_limit_mb)
        return
    print_machine()
    results: list[tuple[str, str, float | None, dict[str, Any]]] = []
    if args.db:
        url = normalise_database_url(args.db)
        backend = Backend("sqlite" if url.startswith("sqlite") else "postgresql", url,
                          args.schema)
        results.append((backend.name, "given", None, await measure(backend, args, "given")))
    else:
        names = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
        for name in names:
            for size in args.scales:
                async with campaign_db(name, size) as (backend, seconds):
                    label = f"{name} {size.label}"
                    results.append((name, size.label, seconds,
                                    await measure(backend, args, label)))
                print()
                print_table(results)  # so far, in case a later size fails
                print(flush=True)
    print()
    print_table(results)


if __name__ == "__main__":
    asyncio.run(main())
