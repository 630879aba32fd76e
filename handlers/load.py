"""Import every handler module, so that their commands and buttons are registered."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

# The package's folder, found without importing the package (whose load() imports this).
FOLDER = str(Path(__file__).resolve().parent)

SKIP = {"handlers.load"}


def load() -> None:
    """Register all handlers: every module of the package (idempotent)."""
    for module in pkgutil.iter_modules([FOLDER], "handlers."):
        if module.name not in SKIP:
            importlib.import_module(module.name)
