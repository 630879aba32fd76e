"""Chat handlers: one module per dialog or command family, and the form engine."""

from __future__ import annotations


def load() -> None:
    """Register every command and button handler."""
    from handlers.load import load as _load

    _load()
