"""A whole campaign in a database, for the aggregate benchmarks (item 3): a county of 2,000
cadres in 27 townships and about 600 villages (team leaders, township leaders, a leading group
and an office), households and help pairs, and 90 days of daily check-ins, visits (about
500,000) and their problem ledger, 20,000 disputes with their step histories, aid records and
weekly summaries (accepted by the team leaders after the deadline).

    .venv/bin/python bench/generate.py DATABASE_URL [--scale 1.0] [--start 2026-11-25]
        [--days 90] [--seed 1] [--schema NAME]

--scale multiplies the activity records (visits, problems, disputes and their steps, aid):
0.02 gives about 10,000 visits; the county, the check-ins and the summaries stay as they are.
The same seed gives the same campaign. The database is migrated first and must be empty.
Rows go in with SQLAlchemy Core executemany batches, ids assigned here; /stats's rollups
(storage.rollups) are rebuilt from them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from _common import FIRST_USER_ID, SURNAMES, county_roster, table
from sqlalchemy import Table, func, insert, select, text

from common.clock import spring_festival, week_start
from common.settings import normalise_database_url
from storage import aid as aid_store
from storage import disputes as dispute_store
from storage import rollups
from storage import visits as visit_store
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Aid,
    Checkin,
    Dispute,
    DisputeStep,
    Household,
    Pairing,
    Person,
    Problem,
    Summary,
    Township,
    Unit,
    Village,
    Visit,
)

TZ = ZoneInfo("Asia/Shanghai")
BATCH = 5_000
VISITS, DISPUTES, AID_PER_VILLAGE = 500_000, 20_000, 20
QUOTA = {"county": 3, "department": 2, "ordinary": 1}
REASONS = ("meeting", "sick", "leave", "other")
HEARD = ("路不好走，下雨天出不了门", "孩子上学远", "自来水不稳定", "医保报销慢", "想学养殖技术",
         "房子漏雨", "土地流转价格低", "农产品卖不出去", "老人无人照顾", "灌溉渠堵了")
WANTS = ("修路", "通公交", "维修水管", "上门办理医保", "技术培训", "危房改造", "协调流转",
         "对接销路", "安排护理", "清理水渠")
PROBLEM_STATUS = ("raised", "in_hand", "solved", "feedback", "checked")
TEXTS = ("走访群众，收集意见", "协调解决群众困难", "宣传惠民政策")
DESTINATIONS = ("广东东莞", "浙江义乌", "江苏苏州", "福建晋江", "上海")


class Writer:
    """Inserts rows in batches on one connection, timing each table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.report: list[list[Any]] = []

    async def put(self, model: Any, rows: Iterator[dict[str, Any]]) -> int:
        """Insert every row (executemany batches, one transaction per batch)."""
        started, count, chunk = time.monotonic(), 0, []
        target: Table = model.__table__
        for row in rows:
            chunk.append(row)
            if len(chunk) >= BATCH:
                count += await self._flush(target, chunk)
                chunk = []
        count += await self._flush(target, chunk)
        seconds = time.monotonic() - started
        self.report.append([target.name, f"{count:,}", f"{seconds:.1f}"])
        print(f"  {target.name}: {count:,} rows in {seconds:.1f} s", flush=True)
        return count

    async def rollups(self) -> None:
        """/stats's rollups from the rows inserted (the ORM hook that keeps them does not see
        Core inserts)."""
        started = time.monotonic()
        async with self.db.engine.begin() as conn:
            await rollups.rebuild(conn)
        seconds = time.monotonic() - started
        self.report.append(["(rollups rebuilt)", "", f"{seconds:.1f}"])
        print(f"  rollups rebuilt in {seconds:.1f} s", flush=True)

    async def _flush(self, target: Table, chunk: list[dict[str, Any]]) -> int:
        if chunk:
            async with self.db.engine.begin() as conn:
                await conn.execute(insert(target), chunk)
        return len(chunk)


def at(day: dt.date, hour: float) -> dt.datetime:
    """A local moment of a day, as an aware UTC datetime."""
    local = dt.datetime.combine(day, dt.time(0), TZ) + dt.timedelta(hours=hour)
    return local.astimezone(dt.UTC)


class Campaign:
    """Everything generated, held as arrays where it is large."""

    def __init__(self, *, start: dt.date, days: int, scale: float, seed: int) -> None:
        self.start, self.days, self.scale = start, days, scale
        self.rng = np.random.default_rng(seed)
        self.roster = county_roster(seed=seed)
        self.created = at(start - dt.timedelta(days=3), 9)
        self.day_list = [start + dt.timedelta(days=i) for i in range(days)]

    # --- the county -------------------------------------------------------------------

    def places(self) -> None:
        """Ids for townships, villages and units, as the roster names them."""
        self.towns = {n: i for i, n in enumerate(dict.fromkeys(
            e.township for e in self.roster if e.township), start=1)}
        self.villages = {k: i for i, k in enumerate(dict.fromkeys(
            (e.township, e.village) for e in self.roster if e.village), start=1)}
        self.units = {n: i for i, n in enumerate(dict.fromkeys(e.unit for e in self.roster),
                                                 start=1)}

    def people(self) -> Iterator[dict[str, Any]]:
        """Everyone on the roster, registered on Telegram before the campaign started."""
        codes = self.rng.integers(0, 32, size=(len(self.roster), 8))
        alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        self.cadres: list[tuple[int, int, int, int, str]] = []  # id, village, town, unit, rank
        self.leaders: dict[int, int] = {}  # village -> team leader
        for pid, e in enumerate(self.roster, start=1):
            village = self.villages.get((e.township, e.village))
            town, unit = self.towns.get(e.township), self.units[e.unit]
            if e.role in ("cadre", "team_leader"):
                assert village is not None and town is not None
                self.cadres.append((pid, village, town, unit, e.rank))
                if e.role == "team_leader":
                    self.leaders[village] = pid
            yield dict(id=pid, name=e.name, phone=f"+86{e.phone}", rank=e.rank, role=e.role,
                       unit_id=unit, township_id=town, village_id=village,
                       invite_code="".join(alphabet[c] for c in codes[pid - 1]),
                       telegram_user_id=FIRST_USER_ID + pid, locale="zh",
                       telegram_language="zh-hans", active=True, bound_at=self.created,
                       last_seen_at=self.created, created_at=self.created,
                       updated_at=self.created)

    def households(self) -> Iterator[dict[str, Any]]:
        """Between 25 and 45 households a village, a share of them in a needy category."""
        self.village_households: dict[int, list[int]] = {}
        categories = (*visit_store.HOUSEHOLD_CATEGORIES, None, None, None)
        hid = 0
        for village in self.villages.values():
            ids = []
            for n in range(int(self.rng.integers(25, 46))):
                hid += 1
                ids.append(hid)
                yield dict(id=hid, village_id=village, name=f"{SURNAMES[n % len(SURNAMES)]}{n}户",
                           category=categories[int(self.rng.integers(len(categories)))],
                           created_by=None, created_at=self.created)
            self.village_households[village] = ids

    def pairings(self) -> Iterator[dict[str, Any]]:
        """Each cadre paired with as many households of their village as their rank asks."""
        pid_ = 0
        for pid, village, _, _, rank in self.cadres:
            for household in self.rng.choice(self.village_households[village], QUOTA[rank],
                                             replace=False):
                pid_ += 1
                yield dict(id=pid_, person_id=pid, household_id=int(household),
                           created_at=self.created)

    # --- the days ------------------------------------------------------------------------

    def checkins(self) -> Iterator[dict[str, Any]]:
        """A check-in most days: in the village (about 85%), away with a reason, or none."""
        n = len(self.cadres)
        draws = self.rng.random((n, self.days))
        reasons = self.rng.integers(0, len(REASONS), (n, self.days))
        hours = self.rng.uniform(7, 10, (n, self.days))
        self.present = draws < 0.85  # the days a cadre was in the village
        cid = 0
        for i, (pid, village, town, unit, _) in enumerate(self.cadres):
            for d, day in enumerate(self.day_list):
                if draws[i, d] >= 0.96:
                    continue  # forgot to check in
                cid += 1
                stamp = at(day, float(hours[i, d]))
                inside = bool(self.present[i, d])
                yield dict(id=cid, person_id=pid, village_id=village, township_id=town,
                           unit_id=unit, day=day, in_village=inside,
                           reason=None if inside else REASONS[reasons[i, d]],
                           created_at=stamp, updated_at=stamp)

    def _spread(self, total: int, activity_sigma: float) -> np.ndarray:
        """`total` records over (cadre, day) cells: busy and quiet cadres, village days only."""
        weight = self.rng.lognormal(0, activity_sigma, len(self.cadres))[:, None] * self.present
        return self.rng.multinomial(total, (weight / weight.sum()).ravel()).reshape(weight.shape)

    def visits(self) -> Iterator[dict[str, Any]]:
        """The eight visits; one in ten needs follow-up and enters the problem ledger."""
        counts = self._spread(round(VISITS * self.scale), 0.5)
        self.visit_counts = counts
        self.problems: list[dict[str, Any]] = []
        kinds = np.array(visit_store.KINDS)
        kind_p = np.array([25, 30, 8, 7, 5, 8, 7, 10]) / 100
        vid = 0
        for i, (pid, village, town, unit, _) in enumerate(self.cadres):
            households = self.village_households[village]
            total = int(counts[i].sum())
            if not total:
                continue
            picks = kinds[self.rng.choice(len(kinds), total, p=kind_p)]
            homes = self.rng.choice(households, total)
            hours = self.rng.uniform(8, 19, total)
            texts = self.rng.integers(0, len(HEARD), total)
            follow = self.rng.random(total) < 0.1
            k = 0
            for d in np.nonzero(counts[i])[0]:
                day = self.day_list[d]
                for _ in range(int(counts[i, d])):
                    vid += 1
                    stamp = at(day, float(hours[k]))
                    kind = str(picks[k])
                    yield dict(id=vid, person_id=pid, village_id=village, township_id=town,
                               unit_id=unit, day=day, kind=kind, household_id=int(homes[k]),
                               household_category="poor" if kind == "weak" else None,
                               heard=HEARD[texts[k]], wants=WANTS[texts[k]],
                               followup=bool(follow[k]), photo_file_id=None,
                               latitude=None, longitude=None, created_at=stamp)
                    if follow[k]:
                        self.problems.append(self._problem(vid, pid, village, town, day,
                                                           stamp, int(texts[k])))
                    k += 1

    def _problem(self, vid: int, pid: int, village: int, town: int, day: dt.date,
                 stamp: dt.datetime, topic: int) -> dict[str, Any]:
        age = (self.day_list[-1] - day).days
        stage = min(len(PROBLEM_STATUS) - 1, int(self.rng.integers(0, 1 + age // 7)))
        moved = stamp + dt.timedelta(days=float(self.rng.uniform(0, max(1, age))))
        return dict(id=len(self.problems) + 1, village_id=village, township_id=town,
                    person_id=pid, visit_id=vid,
                    category=visit_store.PROBLEM_CATEGORIES[topic % 7],
                    description=f"{HEARD[topic]}：{WANTS[topic]}",
                    status=PROBLEM_STATUS[stage], priority=int(self.rng.integers(1, 4)),
                    created_at=stamp, updated_at=moved if stage else stamp)

    def disputes(self) -> Iterator[dict[str, Any]]:
        """Disputes reported by cadres; each has steps, the older the further along."""
        counts = self._spread(round(DISPUTES * self.scale), 0.8)
        self.dispute_counts = counts
        self.steps: list[dict[str, Any]] = []
        self.resolved: dict[tuple[int, int], int] = {}  # (cadre index, week) -> resolved
        did = 0
        for i, (pid, village, town, unit, _) in enumerate(self.cadres):
            for d in np.nonzero(counts[i])[0]:
                for _ in range(int(counts[i, d])):
                    did += 1
                    yield self._dispute(did, i, pid, village, town, unit, int(d))

    def _dispute(self, did: int, i: int, pid: int, village: int, town: int, unit: int,
                 d: int) -> dict[str, Any]:
        day, rng = self.day_list[d], self.rng
        opened = at(day, float(rng.uniform(8, 19)))
        status, stamp, level, verdict = "reported", opened, "village", None
        self._step(did, pid, "report", "reported", opened)
        for _ in range(int(rng.integers(0, 4))):
            later = stamp + dt.timedelta(days=float(rng.exponential(4)))
            if later.astimezone(TZ).date() > self.day_list[-1] or status == "resolved":
                break
            action = str(rng.choice(("mediate", "resolve", "escalate"), p=(0.4, 0.45, 0.15)))
            if dispute_store.ACTIONS[action] not in dispute_store.ALLOWED[status]:
                action = "resolve"
            status, stamp = dispute_store.ACTIONS[action], later
            if action == "escalate":
                level = str(rng.choice(dispute_store.LEVELS))
            if status == "resolved":
                verdict = str(rng.choice(dispute_store.VERDICTS, p=(0.85, 0.15)))
                week = (later.astimezone(TZ).date() - self.start).days // 7
                self.resolved[(i, week)] = self.resolved.get((i, week), 0) + 1
            self._step(did, pid, action, status, later)
        flags = [f for f in dispute_store.FLAGS if rng.random() < 0.05]
        return dict(id=did, person_id=pid, village_id=village, township_id=town, unit_id=unit,
                    category=str(rng.choice(dispute_store.CATEGORIES)),
                    parties="村民甲与村民乙", people_count=int(rng.integers(2, 12)),
                    flags={f: True for f in flags}, description="宅基地边界争议",
                    urgency=str(rng.choice(dispute_store.URGENCIES, p=(0.3, 0.6, 0.1))),
                    status=status, level=level, verdict=verdict,
                    escalation_stage=0 if status == "resolved" else int(rng.integers(0, 3)),
                    opened_on=day, created_at=opened, last_step_at=stamp)

    def _step(self, did: int, pid: int, action: str, status: str, when: dt.datetime) -> None:
        self.steps.append(dict(id=len(self.steps) + 1, dispute_id=did, by_person_id=pid,
                               action=action, status=status, note=None, at=when))

    def aid(self) -> Iterator[dict[str, Any]]:
        """Condolence visits before the holidays, donations, labour export and projects."""
        holidays = [(name, day) for name, day in (
            ("new_year", dt.date(self.start.year + 1, 1, 1)),
            ("spring_festival", spring_festival(self.start.year + 1)))
            if self.start <= day <= self.day_list[-1] + dt.timedelta(days=14)]
        total = round(AID_PER_VILLAGE * len(self.villages) * self.scale)
        rng, aid_id = self.rng, 0
        for n in range(total):
            aid_id += 1
            pid, village, town, unit, _ = self.cadres[int(rng.integers(len(self.cadres)))]
            kind = aid_store.KINDS[int(rng.choice(4, p=(0.5, 0.25, 0.15, 0.1)))]
            row = dict(id=aid_id, person_id=pid, village_id=village, township_id=town,
                       unit_id=unit, kind=kind, household_id=None, holiday=None, amount=None,
                       items=None, people_count=None, destination=None, project_name=None)
            day = self.day_list[int(rng.integers(self.days))]
            if kind == "condolence" and holidays:
                row["holiday"], feast = holidays[n % len(holidays)]
                day = max(self.start, feast - dt.timedelta(days=int(rng.integers(1, 15))))
                row["household_id"] = int(rng.choice(self.village_households[village]))
                row["amount"] = int(rng.choice((200, 300, 500, 800)))
            elif kind == "condolence":
                row["kind"], row["items"] = "donation", "米、油"
            elif kind == "donation":
                row["items"] = str(rng.choice(("棉被", "米、油", "书包文具", "取暖器")))
                row["amount"] = int(rng.integers(5, 200)) * 100
            elif kind == "labour":
                row["people_count"] = int(rng.integers(1, 6))
                row["destination"] = str(rng.choice(DESTINATIONS))
            else:
                row["project_name"] = "村道硬化"
                row["amount"] = int(rng.integers(3, 30)) * 10_000
            row.update(day=min(day, self.day_list[-1]), created_at=at(day, 15))
            yield row

    def summaries(self) -> Iterator[dict[str, Any]]:
        """A summary for each week whose Friday deadline has passed (19 in 20 submit); the
        team leader accepts it by the Monday after."""
        week_starts = sorted({week_start(d) for d in self.day_list})
        sid = 0
        for w, monday in enumerate(week_starts):
            friday = monday + dt.timedelta(days=4)
            if friday > self.day_list[-1]:
                break
            cols = [d for d, day in enumerate(self.day_list) if week_start(day) == monday]
            for i, (pid, village, town, unit, _) in enumerate(self.cadres):
                if self.rng.random() >= 0.95:
                    continue
                sid += 1
                days_in = int(self.present[i, cols].sum())
                figures = {"days_in_village": days_in,
                           "visits": int(self.visit_counts[i, cols].sum()),
                           "disputes_opened": int(self.dispute_counts[i, cols].sum()),
                           "disputes_resolved": self.resolved.get((i, w), 0), "aid": 0,
                           "visits_by_kind": {}}
                submitted = at(friday, float(self.rng.uniform(9, 17)))
                leader = self.leaders.get(village)
                accepted = at(friday + dt.timedelta(days=3), 10) if leader != pid else None
                yield dict(id=sid, person_id=pid, village_id=village, township_id=town,
                           unit_id=unit, week_start=monday, figures=figures,
                           achievements=TEXTS[sid % 3], problems="道路、饮水", plan="继续走访",
                           short_reason="参加县里会议" if days_in < 5 else None,
                           status="accepted" if accepted else "submitted",
                           submitted_at=submitted, accepted_at=accepted,
                           accepted_by=leader if accepted else None)


async def generate(url: str, *, scale: float, start: dt.date, days: int, seed: int,
                   schema: str | None = None) -> list[list[Any]]:
    """Fill an empty database with a campaign; rows and seconds per table."""
    url = normalise_database_url(url)
    kwargs: dict[str, Any] = (
        {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {})
    await asyncio.to_thread(upgrade, url, **kwargs)
    db = Database(url, **kwargs)
    try:
        async with db.read() as session:
            if (await session.execute(select(func.count()).select_from(Person))).scalar_one():
                raise SystemExit("the database already holds people: give an empty one")
        camp, out = Campaign(start=start, days=days, scale=scale, seed=seed), Writer(db)
        camp.places()
        steps: list[tuple[Any, Callable[[], Iterator[dict[str, Any]]]]] = [
            (Township, lambda: ({"id": i, "name": n} for n, i in camp.towns.items())),
            (Village, lambda: ({"id": i, "township_id": camp.towns[t], "name": v}
                               for (t, v), i in camp.villages.items())),
            (Unit, lambda: ({"id": i, "name": n} for n, i in camp.units.items())),
            (Person, camp.people), (Household, camp.households), (Pairing, camp.pairings),
            (Checkin, camp.checkins), (Visit, camp.visits),
            (Problem, lambda: iter(camp.problems)), (Dispute, camp.disputes),
            (DisputeStep, lambda: iter(camp.steps)), (Aid, camp.aid), (Summary, camp.summaries),
        ]
        for model, rows in steps:
            await out.put(model, rows())
        await out.rollups()
        if not db.is_sqlite:  # ids were given: move each sequence past them
            async with db.engine.begin() as conn:
                for model, _ in steps:
                    name = model.__table__.name
                    await conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"))
    finally:
        await db.dispose()
    return out.report



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="DATABASE_URL, e.g. sqlite:///campaign.db")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25),
                        help="the campaign's first day")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema", default=None, help="PostgreSQL schema (search_path)")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"generating a campaign of {args.days} days from {args.start}, scale {args.scale:g}, "
          f"seed {args.seed}", flush=True)
    report = await generate(args.url, scale=args.scale, start=args.start, days=args.days,
                            seed=args.seed, schema=args.schema)
    print()
    print(table(["table", "rows", "seconds"], report))
    print(f"\ntotal {time.monotonic() - started:.1f} s", file=sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
