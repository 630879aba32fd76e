"""Which commands and buttons exist, and which roles may use each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from common.i18n import N_
from handlers.base import Turn

CADRE = frozenset({"cadre", "team_leader"})
LEADERS = frozenset({"team_leader", "township_leader", "leading_group", "office"})
COUNTY = frozenset({"leading_group", "office"})
OFFICE = frozenset({"office"})
# The supervision groups (督查组、督导组): read the whole county like the office, record
# inspections (/inspect) and verify the spot-checks given them; nothing else.
SUPERVISOR = frozenset({"supervisor"})
READERS = LEADERS | SUPERVISOR  # the reading commands: /stats, /team, /laggards, /export …
EVERYONE = frozenset({"cadre", "team_leader", "township_leader", "leading_group", "office",
                      "supervisor"})

CommandRun = Callable[[Turn, str], Awaitable[None]]
CallbackRun = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    """A slash command: who may use it, what it does, and its line in /help."""

    name: str
    roles: frozenset[str]
    run: CommandRun
    description: str
    order: int


@dataclass(frozen=True)
class Button:
    """A family of inline buttons (callback_data `prefix:...`): who may press them, and what
    a press does. The router refuses anyone else before `run` is reached."""

    prefix: str
    roles: frozenset[str]
    run: CallbackRun
    refusal: str  # the msgid a press by another role is answered with


COMMANDS: dict[str, Command] = {}
CALLBACKS: dict[str, Button] = {}


def command(
    name: str, *, roles: Iterable[str], description: str, order: int = 50
) -> Callable[[CommandRun], CommandRun]:
    """Register a command handler; `run(turn, args)` gets the text after the command."""

    def register(run: CommandRun) -> CommandRun:
        COMMANDS[name] = Command(name, frozenset(roles), run, description, order)
        return run

    return register


def callback(
    prefix: str, *, roles: Iterable[str], refusal: str = N_("common.stale_button")
) -> Callable[[CallbackRun], CallbackRun]:
    """Register a button handler for callback_data `prefix:...`; it gets the rest.

    `roles` has no default: every button states who may press it, as every command does;
    a press by anyone else is answered with `refusal` and never reaches the handler."""
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError(f"button {prefix!r}: no role may press it")

    def register(run: CallbackRun) -> CallbackRun:
        CALLBACKS[prefix] = Button(prefix, allowed, run, refusal)
        return run

    return register


def commands_for(role: str) -> list[Command]:
    """The commands a role may use, in menu order."""
    allowed = [c for c in COMMANDS.values() if role in c.roles]
    return sorted(allowed, key=lambda c: (c.order, c.name))
