"""What the benchmarks share: the machine, fresh databases, a generated county, tables.

Importing this module puts the repository root on sys.path, so that the Bot API emulator
(which lives with the tests) can be imported by the scripts in bench/.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, update  # noqa: E402

from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Checkin, Household, Person, Visit  # noqa: E402
from storage.roster import import_roster_file  # noqa: E402

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOKEN = "123456:BENCH-TOKEN"
BOT_USERNAME = "grassroots_bench_bot"
FIRST_USER_ID = 7_000_000  # Telegram user id of person n is FIRST_USER_ID + n
CADRE_ROLES = ("cadre", "team_leader")


# --- the machine -------------------------------------------------------------------------

def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def print_machine() -> None:
    """One line saying where this ran."""
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}")


# --- tables and statistics ---------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pasteable into docs/benchmarks.md)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank, 0 < p <= 100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def median(values: Sequence[float]) -> float:
    """The median, NaN for nothing."""
    return statistics.median(values) if values else float("nan")


# --- databases -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    """A fresh database for one run: a SQLite file, or a PostgreSQL schema of its own."""

    name: str
    url: str
    schema: str | None = None

    def engine_kwargs(self) -> dict[str, Any]:
        """What Database() needs to find the schema."""
        if self.schema is None:
            return {}
        return {"connect_args": {"server_settings": {"search_path": self.schema}}}

    def database(self, **kwargs: Any) -> Database:
        """A Database on this backend."""
        return Database(self.url, **self.engine_kwargs(), **kwargs)

    def args(self) -> list[str]:
        """Command-line arguments that name this database for a child process."""
        return ["--db", self.url] + (["--schema", self.schema] if self.schema else [])


@contextlib.asynccontextmanager
async def fresh_backend(name: str, keep: Path | None = None) -> AsyncIterator[Backend]:
    """A migrated, empty database on `name` ('sqlite' or 'postgresql'), dropped afterwards."""
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="grassroots-bench-") as tmp:
            folder = keep or Path(tmp)
            path = folder / "bench.db"
            if path.exists():
                path.unlink()
            backend = Backend("sqlite", f"sqlite+aiosqlite:///{path}")
            await asyncio.to_thread(upgrade, backend.url)
            yield backend
        return
    if name != "postgresql":
        raise SystemExit(f"unknown backend {name!r}: sqlite or postgresql")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    backend = Backend("postgresql", PG_URL, schema)
    try:
        await asyncio.to_thread(upgrade, backend.url, **backend.engine_kwargs())
        yield backend
    finally:
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


async def analyse(backend: Backend) -> None:
    """PostgreSQL after a generated campaign: statistics and a visibility map (index-only
    scans), as autovacuum would give a table that has been growing for 90 days. SQLite gets
    no ANALYZE: the bot never runs one."""
    db = backend.database()
    try:
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await db.dispose()


# --- a generated county ----------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
            "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍"
         "红建国志文斌辉力永健世广义兴良海山仁波宁贵福生龙元全胜学祥才发")
TOWNSHIP_STEMS = ("黄金古埠东塘瑞洪康山三塘石口鹭鸶江埠南岗北坊梅港鸦鹊九龙"
                  "团湖珠湖大塘洪嘴莲湖白沙长港柳湖红旗杨墩乐丰双港")
VILLAGE_STEMS = "新东西南北上下前后中大小高低长丰和兴旺福安宁平太荷桥塘湾岗坪洲岭山口溪田庄"
UNIT_KINDS = ("财政局", "教育局", "水利局", "农业农村局", "卫健委", "交通局", "民政局",
              "人社局", "自然资源局", "住建局", "商务局", "林业局", "文旅局", "统计局",
              "审计局", "司法局", "公安局", "应急管理局", "市场监管局", "医保局", "税务局",
              "供销社", "人武部", "县委办", "政府办", "组织部", "宣传部", "统战部", "政法委",
              "人大办", "政协办", "纪委监委")


@dataclass(frozen=True)
class RosterEntry:
    """One row of a generated roster, as storage.roster reads it."""

    name: str
    phone: str
    rank: str
    unit: str
    township: str
    village: str
    role: str


def township_names(count: int) -> list[str]:
    """Township names: two characters of a stem and 镇 (unique)."""
    stems = TOWNSHIP_STEMS
    names = [stems[i * 2: i * 2 + 2] + "镇" for i in range(len(stems) // 2)]
    names += [f"第{i}乡" for i in range(1, count + 1)]
    return list(dict.fromkeys(names))[:count]


def county_roster(*, cadres: int = 2000, townships: int = 27, villages: int = 600,
                  seed: int = 1) -> list[RosterEntry]:
    """A county: `villages` villages in `townships` townships, a team leader in each village
    and cadres filling up to `cadres` people on village duty; a township leader per
    township, a leading group of five and an office of three."""
    rng = random.Random(seed)
    towns = township_names(townships)
    # Villages per township vary (15 to 30 around the mean), as a real county's do.
    weights = [rng.uniform(0.7, 1.3) for _ in towns]
    total = sum(weights)
    per_town = [max(1, round(villages * w / total)) for w in weights]
    per_town[-1] += villages - sum(per_town)
    places = [(town, f"{VILLAGE_STEMS[i % len(VILLAGE_STEMS)]}"
                     f"{VILLAGE_STEMS[(i // len(VILLAGE_STEMS)) % len(VILLAGE_STEMS)]}村{i}")
              for town, n in zip(towns, per_town, strict=True) for i in range(n)]
    units = [f"县{kind}" for kind in UNIT_KINDS] + [f"{t}政府" for t in towns]
    people: list[RosterEntry] = []

    def person(role: str, town: str = "", village: str = "") -> None:
        number = len(people) + 1
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN + " ").strip()
        rank = rng.choices(("county", "department", "ordinary"), (1, 3, 6))[0]
        people.append(RosterEntry(name, f"139{number:08d}", rank, rng.choice(units), town,
                                  village, role))

    for town, village in places:
        person("team_leader", town, village)
    for index in range(max(0, cadres - len(places))):
        town, village = places[index % len(places)] if index < len(places) else rng.choice(places)
        person("cadre", town, village)
    for town in towns:
        person("township_leader", town)
    for _ in range(5):
        person("leading_group")
    for _ in range(3):
        person("office")
    return people


def roster_csv(entries: Sequence[RosterEntry]) -> bytes:
    """The roster as the CSV file an office would upload."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "phone", "rank", "unit", "township", "village", "role"])
    for e in entries:
        writer.writerow([e.name, e.phone, e.rank, e.unit, e.township, e.village, e.role])
    return out.getvalue().encode()


@dataclass(frozen=True)
class Member:
    """A person bound to a Telegram account."""

    person_id: int
    user_id: int
    role: str
    name: str


async def bind_everyone(db: Database, *, now: Any, language: str = "zh") -> list[Member]:
    """Bind every person on the roster to a Telegram account, as registration would, with
    the command menu already set (as after the first start-up)."""
    from handlers.load import load
    from handlers.start import menu_hash, role_menu

    load()
    async with db.write() as session:
        rows = (await session.execute(
            select(Person.id, Person.role, Person.name).order_by(Person.id))).all()
        await session.execute(update(Person), [
            {"id": pid, "telegram_user_id": FIRST_USER_ID + pid, "telegram_language": language,
             "locale": language, "bound_at": now, "last_seen_at": now,
             "menu_hash": menu_hash(role, language, role_menu(role, language))}
            for pid, role, _ in rows])
    return [Member(pid, FIRST_USER_ID + pid, role, name) for pid, role, name in rows]


async def county(db: Database, *, now: Any, cadres: int = 2000, seed: int = 1) -> list[Member]:
    """Import a generated roster through the real import and bind everyone on it."""
    result = await import_roster_file(db, roster_csv(county_roster(cadres=cadres, seed=seed)),
                                      "county.csv", now=now)
    if result.errors:
        raise RuntimeError(f"roster import failed: {result.errors[:5]}")
    return await bind_everyone(db, now=now)


async def seed_week(db: Database, members: Sequence[Member], *, monday: Any, today: Any,
                    now: Any, short_share: float = 0.3, seed: int = 2) -> set[int]:
    """This week so far: check-ins, a few visits each, ten households a village. A share
    of the cadres spent too few days in the village (their summary asks why): their ids."""
    rng = random.Random(seed)
    days = [monday + dt.timedelta(days=i) for i in range((today - monday).days + 1)]
    short: set[int] = set()
    checkins: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    async with db.write() as session:
        places = {pid: (v, t, u) for pid, v, t, u in (await session.execute(
            select(Person.id, Person.village_id, Person.township_id, Person.unit_id))).all()}
        for member in members:
            if member.role not in CADRE_ROLES:
                continue
            village, township, unit = places[member.person_id]
            stayed = days
            if rng.random() < short_share:
                short.add(member.person_id)
                stayed = days[:2]
            checkins += [dict(person_id=member.person_id, village_id=village,
                              township_id=township, unit_id=unit, day=day, in_village=True,
                              created_at=now, updated_at=now) for day in stayed]
            visits += [dict(person_id=member.person_id, village_id=village,
                            township_id=township, unit_id=unit, day=rng.choice(stayed),
                            kind=rng.choice(("weak", "masses", "old", "rich")), heard="听到",
                            wants="想要", followup=False, created_at=now)
                       for _ in range(rng.randint(1, 4))]
        villages = {v for v, _, _ in places.values() if v is not None}
        await session.execute(insert(Household), [
            dict(village_id=v, name=f"{rng.choice(SURNAMES)}家{i}", created_at=now)
            for v in sorted(villages) for i in range(10)])
        await session.execute(insert(Checkin), checkins)
        await session.execute(insert(Visit), visits)
    return short


# --- child processes -------------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    """Resident memory of a process, in kB (VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Spy:
    """py-spy recording a process (if py-spy is installed): collapsed stacks or a flame graph."""

    def __init__(self, pid: int, path: str, *extra: str) -> None:
        self.pid = pid
        self.path = path
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start sampling (py-spy must be able to ptrace the process)."""
        exe = Path(sys.executable).with_name("py-spy")
        fmt = "flamegraph" if self.path.endswith(".svg") else "raw"
        self.proc = await asyncio.create_subprocess_exec(
            str(exe), "record", "--pid", str(self.pid), "--format", fmt, "-o", self.path,
            "--rate", "200", "--threads", *self.extra,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.5)

    async def stop(self) -> None:
        """Stop sampling and write the file."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            await self.proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU time of a process (this one when None), in seconds."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def postgres_cpu() -> float:
    """User and system CPU seconds of the machine's PostgreSQL processes now running (the
    server and its connections' backends; a backend's seconds go when its connection closes)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as comm:
                if comm.read().strip() not in ("postgres", "postmaster"):
                    continue
            total += cpu_seconds(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile
    return total


class BotProcess:
    """The bot (or the echo bot) in a child process, polling the emulator in this one."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = [sys.executable, str(Path(__file__).with_name("_botproc.py")), *args]
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []

    async def start(self, within: float = 60.0) -> None:
        """Start it and wait until it polls."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT))
        assert self.proc.stdout is not None
        async with asyncio.timeout(within):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"bot process exited: {self.args}")
                if line.startswith("READY"):
                    return

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        """CPU seconds the child has used so far."""
        return cpu_seconds(self.pid)

    async def stop(self) -> list[str]:
        """Ask it to stop (SIGTERM) and return what it printed after READY."""
        if self.proc is None:
            return []
        proc, self.proc = self.proc, None
        if proc.returncode is None:
            proc.terminate()
        out, _ = await proc.communicate()
        self.lines = out.decode().splitlines()
        return self.lines
