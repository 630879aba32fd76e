"""The county report's rectification and winter-work figures, from the storage queries /stats
uses."""

from __future__ import annotations

from reports.villagework import VillageWork
from scheduler.runs import Run
from storage import rectification, winter


async def village_work(run: Run) -> VillageWork:
    """Winter progress per township and the county's rectification, as they stand."""
    settings = run.ctx.settings
    names = await winter.township_names(run.session)
    by_township = await winter.winter_by_township(run.session)
    return VillageWork(
        {names.get(tid, str(tid)): items for tid, items in by_township.items()},
        await rectification.rectification_totals(run.session),
        settings.winter_lagging_percent, tuple(settings.winter_items))
