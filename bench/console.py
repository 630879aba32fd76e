"""The campaign console's pages (issue 20): each page answers in < 300 ms of server time at
500,000 visits, on SQLite and on PostgreSQL.

The pages are not listed here: they are found in the web application `grassroots serve` builds
(`bot.web.create_app`): every route under /console that answers GET, the sign-in pages, the Mini
App's page and the static files aside. A path parameter is filled with a real id from the
generated campaign (bench/generate.py): a village, a township, a person, a record of each kind,
a notice to the whole county (sent through storage.broadcasts if the campaign holds none);
a route with a parameter this script cannot fill is listed as skipped, with its path. Each page
is opened as each role that looks at the console: the office (the county), a township leader
(the largest township), the team leader of a village in it, and a cadre of that village (whose
records the record pages open, so that every role may see them). Query parameters: the page's
defaults, and the period variants the route declares (this week, the campaign so far).

Server time: the request through `httpx.ASGITransport` in this process (no network, no
uvicorn; the client and FastAPI's own share is ~0.3–0.4 ms, an empty route's), median and p95 over
--repeats requests after one untimed warm-up. Statements: the SQL sent for one request
(`before_cursor_execute` on the engines, transaction control aside). The clock is the
evening of the campaign's last day (a Monday), as in bench/aggregates.py.

    .venv/bin/python bench/console.py [--backend sqlite|postgresql|both] [--scale 1.0]
        [--repeats 5] [--reuse] [--only REGEX] [--skip REGEX]
        [--db URL [--schema NAME]]

Without --db the campaigns are kept at stable places, so that a later run can measure them
again at once with --reuse: SQLite in /tmp/console-bench-sqlite.db, PostgreSQL in the schema
`console_bench` of the `test` database (BENCH_POSTGRES_URL). Without --reuse they are generated
afresh there (what was there is removed first). --db measures a generated campaign elsewhere.
A kept campaign is migrated to the code's schema before it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import inspect
import re
import tempfile
import time
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
from _common import (
    FIRST_USER_ID,
    PG_URL,
    TOKEN,
    Backend,
    analyse,
    median,
    percentile,
    print_machine,
    table,
)
from aggregates import DAYS, SEED, START, TZ, Statements
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from bot.console.auth import COOKIE
from common.clock import FrozenClock
from common.context import AppContext
from common.settings import Settings, normalise_database_url
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Aid,
    Checkin,
    Dispute,
    Person,
    Problem,
    Summary,
    Township,
    Visit,
)

SQLITE_PATH = Path("/tmp/console-bench-sqlite.db")
EXPORT_DIR = str(Path(tempfile.gettempdir()) / "console-bench-exports")  # the office's download
PG_SCHEMA = "console_bench"
TARGET_MS = 300.0
SLOW_S = 5.0
BASE_URL = "http://console.bench"
# Not pages: signing in, the Mini App's sign-in page, the static files.
NOT_PAGES = ("/console/signin", "/console/app", "/console/webapp", "/console/static")
ROLES = ("office", "township_leader", "team_leader", "cadre")
# The record kinds as the console's addresses name them (storage.records.KINDS once the
# records pages are in), and the table each names.
RECORD_MODELS: dict[str, Any] = {
    "visits": Visit, "disputes": Dispute, "problems": Problem, "summaries": Summary, "aid": Aid,
}
SINGULAR = {"visits": "visit", "disputes": "dispute", "problems": "problem",
            "summaries": "summary", "aid": "aid"}
SEARCH_WORD = "自来水"  # in the generated visits' "heard" (bench/generate.py HEARD)


def record_words() -> list[str]:
    """The kinds the records pages take, in their order; every kind this script knows before
    they exist."""
    try:
        records = importlib.import_module("storage.records")
    except ImportError:
        return list(RECORD_MODELS)
    return [k for k in getattr(records, "KINDS", RECORD_MODELS) if k in RECORD_MODELS]


# --- the campaign ------------------------------------------------------------------------

@dataclass
class Campaign:
    """The generated campaign as the pages need it: who looks, and what they look at."""

    ctx: AppContext
    last_day: dt.date
    visits: int
    viewers: dict[str, int]  # role -> person id
    township_id: int
    village_id: int
    records: dict[str, int]  # kind word -> record id (the cadre's own where they have one)
    broadcast_id: int | None = None


async def describe(db: Database, url: str) -> Campaign:
    """The campaign's last day; the largest township, a village in it with a team leader and
    a cadre; the office; a record of each kind, the cadre's own if they have one."""
    async with db.read() as session:
        last_day = (await session.execute(select(func.max(Checkin.day)))).scalar_one()
        visits = (await session.execute(select(func.count(Visit.id)))).scalar_one()
        township_id = (await session.execute(
            select(Township.id).join(Person, Person.township_id == Township.id)
            .group_by(Township.id).order_by(func.count(Person.id).desc(), Township.id)
            .limit(1))).scalar_one()

        async def first(role: str, *where: Any) -> Person:
            return (await session.scalars(select(Person).where(
                Person.role == role, Person.active.is_(True), *where)
                .order_by(Person.id).limit(1))).one()

        cadre = await first("cadre", Person.township_id == township_id)
        village_id = cadre.village_id
        assert village_id is not None
        leader = await first("team_leader", Person.village_id == village_id)
        township_leader = await first("township_leader", Person.township_id == township_id)
        office = await first("office")
        records: dict[str, int] = {}
        for word, model in RECORD_MODELS.items():
            own = (await session.execute(select(func.max(model.id)).where(
                model.person_id == cadre.id))).scalar_one()
            records[word] = own if own is not None else (await session.execute(
                select(func.max(model.id)).where(model.village_id == village_id))).scalar_one()
    settings = Settings(_env_file=None, database_url=url, campaign_start=START,
                        campaign_end=last_day, console_url=BASE_URL, export_dir=EXPORT_DIR,
                        telegram_bot_token=TOKEN)
    now = dt.datetime.combine(last_day, settings.digest_time, TZ)
    ctx = AppContext(settings, db, FrozenClock(now.astimezone(dt.UTC)))
    viewers = {"office": office.id, "township_leader": township_leader.id,
               "team_leader": leader.id, "cadre": cadre.id}
    return Campaign(ctx, last_day, visits, viewers, township_id, village_id,
                    {k: v for k, v in records.items() if v is not None})


async def broadcast(camp: Campaign) -> int:
    """A notice from the office to the whole county, for the office's delivery report: the
    campaign's latest, or one sent now through the chat's own storage (a message queued in
    the outbox for each of ~2,000 people, none sent yet) if the campaign holds none."""
    from storage import broadcasts
    from storage.models import Broadcast

    async with camp.ctx.db.write() as session:
        found = (await session.execute(select(func.max(Broadcast.id)))).scalar_one()
        if found is not None:
            return int(found)
        sent = await broadcasts.create_broadcast(
            session, author_id=camp.viewers["office"], text="本周五前交周小结。", kind="all",
            value=None, render=lambda person: "本周五前交周小结。", now=camp.ctx.clock.now())
        return sent.id


async def sign_in(camp: Campaign) -> dict[str, str]:
    """A console session for each viewer (bound to a Telegram account first if they are not:
    only registered people may sign in): role -> cookie value."""
    from storage import console, people

    now = camp.ctx.clock.now()
    cookies: dict[str, str] = {}
    async with camp.ctx.db.write() as session:
        for role, person_id in camp.viewers.items():
            person = await people.by_id(session, person_id=person_id)
            assert person is not None
            if person.telegram_user_id is None:
                await people.bind(session, person=person,
                                  telegram_user_id=FIRST_USER_ID + person_id, now=now)
            opened = await console.open_session(
                session, person_id=person_id, via="link", now=now,
                hours=camp.ctx.settings.console_session_hours)
            cookies[role] = opened.token
    return cookies


# --- the pages ---------------------------------------------------------------------------

class Unfillable(Exception):
    """A route whose parameters this script cannot fill (the message says which)."""


@dataclass
class Page:
    """One address to open: a route with its parameters filled."""

    route: str  # the route's path as declared
    url: str
    label: str


@dataclass
class Pages:
    """The console's GET routes, as addresses to open, and the routes skipped."""

    pages: list[Page] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # path, why


@dataclass(frozen=True)
class Route:
    """A page's route as the application serves it: its full path and its parameters."""

    path: str  # as declared, with the prefix: /console/people/{person_id:int}
    path_format: str  # /console/people/{person_id}
    dependant: Any  # FastAPI's Dependant: path_params, query_params


def console_routes(app: Any) -> list[Route]:
    """Every route under /console that answers GET and is a page. FastAPI from 0.16x keeps an
    included router whole (`iter_route_contexts` walks it, prefixes applied); before, its
    routes were copied into app.routes."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: the routes are already flat
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for context in contexts:
        original = getattr(context, "original_route", context)
        if not isinstance(original, APIRoute) or "GET" not in (context.methods or ()):
            continue
        path = context.path or ""
        if not path.startswith("/console") or path.startswith(NOT_PAGES):
            continue
        found.append(Route(path, context.path_format or path, original.dependant))
    return found


def path_values(route: Route, camp: Campaign) -> list[tuple[str, dict[str, Any]]]:
    """The ways to fill a route's path parameters: (what they name, parameters)."""
    names = [p.name for p in route.dependant.path_params]
    if not names:
        return [("", {})]
    fixed: dict[str, Any] = {}
    kinds: list[str] = []
    for name in names:
        lowered = name.lower()
        if "village" in lowered or (lowered == "id" and "/team" in route.path):
            fixed[name] = camp.village_id
        elif "township" in lowered or "town" in lowered:
            fixed[name] = camp.township_id
        elif "person" in lowered or "cadre" in lowered or (
                lowered == "id" and "/people" in route.path):
            fixed[name] = camp.viewers["cadre"]
        elif "broadcast" in lowered:
            fixed[name] = camp.broadcast_id
        elif lowered == "kind":
            kinds = [w for w in record_words() if w in camp.records]
        elif lowered in ("id", "record_id") and "{kind" in route.path:
            continue  # filled with the kind below
        elif (kind := record_kind(route.path, lowered)) is not None:
            if kind not in camp.records:
                raise Unfillable(f"no {kind} record in the campaign for {{{name}}}")
            fixed[name] = camp.records[kind]
        else:
            raise Unfillable(f"no value for {{{name}}}")
    if "kind" not in [n.lower() for n in names]:
        return [("", fixed)]
    id_name = next((n for n in names if n.lower() in ("id", "record_id")), None)
    if id_name is None:
        raise Unfillable("{kind} without a record id parameter")
    kind_name = next(n for n in names if n.lower() == "kind")
    return [(kind, {**fixed, kind_name: kind, id_name: camp.records[kind]}) for kind in kinds]


def record_kind(path: str, name: str) -> str | None:
    """The record kind an id parameter names, by its own name (visit_id) or by the path's
    segment before it (/visits/{id})."""
    for word in RECORD_MODELS:
        if name in (f"{word}_id", f"{SINGULAR[word]}_id"):
            return word
    if name not in ("id", "record_id"):
        return None
    before = re.search(r"/([a-z_]+)/\{" + re.escape(name) + r"(:[a-z]+)?\}", path)
    if before is None:
        return None
    segment = before.group(1)
    return next((w for w in RECORD_MODELS if segment in (w, SINGULAR[w])), None)


def choices(annotation: Any) -> list[str]:
    """The values a Literal or Enum query parameter takes (none for a free one)."""
    for arg in (typing.get_args(annotation) or (annotation,)):
        if typing.get_origin(arg) is typing.Literal:
            return [str(v) for v in typing.get_args(arg)]
        if inspect.isclass(arg) and issubclass(arg, Enum):
            return [str(m.value) for m in arg]
    return []


def query_variants(route: Route, camp: Campaign) -> list[tuple[str, dict[str, Any]]]:
    """The page's defaults, then the variants that matter where the route takes them: this
    week and the campaign so far (a `period` parameter, its declared choices or the words
    the console's period selector uses; else a start and an end date), each record kind
    (a `kind` parameter), and a word searched over the whole campaign (`q`)."""
    params = {p.name.lower(): p for p in route.dependant.query_params}
    today = camp.last_day
    monday = today - dt.timedelta(days=today.weekday())
    variants: list[tuple[str, dict[str, Any]]] = [("", {})]

    def add(label: str, param: Any, value: Any, **more: Any) -> None:
        if value is not None and value != param.field_info.default:
            variants.append((label, {param.alias or param.name: value, **more}))

    period = params.get("period")
    whole: dict[str, Any] = {}
    if period is not None:
        offered = choices(period.field_info.annotation)
        week = next((c for c in offered if "week" in c and "last" not in c), None)
        campaign = next((c for c in offered if "campaign" in c or c == "all"), None)
        if not offered:  # free text: the words the console's period selectors take
            week, campaign = "week", "campaign"
        add(f"this week ({period.name}={week})", period, week)
        add(f"campaign ({period.name}={campaign})", period, campaign)
        whole = {period.name: campaign} if campaign else {}
    else:
        for start_name, end_name in (("start", "end"), ("from", "to"), ("since", "until"),
                                     ("start_date", "end_date"), ("date_from", "date_to")):
            if start_name in params and end_name in params:
                start, end = params[start_name].name, params[end_name].name
                campaign_start = camp.ctx.settings.campaign_start.isoformat()
                variants += [
                    ("this week", {start: monday.isoformat(), end: today.isoformat()}),
                    ("campaign", {start: campaign_start, end: today.isoformat()})]
                whole = {start: campaign_start, end: today.isoformat()}
                break
    kind = params.get("kind")
    if kind is not None:
        for word in record_words():
            add(f"kind={word}", kind, word)
    for name in ("q", "search", "words"):
        if name in params:
            add(f"{name}={SEARCH_WORD} over the campaign", params[name], SEARCH_WORD, **whole)
            break
    required = [p.alias or p.name for p in params.values() if p.field_info.is_required()]
    if required:  # a page that needs a period: only the variants giving one
        variants = [(label, values) for label, values in variants
                    if all(n in values for n in required)]
        if not variants:
            raise Unfillable(f"required query parameter(s) {', '.join(required)}")
    return variants


def pages_of(app: Any, camp: Campaign) -> Pages:
    """Every console page to open, with its parameters filled."""
    out = Pages()
    for route in console_routes(app):
        try:
            filled = path_values(route, camp)
            variants = query_variants(route, camp)
        except Unfillable as exc:
            out.skipped.append((route.path, str(exc)))
            continue
        for what, path_params in filled:
            path = route.path_format
            for name, value in path_params.items():
                path = path.replace("{" + name + "}", str(value))
            for period, query in variants:
                url = str(httpx.URL(path, params=query)) if query else path
                label = " ".join(x for x in (route.path_format, what, period) if x)
                out.pages.append(Page(route.path, url, label))
    return out


# --- timing ------------------------------------------------------------------------------

@dataclass
class Timing:
    """One page opened by one role."""

    page: Page
    role: str
    status: int
    median_ms: float
    p95_ms: float
    statements: int
    once: bool = False  # too slow to repeat (one timed after the warm-up), or a file
    file: bool = False  # not a page: a download (the export's target is item 3's)


async def time_page(client: httpx.AsyncClient, stmts: Statements, page: Page, role: str,
                    cookie: str, repeats: int) -> Timing:
    """Open the page once untimed, then `repeats` times: the statements of the last. A page
    slower than SLOW_S at the first opening is timed once more only; a download (not HTML:
    the office's workbook) is timed at its first and only opening."""
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    before = stmts.count
    started = time.perf_counter()
    response = await client.get(page.url, headers=headers)
    first = (time.perf_counter() - started) * 1000
    html = response.headers.get("content-type", "").startswith("text/html")
    if response.status_code == 200 and not html:
        return Timing(page, role, response.status_code, first, first, stmts.count - before,
                      once=True, file=True)
    if first > SLOW_S * 1000:  # that was the warm-up: one more, timed
        before = stmts.count
        started = time.perf_counter()
        response = await client.get(page.url, headers=headers)
        again = (time.perf_counter() - started) * 1000
        return Timing(page, role, response.status_code, again, again, stmts.count - before,
                      once=True)
    times = []
    count = 0
    for _ in range(repeats):
        before = stmts.count
        started = time.perf_counter()
        response = await client.get(page.url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        count = stmts.count - before
    return Timing(page, role, response.status_code, median(times), percentile(times, 95), count)


async def measure(backend: Backend, repeats: int, only: str | None = None,
                  skip: str | None = None) -> tuple[Campaign, Pages, list[Timing]]:
    """Every page as every role on one generated campaign."""
    from bot.web import create_app

    # A kept campaign is brought to the code's schema first (pages may come with migrations).
    await asyncio.to_thread(upgrade, backend.url, **backend.engine_kwargs())
    db = backend.database()
    try:
        camp = await describe(db, backend.url)
        cookies = await sign_in(camp)
        camp.broadcast_id = await broadcast(camp)
        app = create_app(camp.ctx, register_webhook=False)
        pages = pages_of(app, camp)
        pages.pages = [p for p in pages.pages if (not only or re.search(only, p.url))
                       and not (skip and re.search(skip, p.url))]
        stmts = Statements(db)
        timings = []
        print(f"[{backend.name}] {camp.visits:,} visits, last day {camp.last_day}; "
              f"{len(pages.pages)} pages x {len(ROLES)} roles", flush=True)
        # A page that fails answers 500 here, as under uvicorn, instead of ending the run.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for page in pages.pages:
                for role in ROLES:
                    timing = await time_page(client, stmts, page, role, cookies[role], repeats)
                    timings.append(timing)
                    print(f"  {page.label} {role}: {timing.status} {timing.median_ms:.1f} ms",
                          flush=True)
    finally:
        await db.dispose()
    return camp, pages, timings


def verdict(t: Timing) -> str:
    """Whether the page met the target; a refusal or a redirect is not a page's time."""
    if t.status != 200:
        return f"— ({t.status})"
    if t.file:
        return "a file, timed once"
    if t.once:
        return f"**no** (timed once after a first opening over {SLOW_S:g} s)"
    if t.median_ms >= TARGET_MS:
        return "**no**"
    return "yes" if t.p95_ms < TARGET_MS else "yes (p95 over)"


def print_table(backend: str, camp: Campaign, pages: Pages, timings: list[Timing]) -> None:
    """One row per page and role."""
    print(f"\n{backend}: {camp.visits:,} visits, the evening of {camp.last_day}\n")
    print(table(["page", "role", "median ms", "p95 ms", "statements", "< 300 ms"],
                [[t.page.label, t.role, t.median_ms, t.p95_ms, t.statements, verdict(t)]
                 for t in timings]))
    pages_seen = [t for t in timings if t.status == 200 and not t.file]
    over = [t for t in pages_seen if t.median_ms >= TARGET_MS]
    print(f"\n{len(pages_seen) - len(over)} of {len(pages_seen)} pages opened (200) met "
          f"{TARGET_MS:g} ms" + (": over it, " + "; ".join(
              f"{t.page.label} as {t.role}" for t in over) if over else ""))
    for path, why in pages.skipped:
        print(f"skipped: {path} ({why})")
    print("\n< 300 ms: the median of the repeats (and whether the p95 is over too: on a busy"
          " machine one stalled request of five makes it); a status other than 200 is shown "
          "instead (403: outside the role's scope; 303: a redirect; 500: the page failed).")


# --- the databases -----------------------------------------------------------------------

def sqlite_place(reuse: bool) -> None:
    """The SQLite campaign's file: there to reuse, or emptied (with its -wal and -shm)."""
    if reuse:
        if not SQLITE_PATH.exists():
            raise SystemExit(f"{SQLITE_PATH} does not exist: run without --reuse first")
        return
    for leftover in SQLITE_PATH.parent.glob(SQLITE_PATH.name + "*"):
        leftover.unlink()


async def stable_backend(name: str, *, scale: float, reuse: bool) -> Backend:
    """The campaign at its stable place: generated afresh unless `reuse`."""
    from generate import generate

    if name == "sqlite":
        backend = Backend("sqlite", f"sqlite+aiosqlite:///{SQLITE_PATH}")
        await asyncio.to_thread(sqlite_place, reuse)
        if reuse:
            return backend
    else:
        backend = Backend("postgresql", PG_URL, PG_SCHEMA)
        if reuse:
            return backend
        admin = Database(PG_URL)
        try:
            async with admin.engine.begin() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
                await conn.exec_driver_sql(f'CREATE SCHEMA "{PG_SCHEMA}"')
        finally:
            await admin.dispose()
    print(f"[{name}] generating scale {scale:g}...", flush=True)
    started = time.monotonic()
    await generate(backend.url, scale=scale, start=START, days=DAYS, seed=SEED,
                   schema=backend.schema)
    if name == "postgresql":
        await analyse(backend)
    print(f"[{name}] generated in {time.monotonic() - started:.0f} s", flush=True)
    return backend


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true",
                        help=f"measure the campaigns kept at {SQLITE_PATH} and schema "
                             f"{PG_SCHEMA} again")
    parser.add_argument("--only", help="only the pages whose address matches this regex")
    parser.add_argument("--skip", help="not the pages whose address matches this regex")
    parser.add_argument("--db", help="measure this generated campaign instead")
    parser.add_argument("--schema", help="its PostgreSQL schema")
    args = parser.parse_args()
    print_machine()
    if args.db:
        url = normalise_database_url(args.db)
        backends = [Backend("sqlite" if url.startswith("sqlite") else "postgresql", url,
                            args.schema)]
    else:
        names = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
        backends = [await stable_backend(n, scale=args.scale, reuse=args.reuse)
                    for n in names]
    results = [(b.name, *await measure(b, args.repeats, args.only, args.skip)) for b in backends]
    print()
    for name, camp, pages, timings in results:
        print_table(name, camp, pages, timings)


if __name__ == "__main__":
    asyncio.run(main())
