"""Rollups for /stats: visits per day and week and township, check-ins per cadre and week, the
problem ledger per village and status, disputes opened per week, problems per UTC day.

A county's figures over a week at 500,000 visits cost ~50 ms of index reads over the raw rows
(a week's ~39,000 visits and ~14,000 check-ins, every problem of the ledger), and a whole
campaign's half a second; the rollups hold the same counts in ~200 rows a day, one row per
cadre and week and one per village and status:

- `VisitTally`: visits per (day, township, whether the visit has a village, kind, household
  category). A township scope reads its rows with a village, as the raw query does.
- `ProblemTally`: the ledger's problems per village, township and status as they stand now
  (/stats and the export count "the ledger now" from ~3,000 rows, not every problem).
- `CheckinWeek`: per cadre and Monday week, the days checked in and the days in the village
  as 7-bit masks, so a part week at either end of a period is counted exactly (the bits of
  its days), and each cadre-week's compliance is one comparison; and whether the week's
  summary is in (so /stats counts summaries from the same rows).
- `VisitWeek`: the county's visits by Monday week, kind and household category;
  `DisputeWeek`: its disputes by the Monday week they were opened, category and status. A
  county's period reads its whole weeks from these (~40 and ~25 rows a week) and its part
  weeks from VisitTally or the disputes' index.
- `ProblemDay`: the county's problems per UTC day raised, and last stepped in their status.
  A period's local days begin at an hour of a UTC day that depends on the time zone, which the
  hook does not know: whole UTC days are read from here, the hours at either end from the
  problems. (A township's problems and disputes are read from its own index entries: fewer
  than the county's rollup rows.)

They are kept by an `after_flush` hook on every ORM session, in the transaction that writes
the raw rows: whoever adds, changes or deletes a Visit, Problem, Dispute, Checkin or Summary
through the ORM (today storage.visits.add_visit, storage.problems' raise and steps,
storage.disputes, storage.checkins.check_in, storage.summaries, tests' fixtures, a later
correction) updates them without knowing about them — a visit, problem or dispute counts in
or out of its tallies (one upsert per key that changed), a check-in's day or a summary is set
in (or cleared from) its cadre's week (one upsert: the bit, and the counts from the bit as it
was). Core bulk writes bypass the hook: after them, `rebuild` (the benchmark generator;
migrations 0011 and 0029 filled them with a frozen copy of its statements).
A roster move changes no rollup: they keep each record's own village and township, and
people's figures join the cadre's current placement at read time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Connection,
    Date,
    Insert,
    Integer,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session

from storage.models import (
    Checkin,
    CheckinWeek,
    Dispute,
    DisputeWeek,
    Problem,
    ProblemDay,
    ProblemTally,
    Summary,
    Visit,
    VisitTally,
    VisitWeek,
)

WHOLE_WEEK = 0b1111111
NO_TOWNSHIP = 0  # VisitTally.township_id of a visit without one
NO_CATEGORY = ""  # VisitTally.household_category of a visit without one
NO_PLACE = 0  # ProblemTally.village_id / township_id of a problem without one
RAISED, STEPPED = "raised", "step"  # ProblemDay.what: by created_at, by updated_at and status
_CHECKINS = select(Checkin.person_id, Checkin.day, Checkin.in_village)
# A week's summary, as a row like a check-in's whose in_village is NULL.
_SUMMARIES = select(Summary.person_id, Summary.week_start, null())


def monday_of(day: dt.date) -> dt.date:
    """The Monday of a day's week."""
    return day - dt.timedelta(days=day.weekday())


def split_weeks(start: dt.date, end: dt.date) -> tuple[
        tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """A period as its whole Monday weeks (the first and last Monday, None: none) and the
    days before and after them (first and last day of each part, inclusive)."""
    first = start + dt.timedelta(days=-start.weekday() % 7)
    last = end - dt.timedelta(days=(end.weekday() + 1) % 7) - dt.timedelta(days=6)
    if first > last:
        return None, [(start, end)]
    parts = [(start, first - dt.timedelta(days=1))] if start < first else []
    after = last + dt.timedelta(days=7)
    return (first, last), parts + ([(after, end)] if after <= end else [])


def day_mask(start: dt.date, end: dt.date, monday: dt.date) -> int:
    """The bits of the days of `monday`'s week that lie from `start` to `end` inclusive."""
    first = max(0, (start - monday).days)
    last = min(6, (end - monday).days)
    return sum(1 << d for d in range(first, last + 1))


def bit_set(column: Any, bit: int | BindParameter[Any]) -> ColumnElement[int]:
    """1 if `bit` (a value or a parameter) is set in an integer column, else 0."""
    return case((column.op("&")(bit) != 0, 1), else_=0)


def bits_in(column: Any, mask: int) -> ColumnElement[int]:
    """How many of `mask`'s bits are set in an integer column (portable SQL)."""
    terms = [bit_set(column, 1 << d) for d in range(7) if mask >> d & 1]
    total: Any = literal(0)
    for term in terms:
        total = total + term
    return total


def _upsert(conn: Connection, model: Any) -> Any:
    return postgresql.insert(model) if conn.dialect.name == "postgresql" else sqlite.insert(model)


def _visit_key(day: dt.date, village_id: int | None, township_id: int | None, kind: str,
               category: str | None) -> dict[str, Any]:
    return {"day": day, "township_id": township_id or NO_TOWNSHIP,
            "has_village": village_id is not None, "kind": kind,
            "household_category": category or NO_CATEGORY}


def _visit_week_key(day: dt.date, kind: str, category: str | None) -> dict[str, Any]:
    return {"week_start": monday_of(day), "kind": kind,
            "household_category": category or NO_CATEGORY}


def _dispute_key(opened_on: dt.date, category: str, status: str) -> dict[str, Any]:
    return {"week_start": monday_of(opened_on), "category": category, "status": status}


def _problem_key(village_id: int | None, township_id: int | None, status: str) -> dict[str, Any]:
    return {"village_id": village_id or NO_PLACE, "township_id": township_id or NO_PLACE,
            "status": status}


def utc_day(moment: dt.datetime) -> dt.date:
    """The UTC day of an aware moment (ProblemDay's day)."""
    return moment.astimezone(dt.UTC).date()


def _raised_key(created_at: dt.datetime) -> dict[str, Any]:
    return {"what": RAISED, "day": utc_day(created_at), "status": ""}


def _stepped_key(updated_at: dt.datetime, status: str) -> dict[str, Any]:
    return {"what": STEPPED, "day": utc_day(updated_at), "status": status}


# Records that make a CheckinWeek: the fields it is counted from (person, day, ...).
_WEEKLY: dict[type, tuple[str, ...]] = {
    Checkin: ("person_id", "day", "in_village"), Summary: ("person_id", "week_start"),
}

_VISIT = ("day", "village_id", "township_id", "kind", "household_category")
# A counted record's tallies: each the tally, its count column, the record's fields the key is
# made of, and how.
_Counted = tuple[Any, str, tuple[str, ...], Callable[..., dict[str, Any]]]
_COUNTED: dict[type, tuple[_Counted, ...]] = {
    Visit: ((VisitTally, "visits", _VISIT, _visit_key),
            (VisitWeek, "visits", ("day", "kind", "household_category"), _visit_week_key)),
    Problem: ((ProblemTally, "problems", ("village_id", "township_id", "status"), _problem_key),
              (ProblemDay, "problems", ("created_at",), _raised_key),
              (ProblemDay, "problems", ("updated_at", "status"), _stepped_key)),
    Dispute: ((DisputeWeek, "disputes", ("opened_on", "category", "status"), _dispute_key),),
}


def _key_of(obj: Any, fields: tuple[str, ...], make: Callable[..., dict[str, Any]],
            before: bool) -> tuple[tuple[str, Any], ...]:
    """A record's tally key as it is now, or as it was before this flush."""
    values = []
    for name in fields:
        history = inspect(obj).attrs[name].history
        if before and history.deleted:
            values.append(history.deleted[0])
        elif before and history.unchanged:
            values.append(history.unchanged[0])
        else:  # now, or not loaded and not changed: the flushed value is the old one
            values.append(getattr(obj, name))
    return tuple(make(*values).items())


_Deltas = Counter[tuple[Any, str, tuple[tuple[str, Any], ...]]]  # (tally, column, key): +/-


def _deltas(session: Session) -> _Deltas:
    deltas: _Deltas = Counter()
    changes = [(obj, 1, False) for obj in session.new]
    changes += [(obj, -1, True) for obj in session.deleted]
    changes += [change for obj in session.dirty
                if type(obj) in _COUNTED and session.is_modified(obj)
                for change in ((obj, -1, True), (obj, 1, False))]
    for obj, sign, before in changes:
        for tally, column, fields, make in _COUNTED.get(type(obj), ()):
            deltas[tally, column, _key_of(obj, fields, make, before)] += sign
    return deltas


def _old(attrs: Any, obj: Any, name: str) -> Any:
    """A field's value before this flush."""
    return (attrs[name].history.deleted or [getattr(obj, name)])[0]


def _week_changes(session: Session) -> list[tuple[int, dt.date, str, bool | None]]:
    """What this flush does to cadres' weeks: (person, day, "checkin" or "summary", the new
    state: in the village True, away False, none None; a summary: in True, none None)."""
    cleared: list[tuple[int, dt.date, str, bool | None]] = []
    set_: list[tuple[int, dt.date, str, bool | None]] = []
    for obj in (*session.new, *session.deleted, *session.dirty):
        fields = _WEEKLY.get(type(obj))
        if fields is None:
            continue
        what = "checkin" if isinstance(obj, Checkin) else "summary"
        attrs = inspect(obj).attrs
        if obj in session.dirty and not any(attrs[n].history.has_changes() for n in fields):
            continue  # a location, a reason, a summary's text: no figure changes
        if obj not in session.new and (obj in session.deleted or any(
                attrs[n].history.deleted for n in fields[:2])):  # gone from where it was
            cleared.append((_old(attrs, obj, fields[0]), _old(attrs, obj, fields[1]), what,
                            None))
        if obj not in session.deleted:
            state = bool(obj.in_village) if what == "checkin" else True
            set_.append((obj.person_id, getattr(obj, fields[1]), what, state))
    return cleared + set_


# The hook's upserts, built once per dialect and tally (SQLAlchemy then reuses their compiled
# form): a tally's key and delta, a check-in's day and a week's summary flag are parameters.
_UPSERTS: dict[tuple[Any, ...], Any] = {}


def _prebuilt(conn: Connection, key: tuple[Any, ...], build: Callable[[Any], Any]) -> Any:
    stmt = _UPSERTS.get((conn.dialect.name, *key))
    if stmt is None:
        stmt = _UPSERTS[(conn.dialect.name, *key)] = build(_upsert(conn, key[0]))
    return stmt


def _tally_upsert(tally: Any, column: str, names: tuple[str, ...]) -> Callable[[Any], Any]:
    def build(insert_: Any) -> Any:
        counted = getattr(tally, column)
        delta = bindparam("k_delta", type_=counted.type)
        stmt = insert_.values({**{name: bindparam(f"k_{name}", type_=getattr(tally, name).type)
                                  for name in names}, column: delta})
        return stmt.on_conflict_do_update(index_elements=list(names),
                                          set_={column: counted + delta})
    return build


def _count(conn: Connection, deltas: _Deltas) -> None:
    # In one order (PostgreSQL locks each tally row it updates until the commit: two
    # transactions taking the same rows in different orders could deadlock).
    for (tally, column, key), delta in sorted(deltas.items(), key=lambda d: (
            d[0][0].__name__, repr(d[0][2]))):
        if delta:
            names = tuple(name for name, _ in key)
            stmt = _prebuilt(conn, (tally, column, names), _tally_upsert(tally, column, names))
            conn.execute(stmt, {**{f"k_{name}": value for name, value in key}, "k_delta": delta})


def _int(name: str) -> Any:
    return bindparam(name, type_=Integer)


def _summary_upsert(insert_: Any) -> Any:
    summary = bindparam("k_summary", type_=Boolean)
    stmt = insert_.values(week_start=bindparam("k_week", type_=Date), person_id=_int("k_person"),
                          checked=0, inside=0, checkins=0, days=0, summary=summary)
    return stmt.on_conflict_do_update(index_elements=["week_start", "person_id"],
                                      set_={"summary": summary})


def _day_upsert(insert_: Any) -> Any:
    bit, keep, checked, inside = _int("k_bit"), _int("k_keep"), _int("k_checked"), _int("k_inside")
    here, in_village = _int("k_here"), _int("k_in")
    stmt = insert_.values(week_start=bindparam("k_week", type_=Date), person_id=_int("k_person"),
                          checked=checked, inside=inside, checkins=here, days=in_village,
                          summary=False)
    return stmt.on_conflict_do_update(
        index_elements=["week_start", "person_id"],
        set_={"checked": CheckinWeek.checked.op("&")(keep).op("|")(checked),
              "inside": CheckinWeek.inside.op("&")(keep).op("|")(inside),
              "checkins": CheckinWeek.checkins - bit_set(CheckinWeek.checked, bit) + here,
              "days": CheckinWeek.days - bit_set(CheckinWeek.inside, bit) + in_village})


def _set_day(conn: Connection, person_id: int, day: dt.date, what: str,
             state: bool | None) -> None:
    """One upsert: a day's bit set or cleared in its cadre's week (the counts follow), or the
    week's summary flag. Every right-hand side reads the row as it was."""
    if what == "summary":
        if day != monday_of(day):
            return  # a summary of a week not starting on a Monday is no week's
        conn.execute(_prebuilt(conn, (CheckinWeek, "summary", ()), _summary_upsert),
                     {"k_week": day, "k_person": person_id, "k_summary": state is not None})
        return
    bit, here, inside = 1 << day.weekday(), int(state is not None), int(bool(state))
    keep = WHOLE_WEEK - bit
    conn.execute(_prebuilt(conn, (CheckinWeek, "day", ()), _day_upsert),
                 {"k_week": monday_of(day), "k_person": person_id, "k_bit": bit, "k_keep": keep,
                  "k_checked": bit * here, "k_inside": bit * inside, "k_here": here,
                  "k_in": inside})


@event.listens_for(Session, "after_flush")
def _keep_rollups(session: Session, _context: Any) -> None:
    """Every flush that writes visits, problems, check-ins or weekly summaries updates the
    rollups in its transaction: a visit or problem counts in (or out of) its tally, a
    check-in's day or a summary is set in (or cleared from) its cadre's week; one upsert
    each."""
    deltas = _deltas(session)
    weeks = _week_changes(session)
    if not deltas and not weeks:
        return
    conn = session.connection()
    _count(conn, deltas)
    for person_id, day, what, state in weeks:  # clearing first: a day may move to another
        _set_day(conn, person_id, day, what, state)


# --- rebuilding from the raw rows ----------------------------------------------------------

def _visit_tallies() -> Insert:
    township = func.coalesce(Visit.township_id, NO_TOWNSHIP)
    placed = case((Visit.village_id.is_(None), False), else_=True)
    category = func.coalesce(Visit.household_category, NO_CATEGORY)
    rows = (select(Visit.day, township, placed, Visit.kind, category, func.count())
            .group_by(Visit.day, township, placed, Visit.kind, category))
    columns = ["day", "township_id", "has_village", "kind", "household_category", "visits"]
    return insert(VisitTally).from_select(columns, rows)


def _tallied(rows: Iterable[Any], make: Callable[..., dict[str, Any]],
             column: str) -> list[dict[str, Any]]:
    """Tally rows from raw rows (their key's fields, then how many)."""
    counts: Counter[tuple[tuple[str, Any], ...]] = Counter()
    for *fields, count in rows:
        counts[tuple(make(*fields).items())] += count
    return [{**dict(key), column: count} for key, count in counts.items()]


def _grouped(conn: Connection, make: Callable[..., dict[str, Any]], column: str,
             *fields: Any) -> list[dict[str, Any]]:
    """A tally's rows counted from the records grouped by the fields its key is made of."""
    return _tallied(conn.execute(select(*fields, func.count()).group_by(*fields)), make, column)


def _problem_tallies() -> Insert:
    village = func.coalesce(Problem.village_id, NO_PLACE)
    township = func.coalesce(Problem.township_id, NO_PLACE)
    rows = (select(village, township, Problem.status, func.count())
            .group_by(village, township, Problem.status))
    return insert(ProblemTally).from_select(
        ["village_id", "township_id", "status", "problems"], rows)


def checkin_weeks(rows: Iterable[tuple[int, dt.date, bool | None]]) -> list[dict[str, Any]]:
    """CheckinWeek rows from check-ins' (person_id, day, in_village) and summaries'
    (person_id, week_start, None); a summary of a week not starting on a Monday is no
    week's."""
    weeks: dict[tuple[dt.date, int], list[int]] = {}
    for person_id, day, in_village in rows:
        masks = weeks.setdefault((monday_of(day), person_id), [0, 0, 0])
        if in_village is None:
            masks[2] |= day.weekday() == 0
            continue
        masks[0] |= 1 << day.weekday()
        if in_village:
            masks[1] |= 1 << day.weekday()
    return [{"week_start": monday, "person_id": pid, "checked": checked, "inside": inside,
             "checkins": checked.bit_count(), "days": inside.bit_count(),
             "summary": bool(summary)}
            for (monday, pid), (checked, inside, summary) in weeks.items()
            if checked or summary]


_CHUNK = 5_000


def rebuild_sync(conn: Connection) -> None:
    """Rebuild the rollups from the raw rows, in a sync connection's transaction."""
    for model in (VisitTally, VisitWeek, ProblemTally, ProblemDay, DisputeWeek, CheckinWeek):
        conn.execute(delete(model))
    conn.execute(_visit_tallies())
    _insert(conn, VisitWeek, _grouped(conn, _visit_week_key, "visits", Visit.day, Visit.kind,
                                      Visit.household_category))
    conn.execute(_problem_tallies())
    _insert(conn, ProblemDay, _grouped(conn, _raised_key, "problems", Problem.created_at)
            + _grouped(conn, _stepped_key, "problems", Problem.updated_at, Problem.status))
    _insert(conn, DisputeWeek, _grouped(conn, _dispute_key, "disputes", Dispute.opened_on,
                                        Dispute.category, Dispute.status))
    rows: Any = conn.execute(union_all(_CHECKINS, _SUMMARIES)).all()
    _insert(conn, CheckinWeek, checkin_weeks((pid, day, inside) for pid, day, inside in rows))


def _insert(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _CHUNK):
        conn.execute(insert(model), rows[i:i + _CHUNK])


async def rebuild(conn: AsyncConnection) -> None:
    """Rebuild the rollups from the raw rows, in the connection's transaction."""
    await conn.run_sync(rebuild_sync)
