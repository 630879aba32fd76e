"""The export folder's sweeper: no workbook or report draft outlives EXPORT_KEEP_HOURS,
whatever its message.

A workbook is removed once its request is final, but a request may never become final for it: a
requester deactivated while the send was retrying has the row withdrawn; a crash, a stop or an
HTTP client gone mid-download leaves a file no row names. So every file we write to export_dir
has a lifetime of its own: the sweeper removes the ones last written longer ago than the
setting, at start-up and every few minutes. It removes only the names we give (workbooks and
their parts, and the sheets' temporary rows), never anything else an operator keeps there.
A row still waiting for a swept file fails as expired and tells its requester (common/delivery.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import stat
from pathlib import Path
from typing import Any

from common.context import AppContext
from reports.xlsx_rows import SHEET_PREFIX, SHEET_SUFFIX
from storage.files import private_dir

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 600.0
# handlers/export.py names its workbooks export-<random>[-partN].xlsx and handlers/report.py its
# drafts report-<random>.docx (handlers may not be imported here); the sheets' rows on the way
# are reports/xlsx_rows.py's.
SWEPT_NAMES = ("export-*.xlsx", "report-*.docx", f"{SHEET_PREFIX}*{SHEET_SUFFIX}")


def sweep_folder(folder: Path, *, now: dt.datetime, keep: dt.timedelta) -> list[Path]:
    """Remove our files in `folder` last written before `now - keep`; the ones removed.

    The folder is made 0700 on the way: one an older version left readable is fixed at the
    first start-up, not at the next export."""
    if not folder.is_dir():
        return []
    private_dir(folder)
    cutoff = (now - keep).timestamp()
    removed: list[Path] = []
    for pattern in SWEPT_NAMES:
        for path in sorted(folder.glob(pattern)):
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:  # sent and removed meanwhile
                continue
            except OSError as exc:  # tried again at the next sweep
                log.warning("could not remove the expired export file %s: %s", path, exc)
                continue
            removed.append(path)
    return removed


async def sweep_exports(ctx: AppContext) -> list[Path]:
    """Sweep export_dir by the clock and EXPORT_KEEP_HOURS; the files removed."""
    settings = ctx.settings
    removed = await asyncio.to_thread(
        sweep_folder, Path(settings.export_dir), now=ctx.clock.now(),
        keep=dt.timedelta(hours=settings.export_keep_hours))
    if removed:
        log.info("removed %d export files older than %d hours", len(removed),
                 settings.export_keep_hours)
    return removed


async def sweep_job(context: Any) -> None:
    """The JobQueue callback that sweeps the export folder."""
    try:
        await sweep_exports(AppContext.of(context))
    except Exception:  # a folder that cannot be read today may be readable at the next sweep
        log.exception("the export sweeper failed; it runs again later")
