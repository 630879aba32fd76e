"""/export [period] [place]: an XLSX workbook of the campaign's records, sent as a document.

The command answers at once; the workbook is built afterwards in a background task with its own
read session (never inside the update's write transaction), written to a file under
`export_dir`, and sent through the outbox as a path upload. An export larger than a bot may
send (MAX_UPLOAD_BYTES) comes as several workbooks cut by days, announced by one message that
says how it was cut (reports/xlsx_parts.py).

The folder is 0700 and every file in it 0600 (storage/files.py): they hold phone numbers and
the audit trail. A file is removed once its request is final, and whatever became of it, the
sweeper (scheduler/sweep.py) removes it EXPORT_KEEP_HOURS after it was written; a request that
finds its file swept tells the requester the export expired (common/delivery.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot

from common.context import AppContext
from common.delivery import deliver_rows, upload_path
from common.i18n import N_, Span, Translator, catalog, format_span, translator
from common.ratelimit import REPLY
from common.settings import Settings
from handlers.base import Turn
from handlers.parsing import ParseError, period_refusal, split_period
from handlers.places import ask_which
from handlers.registry import READERS, command
from reports.audit_words import AuditWords
from reports.figures import scope_figures
from reports.targets import rules_for
from reports.xlsx import Part, Sheet, TooLarge, write_workbook
from storage import aid, cases, disputes, export, outbox, publicity, rectification, visits
from storage import problems as store_problems
from storage.files import new_private_file
from storage.outbox import Outgoing
from storage.scope import (
    COUNTY_ROLES,
    AmbiguousPlace,
    OutOfScope,
    Scope,
    UnknownPlace,
    own_scope,
    resolve,
)
from storage.targets import TargetRules

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what Telegram accepts from a bot
# The workbooks' names in export_dir (a part's adds -partN): what the sweeper may remove.
FILE_PREFIX = "export-"
PROBLEM_STATUSES = ("raised", "in_hand", "solved", "feedback", "checked")
# Coded values shown by name: column -> message id prefix.
CODES: dict[str, dict[str, str]] = {
    "visits": {"kind": "visit.kind.", "household_category": "visit.category."},
    "problems": {"category": "visit.problem.", "status": "export.problem_status.",
                 "priority": "problem.priority."},
    "problem_steps": {"category": "visit.problem.", "action": "problem.action.",
                      "status": "export.problem_status.", "addressee": "problem.addressee."},
    "disputes": {"category": "dispute.category.", "flags": "dispute.flag.",
                 "urgency": "dispute.urgency.", "status": "dispute.status.",
                 "level": "export.level.", "verdict": "dispute.verdict.",
                 "handover_level": "export.level."},
    "dispute_steps": {"category": "dispute.category.", "action": "export.action.",
                      "status": "dispute.status."},
    "checkins": {"reason": "checkin.reason."},
    "aid": {"kind": "aid.kind.", "holiday": "aid.holiday."},
    "publicity": {"kind": "publicity.kind.", "topics": "publicity.topic."},
    "cases": {"kind": "case.kind.", "status": "case.status."},
    "summaries": {"figures": "summary.label.", "status": "export.summary_status."},
    "pairings": {"rank": "export.rank.", "household_category": "visit.category."},
    "people": {"rank": "export.rank.", "role": "role."},
    "appraisals": {"rank": "export.rank.", "grade": "appraise.grade.",
                   "status": "export.summary_status."},
    "stage_summaries": {"kind": "stage.kind.", "rank": "export.rank.", "figures": "stage.label.",
                        "status": "stage.status.", "grade": "appraise.grade."},
    "rectification": {"types": "rectify.type."},
    "winter": {"item": "winter.item.", "unit": "winter.unit."},
    "targets": {"target": "targets.target."},
    "leave": {"status": "leave.status."},
    "systems": {"lacking": "rectify.kind."},
    "coverage": {"lacking": "systems.lack."},
    "inspections": {"kind": "inspect.kind."},
    "spot_checks": {"record_kind": "spotcheck.kind.", "status": "spotcheck.status."},
    "training": {"township": "training."},  # "county": 全县
}
# Columns the workbook leaves out: internal ids the chat never shows. The numbers of disputes,
# problems and cases stay: the chat quotes them (纠纷 #12), and a reader may quote them back.
HIDDEN: dict[str, tuple[str, ...]] = {
    kind: ("id",) for kind in ("visits", "checkins", "aid", "publicity", "summaries",
                               "pairings", "people", "audit", "appraisals", "stage_summaries",
                               "inspections", "training")
} | {"problems": ("visit_id",), "audit": ("id", "entity_id")}  # the object is named instead
AID_TOTALS = ("count", "condolence_count", "condolence_amount", "donation_count",
              "donation_value", "labour_people", "project_count", "project_funds")
PUBLICITY_TOTALS = ("sessions", "attendance", "slogans", "boards")
RECTIFICATION_TOTALS = ("marked", "measures", "rules", "complete")

# Exports being built, by chat (one at a time each); AppContext.spawn keeps them referenced.
RUNNING: dict[int, asyncio.Task[None]] = {}


@dataclass(frozen=True)
class Job:
    """One export to build: for whom, which records, in which language."""

    chat_id: int
    person_id: int
    role: str
    locale: str
    scope: Scope
    start: dt.date
    end: dt.date

    @property
    def kinds(self) -> list[str]:
        """The sheets: every record kind; the roster for the county roles; the audit trail for
        the office's whole-county export (it names no place to filter by)."""
        allowed = set()
        if self.role in COUNTY_ROLES:
            allowed.add("people")
        if self.role == "office" and self.scope.kind == "county":
            allowed.add("audit")
        return [k for k in export.KINDS if k not in ("people", "audit") or k in allowed]

    @property
    def filename(self) -> str:
        """The name the requester sees: what the file holds, the place and the days, in
        their language (驻村工作台账-新村-11月23日至11月28日.xlsx); never an internal id."""
        return file_name(self.locale, self.scope, self.start, self.end)

    def part_filename(self, start: dt.date, end: dt.date, number: int, count: int) -> str:
        """A part's name, with its own days: …-11月1日至11月15日-第2部分共3部分.xlsx."""
        return file_name(self.locale, self.scope, start, end, part=(number, count))


# A day in a file name: Babel patterns, with the year when the days are of two years.
FILE_DAY = {"zh": ("M月d日", "y年M月d日"), "en": ("dMMM", "dMMMy")}
# What a file name may not hold (Windows' and Unix's reserved characters, controls).
UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME_CHARS = 120


def file_name(locale: str, scope: Scope, start: dt.date, end: dt.date, *,
              part: tuple[int, int] | None = None, title: str = "export.file_name",
              suffix: str = ".xlsx") -> str:
    """A document's name for its reader (the file on disk keeps FILE_PREFIX's): the catalog's
    `title` (export.file_name: a workbook's) with the place (export.file_county for the
    county) and the days, and export.file_part for a part; safe as a file name on any
    system."""
    messages = catalog(locale)
    short, with_year = FILE_DAY.get(locale, FILE_DAY["en"])
    pattern = with_year if start.year != end.year else short
    babel = "zh_Hans_CN" if locale == "zh" else "en"
    first, last = (format_date(day, pattern, locale=babel) for day in (start, end))
    days = first if start == end else messages["export.file_span"].format(start=first, end=last)
    place = scope.name if scope.kind != "county" else messages["export.file_county"]
    name = messages[title].format(place=" ".join(place.split()), days=days)
    if part is not None:
        name = messages["export.file_part"].format(name=name, number=part[0], count=part[1])
    name = UNSAFE_IN_NAME.sub("_", name).strip(" .")[:MAX_NAME_CHARS]
    return f"{name}{suffix}"


def split_args(
    args: str, *, today: dt.date, campaign_start: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, str]:
    """A period and a place name, in any order ('上周 新村', '新村 11-25..11-30',
    'last week').

    Raises ParseError (what split_period raises) for a period it cannot take."""
    period, _named, place = split_period(args, today=today, campaign_start=campaign_start)
    return period, place


def scope_label(tr: Translator, scope: Scope) -> str:
    """The scope as a reader names it: a place, or the whole county."""
    return scope.name if scope.kind != "county" else tr("export.scope.county")


@command("export", roles=READERS, description=N_("help.export"), order=80)
async def export_command(turn: Turn, args: str) -> None:
    """Answer at once, then build the workbook in the background and send it."""
    assert turn.person is not None
    job = await _job(turn, args)
    if job is None:
        return
    running = RUNNING.get(turn.chat_id)
    if running is not None and not running.done():
        turn.say(turn.tr("export.busy"))
        return
    turn.say(turn.tr("export.preparing", scope=scope_label(turn.tr, job.scope),
                     period=Span(job.start, job.end)))
    app, bot = turn.app, turn.update.get_bot()
    turn.after_commit(lambda: start_export(app, bot, job))


async def _job(turn: Turn, args: str) -> Job | None:
    """The export the arguments ask for, or None after explaining why not."""
    assert turn.person is not None
    settings = turn.app.settings
    try:
        period, place = split_args(args, today=turn.today, campaign_start=settings.campaign_start)
        scope = await resolve(turn.session, person=turn.person, name=place or None)
    except ParseError as exc:
        turn.say(period_refusal(exc, turn.tr, today=turn.today))
        return None
    except UnknownPlace as exc:
        turn.say(turn.tr("export.unknown_place", name=str(exc)))
        return None
    except AmbiguousPlace as exc:
        await ask_which(turn, exc)
        return None
    except OutOfScope as exc:
        own = await own_scope(turn.session, person=turn.person)
        turn.say(turn.tr("export.out_of_scope", place=str(exc),
                         scope=scope_label(turn.tr, own) if own else ""))
        return None
    start, end = period or (settings.campaign_start, turn.today)
    return Job(turn.chat_id, turn.person.id, turn.person.role, turn.locale, scope, start, end)


def start_export(app: AppContext, bot: Bot, job: Job) -> asyncio.Task[None]:
    """Build and send an export in a background task, remembered until it ends."""
    return start_in_background(app, RUNNING, job.chat_id, run_export(app, bot, job))


def start_in_background(app: AppContext, running: dict[int, asyncio.Task[None]], chat_id: int,
                        work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run a chat's document building in a background task, in `running` until it ends."""
    task = app.spawn(work)
    running[chat_id] = task

    def forget(done: asyncio.Task[None]) -> None:
        if running.get(chat_id) is done:
            del running[chat_id]

    task.add_done_callback(forget)
    return task


async def run_export(app: AppContext, bot: Bot, job: Job) -> None:
    """Build the workbook, queue it (or the reason it could not be built) and send it."""
    failed = _text(job, translator(job.locale)("export.failed"))
    await send_built(app, bot, lambda: build_messages(app, job), failed=failed, what="export")


async def send_built(app: AppContext, bot: Bot, build: Callable[[], Awaitable[list[Outgoing]]],
                     *, failed: Outgoing, what: str) -> None:
    """Build a chat's messages, queue them (or `failed` when the building fails) and send."""
    try:
        messages = await build()
    except Exception:
        log.exception("the %s for chat %s failed", what, failed.chat_id)
        messages = [failed]
    try:
        async with app.db.write() as session:
            rows = await outbox.enqueue(session, messages=messages, now=app.clock.now(),
                                        claim=True)
        await deliver_rows(app, bot, rows, lane=REPLY)  # the file someone asked for
    except Exception:  # the outbox sender retries whatever was stored
        log.exception("could not queue or send the %s for chat %s", what, failed.chat_id)


async def build_export(app: AppContext, job: Job) -> Outgoing:
    """One workbook (the HTTP API's): the sendDocument request that sends it, or the reason
    it cannot be sent when it is over MAX_UPLOAD_BYTES."""
    [part] = await _write(app, job, limit=None)
    if part.size > MAX_UPLOAD_BYTES:
        _discard(part.path)
        return _text(job, translator(job.locale)("export.too_large"))
    return _document(job, part.path, part.counts)


async def export_file(app: AppContext, job: Job) -> Path | None:
    """The workbook build_export writes, as a file for a web download (the API's and the
    console's; the caller removes it once sent), or None when it is over MAX_UPLOAD_BYTES."""
    request = await build_export(app, job)
    spec = request.payload.get("_upload")
    return Path(spec["path"]) if spec else None


async def build_messages(app: AppContext, job: Job) -> list[Outgoing]:
    """What the chat gets: one workbook, or when that would be over MAX_UPLOAD_BYTES a message
    saying how the export was cut and each part's workbook."""
    limit = MAX_UPLOAD_BYTES
    try:
        parts = await _write(app, job, limit=limit)
    except TooLarge:
        log.warning("export for chat %s cannot be cut within %s bytes", job.chat_id, limit)
        return [_text(job, translator(job.locale)("export.too_large"))]
    if len(parts) == 1:
        return [_document(job, parts[0].path, parts[0].counts)]
    return _parts(job, parts, limit)


async def _write(app: AppContext, job: Job, *, limit: int | None) -> list[Part]:
    """Write the workbook (or its parts, within `limit`) to files under export_dir."""
    path = new_private_file(Path(app.settings.export_dir), prefix=FILE_PREFIX, suffix=".xlsx")
    try:
        async with app.db.read() as session:
            tz = app.settings.tz
            summary = await summary_rows(session, job, now=app.clock.now(), tz=tz,
                                         settings=app.settings)
            audit = None
            if "audit" in job.kinds:
                audit = AuditWords(job.locale, await export.names_by_id(session))
            rules = rules_for(app.settings, app.clock.now().astimezone(tz).date())
            parts = await write_workbook(path, locale=job.locale, tz=tz, summary=summary,
                                         sheets=_sheets(session, job, tz=tz, audit=audit,
                                                        rules=rules),
                                         limit=limit)
    except BaseException:
        _discard(path)
        raise
    if len(parts) > 1:
        _discard(path)  # the parts are files of their own
    return parts


def _parts(job: Job, parts: list[Part], limit: int) -> list[Outgoing]:
    """The message saying how the export was cut, then each part's document."""
    tr = translator(job.locale, today=job.end)  # a year only when the days are of two
    count, spans = len(parts), _spans(job, parts)
    lines = "\n".join(tr("export.part_line", number=number, period=Span(start, end))
                      for number, (start, end) in enumerate(spans, start=1))
    whole = tr("common.list_sep").join(tr(f"export.sheet.{kind}") for kind in job.kinds
                      if kind not in export.BY_DAY)
    messages = [_text(job, tr("export.split", scope=scope_label(tr, job.scope),
                              period=Span(job.start, job.end), limit=limit // (1024 * 1024),
                              count=count, parts=lines,
                              whole=whole))]
    for number, (part, (start, end)) in enumerate(zip(parts, spans, strict=True), start=1):
        caption = tr("export.part_caption", scope=scope_label(tr, job.scope), number=number,
                     count=count, period=Span(start, end), counts=_counts(tr, part.counts))
        name = job.part_filename(start, end, number, count)
        messages.append(_upload(job, part.path, name, caption))
    return messages


def _spans(job: Job, parts: list[Part]) -> list[tuple[dt.date, dt.date]]:
    """The days each part covers: from the period's start (or its first day) to the day
    before the next part's first day (or the period's end), so the parts tile the period."""
    starts = [job.start] + [max(job.start, part.days[0]) if part.days else job.start
                            for part in parts[1:]]
    ends = [max(start, following - dt.timedelta(days=1))
            for start, following in itertools.pairwise(starts)] + [job.end]
    return list(zip(starts, ends, strict=True))


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _document(job: Job, path: Path, counts: dict[str, int]) -> Outgoing:
    """The sendDocument request: the file by path, removed once sent, with a caption."""
    tr = translator(job.locale, today=job.end)  # a year only when the days are of two
    caption = tr("export.caption", scope=scope_label(tr, job.scope),
                 period=Span(job.start, job.end), counts=_counts(tr, counts))
    return _upload(job, path, job.filename, caption)


def _counts(tr: Translator, counts: dict[str, int]) -> str:
    return tr("common.list_sep").join(f"{tr(f'export.sheet.{kind}')} {count}"
                                      for kind, count in counts.items())


def _upload(job: Job, path: Path, filename: str, caption: str) -> Outgoing:
    return document_message(job.chat_id, job.person_id, path, filename, caption,
                            expired=N_("export.expired"), kind="export")


def document_message(chat_id: int, person_id: int, path: Path, filename: str, caption: str, *,
                     expired: str, kind: str) -> Outgoing:
    """The sendDocument request: the file at `path` (under export_dir), removed once sent, or
    `expired` told to the person when the sweeper removed it first."""
    # A swept file tells the requester once per export, not once per part: the parts' names
    # share the whole workbook's stem (export-abc123-part2.xlsx).
    stem = path.stem.split("-part")[0]
    payload = {"caption": caption, "parse_mode": "HTML",
               **upload_path("document", path, filename, remove=True, expired=expired,
                             expired_key=f"expired:{chat_id}:{stem}")}
    return Outgoing(chat_id=chat_id, method="sendDocument", payload=payload, kind=kind,
                    person_id=person_id)


def _text(job: Job, text: str) -> Outgoing:
    return Outgoing(chat_id=job.chat_id, method="sendMessage", kind="export",
                    payload={"text": text, "parse_mode": "HTML"}, person_id=job.person_id)


def _sheets(session: AsyncSession, job: Job, *, tz: dt.tzinfo,
            audit: AuditWords | None = None, rules: TargetRules | None = None) -> list[Sheet]:
    """One lazily streamed sheet per kind: each query runs only when its sheet is written.
    The audit trail's codes come in words through `audit`; the help targets are judged by
    `rules`."""
    filters: dict[str, Any] = dict(job.scope.filters)
    where = export.Filter(export.window(job.start, job.end, tz), **filters, rules=rules)
    sheets = []
    for kind in job.kinds:
        rows = export.rows(session, kind=kind, where=where)
        if kind == "audit" and audit is not None:
            rows = audit.rows(rows)
        shown = _shown_columns(kind)
        if len(shown) < len(export.COLUMNS[kind]):
            rows = _only(rows, [export.COLUMNS[kind].index(column) for column in shown])
        sheets.append(Sheet(kind, shown, rows, CODES.get(kind, {}), _day_column(kind)))
    return sheets


def _shown_columns(kind: str) -> tuple[str, ...]:
    return tuple(c for c in export.COLUMNS[kind] if c not in HIDDEN.get(kind, ()))


async def _only(rows: AsyncIterator[tuple[Any, ...]],
                indexes: list[int]) -> AsyncIterator[tuple[Any, ...]]:
    """The rows with only the values at `indexes`."""
    try:
        async for row in rows:
            yield tuple(row[i] for i in indexes)
    finally:
        close = getattr(rows, "aclose", None)  # a writer that stops early closes the cursor
        if close is not None:
            await close()


def _day_column(kind: str) -> int | None:
    """Where the date a kind's rows come in the order of is (None: another order)."""
    column = export.BY_DAY.get(kind)
    return None if column is None else _shown_columns(kind).index(column)


async def summary_rows(
    session: AsyncSession, job: Job, *, now: dt.datetime, tz: dt.tzinfo, settings: Settings
) -> list[tuple[str, Any]]:
    """The summary sheet: the /stats figures of the period and scope, from the same queries
    (the days in the village judged week by week by the campaign calendar's one rule)."""
    tr = translator(job.locale)
    filters: dict[str, Any] = dict(job.scope.filters)
    by_kind = await visits.visits_by_kind(session, start=job.start, end=job.end, **filters)
    by_status = await disputes.disputes_by_status(session, **filters)
    problems, _ = await store_problems.status_counts(session, today=now.astimezone(tz).date(),
                                                     **filters)
    totals = await aid.aid_totals(session, start=job.start, end=job.end, **filters)
    held = await publicity.publicity_totals(session, start=job.start, end=job.end, **filters)
    reported = await cases.case_totals(session, start=job.start, end=job.end, **filters)
    rows: list[tuple[str, Any]] = [
        (tr("export.summary.title"), None),
        (tr("export.summary.scope"), scope_label(tr, job.scope)),
        (tr("export.summary.period"), format_span(job.locale, job.start, job.end,
                                                  today=now.astimezone(tz).date())),
        (tr("export.summary.made"), now),  # a date cell, in the county's time
        ("", None), (tr("export.summary.visits"), None),
    ]
    rows += [(tr(f"visit.kind.{kind}"), by_kind.get(kind, 0)) for kind in visits.KINDS]
    rows += [(tr("export.summary.total"), sum(by_kind.values())),
             ("", None), (tr("export.summary.disputes"), None)]
    rows += _counted(tr, "dispute.status.", disputes.ALLOWED, by_status)
    rows += [("", None), (tr("export.summary.problems"), None)]
    rows += _counted(tr, "export.problem_status.", PROBLEM_STATUSES, problems)
    rows += [("", None), (tr("export.summary.aid"), None)]
    rows += [(tr(f"export.summary.aid.{key}"), totals[key]) for key in AID_TOTALS]
    rows += [("", None), (tr("export.summary.publicity"), None)]
    rows += [(tr(f"export.summary.publicity.{key}"), getattr(held, key))
             for key in PUBLICITY_TOTALS]
    rows += [("", None), (tr("export.summary.cases"), None),
             (tr("export.summary.cases.submitted"), reported.submitted),
             (tr("export.summary.cases.featured"), reported.featured)]
    figures = await scope_figures(session, settings, scope=job.scope, start=job.start,
                                  end=job.end, now=now)
    rows += [("", None), (tr("export.summary.attendance"), None)]
    rows += [(tr("export.summary.attendance.week", week=week.week_start, required=week.required,
                 cadres=week.cadres), week.compliant) for week in figures.weeks]
    rows += [(tr("export.summary.attendance.excused_days"), figures.excused_days),
             (tr("export.summary.attendance.excused_people"), figures.excused_people)]
    marked = await rectification.rectification_totals(session, **filters)
    rows += [("", None), (tr("export.summary.rectification"), None)]
    rows += [(tr(f"export.summary.rectification.{key}"), getattr(marked, key))
             for key in RECTIFICATION_TOTALS]
    return rows


def _counted(
    tr: Translator, prefix: str, known: Any, counts: dict[str, int]
) -> list[tuple[str, Any]]:
    """Counts per status in the known order (then any others), and their total."""
    order = list(known) + sorted(set(counts) - set(known))
    rows: list[tuple[str, Any]] = []
    for status in order:
        try:
            label = tr(prefix + status)
        except KeyError:
            label = status
        rows.append((label, counts.get(status, 0)))
    return [*rows, (tr("export.summary.total"), sum(counts.values()))]
