"""Import every handler module, so that their commands and buttons are registered."""

from __future__ import annotations

import importlib
import pkgutil

import handlers

SKIP = {"handlers.load"}


def load() -> None:
    """Register all handlers: every module of the package (idempotent)."""
    for module in pkgutil.iter_modules(handlers.__path__, "handlers."):
        if module.name not in SKIP:
            importlib.import_module(module.name)
