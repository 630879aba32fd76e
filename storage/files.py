"""Files that hold personal data: private to the bot's user (0600 files, 0700 folders)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create the folder (and its parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def new_private_file(folder: Path, *, prefix: str, suffix: str) -> Path:
    """A new empty 0600 file with a unique name in a private folder."""
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=private_dir(folder))
    os.close(handle)  # mkstemp creates the file 0600 already
    return Path(name)


def make_private(path: Path) -> Path:
    """Make an existing file 0600."""
    os.chmod(path, FILE_MODE)
    return path
