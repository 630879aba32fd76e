"""Bot API calls per user action, over a whole week of the campaign's dialogs.

The demo's tour (`grassroots demo`: a cadre's week of check-ins, a visit, a dispute, publicity
and the weekly summary; the team leader's review and hand-over; the township leader; the
problem ledger, village work, model cases; the evening's reminders and digests; the office's
figures, export, broadcast and the summary stage) runs against the Bot API emulator, and every
request the bot makes is attributed to the user action it answered: the update a person sent
(a command, an answer typed, a button tapped, a photo or location shared), filed under the
command whose dialog it belongs to (the person's last command). What the bot sends by itself
(the scheduled jobs' reminders, digests and reports, and the outbox's deliveries to other
people) is counted apart, under "sent by itself".

    .venv/bin/python bench/sends.py [--locale zh|en] [--by-method]

Not a timing: the counts are the same on every run of the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common  # noqa: F401 (the repository root on sys.path)
from _common import table

from tests.harness import BotHarness

# The requests that are not a message to a person: polling, and the start-up's set-up calls.
NOT_SENDS = {"getUpdates", "getMe", "deleteWebhook", "setWebhook", "setMyCommands",
             "setChatMenuButton", "getWebhookInfo", "close", "logOut"}
BY_ITSELF = "sent by itself"


@dataclass
class Tally:
    """What one kind of action cost: how many updates, and the Bot API calls by method."""

    actions: int = 0
    calls: Counter[str] = field(default_factory=Counter)


class Counting:
    """Wraps the harness so that each update's requests are filed under its action."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = defaultdict(Tally)
        self.last_command: dict[int, str] = {}
        self.label: str | None = None
        self.seen = 0  # requests already filed

    def file_background(self, harness: BotHarness) -> None:
        """Requests made between actions: the scheduled jobs and the outbox's deliveries."""
        self._file(harness, BY_ITSELF, count_action=False)

    def _file(self, harness: BotHarness, label: str, *, count_action: bool) -> None:
        requests = harness.emu.requests
        new = [r.method for r in requests[self.seen:] if r.method not in NOT_SENDS]
        self.seen = len(requests)
        tally = self.tallies[label]
        if count_action:
            tally.actions += 1
        tally.calls.update(new)

    def install(self) -> Any:
        counting = self
        original_roundtrip = BotHarness.roundtrip
        original_send = BotHarness.send
        original_press = BotHarness.press

        async def roundtrip(self: BotHarness, user: Any, update_id: int, times: int = 1
                            ) -> Any:
            counting.file_background(self)
            label = counting.label or counting.last_command.get(user.id, "(no command)")
            counting.label = None
            try:
                return await original_roundtrip(self, user, update_id, times)
            finally:
                counting._file(self, label, count_action=True)

        async def send(self: BotHarness, user: Any, text: str) -> Any:
            if text.startswith("/"):
                command = text.split()[0].split("@")[0]
                counting.last_command[user.id] = command
            counting.label = counting.last_command.get(user.id, "(no command)")
            return await original_send(self, user, text)

        async def press(self: BotHarness, user: Any, data: str, message_id: int | None = None
                        ) -> Any:
            counting.label = counting.last_command.get(user.id, "(no command)")
            return await original_press(self, user, data, message_id)

        BotHarness.roundtrip = roundtrip  # type: ignore[method-assign]
        BotHarness.send = send  # type: ignore[method-assign]
        BotHarness.press = press  # type: ignore[method-assign]

        def restore() -> None:
            BotHarness.roundtrip = original_roundtrip  # type: ignore[method-assign]
            BotHarness.send = original_send  # type: ignore[method-assign]
            BotHarness.press = original_press  # type: ignore[method-assign]

        return restore


async def measure(locale: str) -> Counting:
    """Run the tour once with every request counted."""
    from bot.demo.tour import tour

    counting = Counting()
    restore = counting.install()
    captured: list[BotHarness] = []
    original_stop = BotHarness.stop

    async def stop(self: BotHarness) -> None:  # file what was sent after the last action
        captured.append(self)
        counting.file_background(self)
        await original_stop(self)

    BotHarness.stop = stop  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as folder, \
                contextlib.redirect_stdout(io.StringIO()):
            await tour(locale, Path(folder))
    finally:
        restore()
        BotHarness.stop = original_stop  # type: ignore[method-assign]
    return counting


def report(counting: Counting, *, by_method: bool) -> str:
    rows = []
    methods: Counter[str] = Counter()
    actions = calls = 0
    for label, tally in sorted(counting.tallies.items(),
                               key=lambda item: -sum(item[1].calls.values())):
        total = sum(tally.calls.values())
        if label != BY_ITSELF:
            actions += tally.actions
            calls += total
        methods.update(tally.calls)
        per = f"{total / tally.actions:.2f}" if tally.actions else "—"
        detail = ", ".join(f"{m} {n}" for m, n in tally.calls.most_common())
        rows.append([label, tally.actions or "—", total, per, detail])
    out = [table(["action (command's dialog)", "updates", "Bot API calls", "calls/update",
                  "by method"], rows)]
    out.append(f"\nIn all: {actions} user updates, {calls} calls answering them "
               f"({calls / max(actions, 1):.2f} an update); "
               f"{sum(counting.tallies[BY_ITSELF].calls.values())} sent by itself.")
    if by_method:
        out.append("\n" + table(["method", "calls"], methods.most_common()))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locale", choices=("zh", "en"), default="zh")
    parser.add_argument("--by-method", action="store_true", help="also a table by method")
    args = parser.parse_args()
    counting = asyncio.run(measure(args.locale))
    print(report(counting, by_method=args.by_method))


if __name__ == "__main__":
    main()
