"""What every schedule shares: a due run, the plan that times it, and its recipients."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.context import AppContext
from common.i18n import Translator, locale_of, translator
from common.settings import Settings
from scheduler.timing import NextRun, in_campaign
from storage import people
from storage.models import Person
from storage.outbox import Outgoing


@dataclass
class Run:
    """One due run of a schedule."""

    ctx: AppContext
    session: AsyncSession
    due_at: dt.datetime
    now: dt.datetime

    @property
    def local_due(self) -> dt.datetime:
        """When the run was due, in the county's time."""
        return self.due_at.astimezone(self.ctx.settings.tz)

    @property
    def day(self) -> dt.date:
        """The local day the run belongs to."""
        return self.local_due.date()

    def tr(self, person: Person) -> Translator:
        """Translate into this person's language (dates read against the run's day)."""
        return translator(locale_of(person.locale, person.telegram_language,
                                    self.ctx.settings.default_locale),
                          today=self.day, tz=self.ctx.settings.tz)


Build = Callable[[Run], Awaitable[list[Outgoing]]]


@dataclass(frozen=True)
class Plan:
    """A named schedule: when it is due and what it sends."""

    name: str
    next_after: NextRun
    build: Build
    # A morning reminder for a day already gone tells the cadre nothing: a run caught up on a
    # later local day is claimed but sends nothing. Digests and reports still catch up.
    same_day_only: bool = False
    # Whether a run on this local day belongs to the campaign: a run outside it is claimed
    # but sends nothing (timing.in_campaign: the day is one of the campaign's). None: the
    # schedule answers something someone did (a broadcast's report, a dispute handed over)
    # and follows it whenever it happens.
    campaign: Callable[[Settings, dt.date], bool] | None = in_campaign


def message(person: Person, text: str, *, key: str, kind: str,
            markup: dict[str, Any] | None = None) -> Outgoing:
    """A notification to one person's private chat, sent once per key."""
    assert person.telegram_user_id is not None
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if markup is not None:
        payload["reply_markup"] = markup
    return Outgoing(chat_id=person.telegram_user_id, method="sendMessage", payload=payload,
                    kind=kind, person_id=person.id, dedup_key=key[:128])


def by_place(leaders: Iterable[Person]) -> tuple[dict[int, list[Person]], dict[int, list[Person]]]:
    """Team leaders by village and township leaders by township."""
    teams: dict[int, list[Person]] = defaultdict(list)
    townships: dict[int, list[Person]] = defaultdict(list)
    for leader in leaders:
        if leader.role == "team_leader" and leader.village_id is not None:
            teams[leader.village_id].append(leader)
        elif leader.role == "township_leader" and leader.township_id is not None:
            townships[leader.township_id].append(leader)
    return teams, townships


async def leaders(session: AsyncSession) -> tuple[dict[int, list[Person]], dict[int, list[Person]]]:
    """Everyone a cadre's matter can climb to, by place."""
    return by_place(await people.reachable(session, roles=("team_leader", "township_leader")))


def above(person: Person, teams: dict[int, list[Person]],
          townships: dict[int, list[Person]]) -> list[Person]:
    """The leaders one level above a cadre (a team leader's are the township's)."""
    if person.role == "team_leader":
        return townships.get(person.township_id or 0, [])
    return [p for p in teams.get(person.village_id or 0, []) if p.id != person.id]
