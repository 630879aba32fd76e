"""Which commands and buttons exist, and which roles may use each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from handlers.base import Turn

CADRE = frozenset({"cadre", "team_leader"})
LEADERS = frozenset({"team_leader", "township_leader", "leading_group", "office"})
COUNTY = frozenset({"leading_group", "office"})
OFFICE = frozenset({"office"})
EVERYONE = frozenset({"cadre", "team_leader", "township_leader", "leading_group", "office"})

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


COMMANDS: dict[str, Command] = {}
CALLBACKS: dict[str, CallbackRun] = {}


def command(
    name: str, *, roles: Iterable[str], description: str, order: int = 50
) -> Callable[[CommandRun], CommandRun]:
    """Register a command handler; `run(turn, args)` gets the text after the command."""

    def register(run: CommandRun) -> CommandRun:
        COMMANDS[name] = Command(name, frozenset(roles), run, description, order)
        return run

    return register


def callback(prefix: str) -> Callable[[CallbackRun], CallbackRun]:
    """Register a button handler for callback_data `prefix:...`; it gets the rest."""

    def register(run: CallbackRun) -> CallbackRun:
        CALLBACKS[prefix] = run
        return run

    return register


def commands_for(role: str) -> list[Command]:
    """The commands a role may use, in menu order."""
    allowed = [c for c in COMMANDS.values() if role in c.roles]
    return sorted(allowed, key=lambda c: (c.order, c.name))
